import type { Context } from 'hono';
import { readConfig } from '../../core/config.ts';
import { shardObjectName } from '../../core/shard.ts';
import type { AppEnv } from '../app-env.ts';

/** Dashboards call data older than this stale (issue: freshness alarm); FRESHNESS_ALARM_SECONDS overrides. */
const DEFAULT_FRESHNESS_ALARM_MS = 10_000;

/**
 * GET /v1/health: the pipeline as a viewer should judge it. Freshness = now
 * minus the newest live push; flush lag = now minus the end of the oldest
 * closed window ClickHouse has not acknowledged. `degraded` means the
 * pipeline needs attention (flush errors, backpressure), `stale` that no
 * fresh data arrived within the alarm threshold.
 */
export async function getHealth(c: Context<AppEnv>): Promise<Response> {
  const now = Date.now();
  const projectId = c.get('auth').projectId;
  const { shardCount } = readConfig(c.env);
  const alarmMs = Number(c.env.FRESHNESS_ALARM_SECONDS) > 0 ? Number(c.env.FRESHNESS_ALARM_SECONDS) * 1000 : DEFAULT_FRESHNESS_ALARM_MS;
  const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
  const [freshness, ...shards] = await Promise.all([
    broadcast.freshness(),
    ...Array.from({ length: shardCount }, (_, shard) =>
      c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard))).stats(),
    ),
  ]);
  const freshnessMs = freshness.lastPublishAtMs === null ? null : now - freshness.lastPublishAtMs;
  const flushLagMs = Math.max(0, ...shards.map((shard) => shard.flushLagMs));
  const degraded = shards.some((shard) => shard.backpressure || shard.lastFlush?.status === 'error');
  const stale = freshnessMs === null || freshnessMs > alarmMs;
  return c.json({
    status: degraded ? 'degraded' : stale ? 'stale' : 'ok',
    now: new Date(now).toISOString(),
    freshnessMs,
    freshnessAlarmMs: alarmMs,
    stale,
    flushLagMs,
    shards: shards.map((shard, index) => ({
      shard: index,
      pendingGroups: shard.pendingGroups,
      sealedBatches: shard.sealedBatches,
      backlogRows: shard.backlogRows,
      backpressure: shard.backpressure,
      flushLagMs: shard.flushLagMs,
      watermarkLagMs: shard.watermarkLagMs,
      lastFlush: shard.lastFlush,
      lastFlushAt: shard.lastFlushAtMs === null ? null : new Date(shard.lastFlushAtMs).toISOString(),
    })),
  });
}
