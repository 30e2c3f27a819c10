import { beforeAll, describe, expect, it } from 'vitest';
import { flushAllShards, postJson, readGet, sleep, uniqueEventType } from './helpers.ts';

const MINUTE = 60_000;
const now = Date.now();
const thisMinute = now - (now % MINUTE);
const minute = (offset: number) => thisMinute + offset * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

interface Series {
  total: number;
  dataPoints: Array<{ time: string; value: number; anomaly?: boolean; lower?: number; upper?: number }>;
  groups?: Array<{ key: string; total: number; dataPoints: Array<{ time: string; value: number }> }>;
}

async function series(params: Record<string, string>): Promise<{ status: number; body: Series; cache: string | null }> {
  const response = await readGet(`/v1/metrics?${new URLSearchParams(params).toString()}`);
  return { status: response.status, body: await response.json(), cache: response.headers.get('X-Edgepulse-Cache') };
}

const checkout = uniqueEventType('checkout');
const visit = uniqueEventType('visit');

async function post(events: object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const response = await postJson('/v1/events', { events: events.slice(i, i + 500) });
    expect(response.status).toBe(202);
  }
}

beforeAll(async () => {
  // 40 quiet minutes of 5 checkouts each, then a spike of 120 at minute -4.
  const checkouts: object[] = [];
  for (let m = -44; m <= -5; m++) {
    for (let i = 0; i < 5; i++) checkouts.push({ eventId: `${checkout}-${m}-${i}`, eventType: checkout, timestamp: minute(m) + i * 1000, value: 10, userId: `u${(m * 5 + i) % 37}`, dimensions: { country: 'FR' } });
  }
  for (let i = 0; i < 120; i++) checkouts.push({ eventId: `${checkout}-spike-${i}`, eventType: checkout, timestamp: minute(-4) + 100 + i, value: 10, userId: `spike${i}`, dimensions: { country: 'FR' } });
  // Visits: 30 users, each visiting in 3 different minutes; countries US (most), DE, FR, JP.
  const visits: object[] = [];
  for (let u = 0; u < 30; u++) {
    for (const m of [-12, -11, -10]) {
      const country = u < 15 ? 'US' : u < 24 ? 'DE' : u < 28 ? 'FR' : 'JP';
      visits.push({ eventId: `${visit}-${u}-${m}`, eventType: visit, timestamp: minute(m) + u * 100, userId: `visitor${u}`, dimensions: { country } });
    }
  }
  await post([...checkouts, ...visits]);
  await sleep(1100);
  await flushAllShards();
});

describe('GET /v1/metrics query API', () => {
  it('breaks a series down by a dimension: top N plus __other__, with totals', async () => {
    const { status, body } = await series({ metric: 'events', eventType: visit, start: iso(minute(-15)), end: iso(minute(-5)), groupBy: 'country', limit: '2' });
    expect(status).toBe(200);
    expect(body.total).toBe(90);
    expect(body.groups?.map((g) => [g.key, g.total])).toEqual([
      ['US', 45],
      ['DE', 27],
      ['__other__', 18],
    ]);
    const us = body.groups?.[0]?.dataPoints.filter((p) => p.value > 0).map((p) => [p.time, p.value]);
    expect(us).toEqual([
      [iso(minute(-12)), 15],
      [iso(minute(-11)), 15],
      [iso(minute(-10)), 15],
    ]);
  });

  it('counts unique users over a range from merged sketches, not by adding per-minute uniques', async () => {
    const { body } = await series({ metric: 'unique_users', eventType: visit, start: iso(minute(-15)), end: iso(minute(-5)) });
    const perMinuteSum = body.dataPoints.reduce((sum, p) => sum + p.value, 0);
    // 30 people, each seen in 3 minutes: adding minutes would say ~90.
    expect(perMinuteSum).toBeGreaterThan(80);
    expect(Math.abs(body.total - 30)).toBeLessThanOrEqual(2);
    const filtered = await series({ metric: 'unique_users', eventType: visit, country: 'DE', start: iso(minute(-15)), end: iso(minute(-5)) });
    expect(Math.abs(filtered.body.total - 9)).toBeLessThanOrEqual(1);
  });

  it('reports rate as events per second of each bucket', async () => {
    const { body } = await series({ metric: 'rate', eventType: visit, start: iso(minute(-12)), end: iso(minute(-11)) });
    expect(body.dataPoints).toEqual([{ time: iso(minute(-12)), value: 30 / 60 }]);
  });

  it('sums values and serves hourly resolution from the hourly rollup', async () => {
    const { body } = await series({ metric: 'value_sum', eventType: checkout, start: iso(minute(-60)), end: iso(minute(0)), resolution: '1h' });
    expect(body.total).toBe((40 * 5 + 120) * 10);
  });

  it('flags the injected spike as an anomaly against the trailing baseline, with bands', async () => {
    const { body } = await series({ metric: 'events', eventType: checkout, start: iso(minute(-20)), end: iso(minute(-3)), anomaly: '1', window: '20' });
    const spike = body.dataPoints.find((p) => p.time === iso(minute(-4)));
    expect(spike).toMatchObject({ value: 120, anomaly: true });
    const quiet = body.dataPoints.find((p) => p.time === iso(minute(-6)));
    expect(quiet?.anomaly).toBe(false);
    expect(quiet?.lower).toBeLessThan(5);
    expect(quiet?.upper).toBeGreaterThan(5);
  });

  it('fills the newest, not yet flushed minute from the live layer', async () => {
    const liveType = uniqueEventType('live_edge');
    const t = Date.now();
    // A minute that cannot have been flushed yet: the current one.
    expect((await postJson('/v1/events', { events: [1, 2, 3, 4].map((i) => ({ eventType: liveType, timestamp: t, userId: `l${i}` })) })).status).toBe(202);
    const { body } = await series({ metric: 'events', eventType: liveType, start: iso(t - (t % MINUTE) - 2 * MINUTE), end: iso(t - (t % MINUTE) + MINUTE) });
    expect(body.dataPoints.at(-1)).toEqual({ time: iso(t - (t % MINUTE)), value: 4 });
  });

  it('caches results at the edge per project and query, whatever key order', async () => {
    const params = { metric: 'events', eventType: checkout, start: iso(minute(-30)), end: iso(minute(-20)) };
    const first = await series(params);
    const reordered = await readGet(`/v1/metrics?end=${params.end}&start=${params.start}&eventType=${checkout}&metric=events`);
    expect(first.cache).toBe('MISS');
    expect(reordered.headers.get('X-Edgepulse-Cache')).toBe('HIT');
    expect(await reordered.json()).toEqual(first.body);
  });

  it('answers bad parameters with 400 and a code', async () => {
    for (const [params, code] of [
      [{ metric: 'events', resolution: '7m' }, 'invalid_resolution'],
      [{ metric: 'events', start: iso(minute(0)), end: iso(minute(-1)) }, 'invalid_range'],
      [{ metric: 'events', resolution: '1m', start: iso(now - 30 * 86_400_000) }, 'range_too_large'],
      [{ metric: 'events', groupBy: 'no such' }, 'invalid_group_by'],
      [{ metric: 'events', anomaly: '1', sigma: '-1' }, 'invalid_anomaly'],
    ] as const) {
      const response = await readGet(`/v1/metrics?${new URLSearchParams(params).toString()}`);
      expect(response.status).toBe(400);
      const body: { error: { code: string } } = await response.json();
      expect(body.error.code).toBe(code);
    }
  });
});

describe('GET /v1/health', () => {
  it('reports per-shard flush state, flush lag and freshness', async () => {
    await postJson('/v1/events', { eventType: uniqueEventType('fresh'), timestamp: Date.now(), userId: 'h1' });
    const response = await readGet('/v1/health');
    expect(response.status).toBe(200);
    const body: { status: string; freshnessMs: number | null; stale: boolean; flushLagMs: number; shards: Array<{ shard: number; lastFlush: unknown }> } = await response.json();
    expect(body.shards.map((s) => s.shard)).toEqual([0, 1, 2, 3]);
    expect(body.freshnessMs).not.toBeNull();
    expect(body.freshnessMs ?? Infinity).toBeLessThan(10_000);
    expect(body.stale).toBe(false);
    expect(body.status).toBe('ok');
  });
});
