/**
 * SQL for the query API. Pure: builds statements and their typed parameters.
 * Only fixed fragments and table names from TABLES are concatenated; every
 * value travels as a ClickHouse server-side parameter ({name:Type}).
 */
import type { MetricsQuery } from './metrics-query.ts';
import { clickHouseDateTime, TABLES } from './rollup-rows.ts';

export interface Statement {
  sql: string;
  params: Record<string, string | number | string[]>;
}

type Source = { kind: 'rollup'; table: string } | { kind: 'raw' };

/** Which table serves a resolution: the coarsest rollup whose buckets divide it. */
export function sourceFor(stepMs: number): Source {
  if (stepMs < 60_000) return { kind: 'raw' };
  if (stepMs % 86_400_000 === 0) return { kind: 'rollup', table: TABLES.eventsPerDay };
  if (stepMs % 3_600_000 === 0) return { kind: 'rollup', table: TABLES.eventsPerHour };
  return { kind: 'rollup', table: TABLES.eventsPerMinute };
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
    clauses.push(`dims[{k${index}:String}] = {v${index}:String}`);
    params[`k${index}`] = key;
    params[`v${index}`] = value;
  });
  return { clause: clauses.join(' AND '), params };
}

/** Aggregates per row group: counts and sums, plus the merged user sketch (or an exact count from raw events). */
function measures(source: Source, withUsers: boolean): string {
  if (source.kind === 'raw') {
    return `count() AS events, sum(value) AS value_sum${withUsers ? ', uniqExact(user_id) AS users_exact' : ''}`;
  }
  return `sum(events) AS events, sum(value_sum) AS value_sum${withUsers ? ', maxMap(users_hll) AS users_hll' : ''}`;
}

function tableOf(source: Source): string {
  return source.kind === 'raw' ? TABLES.rawEvents : source.table;
}

function bucket(source: Source): string {
  const time = source.kind === 'raw' ? 'toDateTime(event_time)' : 'window_start';
  return `toUnixTimestamp(toStartOfInterval(${time}, toIntervalSecond({step:UInt32})))`;
}

/** One row per bucket: t (epoch s), events, value_sum, and users when the measure is unique_users. */
export function seriesStatement(query: MetricsQuery, projectId: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  return {
    sql: `SELECT ${bucket(source)} AS t, ${measures(source, query.measure === 'unique_users')}
          FROM ${tableOf(source)} WHERE ${clause} GROUP BY t ORDER BY t`,
    params: { ...params, step: query.stepMs / 1000 },
  };
}

/** Uniques over the whole range: sketches merged once, never per-bucket uniques added up. */
export function totalUsersStatement(query: MetricsQuery, projectId: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  return { sql: `SELECT ${measures(source, true)} FROM ${tableOf(source)} WHERE ${clause}`, params };
}

/** The top `limit` values of the groupBy dimension over the range, by the query's measure. */
export function topGroupsStatement(query: MetricsQuery, projectId: string, groupBy: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  const rank = query.measure === 'value_sum' ? 'value_sum' : 'events';
  return {
    sql: `SELECT dims[{groupBy:String}] AS k, ${measures(source, false)}
          FROM ${tableOf(source)} WHERE ${clause} GROUP BY k ORDER BY ${rank} DESC, k LIMIT {limit:UInt32}`,
    params: { ...params, groupBy, limit: query.limit },
  };
}

/** Per bucket and group, with every value outside `top` folded into `otherLabel`. */
export function groupSeriesStatement(query: MetricsQuery, projectId: string, groupBy: string, top: string[], otherLabel: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  return {
    sql: `SELECT ${bucket(source)} AS t,
                 if(has({top:Array(String)}, dims[{groupBy:String}]), dims[{groupBy:String}], {other:String}) AS k,
                 ${measures(source, query.measure === 'unique_users')}
          FROM ${tableOf(source)} WHERE ${clause} GROUP BY t, k ORDER BY t, k`,
    params: { ...params, step: query.stepMs / 1000, groupBy, top, other: otherLabel },
  };
}

/** Uniques per group over the whole range (merged sketches), for a unique_users breakdown. */
export function groupUsersStatement(query: MetricsQuery, projectId: string, groupBy: string, top: string[], otherLabel: string): Statement {
  const source = sourceFor(query.stepMs);
  const { clause, params } = where(query, projectId, source);
  return {
    sql: `SELECT if(has({top:Array(String)}, dims[{groupBy:String}]), dims[{groupBy:String}], {other:String}) AS k, ${measures(source, true)}
          FROM ${tableOf(source)} WHERE ${clause} GROUP BY k`,
    params: { ...params, groupBy, top, other: otherLabel },
  };
}
