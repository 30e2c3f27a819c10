import type { Context } from 'hono';
import { readConfig } from '../../core/config.ts';
import { parseActiveUsersQuery } from '../../core/metrics-active-users.ts';
import { shardObjectName } from '../../core/shard.ts';
import { mergeSlidingResults } from '../../core/sliding.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';
import { cachedAnswer, cacheKey } from './cache.ts';

/** Many viewers of one project, one fan-out per this many seconds (per location). */
export const ACTIVE_USERS_TTL_S = 5;

/**
 * GET /v1/active-users?lastSeconds=300[&eventType=…][&<dim>=<value>]: distinct
 * users of the last `lastSeconds` (whole panes, the newest still filling),
 * merged from every shard's pane sketches (never by re-reading events), so
 * minutes ClickHouse does not have yet count too. Shards partition users, so
 * counts add and the sketch union counts nobody twice. Edge-cached per
 * project and query for a few seconds.
 */
export async function getActiveUsers(c: Context<AppEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  const parsed = parseActiveUsersQuery(url.searchParams);
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const query = parsed.query;
  const projectId = c.get('auth').projectId;
  return cachedAnswer(c, cacheKey(projectId, url), ACTIVE_USERS_TTL_S, async () => {
    const { shardCount } = readConfig(c.env);
    const results = await Promise.all(
      Array.from({ length: shardCount }, (_, shard) => c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard))).slidingWindow(query)),
    ).catch((error: unknown) => {
      console.error('Sliding-window fan-out failed', error);
      throw new ApiError(503, 'shards_unavailable', 'Some shards did not answer; try again shortly.', { 'Retry-After': '1' });
    });
    const merged = mergeSlidingResults(results);
    return c.json({
      lastSeconds: query.lastSeconds,
      eventType: query.eventType,
      dimensions: query.filters,
      from: merged === null ? null : new Date(merged.fromMs).toISOString(),
      to: merged === null ? null : new Date(merged.toMs).toISOString(),
      activeUsers: merged?.uniqueUsers ?? 0,
      events: merged?.events ?? 0,
      shards: results.length,
    });
  });
}
