import type { Context } from 'hono';
import { buildQuality, parseDataQualityQuery, QUALITY_GOVERNANCE_SQL, QUALITY_ROLLUP_SQL, qualityParams } from '../../core/data-quality.ts';
import type { AppEnv } from '../app-env.ts';
import { clickHouseClient } from '../clickhouse.ts';
import { ApiError } from '../errors.ts';
import { cachedAnswer, cacheKey, ttlFor } from '../query/cache.ts';

/**
 * GET /v1/data-quality (read key): late, bot, too-old, folded and undeclared
 * events per minute (see core/data-quality.ts), edge-cached like /v1/metrics.
 * Reads what ClickHouse holds: a window appears once its shard flushed it.
 */
export async function getDataQuality(c: Context<AppEnv>): Promise<Response> {
  const now = Date.now();
  const url = new URL(c.req.url);
  const parsed = parseDataQualityQuery(url.searchParams, now);
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const projectId = c.get('auth').projectId;
  return cachedAnswer(c, cacheKey(projectId, url), ttlFor(parsed.query.endMs, now), async () => {
    const client = clickHouseClient(c.env);
    const params = qualityParams(projectId, parsed.query);
    try {
      const [rollup, governance] = await Promise.all(
        [QUALITY_ROLLUP_SQL, QUALITY_GOVERNANCE_SQL].map(async (query) => {
          const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
          const rows: unknown[] = await result.json();
          return rows;
        }),
      );
      const quality = buildQuality(rollup ?? [], governance ?? []);
      return c.json({ start: new Date(parsed.query.startMs).toISOString(), end: new Date(parsed.query.endMs).toISOString(), resolution: '1m', ...quality });
    } catch (error) {
      console.error('ClickHouse data-quality query failed', error);
      throw new ApiError(503, 'storage_unavailable', 'The metrics store is unavailable; try again shortly.', { 'Retry-After': '2' });
    } finally {
      await client.close();
    }
  });
}
