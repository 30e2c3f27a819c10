import type { Context } from 'hono';
import { clickHouseDateTime, TABLES } from '../../core/rollup-rows.ts';
import { parseMetricsQuery, fillSeries, type MetricsQuery } from '../../core/metrics-query.ts';
import type { AppEnv } from '../app-env.ts';
import { clickHouseClient } from '../clickhouse.ts';
import { ApiError } from '../errors.ts';


interface BucketRow {
  t: number;
  events: number;
  value_sum: number;
}

/** GET /v1/metrics (seed 003): a zero-filled time series from the ClickHouse rollups. */
export async function getMetrics(c: Context<AppEnv>): Promise<Response> {
  const parsed = parseMetricsQuery(new URL(c.req.url).searchParams, Date.now());
  if (!parsed.ok) throw new ApiError(400, parsed.code, parsed.message);
  const query = parsed.query;
  const rows = await queryBuckets(c, c.get('auth').projectId, query);
  const dataPoints = fillSeries(query, rows.map((row) => ({ time: Number(row.t) * 1000, value: query.measure === 'events' ? Number(row.events) : Number(row.value_sum) })));
  return c.json({
    metric: query.metric,
    dimensions: query.eventType === null ? { ...query.filters } : { eventType: query.eventType, ...query.filters },
    resolution: query.resolutionLabel,
    start: new Date(query.startMs).toISOString(),
    end: new Date(query.endMs).toISOString(),
    dataPoints,
  });
}

async function queryBuckets(c: Context<AppEnv>, projectId: string, query: MetricsQuery): Promise<BucketRow[]> {
  // Only fixed fragments are concatenated; every value is a typed server-side parameter.
  const clauses = ['project_id = {projectId:String}', 'window_start >= {start:DateTime}', 'window_start < {end:DateTime}'];
  const params: Record<string, string | number> = {
    projectId,
    start: clickHouseDateTime(query.startMs),
    end: clickHouseDateTime(query.endMs),
    step: query.stepMs / 1000,
  };
  if (query.eventType !== null) {
    clauses.push('event_type = {eventType:String}');
    params.eventType = query.eventType;
  }
  Object.entries(query.filters).forEach(([key, value], index) => {
    clauses.push(`dims[{k${index}:String}] = {v${index}:String}`);
    params[`k${index}`] = key;
    params[`v${index}`] = value;
  });
  const sql = `
    SELECT toUnixTimestamp(toStartOfInterval(window_start, toIntervalSecond({step:UInt32}))) AS t,
           sum(events) AS events, sum(value_sum) AS value_sum
    FROM ${TABLES.eventsPerMinute}
    WHERE ${clauses.join(' AND ')}
    GROUP BY t ORDER BY t`;
  const client = clickHouseClient(c.env);
  try {
    const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return await result.json<BucketRow>();
  } catch (error) {
    console.error('ClickHouse metrics query failed', error);
    throw new ApiError(503, 'storage_unavailable', 'The metrics store is unavailable; try again shortly.', { 'Retry-After': '2' });
  } finally {
    await client.close();
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
