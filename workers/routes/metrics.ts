import type { Context } from 'hono';
import { parseMetricsQuery, type MetricsQuery } from '../../core/metrics-query.ts';
import { TABLES } from '../../core/rollup-rows.ts';
import { cacheKey, ttlFor } from '../query/cache.ts';
import { runMetrics, type LiveMinutes, type MetricsResult } from '../query/run-metrics.ts';
import type { AppEnv } from '../app-env.ts';
import { clickHouseClient } from '../clickhouse.ts';
import { ApiError } from '../errors.ts';


/** Minutes this close to now may not be in ClickHouse yet: they are filled from the live layer. */
const LIVE_FILL_MS = 5 * 60_000;

/**
 * GET /v1/metrics (seed 003 contract, extended): a zero-filled series from
 * the rollup matching the resolution, uniques from merged sketches, optional
 * breakdown and anomaly bands; the newest unflushed minutes come from the
 * live layer; results are cached at the edge.
 */
export async function getMetrics(c: Context<AppEnv>): Promise<Response> {
  const now = Date.now();
  const url = new URL(c.req.url);
  const parsed = parseMetricsQuery(url.searchParams, now);
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const query = parsed.query;
  const projectId = c.get('auth').projectId;

  const cache = caches.default;
  const key = cacheKey(projectId, url);
  const cached = await cache.match(key);
  if (cached !== undefined) return withCacheStatus(cached, 'HIT');

  const live = await liveMinutes(c, projectId, query, now);
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
  const body = {
    metric: query.metric,
    dimensions: query.eventType === null ? { ...query.filters } : { eventType: query.eventType, ...query.filters },
    resolution: query.resolutionLabel,
    start: new Date(query.startMs).toISOString(),
    end: new Date(query.endMs).toISOString(),
    ...(query.groupBy === null ? {} : { groupBy: query.groupBy }),
    total: result.total,
    dataPoints: result.dataPoints,
    ...(result.groups === undefined ? {} : { groups: result.groups }),
  };
  const response = c.json(body, 200, { 'Cache-Control': `max-age=${ttlFor(query.endMs, now)}` });
  c.executionCtx.waitUntil(cache.put(key, response.clone()));
  return withCacheStatus(response, 'MISS');
}

function withCacheStatus(response: Response, status: 'HIT' | 'MISS'): Response {
  const copy = new Response(response.body, response);
  copy.headers.set('X-Edgepulse-Cache', status);
  return copy;
}

/** Live per-minute totals for a 1-minute count/sum/rate query whose range reaches the last minutes. */
async function liveMinutes(c: Context<AppEnv>, projectId: string, query: MetricsQuery, now: number): Promise<LiveMinutes | null> {
  if (query.stepMs !== 60_000 || query.measure === 'unique_users' || query.endMs < now - LIVE_FILL_MS) return null;
  const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
  try {
    const series = await broadcast.liveSeries(query.eventType, query.filters, Math.max(query.startMs, now - LIVE_FILL_MS));
    return new Map(series.map((minute) => [minute.minuteStart, { events: minute.events, valueSum: minute.valueSum }]));
  } catch (error) {
    // The stored series still answers; only its right edge may lag.
    console.warn('Live fill unavailable', error);
    return null;
  }
}

/** GET /v1/catalog: event types and dimension names the project has, for pickers. */
export async function getCatalog(c: Context<AppEnv>): Promise<Response> {
  const projectId = c.get('auth').projectId;
  const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
  const live = await broadcast.catalog();
  const eventTypes = new Set(live.eventTypes);
  const dimensions = new Set(live.dimensions);
  const client = clickHouseClient(c.env);
  try {
    const result = await client.query({
      query: `SELECT groupUniqArray(event_type) AS eventTypes, groupUniqArrayArray(mapKeys(dims)) AS dimensions
              FROM ${TABLES.eventsPerMinute}
              WHERE project_id = {projectId:String} AND window_start > now() - INTERVAL 7 DAY`,
      query_params: { projectId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ eventTypes: string[]; dimensions: string[] }>();
    row?.eventTypes.forEach((type: string) => eventTypes.add(type));
    row?.dimensions.forEach((key: string) => dimensions.add(key));
  } catch (error) {
    // The live half still answers; a store outage should not blank the picker.
    console.warn('ClickHouse catalog query failed', error);
  } finally {
    await client.close();
  }
  return c.json({
    projectId,
    demo: c.env.DEMO_MODE === '1',
    eventTypes: [...eventTypes].sort(),
    dimensions: [...dimensions].sort(),
  });
}
