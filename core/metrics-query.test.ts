import { describe, expect, it } from 'vitest';
import { fillSeries, parseMetricsQuery, type MetricsQuery } from './metrics-query.ts';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 30); // 2024-06-01T12:00:30Z, not minute-aligned
const MINUTE = 60_000;
const HOUR = 3_600_000;

function parse(query: string | Record<string, string> | Array<[string, string]>, now = NOW) {
  return parseMetricsQuery(new URLSearchParams(query), now);
}

function ok(query: string | Record<string, string> | Array<[string, string]>, now = NOW): MetricsQuery {
  const parsed = parse(query, now);
  if (!parsed.ok) throw new Error(`expected ok, got ${parsed.code}: ${parsed.message}`);
  return parsed.query;
}

function code(query: string | Record<string, string> | Array<[string, string]>, now = NOW): string {
  const parsed = parse(query, now);
  if (parsed.ok) throw new Error(`expected failure, got ${JSON.stringify(parsed.query)}`);
  expect(parsed.message.length).toBeGreaterThan(0);
  return parsed.code;
}

describe('parseMetricsQuery: defaults', () => {
  it('defaults to the last hour ending now at 1m resolution', () => {
    expect(ok({ metric: 'events' })).toEqual({
      metric: 'events',
      measure: 'events',
      eventType: null,
      filters: {},
      startMs: NOW - HOUR,
      endMs: NOW,
      stepMs: MINUTE,
      resolutionLabel: '1m',
      groupBy: null,
      limit: 10,
      anomaly: null,
    });
  });

  it('accepts rate and unique_users as measures', () => {
    expect(ok({ metric: 'rate' }).measure).toBe('rate');
    expect(ok({ metric: 'unique_users', eventType: 'page_view' })).toMatchObject({ measure: 'unique_users', eventType: 'page_view' });
  });

  it('parses a breakdown and refuses bad groupBy / limit', () => {
    expect(ok({ metric: 'events', groupBy: 'country', limit: '5' })).toMatchObject({ groupBy: 'country', limit: 5, filters: {} });
    expect(code({ metric: 'events', groupBy: 'bad name' })).toBe('invalid_group_by');
    expect(code({ metric: 'events', groupBy: 'country', limit: '500' })).toBe('invalid_limit');
    expect(code({ metric: 'events', groupBy: 'country', limit: '0' })).toBe('invalid_limit');
  });

  it('parses anomaly options with defaults and bounds', () => {
    expect(ok({ metric: 'events', anomaly: '1' }).anomaly).toEqual({ baseline: 'trailing', window: 30, days: 7, sigma: 2, minSamples: 8 });
    expect(ok({ metric: 'events', anomaly: '1', baseline: 'daily', days: '3', sigma: '3' }).anomaly).toMatchObject({ baseline: 'daily', days: 3, sigma: 3 });
    expect(code({ metric: 'events', anomaly: '1', baseline: 'weekly' })).toBe('invalid_anomaly');
    expect(code({ metric: 'events', anomaly: '1', sigma: 'NaN' })).toBe('invalid_anomaly');
    expect(code({ metric: 'events', anomaly: 'maybe' })).toBe('invalid_anomaly');
  });

  it('limits 10-second resolution to 6 hours', () => {
    expect(ok({ metric: 'events', resolution: '10s', start: String(NOW - HOUR), end: String(NOW) }).stepMs).toBe(10_000);
    expect(code({ metric: 'events', resolution: '10s', start: String(NOW - 7 * HOUR), end: String(NOW) })).toBe('range_too_large');
  });

  it('requires metric', () => {
    expect(code({})).toBe('missing_metric');
    expect(code({ metric: '' })).toBe('missing_metric');
  });

  it('rejects a metric that is not an identifier', () => {
    expect(code({ metric: 'bad metric' })).toBe('invalid_metric');
    expect(code({ metric: 'm'.repeat(65) })).toBe('invalid_metric');
    expect(ok({ metric: 'm'.repeat(64) }).eventType).toBe('m'.repeat(64));
  });
});

describe('parseMetricsQuery: measure and event type', () => {
  it('metric=events counts, optionally for one eventType', () => {
    expect(ok({ metric: 'events', eventType: 'click' })).toMatchObject({ measure: 'events', eventType: 'click' });
  });

  it('metric=value_sum sums values, over all types or one eventType', () => {
    expect(ok({ metric: 'value_sum' })).toMatchObject({ measure: 'value_sum', eventType: null });
    expect(ok({ metric: 'value_sum', eventType: 'purchase' })).toMatchObject({ measure: 'value_sum', eventType: 'purchase' });
  });

  it('treats any other metric as an event type to count (seed compat)', () => {
    expect(ok({ metric: 'ad_clicks' })).toMatchObject({ metric: 'ad_clicks', measure: 'events', eventType: 'ad_clicks' });
    expect(ok({ metric: 'ad_clicks', eventType: 'ad_clicks' })).toMatchObject({ measure: 'events', eventType: 'ad_clicks' });
  });

  it('rejects an eventType that conflicts with the metric event type', () => {
    expect(code({ metric: 'ad_clicks', eventType: 'page_view' })).toBe('conflicting_event_type');
  });

  it('rejects an invalid eventType', () => {
    expect(code({ metric: 'events', eventType: 'has space' })).toBe('invalid_event_type');
    expect(code({ metric: 'value_sum', eventType: '' })).toBe('invalid_event_type');
  });
});

describe('parseMetricsQuery: resolution', () => {
  it('maps each resolution label to its step', () => {
    const steps: Record<string, number> = { '1m': MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '1h': HOUR, '1d': 24 * HOUR };
    for (const [label, stepMs] of Object.entries(steps)) {
      expect(ok({ metric: 'events', resolution: label })).toMatchObject({ stepMs, resolutionLabel: label });
    }
  });

  it('rejects unknown resolutions', () => {
    for (const resolution of ['1s', '2m', '1w', '', '60000', '1H']) {
      expect(code({ metric: 'events', resolution }), resolution).toBe('invalid_resolution');
    }
  });
});

describe('parseMetricsQuery: time range', () => {
  it('accepts ISO-8601 with a zone, epoch seconds and epoch milliseconds', () => {
    const start = Date.UTC(2024, 5, 1, 10, 0, 0);
    const end = Date.UTC(2024, 5, 1, 11, 0, 0);
    expect(ok({ metric: 'events', start: '2024-06-01T10:00:00Z', end: '2024-06-01T13:00:00+02:00' })).toMatchObject({ startMs: start, endMs: end });
    expect(ok({ metric: 'events', start: String(start / 1000), end: String(end / 1000) })).toMatchObject({ startMs: start, endMs: end });
    expect(ok({ metric: 'events', start: String(start), end: String(end) })).toMatchObject({ startMs: start, endMs: end });
  });

  it('defaults start to one hour before an explicit end', () => {
    const end = Date.UTC(2024, 4, 1);
    expect(ok({ metric: 'events', end: String(end) })).toMatchObject({ startMs: end - HOUR, endMs: end });
  });

  it('defaults end to now when only start is given', () => {
    expect(ok({ metric: 'events', start: String(NOW - 10 * MINUTE) })).toMatchObject({ startMs: NOW - 10 * MINUTE, endMs: NOW });
  });

  it('rejects invalid times with invalid_start / invalid_end', () => {
    for (const bad of ['yesterday', '2024-06-01T10:00:00', '2024-06-01', '-5', '0', '1e12', '']) {
      expect(code({ metric: 'events', start: bad }), `start=${bad}`).toBe('invalid_start');
      expect(code({ metric: 'events', end: bad }), `end=${bad}`).toBe('invalid_end');
    }
  });

  it('rejects start at or after end with invalid_range', () => {
    expect(code({ metric: 'events', start: String(NOW), end: String(NOW) })).toBe('invalid_range');
    expect(code({ metric: 'events', start: String(NOW + MINUTE), end: String(NOW) })).toBe('invalid_range');
  });

  it('rejects more than 10,000 points with range_too_large, and allows exactly 10,000', () => {
    const end = Date.UTC(2024, 5, 1);
    expect(ok({ metric: 'events', start: String(end - 10_000 * MINUTE), end: String(end) }).startMs).toBe(end - 10_000 * MINUTE);
    expect(code({ metric: 'events', start: String(end - 10_000 * MINUTE - 1), end: String(end) })).toBe('range_too_large');
    // The same span is fine at a coarser resolution.
    expect(ok({ metric: 'events', start: String(end - 20_000 * MINUTE), end: String(end), resolution: '5m' }).stepMs).toBe(5 * MINUTE);
  });
});

describe('parseMetricsQuery: filters', () => {
  it('turns non-reserved parameters into dimension filters', () => {
    expect(ok({ metric: 'events', country: 'DE', 'plan.tier': 'pro', 'x-y_z': '' }).filters).toEqual({ country: 'DE', 'plan.tier': 'pro', 'x-y_z': '' });
  });

  it('ignores reserved parameters (metric, eventType, start, end, resolution, key)', () => {
    const query = ok({ metric: 'events', eventType: 'a', start: String(NOW - MINUTE), end: String(NOW), resolution: '1m', key: 'secret' });
    expect(query.filters).toEqual({});
  });

  it('rejects invalid dimension names, including __proto__', () => {
    for (const name of ['bad name', '9x', 'a:b', 'k'.repeat(65), '__proto__', '']) {
      expect(code([['metric', 'events'], [name, 'v']]), name).toBe('invalid_filter');
    }
  });

  it('does not pollute Object.prototype through filter names', () => {
    const query = ok([['metric', 'events'], ['constructor', 'x'], ['prototype', 'y']]);
    expect(query.filters.constructor).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(query.filters)).toBe(Object.prototype);
  });

  it('rejects filter values longer than 256 characters', () => {
    expect(ok({ metric: 'events', k: 'v'.repeat(256) }).filters.k).toHaveLength(256);
    expect(code({ metric: 'events', k: 'v'.repeat(257) })).toBe('invalid_filter');
  });

  it('allows 8 filters and rejects 9 with too_many_filters', () => {
    const filters = (n: number): Array<[string, string]> => Array.from({ length: n }, (_, i) => [`d${i}`, `v${i}`]);
    expect(Object.keys(ok([['metric', 'events'], ...filters(8)]).filters)).toHaveLength(8);
    expect(code([['metric', 'events'], ...filters(9)])).toBe('too_many_filters');
  });
});

describe('fillSeries', () => {
  function query(overrides: Partial<MetricsQuery>): MetricsQuery {
    return {
      metric: 'events',
      measure: 'events',
      eventType: null,
      filters: {},
      startMs: Date.UTC(2024, 5, 1, 10, 0),
      endMs: Date.UTC(2024, 5, 1, 10, 5),
      stepMs: MINUTE,
      resolutionLabel: '1m',
      groupBy: null,
      limit: 10,
      anomaly: null,
      ...overrides,
    };
  }

  it('emits one point per step from start (inclusive) to end (exclusive), zero-filled', () => {
    const t = (minute: number) => Date.UTC(2024, 5, 1, 10, minute);
    const series = fillSeries(query({}), [
      { time: t(1), value: 7 },
      { time: t(3), value: 2.5 },
    ]);
    expect(series).toEqual([
      { time: '2024-06-01T10:00:00.000Z', value: 0 },
      { time: '2024-06-01T10:01:00.000Z', value: 7 },
      { time: '2024-06-01T10:02:00.000Z', value: 0 },
      { time: '2024-06-01T10:03:00.000Z', value: 2.5 },
      { time: '2024-06-01T10:04:00.000Z', value: 0 },
    ]);
  });

  it('aligns the first point to the step bucket containing start', () => {
    const series = fillSeries(query({ startMs: Date.UTC(2024, 5, 1, 10, 7, 30), endMs: Date.UTC(2024, 5, 1, 10, 20), stepMs: 5 * MINUTE }), []);
    expect(series.map((p) => p.time)).toEqual(['2024-06-01T10:05:00.000Z', '2024-06-01T10:10:00.000Z', '2024-06-01T10:15:00.000Z']);
    expect(series.every((p) => p.value === 0)).toBe(true);
  });

  it('includes the bucket containing an unaligned end', () => {
    const series = fillSeries(query({ startMs: Date.UTC(2024, 5, 1, 10, 0), endMs: Date.UTC(2024, 5, 1, 10, 2, 1) }), []);
    expect(series.map((p) => p.time)).toEqual(['2024-06-01T10:00:00.000Z', '2024-06-01T10:01:00.000Z', '2024-06-01T10:02:00.000Z']);
  });

  it('aligns daily steps to UTC midnight', () => {
    const series = fillSeries(query({ startMs: Date.UTC(2024, 5, 1, 15), endMs: Date.UTC(2024, 5, 3, 1), stepMs: 24 * HOUR }), [
      { time: Date.UTC(2024, 5, 2), value: 3 },
    ]);
    expect(series).toEqual([
      { time: '2024-06-01T00:00:00.000Z', value: 0 },
      { time: '2024-06-02T00:00:00.000Z', value: 3 },
      { time: '2024-06-03T00:00:00.000Z', value: 0 },
    ]);
  });

  it('ignores buckets outside the range or not on a step boundary', () => {
    const series = fillSeries(query({}), [
      { time: Date.UTC(2024, 5, 1, 9, 59), value: 1 },
      { time: Date.UTC(2024, 5, 1, 10, 5), value: 1 },
      { time: Date.UTC(2024, 5, 1, 10, 2, 30), value: 1 },
    ]);
    expect(series).toHaveLength(5);
    expect(series.every((p) => p.value === 0)).toBe(true);
  });

  it('works with the query parsed from the defaults', () => {
    const q = ok({ metric: 'events' });
    const series = fillSeries(q, []);
    // now = 12:00:30, start = 11:00:30: buckets 11:00 .. 12:00 inclusive.
    expect(series).toHaveLength(61);
    expect(series[0]?.time).toBe('2024-06-01T11:00:00.000Z');
    expect(series.at(-1)?.time).toBe('2024-06-01T12:00:00.000Z');
  });
});
