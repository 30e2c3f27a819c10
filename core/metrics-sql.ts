/**
 * SQL for the query API. Pure: builds statements and their typed parameters.
 * Only fixed fragments, table and column names from constant maps are
 * concatenated; every value travels as a ClickHouse server-side parameter
 * ({name:Type}).
 *
 * Speed (bench/query.ts): every statement answers ONE row per series, with
 * parallel arrays (bucket times, counts, sums, sketches), so the Worker parses
 * a few arrays instead of thousands of row objects; a breakdown is one scan
 * (top N by a window function, the rest folded into `__other__`) instead of a
 * top-N query plus a series query; filters and breakdowns on the dashboard's
 * dimensions read LowCardinality columns (migration 0002), not the dims map.
 */
import type { MetricsQuery } from './metrics-query.ts';
import { clickHouseDateTime, TABLES } from './rollup-rows.ts';

export interface Statement {
  sql: string;
  params: Record<string, string | number | string[]>;
}

type Source = { kind: 'rollup'; table: string } | { kind: 'raw' };

/**
 * Dimensions the rollup tables also keep as `LowCardinality(String)`
 * columns (migrations/clickhouse/0002_dimension_columns.sql): the dashboard's
 * filters, two of which the edge adds to every event. Any other dimension is
 * read from the dims map.
 */
export const MATERIALIZED_DIMENSIONS: ReadonlyMap<string, string> = new Map([
  ['country', 'dim_country'],
  ['deviceType', 'dim_device_type'],
  ['campaignId', 'dim_campaign_id'],
]);

/** `groupBy=eventType` breaks down by the event type rather than by a dimension. */
export const EVENT_TYPE_GROUP = 'eventType';

/** Which table serves a resolution: the coarsest rollup whose buckets divide it. */
export function sourceFor(stepMs: number): Source {
  if (stepMs < 60_000) return { kind: 'raw' };
  if (stepMs % 86_400_000 === 0) return { kind: 'rollup', table: TABLES.eventsPerDay };
  if (stepMs % 3_600_000 === 0) return { kind: 'rollup', table: TABLES.eventsPerHour };
  return { kind: 'rollup', table: TABLES.eventsPerMinute };
}

/** A dimension's value in a row: its column when it has one, else a map lookup with the name as a parameter. */
function dimension(source: Source, key: string, param: string, params: Statement['params']): string {
  const column = source.kind === 'rollup' ? MATERIALIZED_DIMENSIONS.get(key) : undefined;
  if (column !== undefined) return column;
  params[param] = key;
  return `dims[{${param}:String}]`;
}

/** The WHERE clause and its parameters for a query's project, range, event type and filters. */
function where(query: MetricsQuery, projectId: string, source: Source): { clause: string; params: Statement['params'] } {
  const time = source.kind === 'raw' ? 'event_time' : 'window_start';
  const alignedStart = query.startMs - (query.startMs % query.stepMs);
  const clauses = ['project_id = {projectId:String}', `${time} >= {start:DateTime}`, `${time} < {end:DateTime}`];
  const params: Statement['params'] = { projectId, start: clickHouseDateTime(alignedStart), end: clickHouseDateTime(query.endMs) };
  if (source.kind === 'raw') clauses.push('bot = 0');
  if (query.eventType !== null) {
    clauses.push('event_type = {eventType:String}');
    params.eventType = query.eventType;
  }
  Object.entries(query.filters).forEach(([key, value], index) => {
    clauses.push(`${dimension(source, key, `k${index}`, params)} = {v${index}:String}`);
    params[`v${index}`] = value;
  });
  return { clause: clauses.join(' AND '), params };
}

function tableOf(source: Source): string {
  return source.kind === 'raw' ? TABLES.rawEvents : source.table;
}

function bucket(source: Source): string {
  const time = source.kind === 'raw' ? 'toDateTime(event_time)' : 'window_start';
  return `toUnixTimestamp(toStartOfInterval(${time}, toIntervalSecond({step:UInt32})))`;
}

/**
 * Aggregates of one scan, named e (events), v (value sum) and u (users: the
 * merged sketch's registers, or an exact count from raw events). Counts are
 * cast to Float64 so JSON carries numbers, not quoted 64-bit integers.
 */
function scanMeasures(source: Source, withUsers: boolean): string {
  if (source.kind === 'raw') return `toFloat64(count()) AS e, sum(value) AS v${withUsers ? ', toFloat64(uniqExact(user_id)) AS u' : ''}`;
  return `toFloat64(sum(events)) AS e, sum(value_sum) AS v${withUsers ? ', maxMap(users_hll) AS u' : ''}`;
}

/**
 * One row: ts (bucket starts, epoch s), es, vs, and us when the measure is
 * unique_users; the arrays are parallel (their order is not the time order).
 */
export function seriesStatement(query: MetricsQuery, projectId: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  const withUsers = query.measure === 'unique_users';
  return {
    sql: `SELECT groupArray(t) AS ts, groupArray(e) AS es, groupArray(v) AS vs${withUsers ? ', groupArray(u) AS us' : ''}
          FROM (SELECT ${bucket(source)} AS t, ${scanMeasures(source, withUsers)}
                FROM ${tableOf(source)} WHERE ${clause} GROUP BY t)`,
    params: { ...params, step: query.stepMs / 1000 },
  };
}

/** Exact uniques over the whole range from raw events (rollup sketches are merged in the Worker instead). */
export function totalUsersStatement(query: MetricsQuery, projectId: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  const users = source.kind === 'raw' ? 'toFloat64(uniqExact(user_id))' : 'maxMap(users_hll)';
  return { sql: `SELECT ${users} AS u FROM ${tableOf(source)} WHERE ${clause}`, params };
}

/**
 * A breakdown in one scan: per (bucket, value of `groupBy`) aggregates, each
 * value ranked by its total of the ranking measure (value_sum for value_sum,
 * else events; ties by value), the top `limit` kept and the rest folded into
 * `otherLabel`. One row per group: k, rank (the fold's is limit + 1), ts, es,
 * vs, and us (sketch registers per bucket, or exact counts plus `users_total`
 * for raw events) when the measure is unique_users.
 */
export function breakdownStatement(query: MetricsQuery, projectId: string, groupBy: string, otherLabel: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  // The dashboard's drill-down also breaks down by event type, a column of its own.
  const key = groupBy === EVENT_TYPE_GROUP ? 'event_type' : dimension(source, groupBy, 'groupBy', params);
  const withUsers = query.measure === 'unique_users';
  const rankBy = query.measure === 'value_sum' ? 'v1' : 'e1';
  const raw = source.kind === 'raw';
  // Raw users are exact: fold aggregate states (never add counts of groups that share users).
  const scanUsers = !withUsers ? '' : raw ? ', uniqExactState(user_id) AS u1' : ', maxMap(users_hll) AS u1';
  const foldUsers = !withUsers ? '' : raw ? ', uniqExactMergeState(u1) AS u2' : ', maxMap(u1) AS u2';
  const groupUsers = !withUsers ? '' : raw ? ', groupArray(toFloat64(finalizeAggregation(u2))) AS us, toFloat64(uniqExactMerge(u2)) AS users_total' : ', groupArray(u2) AS us';
  const carry = withUsers ? ', u1' : '';
  const scanEvents = raw ? 'count()' : 'sum(events)';
  const scanValue = raw ? 'sum(value)' : 'sum(value_sum)';
  return {
    sql: `SELECT g AS k, min(gr) AS rank, groupArray(t) AS ts, groupArray(toFloat64(e2)) AS es, groupArray(v2) AS vs${groupUsers}
          FROM (
            SELECT t, if(r <= {limit:UInt32}, k, {other:String}) AS g, min(r) AS gr, sum(e1) AS e2, sum(v1) AS v2${foldUsers}
            FROM (
              SELECT t, k, e1, v1${carry}, dense_rank() OVER (ORDER BY kt DESC, k) AS r
              FROM (
                SELECT t, k, e1, v1${carry}, sum(${rankBy}) OVER (PARTITION BY k) AS kt
                FROM (
                  SELECT ${bucket(source)} AS t, ${key} AS k, ${scanEvents} AS e1, ${scanValue} AS v1${scanUsers}
                  FROM ${tableOf(source)} WHERE ${clause} GROUP BY t, k
                )
              )
            )
            GROUP BY t, g
          )
          GROUP BY g ORDER BY rank`,
    params: { ...params, step: query.stepMs / 1000, limit: query.limit, other: otherLabel },
  };
}

/** The statements one metrics query runs (independent of each other, so they may run in parallel). */
export interface MetricsPlan {
  /** The main series; null when it is the sum (or sketch union) of the breakdown's groups. */
  series: Statement | null;
  breakdown: Statement | null;
  /** Exact uniques over the range (raw events only); rollup totals merge the series' sketches. */
  totalUsers: Statement | null;
}

/**
 * `extended` is the query with its start moved back for the anomaly
 * baseline (or the query itself). A breakdown without anomaly bands needs
 * no series query: every row belongs to exactly one group, so the main
 * series is the groups' sum, and sketches of the groups merge into the
 * main one (not so for exact raw counts).
 */
export function planMetrics(query: MetricsQuery, extended: MetricsQuery, projectId: string, otherLabel: string): MetricsPlan {
  const raw = sourceFor(query.stepMs).kind === 'raw';
  const users = query.measure === 'unique_users';
  const derivable = query.groupBy !== null && query.anomaly === null && !(raw && users);
  return {
    series: derivable ? null : seriesStatement(extended, projectId),
    breakdown: query.groupBy === null ? null : breakdownStatement(query, projectId, query.groupBy, otherLabel),
    totalUsers: users && raw ? totalUsersStatement(query, projectId) : null,
  };
}
