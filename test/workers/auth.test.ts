import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../core/keys.ts';
import type { ProjectRegistry } from '../../durable-objects/ProjectRegistry.ts';
import { keyLookupStats } from '../../workers/auth.ts';
import { app } from '../../workers/index.ts';
import { ADMIN_TOKEN, BASE, bearer, countInClickHouse, createTestProject, flushAllShards, request, sleep, testProject, uniqueEventType, type TestProject } from './helpers.ts';

const BROWSER_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

function postEvents(key: string | null, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request('/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key === null ? {} : bearer(key)), ...headers },
    body: JSON.stringify(body),
  });
}

async function errorCode(response: Response): Promise<string> {
  const body: { error?: { code?: string } } = await response.json();
  return body.error?.code ?? `(none, status ${response.status})`;
}

function liveUpgrade(key: string | null): Promise<Response> {
  return request(`/v1/live${key === null ? '' : `?key=${key}`}`, { headers: { Upgrade: 'websocket' } });
}

describe('auth matrix: each key kind x each endpoint', () => {
  const event = () => ({ eventType: uniqueEventType('auth'), timestamp: Date.now() });

  it('POST /v1/events takes public and server keys, refuses read keys, missing, unknown and malformed keys', async () => {
    const { keys } = testProject();
    expect((await postEvents(keys.public, event())).status).toBe(202);
    expect((await postEvents(keys.server, event())).status).toBe(202);
    const asRead = await postEvents(keys.read, event());
    expect([asRead.status, await errorCode(asRead)]).toEqual([403, 'wrong_key_kind']);
    const missing = await postEvents(null, event());
    expect([missing.status, await errorCode(missing)]).toEqual([401, 'missing_key']);
    const unknown = await postEvents('ep_srv_' + 'A'.repeat(32), event());
    expect([unknown.status, await errorCode(unknown)]).toEqual([401, 'invalid_key']);
    const garbage = await postEvents("' OR 1=1 --", event());
    expect([garbage.status, await errorCode(garbage)]).toEqual([401, 'invalid_key']);
    const admin = await postEvents(ADMIN_TOKEN, event());
    expect(admin.status).toBe(401);
  });

  it('accepts the write key as Basic auth user name (Segment style) and as ?writeKey= (beacon)', async () => {
    const { keys } = testProject();
    expect((await postEvents(null, event(), { Authorization: `Basic ${btoa(`${keys.server}:`)}` })).status).toBe(202);
    const beacon = await request(`/v1/events?writeKey=${keys.public}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(event()) });
    expect(beacon.status).toBe(202);
  });

  it('GET /v1/metrics and /v1/catalog take read keys only', async () => {
    const { keys } = testProject();
    for (const path of ['/v1/metrics?metric=events', '/v1/catalog']) {
      expect((await request(path, { headers: bearer(keys.read) })).status).toBe(200);
      for (const writeKey of [keys.public, keys.server]) {
        const response = await request(path, { headers: bearer(writeKey) });
        expect([response.status, await errorCode(response)]).toEqual([403, 'wrong_key_kind']);
      }
      expect((await request(path)).status).toBe(401);
    }
  });

  it('GET /v1/live upgrades only with a read key', async () => {
    const { keys } = testProject();
    const ok = await liveUpgrade(keys.read);
    expect(ok.status).toBe(101);
    ok.webSocket?.accept();
    ok.webSocket?.close(1000, 'done');
    expect((await liveUpgrade(keys.server)).status).toBe(403);
    expect((await liveUpgrade(keys.public)).status).toBe(403);
    expect((await liveUpgrade(null)).status).toBe(401);
  });

  it('GET /v1/health and POST /v1/live/token take read keys only', async () => {
    const { keys } = testProject();
    expect((await request('/v1/health', { headers: bearer(keys.read) })).status).toBe(200);
    expect((await request('/v1/live/token', { method: 'POST', headers: bearer(keys.read) })).status).toBe(201);
    for (const writeKey of [keys.public, keys.server]) {
      for (const [path, method] of [['/v1/health', 'GET'], ['/v1/live/token', 'POST']] as const) {
        const response = await request(path, { method, headers: bearer(writeKey) });
        expect([path, response.status, await errorCode(response)]).toEqual([path, 403, 'wrong_key_kind']);
      }
    }
    expect((await request('/v1/health')).status).toBe(401);
    expect((await request('/v1/live/token', { method: 'POST' })).status).toBe(401);
  });

  it('admin endpoints need the admin token, never a project key', async () => {
    const { keys } = testProject();
    for (const token of [keys.read, keys.server, 'wrong']) {
      const response = await request('/v1/admin/projects', { method: 'POST', headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: '{"projectId":"nope"}' });
      expect(response.status).toBe(401);
    }
  });
});

describe('tenancy', () => {
  it("a project's keys never touch another project's data", async () => {
    const a = testProject();
    const b: TestProject = await createTestProject();
    const eventType = uniqueEventType('tenant');
    const events = Array.from({ length: 6 }, (_, i) => ({ eventType, timestamp: Date.now() - 5_000, userId: `u${i}` }));
    expect((await postEvents(a.keys.server, { events })).status).toBe(202);
    await sleep(1100);
    await flushAllShards();
    expect((await countInClickHouse(eventType)).events).toBe(6);
    const query = `/v1/metrics?metric=events&eventType=${eventType}&start=${new Date(Date.now() - 600_000).toISOString()}`;
    const seenByA: { dataPoints: Array<{ value: number }> } = await (await request(query, { headers: bearer(a.keys.read) })).json();
    const seenByB: { dataPoints: Array<{ value: number }> } = await (await request(query, { headers: bearer(b.keys.read) })).json();
    expect(seenByA.dataPoints.reduce((sum, p) => sum + p.value, 0)).toBe(6);
    expect(seenByB.dataPoints.reduce((sum, p) => sum + p.value, 0)).toBe(0);
  });

  it("/v1/catalog, /v1/health and /v1/live/token answer for the key's own project only", async () => {
    const a = await createTestProject();
    const b = await createTestProject();
    const eventType = uniqueEventType('tenant_catalog');
    const events = Array.from({ length: 4 }, (_, i) => ({ eventType, timestamp: Date.now() - 2_000, userId: `u${i}`, dimensions: { onlyInA: 'x' } }));
    expect((await postEvents(a.keys.server, { events })).status).toBe(202);

    // Health before any flush: A's shards hold the events, B's hold nothing.
    type Health = { shards: Array<{ pendingGroups: number; backlogRows: number }> };
    const pending = (health: Health) => health.shards.reduce((sum, shard) => sum + shard.pendingGroups + shard.backlogRows, 0);
    const healthA: Health = await (await request('/v1/health', { headers: bearer(a.keys.read) })).json();
    const healthB: Health = await (await request('/v1/health', { headers: bearer(b.keys.read) })).json();
    expect(pending(healthA)).toBeGreaterThan(0);
    expect(pending(healthB)).toBe(0);

    // Catalog after the flush: A lists its event type and dimension, B lists neither.
    await sleep(1100);
    await flushAllShards(a.projectId);
    type Catalog = { eventTypes: string[]; dimensions: string[] };
    const catalogA: Catalog = await (await request('/v1/catalog', { headers: bearer(a.keys.read) })).json();
    const catalogB: Catalog = await (await request('/v1/catalog', { headers: bearer(b.keys.read) })).json();
    expect(catalogA.eventTypes).toContain(eventType);
    expect(catalogA.dimensions).toContain('onlyInA');
    expect(catalogB.eventTypes).not.toContain(eventType);
    expect(catalogB.dimensions).not.toContain('onlyInA');

    // A viewer token names the key's project, and cannot be used for another one.
    const tokenA: { token: string; projectId: string } = await (await request('/v1/live/token', { method: 'POST', headers: bearer(a.keys.read) })).json();
    expect(tokenA.projectId).toBe(a.projectId);
    const foreign = await request(`/v1/live?token=${encodeURIComponent(tokenA.token)}&project=${b.projectId}`, { headers: { Upgrade: 'websocket' } });
    expect([foreign.status, await errorCode(foreign)]).toEqual([403, 'token_wrong_project']);
  });

  it('revoked keys stop working', async () => {
    const project = await createTestProject();
    const key = project.keys.server;
    const revoke = await request('/v1/admin/keys/revoke', { method: 'POST', headers: { ...bearer(ADMIN_TOKEN), 'Content-Type': 'application/json' }, body: JSON.stringify({ key }) });
    expect(revoke.status).toBe(200);
    // This key was never used before, so no edge cache holds it.
    expect((await postEvents(key, { eventType: 'x', timestamp: Date.now() })).status).toBe(401);
  });

  it('refuses bad project definitions and duplicates', async () => {
    const post = (body: unknown) =>
      request('/v1/admin/projects', { method: 'POST', headers: { ...bearer(ADMIN_TOKEN), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ projectId: 'Bad Id!' })).status).toBe(400);
    expect((await post({ projectId: 'ok-project-x', allowedOrigins: ['javascript:alert(1)'] })).status).toBe(400);
    expect((await post({ projectId: testProject().projectId })).status).toBe(409);
  });
});

describe('browser (public) keys and CORS', () => {
  it('holds public keys to the project Origin allow-list and reflects allowed origins', async () => {
    const shop = await createTestProject({ allowedOrigins: ['https://shop.example'] });
    const body = { eventType: uniqueEventType('cors'), timestamp: Date.now() };
    const allowed = await postEvents(shop.keys.public, body, { Origin: 'https://shop.example' });
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('https://shop.example');
    const denied = await postEvents(shop.keys.public, body, { Origin: 'https://evil.example' });
    expect([denied.status, await errorCode(denied)]).toEqual([403, 'origin_not_allowed']);
    // Server keys are not browser keys: no Origin rule applies.
    expect((await postEvents(shop.keys.server, body, { Origin: 'https://evil.example' })).status).toBe(202);
  });

  it('answers CORS preflight for the ingest endpoint', async () => {
    const response = await request('/v1/events', {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://shop.example');
    expect(response.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('authorization');
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a key exceeds its limit, without counting the limited requests', async () => {
    const project = await createTestProject();
    const eventType = uniqueEventType('limited');
    const statuses: number[] = [];
    let limited: Response | null = null;
    // The local limiter counts in wall-clock aligned 10 s windows: a run that straddles a boundary needs more than 50 to trip.
    for (let i = 0; i < 200 && limited === null; i++) {
      const response = await postEvents(project.keys.server, { eventId: `${eventType}-${i}`, eventType, timestamp: Date.now() - 5_000, userId: `u${i}` });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(limited).not.toBeNull();
    expect(limited?.headers.get('Retry-After')).toBe('10');
    expect(await errorCode(limited ?? new Response('{}'))).toBe('rate_limited');
    const acceptedCount = statuses.filter((status) => status === 202).length;
    // Another key of the same project is limited separately (a browser UA: a public key without one counts as a bot).
    expect((await postEvents(project.keys.public, { eventType, timestamp: Date.now() }, { 'User-Agent': BROWSER_UA })).status).toBe(202);
    await sleep(1100);
    await flushAllShards(project.projectId);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(acceptedCount + 1);
  });
});

describe('rate limiting per client of a public key', () => {
  it('answers 429 to one client (by hashed IP) while another client of the same key is served, and calls no shard for it', async () => {
    const project = await createTestProject();
    const eventType = uniqueEventType('client_limited');
    const fromIp = (ip: string, i: number) =>
      postEvents(project.keys.public, { eventId: `${eventType}-${ip}-${i}`, eventType, timestamp: Date.now() - 3_000, userId: `u${i}` }, { 'User-Agent': BROWSER_UA, 'CF-Connecting-IP': ip });
    let accepted = 0;
    let limited: Response | null = null;
    // 20 per 10 s per client in tests (the key allows 50); windows are wall-clock aligned, so allow for one boundary.
    for (let i = 0; i < 200 && limited === null; i++) {
      const response = await fromIp('198.51.100.7', i);
      if (response.status === 429) limited = response;
      else {
        expect(response.status).toBe(202);
        accepted++;
      }
    }
    expect(limited).not.toBeNull();
    expect(limited?.headers.get('Retry-After')).toBe('10');
    const body: { error: { code: string; message: string } } = await (limited ?? new Response('{}')).json();
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('client');
    expect(accepted).toBeLessThan(50);
    // Another client of the same site is not held back by the first one.
    expect((await fromIp('198.51.100.8', 0)).status).toBe(202);
    await sleep(1100);
    await flushAllShards(project.projectId);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(accepted + 1);
  });
});

describe('made-up keys are cheap to refuse and cannot evict valid ones', () => {
  /** The Worker itself (not through the runtime's entry), so this file reads the same keyLookupStats. */
  async function post(key: string): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await app.request(
      `${BASE}/v1/events`,
      { method: 'POST', headers: { ...bearer(key), 'Content-Type': 'application/json' }, body: JSON.stringify({ eventType: 'made_up_keys', timestamp: Date.now() }) },
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  }

  function randomChars(n: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % 64]).join('');
  }

  it('refuses 12,000 well-formed forged keys without a registry lookup, and the valid key stays cached', async () => {
    const project = await createTestProject();
    const valid = project.keys.server;
    expect((await post(valid)).status).toBe(202);
    const before = { ...keyLookupStats };
    // More than the old single cache held (it was cleared at 10,000): forged tags on the real key's random part, and random keys.
    const forged = Array.from({ length: 12_000 }, (_, i) => (i % 2 === 0 ? valid.slice(0, -8) + randomChars(8) : `ep_srv_${randomChars(40)}`));
    for (let i = 0; i < forged.length; i += 200) {
      const answers = await Promise.all(forged.slice(i, i + 200).map(async (key) => {
        const response = await post(key);
        return `${response.status} ${await errorCode(response)}`;
      }));
      expect(new Set(answers)).toEqual(new Set(['401 invalid_key']));
    }
    expect(keyLookupStats.registryLookups - before.registryLookups).toBe(0);
    expect(keyLookupStats.refusedByTag - before.refusedByTag).toBe(12_000);
    // Still answered from the cache: no lookup for the valid key either.
    expect((await post(valid)).status).toBe(202);
    expect(keyLookupStats.registryLookups - before.registryLookups).toBe(0);
  });

  it('refuses keys in the old untagged form without a lookup once none of them is active', async () => {
    const before = { ...keyLookupStats };
    const response = await post(`ep_pub_${randomChars(32)}`);
    expect([response.status, await errorCode(response)]).toEqual([401, 'invalid_key']);
    expect(keyLookupStats.refusedLegacy - before.refusedLegacy).toBe(1);
    expect(keyLookupStats.registryLookups - before.registryLookups).toBe(0);
  });
});

describe('ProjectRegistry key check (keys from before tags)', () => {
  it('reports untagged keys as active while one is, and resolves them by their hash', async () => {
    // A registry of its own, so the deployment's registry keeps only tagged keys.
    const stub = env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName(`legacy-test-${crypto.randomUUID()}`));
    const created = await stub.createProject({ projectId: 'legacy-shop' });
    if (!created.ok) throw new Error(created.message);
    const first = await stub.keyCheck();
    expect(first.legacyKeys).toBe(false);
    expect(first.tagSecret.length).toBeGreaterThanOrEqual(43);
    // As a registry from before tags stored it: the hash only, tagged = 0 (the column default).
    const legacyKey = `ep_srv_${'L'.repeat(32)}`;
    const legacyHash = await hashKey(legacyKey);
    await runInDurableObject(stub, (_instance: ProjectRegistry, state) => {
      state.storage.sql.exec("INSERT INTO api_keys (key_hash, project_id, kind, created_at) VALUES (?, 'legacy-shop', 'server', '2026-01-01T00:00:00Z')", legacyHash);
    });
    expect(await stub.keyCheck()).toEqual({ tagSecret: first.tagSecret, legacyKeys: true });
    expect(await stub.lookupKey(legacyHash)).toMatchObject({ projectId: 'legacy-shop', kind: 'server' });
    expect(await stub.revokeKey(legacyHash)).toBe(true);
    expect((await stub.keyCheck()).legacyKeys).toBe(false);
    // Keys minted now carry a tag under the same secret.
    const minted = await stub.createKey('legacy-shop', 'public');
    expect(minted).toMatch(/^ep_pub_[A-Za-z0-9_-]{40}$/);
  });
});
