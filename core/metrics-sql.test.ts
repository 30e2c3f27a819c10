import { describe, expect, it } from 'vitest';
import { parseMetricsQuery, type MetricsQuery } from './metrics-query.ts';
import { groupSeriesStatement, seriesStatement, sourceFor, topGroupsStatement, totalUsersStatement } from './metrics-sql.ts';

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
    const statement = seriesStatement(query({ metric: 'events', eventType: 'page_view', country: hostile }), 'proj');
    expect(statement.sql).not.toContain(hostile);
    expect(statement.sql).not.toContain('DROP');
    expect(Object.values(statement.params)).toContain(hostile);
    expect(statement.sql).toContain('dims[{k0:String}] = {v0:String}');
  });

  it('aligns the range start to the bucket so the first bucket is complete', () => {
    const statement = seriesStatement(query({ metric: 'events', resolution: '1h', start: '2026-11-23T10:30:00Z', end: '2026-11-23T12:00:00Z' }), 'p');
    expect(statement.params.start).toBe('2026-11-23 10:00:00');
    expect(statement.params.step).toBe(3600);
  });

  it('merges user sketches for unique_users, and counts raw users exactly at 10 s', () => {
    expect(seriesStatement(query({ metric: 'unique_users' }), 'p').sql).toContain('maxMap(users_hll)');
    expect(totalUsersStatement(query({ metric: 'unique_users' }), 'p').sql).not.toContain('GROUP BY');
    const raw = seriesStatement(query({ metric: 'unique_users', resolution: '10s', start: String(NOW - 600_000) }), 'p');
    expect(raw.sql).toContain('uniqExact(user_id)');
    expect(raw.sql).toContain('bot = 0');
  });

  it('ranks breakdown groups by the measure and folds the rest', () => {
    const q = query({ metric: 'value_sum', groupBy: 'country', limit: '3' });
    expect(topGroupsStatement(q, 'p', 'country').sql).toContain('ORDER BY value_sum DESC');
    const series = groupSeriesStatement(q, 'p', 'country', ['US', 'DE'], '__other__');
    expect(series.params.top).toEqual(['US', 'DE']);
    expect(series.sql).toContain('has({top:Array(String)}');
  });
});
