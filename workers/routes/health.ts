import type { Context } from 'hono';
import { integerVar, readConfig } from '../../core/config.ts';
import { shardObjectName } from '../../core/shard.ts';
import type { AppEnv } from '../app-env.ts';
import { CACHE_STATUS_HEADER, projectCacheKey } from '../query/cache.ts';

/** Dashboards call data older than this stale (issue: freshness alarm); FRESHNESS_ALARM_SECONDS overrides. */
const DEFAULT_FRESHNESS_ALARM_SECONDS = 10;
/**
 * Shard stats are read from every shard, so they are shared at the edge for
 * this long: dashboards poll every 10 s, so each poll sees stats at most 5 s
 * old, and a project's viewers cost one fan-out per 5 s per location.
 * Freshness is never cached: it is one Broadcast call and the alarm's basis.
 */
export const SHARD_STATS_TTL_S = 5;

interface ShardHealth {
  shard: number;
  pendingGroups: number;
  sealedBatches: number;
  backlogRows: number;
  backpressure: boolean;
  flushLagMs: number;
  watermarkLagMs: number | null;
  /** As the shard reported it (output only). */
  lastFlush: unknown;
  lastFlushAt: string | null;
  /** Running totals since the shard's storage was created: accepted, duplicates, late, bots, folded, dropped, too old (output only). */
  counters: unknown;
  /** SQLite rows written since the shard object last started (output only). */
  rowsWrittenSinceStart: unknown;
}

interface ShardSnapshot {
  readAtMs: number;
  degraded: boolean;
  flushLagMs: number;
  shards: ShardHealth[];
}

/**
 * GET /v1/health: the pipeline as a viewer should judge it. Freshness = now
 * minus the newest live push; flush lag = now minus the end of the oldest
 * closed window ClickHouse has not acknowledged (as of `shardsReadAt`).
 * `degraded` means the pipeline needs attention (flush errors,
 * backpressure), `stale` that no fresh data arrived within the alarm
 * threshold.
 */
export async function getHealth(c: Context<AppEnv>): Promise<Response> {
  const projectId = c.get('auth').projectId;
  const alarmMs = integerVar('FRESHNESS_ALARM_SECONDS', c.env.FRESHNESS_ALARM_SECONDS, DEFAULT_FRESHNESS_ALARM_SECONDS, 1, 86_400) * 1000;
  const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
  const [freshness, { snapshot, cache }] = await Promise.all([broadcast.freshness(), shardSnapshot(c, projectId)]);
  const now = Date.now();
  const freshnessMs = freshness.lastPublishAtMs === null ? null : Math.max(0, now - freshness.lastPublishAtMs);
  const stale = freshnessMs === null || freshnessMs > alarmMs;
  const response = c.json({
    status: snapshot.degraded ? 'degraded' : stale ? 'stale' : 'ok',
    now: new Date(now).toISOString(),
    freshnessMs,
    freshnessAlarmMs: alarmMs,
    stale,
    flushLagMs: snapshot.flushLagMs,
    shardsReadAt: new Date(snapshot.readAtMs).toISOString(),
    shards: snapshot.shards,
  });
  response.headers.set(CACHE_STATUS_HEADER, cache);
  return response;
}

/** Every shard's stats, from the edge cache when a reader of this project fetched them in the last few seconds. */
async function shardSnapshot(c: Context<AppEnv>, projectId: string): Promise<{ snapshot: ShardSnapshot; cache: 'HIT' | 'MISS' }> {
  const key = projectCacheKey(projectId, 'health-shards');
  const cached = await caches.default.match(key);
  if (cached !== undefined) {
    const body: unknown = await cached.json().catch(() => null);
    if (isShardSnapshot(body)) return { snapshot: body, cache: 'HIT' };
  }
  const { shardCount } = readConfig(c.env);
  const stats = await Promise.all(
    Array.from({ length: shardCount }, (_, shard) => c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard))).stats()),
  );
  const snapshot: ShardSnapshot = {
    readAtMs: Date.now(),
    degraded: stats.some((shard) => shard.backpressure || shard.lastFlush?.status === 'error'),
    flushLagMs: Math.max(0, ...stats.map((shard) => shard.flushLagMs)),
    shards: stats.map((shard, index) => ({
      shard: index,
      pendingGroups: shard.pendingGroups,
      sealedBatches: shard.sealedBatches,
      backlogRows: shard.backlogRows,
      backpressure: shard.backpressure,
      flushLagMs: shard.flushLagMs,
      watermarkLagMs: shard.watermarkLagMs,
      lastFlush: shard.lastFlush,
      lastFlushAt: shard.lastFlushAtMs === null ? null : new Date(shard.lastFlushAtMs).toISOString(),
      counters: shard.counters,
      rowsWrittenSinceStart: shard.rowsWrittenSinceStart,
    })),
  };
  const entry = new Response(JSON.stringify(snapshot), { headers: { 'Content-Type': 'application/json', 'Cache-Control': `max-age=${SHARD_STATS_TTL_S}` } });
  c.executionCtx.waitUntil(caches.default.put(key, entry));
  return { snapshot, cache: 'MISS' };
}

/** The cache holds what this file wrote, but a bad entry must read as a miss, not as health. */
function isShardSnapshot(value: unknown): value is ShardSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  if (!('readAtMs' in value && typeof value.readAtMs === 'number' && 'degraded' in value && typeof value.degraded === 'boolean')) return false;
  if (!('flushLagMs' in value && typeof value.flushLagMs === 'number' && 'shards' in value && Array.isArray(value.shards))) return false;
  return value.shards.every(
    (shard: unknown) =>
      typeof shard === 'object' &&
      shard !== null &&
      'shard' in shard &&
      typeof shard.shard === 'number' &&
      'sealedBatches' in shard &&
      typeof shard.sealedBatches === 'number' &&
      'pendingGroups' in shard &&
      typeof shard.pendingGroups === 'number' &&
      'backlogRows' in shard &&
      typeof shard.backlogRows === 'number' &&
      'backpressure' in shard &&
      typeof shard.backpressure === 'boolean' &&
      'flushLagMs' in shard &&
      typeof shard.flushLagMs === 'number' &&
      'watermarkLagMs' in shard &&
      (shard.watermarkLagMs === null || typeof shard.watermarkLagMs === 'number') &&
      'lastFlush' in shard &&
      'lastFlushAt' in shard &&
      (shard.lastFlushAt === null || typeof shard.lastFlushAt === 'string') &&
      'counters' in shard &&
      'rowsWrittenSinceStart' in shard,
  );
}
