import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../workers/index.ts';
import { BASE, postJson, readGet, request, uniqueEventType, writeHeaders } from './helpers.ts';

interface ErrorBody {
  error: { code: string; message: string };
}

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('Content-Type')).toContain('application/json');
  const body: ErrorBody = await response.json();
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
}

describe('POST /v1/events input handling', () => {
  it('accepts a single event object, an array, and an { events } envelope', async () => {
    const eventType = uniqueEventType('shape');
    const event = { eventType, timestamp: Date.now() };
    for (const body of [event, [event, event], { events: [event] }]) {
      const response = await postJson('/v1/events', body);
      expect(response.status).toBe(202);
    }
  });

  it('rejects malformed JSON with 400 malformed_json', async () => {
    await expectError(await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', ...writeHeaders() }, body: '{"events": [' }), 400, 'malformed_json');
  });

  it('rejects an unsupported content type with 415', async () => {
    await expectError(await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...writeHeaders() }, body: 'a=b' }), 415, 'unsupported_media_type');
  });

  it('sniffs text/plain bodies (sendBeacon) as JSON', async () => {
    const response = await request('/v1/events', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...writeHeaders() },
      body: JSON.stringify({ eventType: uniqueEventType('beacon'), timestamp: Date.now() }),
    });
    expect(response.status).toBe(202);
  });

  it('accepts gzip-compressed bodies', async () => {
    const eventType = uniqueEventType('gzip');
    const json = JSON.stringify({ events: [1, 2, 3].map((i) => ({ eventId: `${eventType}-${i}`, eventType, timestamp: Date.now() })) });
    const gzipped = await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    const response = await request('/v1/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...writeHeaders() },
      body: gzipped,
    });
    expect(response.status).toBe(202);
    const body: { accepted: number } = await response.json();
    expect(body.accepted).toBe(3);
  });

  it('rejects a corrupt gzip body with 400, and a gzip bomb with 413', async () => {
    const corrupt = await request('/v1/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...writeHeaders() },
      body: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]),
    });
    await expectError(corrupt, 400, 'malformed_body');
    // 4 MiB of zeros compress to a few KiB: the limit applies after decompression.
    const bomb = await new Response(new Blob([new Uint8Array(4 * 1024 * 1024)]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    await expectError(
      await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...writeHeaders() }, body: bomb }),
      413,
      'payload_too_large',
    );
  });

  it('rejects an unknown content encoding with 415', async () => {
    await expectError(
      await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br', ...writeHeaders() }, body: '{}' }),
      415,
      'unsupported_encoding',
    );
  });

  it('rejects an empty batch and an empty body with 400', async () => {
    await expectError(await postJson('/v1/events', { events: [] }), 400, 'empty_batch');
    await expectError(await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', ...writeHeaders() } }), 400, 'empty_body');
  });

  it('rejects a body that is not an event list with 400 invalid_body', async () => {
    await expectError(await postJson('/v1/events', { hello: 'world' }), 400, 'invalid_body');
  });

  it('rejects more events than the per-request limit with 413', async () => {
    const events = Array.from({ length: 1001 }, () => ({ eventType: 'x', timestamp: Date.now() }));
    await expectError(await postJson('/v1/events', { events }), 413, 'too_many_events');
  });

  it('rejects a body over the byte limit with 413', async () => {
    const padding = 'x'.repeat(1_100_000);
    await expectError(await request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', ...writeHeaders() }, body: `{"pad":"${padding}"}` }), 413, 'payload_too_large');
  });

  it('accepts the good events of a mixed batch and reports each bad one by index', async () => {
    const eventType = uniqueEventType('mixed');
    const now = Date.now();
    const response = await postJson('/v1/events', {
      events: [
        { eventType, timestamp: now },
        { eventType: '', timestamp: now },
        { eventType, timestamp: 'yesterday' },
        { eventType, timestamp: now, value: 'NaN' },
        { eventType, timestamp: now + 3_600_000 },
        { eventType, timestamp: now, dimensions: { country: 'DE' } },
      ],
    });
    expect(response.status).toBe(202);
    const body: { accepted: number; rejected: Array<{ index: number; code: string }> } = await response.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'invalid_event_type'],
      [2, 'invalid_timestamp'],
      [3, 'invalid_value'],
      [4, 'timestamp_in_future'],
    ]);
  });

  it('counts a retried eventId once and reports it as a duplicate', async () => {
    const eventType = uniqueEventType('retry');
    const events = [1, 2, 3].map((i) => ({ eventId: `${eventType}-${i}`, eventType, timestamp: Date.now(), userId: `u${i}` }));
    const first: { accepted: number; duplicates: number } = await (await postJson('/v1/events', { events })).json();
    const second: { accepted: number; duplicates: number } = await (await postJson('/v1/events', { events })).json();
    expect(first.duplicates).toBe(0);
    expect(second.duplicates).toBe(3);
  });

  it('answers unknown routes and wrong methods with a JSON 404', async () => {
    await expectError(await request('/v1/nope'), 404, 'not_found');
  });

  it('answers a plain GET on /v1/live with 426', async () => {
    await expectError(await readGet('/v1/live'), 426, 'upgrade_required');
  });
});

describe('configurable timestamp bounds', () => {
  /** The real Worker with some vars changed (a deployment with other settings). */
  async function postWithVars(vars: Partial<Env>, body: unknown): Promise<Response> {
    const ctx = createExecutionContext();
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json', ...writeHeaders() }, body: JSON.stringify(body) };
    const response = await app.request(`${BASE}/v1/events`, init, { ...env, ...vars }, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it('MAX_FUTURE_SKEW_SECONDS and MAX_EVENT_AGE_SECONDS move the per-event limits', async () => {
    const eventType = uniqueEventType('bounds');
    const now = Date.now();
    const events = [
      { eventType, timestamp: now + 60_000 }, // 1 min ahead
      { eventType, timestamp: now - 2 * 3600_000 }, // 2 h old
      { eventType, timestamp: now - 1000 },
    ];
    // Defaults (5 min skew, 7 days): all three pass.
    const defaults: { accepted: number; rejected: unknown[] } = await (await postWithVars({}, { events })).json();
    expect(defaults).toMatchObject({ accepted: 3, rejected: [] });
    // 30 s skew, 1 h age: the first two are rejected, each with its reason and the configured bound.
    const strict = await postWithVars({ MAX_FUTURE_SKEW_SECONDS: '30', MAX_EVENT_AGE_SECONDS: '3600' }, { events: events.map((e, i) => ({ ...e, eventId: `${eventType}-s${i}` })) });
    expect(strict.status).toBe(202);
    const body: { accepted: number; rejected: Array<{ index: number; code: string; message: string }> } = await strict.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([
      [0, 'timestamp_in_future'],
      [1, 'timestamp_too_old'],
    ]);
    expect(body.rejected[0]?.message).toContain('30 s');
    expect(body.rejected[1]?.message).toContain('3600 s');
  });

  it('refuses a bad value loudly (500 without details), never silently using NaN', async () => {
    const response = await postWithVars({ MAX_EVENT_AGE_SECONDS: 'a week' }, { eventType: 'x', timestamp: Date.now() });
    expect(response.status).toBe(500);
    const body: { error: { code: string; message: string } } = await response.json();
    expect(body.error.code).toBe('internal_error');
    expect(JSON.stringify(body)).not.toContain('a week');
  });
});
