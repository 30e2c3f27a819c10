import { exports } from 'cloudflare:workers';
import { Analytics, type HTTPClient, type HTTPClientRequest, type HTTPResponse } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { BASE, bearer, countInClickHouse, createTestProject, flushAllShards, request, sleep, testProject, uniqueEventType, type TestProject } from './helpers.ts';

/** Where a request carries its write key: the three ways Segment clients send it. */
type KeyPlace = 'basic' | 'query' | 'body' | 'none';

interface SegmentAnswer {
  success: boolean;
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; code: string; message: string }>;
  error?: { code: string; message: string };
}

/** analytics.js runs in browsers, which always send a User-Agent (a public-key request without one counts as a bot). */
const BROWSER_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function basic(key: string): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${key}:`)}` };
}

function segmentPost(path: string, body: Record<string, unknown>, key: string, place: KeyPlace, contentType = 'application/json'): Promise<Response> {
  const url = place === 'query' ? `${path}?writeKey=${encodeURIComponent(key)}` : path;
  const payload = place === 'body' ? { ...body, writeKey: key } : body;
  return request(url, {
    method: 'POST',
    headers: { 'Content-Type': contentType, 'User-Agent': BROWSER_UA, ...(place === 'basic' ? basic(key) : {}) },
    body: JSON.stringify(payload),
  });
}

async function answer(response: Response, status = 200): Promise<SegmentAnswer> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body: SegmentAnswer = JSON.parse(text);
  return body;
}

async function errorCode(response: Response): Promise<[number, string]> {
  const body: { error?: { code?: string; message?: string } } = await response.json();
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  return [response.status, body.error?.code ?? '(none)'];
}

function track(event: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'track', event, userId: `u-${crypto.randomUUID().slice(0, 8)}`, timestamp: new Date().toISOString(), ...extra };
}

/** Lets windows close, then flushes every shard of the project to ClickHouse. */
async function settle(project: TestProject): Promise<void> {
  await sleep(1100);
  await flushAllShards(project.projectId);
}

describe('Segment Tracking API: every path, every key location', () => {
  it('accepts /v1/batch, /v1/b and every single-call path (long and short) and counts each in ClickHouse', async () => {
    const project = await createTestProject();
    const { server, public: pub } = project.keys;
    const results: SegmentAnswer[] = [];
    const now = () => new Date().toISOString();

    // Server SDK style: Basic auth, application/json.
    results.push(await answer(await segmentPost('/v1/batch', { batch: [track('Path Batch'), track('Path Batch')], sentAt: now() }, server, 'basic')));
    // analytics.js style: key in the body, text/plain (no CORS preflight), short path.
    results.push(await answer(await segmentPost('/v1/b', { batch: [track('Path B'), track('Path B')] }, pub, 'body', 'text/plain')));
    // Beacon style: ?writeKey=.
    results.push(await answer(await segmentPost('/v1/track', { event: 'Path Track', userId: 'u1', timestamp: now() }, pub, 'query')));
    results.push(await answer(await segmentPost('/v1/t', { event: 'Path T', anonymousId: 'a1' }, server, 'body')));
    results.push(await answer(await segmentPost('/v1/page', { name: 'Home', anonymousId: 'a1', properties: { path: '/' } }, pub, 'basic')));
    results.push(await answer(await segmentPost('/v1/p', { name: 'Pricing', anonymousId: 'a2', properties: { path: '/pricing' } }, pub, 'query')));
    results.push(await answer(await segmentPost('/v1/screen', { name: 'Feed', userId: 'u1' }, server, 'basic')));
    results.push(await answer(await segmentPost('/v1/s', { name: 'Settings', userId: 'u2' }, pub, 'body')));
    results.push(await answer(await segmentPost('/v1/identify', { userId: 'u1', traits: { email: 'a@b.example' } }, server, 'query')));
    results.push(await answer(await segmentPost('/v1/i', { userId: 'u2' }, pub, 'basic')));
    results.push(await answer(await segmentPost('/v1/group', { userId: 'u1', groupId: 'g1' }, server, 'body')));
    results.push(await answer(await segmentPost('/v1/g', { userId: 'u2', groupId: 'g1' }, pub, 'query')));
    results.push(await answer(await segmentPost('/v1/alias', { userId: 'u1', previousId: 'a1' }, server, 'basic')));
    // The path decides the type, as in Segment: a stray body type is ignored.
    results.push(await answer(await segmentPost('/v1/a', { type: 'track', userId: 'u2', previousId: 'a2' }, pub, 'body')));

    for (const result of results) expect(result).toMatchObject({ success: true, duplicates: 0, rejected: [] });
    expect(results.map((r) => r.accepted)).toEqual([2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);

    await settle(project);
    const expected: Record<string, number> = {
      path_batch: 2,
      path_b: 2,
      path_track: 1,
      path_t: 1,
      page_view: 2,
      screen_view: 2,
      identify: 2,
      group: 2,
      alias: 2,
    };
    const counted: Record<string, number> = {};
    for (const eventType of Object.keys(expected)) counted[eventType] = (await countInClickHouse(eventType, project.projectId)).events;
    expect(counted).toEqual(expected);
  });

  it('answers CORS preflight on the short paths (analytics.js in browsers)', async () => {
    const response = await request('/v1/b', {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://shop.example');
  });

  it('answers unknown Segment-like paths with 404', async () => {
    const { server } = testProject().keys;
    for (const path of ['/v1/x', '/v1/tr', '/v1/tracks', '/v1/batches']) {
      expect(await errorCode(await segmentPost(path, { batch: [] }, server, 'basic'))).toEqual([404, 'not_found']);
    }
  });
});

describe('Segment auth', () => {
  it('refuses read keys in every key location, and missing or unknown keys', async () => {
    const { keys } = testProject();
    const body = { batch: [track(uniqueEventType('auth'))] };
    for (const place of ['basic', 'query', 'body'] as const) {
      expect(await errorCode(await segmentPost('/v1/batch', body, keys.read, place))).toEqual([403, 'wrong_key_kind']);
      expect(await errorCode(await segmentPost('/v1/t', track('X'), keys.read, place))).toEqual([403, 'wrong_key_kind']);
      expect(await errorCode(await segmentPost('/v1/batch', body, `ep_srv_${'A'.repeat(32)}`, place))).toEqual([401, 'invalid_key']);
    }
    expect(await errorCode(await segmentPost('/v1/batch', body, '', 'none'))).toEqual([401, 'missing_key']);
    // A key-less body that is not even a batch is still an auth failure first.
    expect(await errorCode(await request('/v1/batch', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"nope":1}' }))).toEqual([
      401,
      'missing_key',
    ]);
  });

  it('a header key wins over a body writeKey; Bearer works too', async () => {
    const { keys } = testProject();
    const event = track(uniqueEventType('auth'));
    const response = await request('/v1/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...basic(keys.read) },
      body: JSON.stringify({ batch: [event], writeKey: keys.server }),
    });
    expect(await errorCode(response)).toEqual([403, 'wrong_key_kind']);
    const viaBearer = await request('/v1/batch', { method: 'POST', headers: { 'Content-Type': 'application/json', ...bearer(keys.server) }, body: JSON.stringify({ batch: [event] }) });
    expect((await answer(viaBearer)).accepted).toBe(1);
  });

  it('holds public keys to the Origin allow-list, wherever the key is sent', async () => {
    const shop = await createTestProject({ allowedOrigins: ['https://shop.example'] });
    for (const place of ['basic', 'body'] as const) {
      const ok = await request('/v1/b', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', 'User-Agent': BROWSER_UA, Origin: 'https://shop.example', ...(place === 'basic' ? basic(shop.keys.public) : {}) },
        body: JSON.stringify({ batch: [track('Shop')], ...(place === 'body' ? { writeKey: shop.keys.public } : {}) }),
      });
      expect(ok.status).toBe(200);
      const denied = await request('/v1/b', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', 'User-Agent': BROWSER_UA, Origin: 'https://evil.example', ...(place === 'basic' ? basic(shop.keys.public) : {}) },
        body: JSON.stringify({ batch: [track('Shop')], ...(place === 'body' ? { writeKey: shop.keys.public } : {}) }),
      });
      expect(await errorCode(denied)).toEqual([403, 'origin_not_allowed']);
    }
  });
});

describe('Segment semantics', () => {
  it('messageId dedups a retried batch; properties.revenue / properties.value is the value', async () => {
    const project = await createTestProject();
    const eventType = uniqueEventType('order');
    const batch = [
      track(eventType, { messageId: `${eventType}-1`, properties: { revenue: 10.5 } }),
      track(eventType, { messageId: `${eventType}-2`, properties: { revenue: '4.5', value: 100 } }),
      track(eventType, { messageId: `${eventType}-3`, properties: { value: 7 } }),
      track(eventType, { messageId: `${eventType}-4`, properties: { revenue: 'n/a' } }),
    ];
    const first = await answer(await segmentPost('/v1/batch', { batch, sentAt: new Date().toISOString() }, project.keys.server, 'basic'));
    expect(first).toEqual({ success: true, accepted: 4, duplicates: 0, rejected: [] });
    // A client retry: same messageIds, new sentAt, the key in another place.
    const retry = await answer(await segmentPost('/v1/batch', { batch, sentAt: new Date().toISOString() }, project.keys.server, 'body'));
    expect(retry).toMatchObject({ success: true, duplicates: 4, rejected: [] });
    // And a retry through a single-call path.
    const single = await answer(await segmentPost('/v1/track', batch[0] ?? {}, project.keys.public, 'query'));
    expect(single).toMatchObject({ duplicates: 1 });

    await settle(project);
    expect(await countInClickHouse(eventType, project.projectId)).toMatchObject({ events: 4, valueSum: 10.5 + 4.5 + 7 });
  });

  it('maps event names, applies the batch context and reports bad messages by index', async () => {
    const project = await createTestProject();
    const name = `Checkout ${crypto.randomUUID().slice(0, 8)} Started`;
    const eventType = `checkout_${name.split(' ')[1]}_started`;
    const response = await segmentPost(
      '/v1/batch',
      {
        context: { campaign: { source: 'newsletter' } },
        batch: [
          track(name),
          { type: 'purchase', userId: 'u' },
          'not an object',
          track(name, { properties: { step: 1 } }),
          { type: 'track', userId: 'u' },
          track(name, { timestamp: new Date(Date.now() - 30 * 24 * 3600_000).toISOString() }),
        ],
      },
      project.keys.server,
      'basic',
    );
    const body = await answer(response);
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'unknown_type'],
      [2, 'invalid_event'],
      [4, 'missing_event'],
      [5, 'timestamp_too_old'],
    ]);
    await settle(project);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(2);
  });
});

describe("Segment's limits", () => {
  const filler = (bytes: number) => 'x'.repeat(bytes);

  it('rejects a message over 32 KB by index and accepts the rest of its batch', async () => {
    const project = await createTestProject();
    const eventType = uniqueEventType('limits');
    const batch = [track(eventType), track(eventType, { properties: { blob: filler(40 * 1024) } }), track(eventType)];
    const body = await answer(await segmentPost('/v1/batch', { batch }, project.keys.server, 'basic'));
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([{ index: 1, code: 'event_too_large', message: expect.stringContaining('32768') }]);
    await settle(project);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(2);
  });

  it('takes a batch just under 500 KB and refuses one over it with 413', async () => {
    const { keys } = testProject();
    const eventType = uniqueEventType('big');
    // 16 messages of ~30 KB: each under 32 KB, together ~480 KB.
    const under = Array.from({ length: 16 }, () => track(eventType, { properties: { blob: filler(30 * 1024) } }));
    expect((await answer(await segmentPost('/v1/batch', { batch: under }, keys.server, 'basic'))).accepted).toBe(16);
    const over = Array.from({ length: 18 }, () => track(eventType, { properties: { blob: filler(30 * 1024) } }));
    expect(await errorCode(await segmentPost('/v1/batch', { batch: over }, keys.server, 'basic'))).toEqual([413, 'payload_too_large']);
    // The same when the key is in the body, which must then be read first: the limit still holds.
    expect(await errorCode(await segmentPost('/v1/b', { batch: over }, keys.public, 'body', 'text/plain'))).toEqual([413, 'payload_too_large']);
  });

  it('refuses a single call over 32 KB with 413', async () => {
    const { keys } = testProject();
    const response = await segmentPost('/v1/track', track('Too Big', { properties: { blob: filler(33 * 1024) } }), keys.server, 'basic');
    expect(await errorCode(response)).toEqual([413, 'payload_too_large']);
  });

  it('answers malformed bodies with 400', async () => {
    const { keys } = testProject();
    expect(await errorCode(await segmentPost('/v1/batch', { batch: [] }, keys.server, 'basic'))).toEqual([400, 'empty_batch']);
    expect(await errorCode(await segmentPost('/v1/batch', { events: [] }, keys.server, 'basic'))).toEqual([400, 'invalid_body']);
    const broken = await request('/v1/batch', { method: 'POST', headers: { 'Content-Type': 'application/json', ...basic(keys.server) }, body: '{"batch": [' });
    expect(await errorCode(broken)).toEqual([400, 'malformed_json']);
  });
});

/**
 * The real @segment/analytics-node client, unmodified, with an HTTPClient that
 * hands its requests to this Worker in-process (exports.default.fetch): its
 * batching, Basic auth header, messageId minting and payload shape all run
 * against the real routes, shards and ClickHouse.
 */
class WorkerHttpClient implements HTTPClient {
  readonly sent: Array<{ url: string; authorization: string | undefined; body: string }> = [];
  readonly statuses: number[] = [];

  async makeRequest(options: HTTPClientRequest): Promise<HTTPResponse> {
    this.sent.push({ url: options.url, authorization: options.headers.Authorization, body: options.body });
    const response = await exports.default.fetch(new Request(options.url, { method: options.method, headers: options.headers, body: options.body }));
    const text = await response.text();
    this.statuses.push(response.status);
    return { status: response.status, statusText: response.statusText, headers: Object.fromEntries(response.headers), text: async () => text };
  }
}

describe('the real @segment/analytics-node client', () => {
  it('delivers track, page and identify calls that land in ClickHouse with exact counts and value sums', async () => {
    const project = await createTestProject();
    const httpClient = new WorkerHttpClient();
    const analytics = new Analytics({
      writeKey: project.keys.server,
      host: BASE,
      path: '/v1/batch',
      maxEventsInBatch: 10,
      flushInterval: 200,
      maxRetries: 0,
      httpClient,
    });
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));

    const orders = 23;
    for (let i = 1; i <= orders; i++) {
      analytics.track({ userId: `user-${i % 7}`, event: 'Order Completed', properties: { revenue: i, currency: 'USD', coupon: i % 2 === 0 ? 'EVEN' : 'ODD' } });
    }
    for (let i = 0; i < 4; i++) analytics.track({ anonymousId: `anon-${i}`, event: 'Signed Up', properties: { value: 2.5, plan: 'pro' } });
    for (const path of ['/', '/pricing', '/docs']) analytics.page({ anonymousId: 'anon-0', name: path, properties: { path } });
    analytics.identify({ userId: 'user-1', traits: { email: 'one@example.com' } });
    analytics.identify({ userId: 'user-2', traits: { plan: 'pro' } });
    await analytics.closeAndFlush({ timeout: 20_000 });

    expect(errors).toEqual([]);
    const total = orders + 4 + 3 + 2;
    expect(httpClient.sent.length).toBe(Math.ceil(total / 10));
    expect(httpClient.statuses.every((status) => status === 200)).toBe(true);
    // What the real client put on the wire: Basic auth with the key as user, and the key in the body too.
    const first = httpClient.sent[0];
    expect(first?.url).toBe(`${BASE}/v1/batch`);
    expect(first?.authorization).toBe(`Basic ${btoa(`${project.keys.server}:`)}`);
    const payload: { batch: Array<{ messageId: string; type: string }>; writeKey: string; sentAt: string } = JSON.parse(first?.body ?? '{}');
    expect(payload.writeKey).toBe(project.keys.server);
    expect(payload.batch[0]?.messageId).toMatch(/.+/);

    await settle(project);
    expect(await countInClickHouse('order_completed', project.projectId)).toMatchObject({ events: orders, valueSum: (orders * (orders + 1)) / 2 });
    expect(await countInClickHouse('signed_up', project.projectId)).toMatchObject({ events: 4, valueSum: 10 });
    expect(await countInClickHouse('page_view', project.projectId)).toMatchObject({ events: 3, valueSum: 0 });
    expect(await countInClickHouse('identify', project.projectId)).toMatchObject({ events: 2 });

    // Replaying what the client sent (a retry after a lost answer) counts nothing twice: messageId is the dedup key.
    let duplicates = 0;
    for (const sent of httpClient.sent) {
      const replay = await exports.default.fetch(new Request(sent.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: sent.authorization ?? '' }, body: sent.body }));
      duplicates += (await answer(replay)).duplicates;
    }
    expect(duplicates).toBe(total);
    await settle(project);
    expect((await countInClickHouse('order_completed', project.projectId)).events).toBe(orders);
  });
});
