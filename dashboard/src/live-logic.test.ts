import { describe, expect, test } from 'vitest';
import { DEFAULT_STALE_AFTER_MS, hrefWithView, parseStaleAfter, readConfig, sameFilters } from './config.ts';
import { parseDelta, parseFrame } from './delta.ts';
import { assessFreshness } from './freshness.ts';
import { errorRate, eventsPerSecond, recentSum } from './kpi-math.ts';
import { MinuteSeries } from './series.ts';
import { MINUTE_MS } from './time.ts';
import { topicName } from './topics.ts';
import { planTopics } from './view-topics.ts';

const H = Date.UTC(2026, 5, 7, 10, 30);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('freshness alarm', () => {
  const base = { connection: 'open' as const, openedAt: 1000, startedAt: 0, staleAfterMs: 10_000 };
  test('live while the newest delta is younger than the threshold', () => {
    expect(assessFreshness({ ...base, newestDataAt: 5000, now: 14_000 })).toEqual({ state: 'live', freshnessMs: 9000, alarm: false });
  });
  test('an open socket with old data is stale: a stale dashboard never looks live', () => {
    expect(assessFreshness({ ...base, newestDataAt: 5000, now: 15_001 })).toMatchObject({ state: 'stale', alarm: true });
  });
  test('no data at all counts from when the socket opened', () => {
    expect(assessFreshness({ ...base, newestDataAt: null, now: 5000 })).toMatchObject({ state: 'waiting', alarm: false, freshnessMs: null });
    expect(assessFreshness({ ...base, newestDataAt: null, now: 11_001 })).toMatchObject({ state: 'stale', alarm: true });
  });
  test('a dropped socket shows reconnecting, then stale once the data is too old', () => {
    const down = { ...base, connection: 'reconnecting' as const, openedAt: null, newestDataAt: 1000 };
    expect(assessFreshness({ ...down, now: 4000 }).state).toBe('reconnecting');
    expect(assessFreshness({ ...down, now: 12_000 })).toMatchObject({ state: 'stale', alarm: true });
  });
  test('after a reconnect, data from before it is not "live"', () => {
    expect(assessFreshness({ ...base, openedAt: 9000, newestDataAt: 8000, now: 9500 }).state).toBe('waiting');
  });
});

describe('config from the URL', () => {
  test('defaults', () => {
    const c = readConfig('');
    expect(c).toMatchObject({ key: null, staleAfterMs: DEFAULT_STALE_AFTER_MS, metric: 'events', revenueEventType: 'purchase', errorEventType: 'error', visibleMinutes: 1440 });
    expect(c.filters).toEqual({ eventType: null, dims: {} });
  });
  test('filters, stale threshold, window; invalid names are reported', () => {
    const c = readConfig('?key=rk&eventType=ad_click&country=US&deviceType=MOBILE&foo=1&staleAfter=2.5&window=1h&metric=value_sum');
    expect(c.filters).toEqual({ eventType: 'ad_click', dims: { country: 'US', deviceType: 'MOBILE' } });
    expect(c).toMatchObject({ key: 'rk', staleAfterMs: 2500, visibleMinutes: 60, metric: 'value_sum' });
    expect(readConfig('?eventType=bad type').ignored).toEqual(['eventType=bad type']);
  });
  test('staleAfter accepts seconds with an optional "s", clamps, and falls back', () => {
    expect(parseStaleAfter('10s')).toBe(10_000);
    expect(parseStaleAfter('0')).toBe(1000);
    expect(parseStaleAfter('nonsense')).toBe(DEFAULT_STALE_AFTER_MS);
  });
  test('the URL keeps the key and the threshold while the view changes', () => {
    const href = hrefWithView('http://h/?key=k&staleAfter=3&country=US', { eventType: 'purchase', dims: { campaignId: 'c 1' } }, 'value_sum', 60);
    const params = new URL(href, 'http://h').searchParams;
    expect(Object.fromEntries(params)).toEqual({ key: 'k', staleAfter: '3', eventType: 'purchase', campaignId: 'c 1', metric: 'value_sum', window: '1h' });
    expect(sameFilters({ eventType: null, dims: { country: 'US' } }, { eventType: null, dims: { country: 'US' } })).toBe(true);
  });
});

describe('topics', () => {
  test('percent-encoded, dimensions sorted, * for every event type', () => {
    expect(topicName('metrics', null, {})).toBe('metrics:*');
    expect(topicName('value_sum', 'purchase', { country: 'US', campaignId: 'a:b' })).toBe('value_sum:purchase:campaignId:a%3Ab:country:US');
  });
  test('one view shares topics between roles', () => {
    const plan = planTopics({ eventType: null, dims: {} }, 'events', 'purchase', 'error');
    expect(plan.roles.chart).toBe('metrics:*');
    expect(plan.roles.all).toBe('metrics:*');
    expect(plan.needs.get('metrics:*')).toMatchObject({ minutes: 1440, anomaly: true });
    expect([...plan.needs.keys()].sort()).toEqual(['metrics:*', 'metrics:error', 'value_sum:purchase']);
  });
});

describe('live frames', () => {
  test('a delta, with an anomaly flag; unknown fields ignored', () => {
    expect(parseDelta({ topic: 't', windowStart: iso(H), windowEnd: iso(H + MINUTE_MS), value: 3, timestamp: iso(H + 5), seq: 7, anomaly: true, extra: 1 }))
      .toEqual({ topic: 't', windowStartMs: H, value: 3, seq: 7, timestampMs: H + 5, anomaly: true });
  });
  test('non-minute windows, bad values and wrong types are refused', () => {
    expect(parseDelta({ topic: 't', windowStart: iso(H), windowEnd: iso(H + 10_000), value: 3 })).toBeNull();
    expect(parseDelta({ topic: 't', windowStart: 'nope', value: 3 })).toBeNull();
    expect(parseDelta({ topic: 't', windowStart: iso(H), value: '3' })).toBeNull();
  });
  test('frames: arrays, acks, errors, snapshots, and unknown types', () => {
    const items = parseFrame([
      { type: 'subscribed', topic: 't' },
      { error: { code: 'invalid_topic', message: 'no' } },
      { type: 'snapshot', topic: 't', from: iso(H), to: iso(H + MINUTE_MS), seq: 5, points: [{ time: iso(H), value: 2 }, { time: 'x', value: 1 }] },
      { type: 'resume', topic: 't' },
      { topic: 't', windowStart: iso(H), value: 1 },
    ]);
    expect(items.map((i) => i.kind)).toEqual(['subscribed', 'error', 'snapshot', 'unknown', 'delta']);
    const snapshot = items[2];
    expect(snapshot?.kind === 'snapshot' ? snapshot.points : null).toEqual([{ time: H, value: 2 }]);
    expect(snapshot?.kind === 'snapshot' ? [snapshot.fromMs, snapshot.toMs] : null).toEqual([H, H + MINUTE_MS]);
  });
});

describe('KPIs', () => {
  test('events/s: this minute plus the unelapsed share of the previous one', () => {
    const s = new MinuteSeries(2, H);
    s.applySnapshot([{ time: H - MINUTE_MS, value: 120 }, { time: H, value: 30 }], H - MINUTE_MS, H + MINUTE_MS, 1);
    expect(eventsPerSecond(s, H + 15_000)).toBeCloseTo((30 + 120 * 0.75) / 60);
  });
  test('events/s early in a minute with no previous value divides by the time elapsed (at least 5 s)', () => {
    const s = new MinuteSeries(2, H);
    s.applyDelta({ windowStartMs: H, value: 10, seq: 1 }, 1);
    expect(eventsPerSecond(s, H + 1000)).toBe(2);
    expect(eventsPerSecond(s, H + 10_000)).toBe(1);
  });
  test('revenue and error rate over recent windows', () => {
    const errors = new MinuteSeries(15, H);
    const all = new MinuteSeries(15, H);
    expect(errorRate(errors, all, 15)).toBeNull();
    errors.applySnapshot([{ time: H, value: 2 }], H - 14 * MINUTE_MS, H + MINUTE_MS, 1);
    all.applySnapshot([{ time: H, value: 50 }, { time: H - MINUTE_MS, value: 50 }], H - 14 * MINUTE_MS, H + MINUTE_MS, 1);
    expect(errorRate(errors, all, 15)).toEqual({ rate: 0.02, errors: 2, events: 100 });
    expect(recentSum(all, 1)).toEqual({ value: 50, complete: true });
  });
});
