import type { ClickHouseClient } from '@clickhouse/client-web';
import { flagDaily, flagTrailing, type FlaggedPoint } from '../../core/anomaly.ts';
import { bucketTimes, OTHER_GROUP, type MetricsQuery } from '../../core/metrics-query.ts';
import { groupSeriesStatement, groupUsersStatement, seriesStatement, topGroupsStatement, totalUsersStatement, type Statement } from '../../core/metrics-sql.ts';
import { USER_SKETCH_PRECISION } from '../../core/panes.ts';
import { sketchFromRegisters } from '../../core/sketch-registers.ts';

const DAY_MS = 86_400_000;

export interface DataPoint {
  time: string;
  value: number;
  anomaly?: boolean;
  lower?: number;
  upper?: number;
}

export interface MetricsResult {
  dataPoints: DataPoint[];
  /** The measure over the whole range: a sum, a rate, or uniques from one merged sketch. */
  total: number;
  groups?: Array<{ key: string; total: number; dataPoints: DataPoint[] }>;
}

/** What one ClickHouse row of a series or total carries, validated (ClickHouse may quote 64-bit integers). */
interface BucketValues {
  events: number;
  valueSum: number;
  /** Null unless the measure is unique_users. */
  users: number | null;
}

/** Live totals for minutes not flushed yet, to fill the right edge of a 1-minute chart. */
export type LiveMinutes = ReadonlyMap<number, { events: number; valueSum: number }>;

export async function runMetrics(client: ClickHouseClient, projectId: string, query: MetricsQuery, live: LiveMinutes | null): Promise<MetricsResult> {
  const history = query.anomaly === null ? 0 : query.anomaly.baseline === 'trailing' ? query.anomaly.window * query.stepMs : query.anomaly.days * DAY_MS;
  const extended: MetricsQuery = { ...query, startMs: query.startMs - history };
  const rows = await bucketRows(client, seriesStatement(extended, projectId));
  if (live !== null) fillFromLive(rows, live);

  const visibleTimes = bucketTimes(query.startMs, query.endMs, query.stepMs);
  const valueAt = (time: number): number => measureValue(query, rows.get(time));
  const values = visibleTimes.map(valueAt);
  const flagged = flag(query, visibleTimes, values, valueAt);
  const dataPoints = visibleTimes.map((time, i) => toPoint(time, flagged[i] ?? { value: values[i] ?? 0, anomaly: false }, query.anomaly !== null));

  const result: MetricsResult = { dataPoints, total: await total(client, projectId, query, values, rows, visibleTimes) };
  if (query.groupBy !== null) result.groups = await breakdown(client, projectId, query, query.groupBy);
  return result;
}

function toPoint(time: number, flagged: FlaggedPoint, withBands: boolean): DataPoint {
  const point: DataPoint = { time: new Date(time).toISOString(), value: flagged.value };
  if (withBands) {
    point.anomaly = flagged.anomaly;
    if (flagged.lower !== undefined && flagged.upper !== undefined) {
      point.lower = flagged.lower;
      point.upper = flagged.upper;
    }
  }
  return point;
}

function flag(query: MetricsQuery, times: number[], values: number[], valueAt: (time: number) => number): FlaggedPoint[] {
  const options = query.anomaly;
  if (options === null) return [];
  if (options.baseline === 'trailing') {
    const first = times[0] ?? query.startMs;
    const history = Array.from({ length: options.window }, (_, i) => valueAt(first - (options.window - i) * query.stepMs));
    return flagTrailing(history, values, options);
  }
  const previousDays = Array.from({ length: options.days }, (_, d) => times.map((time) => valueAt(time - (d + 1) * DAY_MS)));
  return flagDaily(previousDays, values, options);
}

function measureValue(query: MetricsQuery, bucket: BucketValues | undefined): number {
  if (bucket === undefined) return 0;
  switch (query.measure) {
    case 'events':
      return bucket.events;
    case 'value_sum':
      return bucket.valueSum;
    case 'rate':
      return bucket.events / (query.stepMs / 1000);
    case 'unique_users':
      return bucket.users ?? 0;
  }
}

async function total(client: ClickHouseClient, projectId: string, query: MetricsQuery, values: number[], rows: Map<number, BucketValues>, times: number[]): Promise<number> {
  switch (query.measure) {
    case 'events':
    case 'value_sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'rate': {
      const events = times.reduce((sum, time) => sum + (rows.get(time)?.events ?? 0), 0);
      return events / ((query.endMs - query.startMs) / 1000);
    }
    case 'unique_users': {
      const [row] = await fetchRows(client, totalUsersStatement(query, projectId));
      return row === undefined ? 0 : usersOf(row);
    }
  }
}

async function breakdown(client: ClickHouseClient, projectId: string, query: MetricsQuery, groupBy: string): Promise<NonNullable<MetricsResult['groups']>> {
  const topRows = await fetchRows(client, topGroupsStatement(query, projectId, groupBy));
  const top = topRows.map((row) => String(row.k ?? ''));
  const seriesRows = await fetchRows(client, groupSeriesStatement(query, projectId, groupBy, top, OTHER_GROUP));
  const byGroup = new Map<string, Map<number, BucketValues>>();
  for (const row of seriesRows) {
    const key = String(row.k ?? '');
    const series = byGroup.get(key) ?? new Map<number, BucketValues>();
    series.set(Number(row.t) * 1000, bucketValues(row, query.measure === 'unique_users'));
    byGroup.set(key, series);
  }
  const userTotals = new Map<string, number>();
  if (query.measure === 'unique_users') {
    for (const row of await fetchRows(client, groupUsersStatement(query, projectId, groupBy, top, OTHER_GROUP))) userTotals.set(String(row.k ?? ''), usersOf(row));
  }
  const times = bucketTimes(query.startMs, query.endMs, query.stepMs);
  const keys = [...top, ...(byGroup.has(OTHER_GROUP) && !top.includes(OTHER_GROUP) ? [OTHER_GROUP] : [])];
  return keys.map((key) => {
    const series = byGroup.get(key) ?? new Map<number, BucketValues>();
    const dataPoints = times.map((time) => ({ time: new Date(time).toISOString(), value: measureValue(query, series.get(time)) }));
    const sum = dataPoints.reduce((acc, point) => acc + point.value, 0);
    const groupTotal =
      query.measure === 'unique_users' ? (userTotals.get(key) ?? 0) : query.measure === 'rate' ? (sum * (query.stepMs / 1000)) / ((query.endMs - query.startMs) / 1000) : sum;
    return { key, total: groupTotal, dataPoints };
  });
}

/** The newest minutes are in the live layer before ClickHouse has them: the larger of the two is the truer count. */
function fillFromLive(rows: Map<number, BucketValues>, live: LiveMinutes): void {
  for (const [minute, totals] of live) {
    const stored = rows.get(minute);
    if (stored === undefined) rows.set(minute, { events: totals.events, valueSum: totals.valueSum, users: null });
    else {
      stored.events = Math.max(stored.events, totals.events);
      stored.valueSum = Math.max(stored.valueSum, totals.valueSum);
    }
  }
}

async function bucketRows(client: ClickHouseClient, statement: Statement): Promise<Map<number, BucketValues>> {
  const withUsers = statement.sql.includes('users_');
  const rows = new Map<number, BucketValues>();
  for (const row of await fetchRows(client, statement)) rows.set(Number(row.t) * 1000, bucketValues(row, withUsers));
  return rows;
}

async function fetchRows(client: ClickHouseClient, statement: Statement): Promise<Array<Record<string, unknown>>> {
  const result = await client.query({ query: statement.sql, query_params: statement.params, format: 'JSONEachRow' });
  const rows: unknown[] = await result.json();
  return rows.filter((row): row is Record<string, unknown> => typeof row === 'object' && row !== null && !Array.isArray(row));
}

function bucketValues(row: Record<string, unknown>, withUsers: boolean): BucketValues {
  return { events: finite(row.events), valueSum: finite(row.value_sum), users: withUsers ? usersOf(row) : null };
}

/** Uniques of a row: an exact count (raw events) or the estimate of the merged sketch. */
function usersOf(row: Record<string, unknown>): number {
  if (row.users_exact !== undefined) return finite(row.users_exact);
  const sketch = row.users_hll;
  if (!Array.isArray(sketch) || sketch.length !== 2) return 0;
  const [idx, val] = sketch;
  if (!Array.isArray(idx) || !Array.isArray(val)) return 0;
  return sketchFromRegisters(USER_SKETCH_PRECISION, idx.map(finite), val.map(finite)).count();
}

function finite(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(number) ? number : 0;
}
