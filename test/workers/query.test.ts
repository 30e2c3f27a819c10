import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../workers/index.ts';
import { faultsFor, makeEvents, shardOf } from './aggregation-support.ts';
import { BASE, bearer, countInClickHouse, createTestProject, flushAllShards, postJson, readGet, request, sleep, testProject, uniqueEventType, type TestProject } from './helpers.ts';

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

  it('answers 10 s resolution from raw events, and 400 resolution_unavailable where raw events are off', async () => {
    const params = new URLSearchParams({ metric: 'events', eventType: checkout, resolution: '10s', start: iso(minute(-6)), end: iso(minute(-3)) });
    const on = await readGet(`/v1/metrics?${params.toString()}`);
    expect(on.status).toBe(200);
    const body: Series = await on.json();
    expect(body.total).toBe(5 + 5 + 120);
    // The same Worker with RAW_EVENTS=0 (the deployed default): nothing to read from.
    const ctx = createExecutionContext();
    const off = await app.fetch(new Request(`${BASE}/v1/metrics?${params.toString()}`, { headers: bearer(testProject().keys.read) }), { ...env, RAW_EVENTS: '0' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(off.status).toBe(400);
    const error: { error: { code: string; message: string } } = await off.json();
    expect(error.error.code).toBe('resolution_unavailable');
    expect(error.error.message).toContain('RAW_EVENTS');
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

describe('live fill of breakdowns and coarse buckets', () => {
  let project: TestProject;
  const liveType = uniqueEventType('fill');
  const t = Date.now();
  const floor = (step: number) => t - (t % step);
  const get = async (params: Record<string, string>): Promise<Series> => {
    const response = await request(`/v1/metrics?${new URLSearchParams({ metric: 'events', eventType: liveType, ...params }).toString()}`, { headers: bearer(project.keys.read) });
    expect(response.status).toBe(200);
    return response.json();
  };
  const groupsAt = (body: Series, time: number) => body.groups?.map((g) => [g.key, g.dataPoints.find((p) => p.time === iso(time))?.value]);

  beforeAll(async () => {
    project = await createTestProject();
    // ClickHouse refuses this project's flushes: what the query API shows is the live layer alone.
    await faultsFor(project.projectId).set('down');
    const countries = ['US', 'US', 'US', 'DE', 'DE', 'FR', 'JP'];
    const response = await request('/v1/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(project.keys.server) },
      body: JSON.stringify({ events: countries.map((country, i) => ({ eventType: liveType, timestamp: t, userId: `f${i}`, dimensions: { country } })) }),
    });
    expect(response.status).toBe(202);
  });

  it('fills breakdown groups ClickHouse has not seen from the shards: top N by live counts, the rest folded', async () => {
    expect((await countInClickHouse(liveType, project.projectId)).events).toBe(0);
    const body = await get({ start: iso(floor(MINUTE) - 2 * MINUTE), end: iso(floor(MINUTE) + MINUTE), groupBy: 'country', limit: '2' });
    expect(groupsAt(body, floor(MINUTE))).toEqual([
      ['US', 3],
      ['DE', 2],
      ['__other__', 2],
    ]);
    expect(body.groups?.map((g) => [g.key, g.total])).toEqual([
      ['US', 3],
      ['DE', 2],
      ['__other__', 2],
    ]);
    expect(body.total).toBe(7);
  });

  it('fills the open 5m, 15m and 1h buckets as a whole, series and groups', async () => {
    for (const [resolution, step] of [['5m', 5 * MINUTE], ['15m', 15 * MINUTE], ['1h', 60 * MINUTE]] as const) {
      const range = { start: iso(floor(step) - step), end: iso(floor(step) + step), resolution };
      const series = await get(range);
      expect(series.dataPoints.map((p) => [p.time, p.value])).toEqual([
        [iso(floor(step) - step), 0],
        [iso(floor(step)), 7],
      ]);
      const breakdown = await get({ ...range, groupBy: 'country', limit: '3' });
      expect(groupsAt(breakdown, floor(step))).toEqual([
        ['US', 3],
        ['DE', 2],
        ['FR', 1],
        ['__other__', 1],
      ]);
    }
  });

  it('counts nothing twice once ClickHouse has the minute', async () => {
    await faultsFor(project.projectId).set('ok');
    await flushAllShards(project.projectId);
    for (let i = 0; i < 50 && (await countInClickHouse(liveType, project.projectId)).events < 7; i++) await sleep(100);
    expect((await countInClickHouse(liveType, project.projectId)).events).toBe(7);
    // limit 1 is a query not cached yet.
    const body = await get({ start: iso(floor(MINUTE) - 2 * MINUTE), end: iso(floor(MINUTE) + MINUTE), groupBy: 'country', limit: '1' });
    expect(groupsAt(body, floor(MINUTE))).toEqual([
      ['US', 3],
      ['__other__', 4],
    ]);
    expect(body.total).toBe(7);
  });
});

describe('GET /v1/catalog edge cache', () => {
  it('is shared per project for a minute, whatever key reads it', async () => {
    const project = await createTestProject();
    const first = await request('/v1/catalog', { headers: bearer(project.keys.read) });
    expect(first.status).toBe(200);
    expect(first.headers.get('X-Edgepulse-Cache')).toBe('MISS');
    await sleep(50);
    const again = await request(`/v1/catalog?key=${project.keys.read}`);
    expect(again.headers.get('X-Edgepulse-Cache')).toBe('HIT');
    expect(await again.json()).toEqual(await first.json());
    // Another project's catalog is its own entry.
    const other = await createTestProject();
    const theirs = await request('/v1/catalog', { headers: bearer(other.keys.read) });
    expect(theirs.headers.get('X-Edgepulse-Cache')).toBe('MISS');
    const body: { projectId: string } = await theirs.json();
    expect(body.projectId).toBe(other.projectId);
  });
});

describe('GET /v1/active-users', () => {
  it('merges every shard\'s sliding-window sketch: users in two shards count once', async () => {
    const project = await createTestProject();
    const now = Date.now();
    // Straight into two real shards, with 5 users in both (the edge routes a user to one shard; the merge must not rely on it).
    const shared = (i: number) => ({ userId: `shared-${i % 5}` });
    await shardOf(project.projectId, 0).ingest({ projectId: project.projectId, shard: 0, events: [...makeEvents('a', 12, { eventType: 'visit', timestampMs: now, users: 12 }), ...makeEvents('sa', 5, { eventType: 'visit', timestampMs: now, extra: shared })] });
    await shardOf(project.projectId, 1).ingest({ projectId: project.projectId, shard: 1, events: [...makeEvents('b', 8, { eventType: 'visit', timestampMs: now, users: 4, dimensions: () => ({ country: 'FR' }) }), ...makeEvents('sb', 5, { eventType: 'buy', timestampMs: now, extra: shared })] });
    const read = async (query: string): Promise<{ response: Response; body: { activeUsers: number; events: number; shards: number; from: string; to: string } }> => {
      const response = await request(`/v1/active-users?${query}`, { headers: bearer(project.keys.read) });
      expect(response.status).toBe(200);
      return { response, body: await response.json() };
    };
    const all = await read('lastSeconds=300');
    // 12 a-users + 4 b-users + 5 shared ones (in both shards) = 21; events 12 + 5 + 8 + 5.
    expect(all.body).toMatchObject({ activeUsers: 21, events: 30, shards: 4 });
    expect(Date.parse(all.body.to) - Date.parse(all.body.from)).toBeGreaterThanOrEqual(300_000);
    expect(all.response.headers.get('X-Edgepulse-Cache')).toBe('MISS');
    expect((await read('eventType=visit&lastSeconds=300')).body).toMatchObject({ activeUsers: 21, events: 25 });
    expect((await read('eventType=buy&lastSeconds=300')).body).toMatchObject({ activeUsers: 5, events: 5 });
    expect((await read('country=FR&lastSeconds=300')).body).toMatchObject({ activeUsers: 4, events: 8 });
    await sleep(50);
    // Many viewers, one fan-out: the same question in another parameter order is a cache hit.
    const again = await request(`/v1/active-users?lastSeconds=300&key=${project.keys.read}`);
    expect(again.headers.get('X-Edgepulse-Cache')).toBe('HIT');
  });

  it('is for read keys only, and answers bad windows with 400', async () => {
    const project = await createTestProject();
    expect((await request('/v1/active-users', { headers: bearer(project.keys.server) })).status).toBe(403);
    const bad = await request('/v1/active-users?lastSeconds=99999', { headers: bearer(project.keys.read) });
    expect(bad.status).toBe(400);
    const body: { error: { code: string } } = await bad.json();
    expect(body.error.code).toBe('invalid_last_seconds');
  });
});
