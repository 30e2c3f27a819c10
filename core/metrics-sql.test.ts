import { describe, expect, it } from 'vitest';
import { parseMetricsQuery, type MetricsQuery } from './metrics-query.ts';
import { breakdownStatement, planMetrics, seriesStatement, sourceFor, totalUsersStatement } from './metrics-sql.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

function query(params: Record<string, string>): MetricsQuery {
  const parsed = parseMetricsQuery(new URLSearchParams(params), NOW);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.query;
}

describe('metrics SQL', () => {
  it('serves each resolution from the matching rollup', () => {
    expect(sourceFor(10_000)).toEqual({ kind: 'raw' });
    expect(sourceFor(60_000)).toEqual({ kind: 'rollup', table: 'events_1m' });
    expect(sourceFor(900_000)).toEqual({ kind: 'rollup', table: 'events_1m' });
    expect(sourceFor(3_600_000)).toEqual({ kind: 'rollup', table: 'events_1h' });
    expect(sourceFor(86_400_000)).toEqual({ kind: 'rollup', table: 'events_1d' });
  });

  it('never puts a value into the SQL text: hostile filters travel as parameters', () => {
    const hostile = "x' OR 1=1; DROP TABLE events_1m; --";
    const statement = seriesStatement(query({ metric: 'events', eventType: 'page_view', country: hostile, 'utm.source': hostile }), 'proj');
    expect(statement.sql).not.toContain(hostile);
    expect(statement.sql).not.toContain('DROP');
    expect(Object.values(statement.params)).toContain(hostile);
    // A dashboard dimension reads its own column; any other one the map, its name a parameter too.
    expect(statement.sql).toContain('dim_country = {v0:String}');
    expect(statement.sql).toContain('dims[{k1:String}] = {v1:String}');
    expect(statement.params.k1).toBe('utm.source');
  });

  it('reads the dims map for raw events, which have no dimension columns', () => {
    const raw = seriesStatement(query({ metric: 'events', resolution: '10s', start: String(NOW - 600_000), country: 'US' }), 'p');
    expect(raw.sql).toContain('dims[{k0:String}] = {v0:String}');
    expect(raw.sql).toContain('FROM events_raw');
  });

  it('aligns the range start to the bucket so the first bucket is complete', () => {
    const statement = seriesStatement(query({ metric: 'events', resolution: '1h', start: '2026-11-23T10:30:00Z', end: '2026-11-23T12:00:00Z' }), 'p');
    expect(statement.params.start).toBe('2026-11-23 10:00:00');
    expect(statement.params.step).toBe(3600);
  });

  it('merges user sketches for unique_users, and counts raw users exactly at 10 s', () => {
    expect(seriesStatement(query({ metric: 'unique_users' }), 'p').sql).toContain('maxMap(users_hll)');
    expect(seriesStatement(query({ metric: 'events' }), 'p').sql).not.toContain('users_hll');
    const raw = seriesStatement(query({ metric: 'unique_users', resolution: '10s', start: String(NOW - 600_000) }), 'p');
    expect(raw.sql).toContain('uniqExact(user_id)');
    expect(raw.sql).toContain('bot = 0');
    expect(totalUsersStatement(query({ metric: 'unique_users', resolution: '10s', start: String(NOW - 600_000) }), 'p').sql).not.toContain('GROUP BY');
  });

  it('ranks breakdown groups by the measure in one scan and folds the rest', () => {
    const q = query({ metric: 'value_sum', groupBy: 'country', limit: '3' });
    const statement = breakdownStatement(q, 'p', 'country', '__other__');
    expect(statement.sql).toContain('sum(v1) OVER (PARTITION BY k)');
    expect(statement.sql).toContain('dim_country AS k');
    expect(statement.params).toMatchObject({ limit: 3, other: '__other__' });
    expect(breakdownStatement(query({ metric: 'events', groupBy: 'plan' }), 'p', 'plan', '__other__').params.groupBy).toBe('plan');
    expect(breakdownStatement(query({ metric: 'events', groupBy: 'eventType' }), 'p', 'eventType', '__other__').sql).toContain('event_type AS k');
  });

  it('plans one statement for a breakdown and derives the main series from its groups', () => {
    const breakdown = query({ metric: 'events', groupBy: 'country' });
    expect(planMetrics(breakdown, breakdown, 'p', '__other__')).toMatchObject({ series: null, totalUsers: null });
    const withBands = query({ metric: 'events', groupBy: 'country', anomaly: '1' });
    expect(planMetrics(withBands, withBands, 'p', '__other__').series).not.toBeNull();
    // Exact raw counts of groups do not add up to the whole: those need their own series and total.
    const rawUsers = query({ metric: 'unique_users', resolution: '10s', start: String(NOW - 600_000), groupBy: 'country' });
    const plan = planMetrics(rawUsers, rawUsers, 'p', '__other__');
    expect(plan.series).not.toBeNull();
    expect(plan.totalUsers).not.toBeNull();
    const plain = query({ metric: 'unique_users' });
    expect(planMetrics(plain, plain, 'p', '__other__')).toMatchObject({ breakdown: null, totalUsers: null });
  });
});
