import { listDurableObjectIds } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintViewerToken } from '../../core/viewer-token.ts';
import { bearer, createTestProject, request, testProject, type TestProject } from './helpers.ts';
import { isErrorCode, isHello, isType, mintToken, Viewer } from './live-support.ts';

const SECRET = env.VIEWER_TOKEN_SECRET;

async function upgrade(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, { headers: { Upgrade: 'websocket', ...headers } });
}

async function errorOf(response: Response): Promise<{ status: number; code: string }> {
  const body: unknown = await response.json();
  const code = typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'code' in body.error ? String(body.error.code) : '';
  return { status: response.status, code };
}

let shop: TestProject;

beforeAll(async () => {
  shop = await createTestProject({ allowedOrigins: ['https://shop.example'] });
});

describe('POST /v1/live/token', () => {
  it('mints a short-lived token with a read key', async () => {
    const response = await request('/v1/live/token', { method: 'POST', headers: { ...bearer(testProject().keys.read), 'Content-Type': 'application/json' }, body: JSON.stringify({ topicPrefix: 'metrics:', ttlSeconds: 60 }) });
    expect(response.status).toBe(201);
    const body: { token: string; projectId: string; topicPrefix: string; expiresAt: string; url: string } = await response.json();
    expect(body.projectId).toBe(testProject().projectId);
    expect(body.topicPrefix).toBe('metrics:');
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(55_000);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(body.url).toBe(`/v1/live?token=${encodeURIComponent(body.token)}&project=${testProject().projectId}`);
    // An empty body is fine: any topic, the default lifetime.
    const plain = await request('/v1/live/token', { method: 'POST', headers: bearer(testProject().keys.read) });
    expect(plain.status).toBe(201);
  });

  it('refuses write keys, missing keys and bad bodies', async () => {
    const post = (headers: Record<string, string>, body?: string) => request('/v1/live/token', { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
    expect(await errorOf(await post(bearer(testProject().keys.server)))).toEqual({ status: 403, code: 'wrong_key_kind' });
    expect(await errorOf(await post({}))).toEqual({ status: 401, code: 'missing_key' });
    expect(await errorOf(await post(bearer(testProject().keys.read), '{"ttlSeconds":5}'))).toEqual({ status: 400, code: 'invalid_body' });
    expect(await errorOf(await post(bearer(testProject().keys.read), '{"scope":"all"}'))).toEqual({ status: 400, code: 'invalid_body' });
    expect(await errorOf(await post(bearer(testProject().keys.read), '{oops'))).toEqual({ status: 400, code: 'malformed_json' });
  });
});

describe('GET /v1/live?token=', () => {
  it('accepts a valid token and holds the viewer to its topic prefix', async () => {
    const token = await mintToken(testProject(), { topicPrefix: 'metrics:allowed' });
    const viewer = await Viewer.open(`/v1/live?token=${encodeURIComponent(token)}&project=${testProject().projectId}`);
    await viewer.waitFor(isHello);
    viewer.subscribe('metrics:other');
    const refused = await viewer.waitFor(isErrorCode('topic_not_allowed'));
    expect(refused.topic).toBe('metrics:other');
    viewer.subscribe('metrics:allowed_clicks');
    await viewer.waitFor(isType('subscribed', 'metrics:allowed_clicks'));
    viewer.close();
  });

  it('checks the Origin against the project allow-list', async () => {
    const token = encodeURIComponent(await mintToken(shop));
    expect((await upgrade(`/v1/live?token=${token}`, { Origin: 'https://shop.example' })).status).toBe(101);
    expect(await errorOf(await upgrade(`/v1/live?token=${token}`, { Origin: 'https://evil.example' }))).toEqual({ status: 403, code: 'origin_not_allowed' });
    // No Origin: not a browser, nothing to check (as for keys).
    expect((await upgrade(`/v1/live?token=${token}`)).status).toBe(101);
  });

  it('refuses tampered, expired, malformed and cross-project tokens before any Durable Object is touched', async () => {
    const ghost = `ghost-${crypto.randomUUID().slice(0, 8)}`;
    const relaysBefore = (await listDurableObjectIds(env.LIVE_RELAY)).length;
    const valid = await mintViewerToken(SECRET, { projectId: ghost, topicPrefix: '', exp: Math.floor(Date.now() / 1000) + 60 });
    const [claims, signature] = valid.split('.');
    const forgedClaims = btoa(JSON.stringify({ projectId: testProject().projectId, topicPrefix: '', exp: 9_999_999_999, v: 1 })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const flipped = `${claims}.${(signature ?? '').startsWith('A') ? 'B' : 'A'}${(signature ?? '').slice(1)}`;
    const expired = await mintViewerToken(SECRET, { projectId: ghost, topicPrefix: '', exp: Math.floor(Date.now() / 1000) - 1 });
    const otherSecret = await mintViewerToken('another-secret-0123456789', { projectId: ghost, topicPrefix: '', exp: Math.floor(Date.now() / 1000) + 60 });
    const cases: Array<[string, { status: number; code: string }]> = [
      [flipped, { status: 401, code: 'bad_signature' }],
      [`${forgedClaims}.${signature}`, { status: 401, code: 'bad_signature' }],
      [otherSecret, { status: 401, code: 'bad_signature' }],
      [expired, { status: 401, code: 'token_expired' }],
      ['not-a-token', { status: 401, code: 'malformed_token' }],
    ];
    for (const [token, expected] of cases) {
      expect(await errorOf(await upgrade(`/v1/live?token=${encodeURIComponent(token)}`)), token).toEqual(expected);
    }
    // A good token of one project presented for another.
    expect(await errorOf(await upgrade(`/v1/live?token=${encodeURIComponent(valid)}&project=${testProject().projectId}`))).toEqual({ status: 403, code: 'token_wrong_project' });
    // Nothing was created for the ghost project: no root, no relay.
    const roots = await listDurableObjectIds(env.BROADCAST);
    expect(roots.some((id) => id.equals(env.BROADCAST.idFromName(ghost)))).toBe(false);
    expect((await listDurableObjectIds(env.LIVE_RELAY)).length).toBe(relaysBefore);
  });

  it('still needs a WebSocket upgrade and a sane ack window', async () => {
    const token = encodeURIComponent(await mintToken());
    expect(await errorOf(await request(`/v1/live?token=${token}`))).toEqual({ status: 426, code: 'upgrade_required' });
    expect(await errorOf(await upgrade(`/v1/live?token=${token}&ack=99`))).toEqual({ status: 400, code: 'invalid_ack_window' });
    expect(await errorOf(await upgrade('/v1/live'))).toEqual({ status: 401, code: 'missing_key' });
    expect(await errorOf(await upgrade(`/v1/live?key=${testProject().keys.server}`))).toEqual({ status: 403, code: 'wrong_key_kind' });
  });
});
