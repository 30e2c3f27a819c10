import type { ClickHouseClient } from '@clickhouse/client-web';
import { flagDaily, flagTrailing, type FlaggedPoint } from '../../core/anomaly.ts';
import { bucketTimes, OTHER_GROUP, type MetricsQuery } from '../../core/metrics-query.ts';
import { BucketGrid, fillFromLive, fillFromRow, groupsFromRows, mergeBuckets, usersOver, type GroupRows, type LiveMinutes, type UsersForm } from '../../core/metrics-rows.ts';
import { fillGroupsFromLive, type LiveBreakdown } from '../../core/metrics-live.ts';
import { planMetrics, sourceFor, type Statement } from '../../core/metrics-sql.ts';

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

/** The live layer's totals for buckets ClickHouse may not have yet (counts and sums only: it holds no sketches). */
export interface LiveFill {
  /** Per-minute totals of the query's own series. */
  main: LiveMinutes;
  /** For a breakdown: per-minute totals of every value of the dimension the live layer holds. */
  groups: LiveBreakdown['groups'] | null;
}

/** `live` is a promise so the live layer is read while ClickHouse answers. */
export async function runMetrics(client: ClickHouseClient, projectId: string, query: MetricsQuery, liveFill: Promise<LiveFill | null>): Promise<MetricsResult> {
  const history = query.anomaly === null ? 0 : query.anomaly.baseline === 'trailing' ? query.anomaly.window * query.stepMs : query.anomaly.days * DAY_MS;
  const extended: MetricsQuery = { ...query, startMs: query.startMs - history };
  const plan = planMetrics(query, extended, projectId, OTHER_GROUP);
  const users = usersForm(query);
  // Independent statements: a real ClickHouse runs them at the same time.
  const [seriesRow, groupRows, totalRow, live] = await Promise.all([
    plan.series === null ? null : firstRow(client, plan.series),
    plan.breakdown === null ? null : fetchRows(client, plan.breakdown),
    plan.totalUsers === null ? null : firstRow(client, plan.totalUsers),
    liveFill,
  ]);
  const grid = BucketGrid.covering(extended.startMs, query.endMs, query.stepMs, users);
  const stored = groupRows === null ? null : groupsFromRows(groupRows, users, grid);
  const main = seriesRow !== null ? fillFromRow(grid, seriesRow, users) : mergeBuckets((stored ?? []).map((group) => group.buckets), grid);
  let groups = stored;
  if (live !== null) {
    fillFromLive(main, live.main);
    if (groups !== null && live.groups !== null) {
      groups = fillGroupsFromLive(groups, { main: live.main, groups: live.groups }, { limit: query.limit, rankBy: query.measure === 'value_sum' ? 'valueSum' : 'events', otherLabel: OTHER_GROUP, like: grid });
    }
  }

  const visibleTimes = bucketTimes(query.startMs, query.endMs, query.stepMs);
  // The visible buckets are the grid's last ones (the grid starts earlier by the anomaly history).
  const first = grid.indexOf(visibleTimes[0] ?? grid.startMs);
  const valueAt = (time: number): number => measureAt(query, main, main.indexOf(time));
  const values = visibleTimes.map((_, i) => measureAt(query, main, first + i));
  const flagged = flag(query, visibleTimes, values, valueAt);
  // One ISO string per bucket, shared by the series and every group.
  const isoTimes = visibleTimes.map((time) => new Date(time).toISOString());
  const dataPoints = visibleTimes.map((_, i) => toPoint(isoTimes[i] ?? '', flagged[i] ?? { value: values[i] ?? 0, anomaly: false }, query.anomaly !== null));

  const total = totalOf(query, values, main, first, totalRow);
  const result: MetricsResult = { dataPoints, total };
  if (groups !== null) result.groups = groups.map((group) => groupResult(query, group, first, isoTimes));
  return result;
}

function usersForm(query: MetricsQuery): UsersForm {
  if (query.measure !== 'unique_users') return null;
  return sourceFor(query.stepMs).kind === 'raw' ? 'exact' : 'sketch';
}

function groupResult(query: MetricsQuery, group: GroupRows, first: number, isoTimes: string[]): { key: string; total: number; dataPoints: DataPoint[] } {
  const values = isoTimes.map((_, i) => measureAt(query, group.buckets, first + i));
  const dataPoints = isoTimes.map((time, i) => ({ time, value: values[i] ?? 0 }));
  return { key: group.key, total: totalOf(query, values, group.buckets, first, group.usersTotal === null ? null : { u: group.usersTotal }), dataPoints };
}

function toPoint(time: string, flagged: FlaggedPoint, withBands: boolean): DataPoint {
  const point: DataPoint = { time, value: flagged.value };
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

function measureAt(query: MetricsQuery, grid: BucketGrid, index: number): number {
  if (index < 0 || index >= grid.length) return 0;
  switch (query.measure) {
    case 'events':
      return grid.events[index] ?? 0;
    case 'value_sum':
      return grid.valueSum[index] ?? 0;
    case 'rate':
      return (grid.events[index] ?? 0) / (query.stepMs / 1000);
    case 'unique_users':
      return grid.users?.[index] ?? 0;
  }
}

/** Sums add; a rate is events over the range's seconds; uniques come from one merged sketch (or raw events' exact count). `values` are the visible buckets from index `first`. */
function totalOf(query: MetricsQuery, values: number[], grid: BucketGrid, first: number, exactUsers: Record<string, unknown> | null): number {
  switch (query.measure) {
    case 'events':
    case 'value_sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'rate': {
      let events = 0;
      for (let i = 0; i < values.length; i++) events += grid.events[first + i] ?? 0;
      return events / ((query.endMs - query.startMs) / 1000);
    }
    case 'unique_users':
      return exactUsers !== null ? finite(exactUsers.u) : usersOver(grid, first, first + values.length);
  }
}

async function firstRow(client: ClickHouseClient, statement: Statement): Promise<Record<string, unknown> | null> {
  const [row] = await fetchRows(client, statement);
  return row ?? null;
}

async function fetchRows(client: ClickHouseClient, statement: Statement): Promise<Array<Record<string, unknown>>> {
  const result = await client.query({ query: statement.sql, query_params: statement.params, format: 'JSONEachRow' });
  const rows: unknown[] = await result.json();
  return rows.filter((row): row is Record<string, unknown> => typeof row === 'object' && row !== null && !Array.isArray(row));
}

function finite(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(number) ? number : 0;
}
