import { afterEach, describe, expect, test, vi } from 'vitest';
import { Api, ApiError } from './api.ts';

const H = Date.UTC(2026, 5, 7, 10, 30);

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('Api', () => {
  afterEach(() => vi.unstubAllGlobals());

  test('sends the key, validates points, keeps anomaly fields, groups and total', async () => {
    const calls: Array<{ url: string; auth: string | null }> = [];
    vi.stubGlobal('location', new URL('http://dash.test/?key=rk'));
    vi.stubGlobal('fetch', async (url: URL, init: RequestInit) => {
      calls.push({ url: String(url), auth: new Headers(init.headers).get('authorization') });
      return answer(200, {
        metric: 'events', dimensions: { country: 'US' },
        dataPoints: [{ time: new Date(H).toISOString(), value: 3, anomaly: true, lower: 1, upper: 2 }, { time: 'bad', value: 1 }],
        total: 3,
        groups: [{ key: 'US', total: 3, dataPoints: [] }, { key: '__other__', total: 1, dataPoints: [] }],
      });
    });
    const api = new Api('rk');
    const r = await api.metrics({ metric: 'events', eventType: null, startMs: H, endMs: H + 60_000, resolution: '1m', filters: { country: 'US' }, groupBy: 'deviceType', limit: 5, anomaly: true });
    expect(r.points).toEqual([{ time: H, value: 3, anomaly: true, lower: 1, upper: 2 }]);
    expect(r.total).toBe(3);
    expect(r.groups?.map((g) => g.key)).toEqual(['US', '__other__']);
    expect(r.unsupported).toEqual([]);
    const url = new URL(calls[0]?.url ?? '');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ metric: 'events', country: 'US', groupBy: 'deviceType', limit: '5', anomaly: '1', resolution: '1m' });
    expect(calls[0]?.auth).toBe('Bearer rk');
  });

  test('an API that takes control parameters for filters is asked again without them, once', async () => {
    const urls: URL[] = [];
    vi.stubGlobal('location', new URL('http://dash.test/'));
    vi.stubGlobal('fetch', async (url: URL) => {
      urls.push(new URL(String(url)));
      const dims = Object.fromEntries([...new URL(String(url)).searchParams].filter(([k]) => !['metric', 'start', 'end', 'resolution', 'eventType'].includes(k)));
      return answer(200, { metric: 'events', dimensions: dims, dataPoints: [] });
    });
    const api = new Api(null);
    const request = { metric: 'events' as const, eventType: null, startMs: H, endMs: H + 60_000, resolution: '1m' as const, filters: {}, anomaly: true };
    const first = await api.metrics(request);
    expect(first.unsupported).toEqual(['anomaly']);
    expect(urls.map((u) => u.searchParams.has('anomaly'))).toEqual([true, false]);
    const second = await api.metrics(request);
    expect(second.unsupported).toEqual(['anomaly']);
    expect(urls.length).toBe(3); // learned: no second round trip
  });

  test('errors carry code and status; 5xx are retryable, 401 needs a key', async () => {
    vi.stubGlobal('location', new URL('http://dash.test/'));
    vi.stubGlobal('fetch', async () => answer(401, { error: { code: 'invalid_key', message: 'unknown key' } }));
    const error = await new Api('x').catalog().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error instanceof ApiError && [error.code, error.status, error.needsKey, error.retryable]).toEqual(['invalid_key', 401, true, false]);
  });

  test('a missing health endpoint is remembered as unavailable', async () => {
    let calls = 0;
    vi.stubGlobal('location', new URL('http://dash.test/'));
    vi.stubGlobal('fetch', async () => {
      calls++;
      return answer(404, { error: { code: 'not_found', message: 'no' } });
    });
    const api = new Api('x');
    expect(await api.health()).toBeNull();
    expect(await api.health()).toBeNull();
    expect(calls).toBe(1);
  });

  test('active users: the merged sliding window with its range; an API without the endpoint is unsupported (the server is mocked: outside the dashboard)', async () => {
    const urls: URL[] = [];
    vi.stubGlobal('location', new URL('http://dash.test/'));
    vi.stubGlobal('fetch', async (url: URL) => {
      urls.push(new URL(String(url)));
      return answer(200, { activeUsers: 21, from: new Date(H).toISOString(), to: new Date(H + 300_000).toISOString(), events: 30 });
    });
    const api = new Api('rk');
    expect(await api.activeUsers(300, 'visit', { country: 'FR' })).toEqual({ value: 21, fromMs: H, toMs: H + 300_000 });
    expect(Object.fromEntries(urls[0]?.searchParams ?? [])).toEqual({ lastSeconds: '300', eventType: 'visit', country: 'FR' });
    vi.stubGlobal('fetch', async () => answer(404, { error: { code: 'not_found', message: 'No route' } }));
    expect(await api.activeUsers(300, null, {})).toBeNull();
    vi.stubGlobal('fetch', async () => answer(200, { activeUsers: 'many' }));
    await expect(api.activeUsers(300, null, {})).rejects.toBeInstanceOf(ApiError);
  });
});
