import type { Context } from 'hono';
import { readAggregationConfig } from '../../core/aggregation-config.ts';
import { parseMetricsQuery, type MetricsQuery } from '../../core/metrics-query.ts';
import { EVENT_TYPE_GROUP, sourceFor } from '../../core/metrics-sql.ts';
import { TABLES } from '../../core/rollup-rows.ts';
import { cachedAnswer, cacheKey, projectCacheKey, ttlFor } from '../query/cache.ts';
import { runMetrics, type LiveFill, type MetricsResult } from '../query/run-metrics.ts';
import { liveBreakdown } from '../../core/metrics-live.ts';
import { readConfig } from '../../core/config.ts';
import { shardObjectName } from '../../core/shard.ts';
import type { AppEnv } from '../app-env.ts';
import { clickHouseClient } from '../clickhouse.ts';
import { ApiError } from '../errors.ts';

const MINUTE_MS = 60_000;
/** Buckets reaching this close to now may not be in ClickHouse yet: they are filled from the live layer. */
const LIVE_FILL_MS = 5 * MINUTE_MS;
/** The live layer (shard panes, Broadcast minutes) keeps an hour; stay clear of its edge. */
const LIVE_LOOKBACK_MAX_MS = 55 * MINUTE_MS;
/** The catalog scans 7 days of rollups; event types and dimension names change rarely. */
export const CATALOG_TTL_S = 60;

/**
 * GET /v1/metrics (seed 003 contract, extended): a zero-filled series from
 * the rollup matching the resolution, uniques from merged sketches, optional
 * breakdown and anomaly bands; buckets not flushed yet are filled from the
 * live layer; results are cached at the edge.
 */
export async function getMetrics(c: Context<AppEnv>): Promise<Response> {
  const now = Date.now();
  const url = new URL(c.req.url);
  const parsed = parseMetricsQuery(url.searchParams, now);
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const query = parsed.query;
  if (sourceFor(query.stepMs).kind === 'raw' && !readAggregationConfig(c.env).rawEvents) {
    throw new ApiError(400, 'resolution_unavailable', `resolution=${query.resolutionLabel} reads raw events, which this deployment does not store (RAW_EVENTS=0); use 1m or coarser.`);
  }
  const projectId = c.get('auth').projectId;

  return cachedAnswer(c, cacheKey(projectId, url), ttlFor(query.endMs, now), async () => {
    // Never rejects: without the live layer the stored series still answers.
    const live = liveFill(c, projectId, query, now);
    const client = clickHouseClient(c.env);
    let result: MetricsResult;
    try {
      result = await runMetrics(client, projectId, query, live);
    } catch (error) {
      console.error('ClickHouse metrics query failed', error);
      throw new ApiError(503, 'storage_unavailable', 'The metrics store is unavailable; try again shortly.', { 'Retry-After': '2' });
    } finally {
      await client.close();
    }
    return c.json({
      metric: query.metric,
      dimensions: query.eventType === null ? { ...query.filters } : { eventType: query.eventType, ...query.filters },
      resolution: query.resolutionLabel,
      start: new Date(query.startMs).toISOString(),
      end: new Date(query.endMs).toISOString(),
      ...(query.groupBy === null ? {} : { groupBy: query.groupBy }),
      total: result.total,
      dataPoints: result.dataPoints,
      ...(result.groups === undefined ? {} : { groups: result.groups }),
    });
  });
}

/**
 * Live per-minute totals for a count/sum/rate query at 1 minute or coarser
 * whose range reaches the last minutes: from the start of the first bucket
 * that touches them (at most the live layer's hour), so a 5m/15m/1h bucket
 * still open is filled as a whole. A series asks the Broadcast object (which
 * re-reads its shards first: read-your-writes); a breakdown reads every
 * shard's pane totals, which carry each group, also groups ClickHouse has
 * not seen yet.
 */
async function liveFill(c: Context<AppEnv>, projectId: string, query: MetricsQuery, now: number): Promise<LiveFill | null> {
  if (query.stepMs < MINUTE_MS || query.measure === 'unique_users' || query.endMs < now - LIVE_FILL_MS) return null;
  const recent = now - LIVE_FILL_MS;
  const alignedStart = query.startMs - (query.startMs % query.stepMs);
  const earliest = Math.ceil((now - LIVE_LOOKBACK_MAX_MS) / MINUTE_MS) * MINUTE_MS;
  const since = Math.max(alignedStart, recent - (recent % query.stepMs), earliest);
  try {
    if (query.groupBy !== null) {
      const { shardCount } = readConfig(c.env);
      const panes = await Promise.all(
        Array.from({ length: shardCount }, (_, shard) => c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard))).liveTotals(since)),
      );
      return liveBreakdown(panes.flat(), query, query.groupBy, query.groupBy === EVENT_TYPE_GROUP, since);
    }
    const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
    // An older start skips the Broadcast's re-read of its shards: ask for the recent minutes first, which refreshes them.
    if (since < recent) await broadcast.liveSeries(query.eventType, query.filters, recent);
    const minutes = await broadcast.liveSeries(query.eventType, query.filters, since);
    return {
      main: new Map(minutes.filter((minute) => minute.minuteStart >= since && minute.minuteStart < query.endMs).map((minute) => [minute.minuteStart, { events: minute.events, valueSum: minute.valueSum }])),
      groups: null,
    };
  } catch (error) {
    // The stored series still answers; only its right edge may lag.
    console.warn('Live fill unavailable', error);
    return null;
  }
}

/** GET /v1/catalog: event types and dimension names the project has, for pickers; edge-cached per project for a minute. */
export async function getCatalog(c: Context<AppEnv>): Promise<Response> {
  const projectId = c.get('auth').projectId;
  return cachedAnswer(c, projectCacheKey(projectId, 'catalog'), CATALOG_TTL_S, async () => {
    const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
    const live = await broadcast.catalog();
    const eventTypes = new Set(live.eventTypes);
    const dimensions = new Set(live.dimensions);
    const client = clickHouseClient(c.env);
    let complete = true;
    try {
      const result = await client.query({
        query: `SELECT groupUniqArray(event_type) AS eventTypes, groupUniqArrayArray(mapKeys(dims)) AS dimensions
                FROM ${TABLES.eventsPerMinute}
                WHERE project_id = {projectId:String} AND window_start > now() - INTERVAL 7 DAY`,
        query_params: { projectId },
        format: 'JSONEachRow',
      });
      const [row]: unknown[] = await result.json();
      const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
      if (typeof row === 'object' && row !== null) {
        if ('eventTypes' in row) strings(row.eventTypes).forEach((type) => eventTypes.add(type));
        if ('dimensions' in row) strings(row.dimensions).forEach((key) => dimensions.add(key));
      }
    } catch (error) {
      // The live half still answers; a store outage should not blank the picker.
      console.warn('ClickHouse catalog query failed', error);
      complete = false;
    } finally {
      await client.close();
    }
    return c.json({
      projectId,
      demo: c.env.DEMO_MODE === '1',
      eventTypes: [...eventTypes].sort(),
      dimensions: [...dimensions].sort(),
    }, 200, complete ? {} : { 'Cache-Control': 'no-store' });
  });
}
