import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardFor } from '../../core/shard.ts';
import { readJsonBody } from '../../workers/body.ts';
import { ApiError } from '../../workers/errors.ts';
import { app } from '../../workers/index.ts';
import { edgeWithShardRecorder } from './edge-support.ts';
import { BASE, countInClickHouse, createTestProject, flushAllShards, postJson, readGet, request, sleep, uniqueEventType, writeHeaders } from './helpers.ts';

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

/** A raw body through the real Worker, with the test project's server key. */
function postRaw(body: BodyInit | null, headers: Record<string, string> = {}): Promise<Response> {
  return request('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', ...writeHeaders(), ...headers }, body });
}

interface Accepted {
  accepted: number;
  rejected: Array<{ index: number; code: string; message: string }>;
}

async function compress(bytes: Uint8Array | string, format: 'gzip' | 'deflate'): Promise<ArrayBuffer> {
  return new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream(format))).arrayBuffer();
}

describe('bad input through the Worker: the exact answer for each', () => {
  it('invalid UTF-8 is 400 invalid_utf8 (raw, gzip-compressed and as an unpaired surrogate)', async () => {
    await expectError(await postRaw(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])), 400, 'invalid_utf8');
    await expectError(await postRaw(await compress(new Uint8Array([0x5b, 0xc3, 0x28, 0x5d]), 'gzip'), { 'Content-Encoding': 'gzip' }), 400, 'invalid_utf8');
    await expectError(await postRaw(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), 400, 'invalid_utf8');
  });

  it('1e400 (Infinity after parsing) and other non-finite numbers are rejected per event', async () => {
    const now = Date.now();
    const eventType = uniqueEventType('huge');
    const response = await postRaw(
      `[{"eventType":"${eventType}","timestamp":${now},"value":1e400},{"eventType":"${eventType}","timestamp":1e400},` +
        `{"eventType":"${eventType}","timestamp":${now},"dimensions":{"n":-1e400}},{"eventType":"${eventType}","timestamp":${now},"value":1e15}]`,
    );
    expect(response.status).toBe(202);
    const body: Accepted = await response.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([
      [0, 'invalid_value'],
      [1, 'invalid_timestamp'],
      [2, 'invalid_dimension_value'],
    ]);
    // NaN and Infinity are not JSON at all.
    await expectError(await postRaw(`{"eventType":"x","timestamp":${now},"value":NaN}`), 400, 'malformed_json');
  });

  it('__proto__, constructor and prototype keys are rejected per event and pollute nothing', async () => {
    const now = Date.now();
    const eventType = uniqueEventType('proto');
    const response = await postRaw(
      `{"events":[{"eventType":"${eventType}","timestamp":${now},"dimensions":{"__proto__":{"polluted":1}}},` +
        `{"eventType":"${eventType}","timestamp":${now},"dimensions":{"constructor":"x"}},` +
        `{"eventType":"${eventType}","timestamp":${now},"dimensions":{"prototype":"x"}},` +
        `{"eventType":"${eventType}","timestamp":${now},"__proto__":{"dimensions":{"polluted":"yes"}},"dimensions":{"ok":"1"}}]}`,
    );
    expect(response.status).toBe(202);
    const body: Accepted = await response.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([
      [0, 'invalid_dimension_key'],
      [1, 'invalid_dimension_key'],
      [2, 'invalid_dimension_key'],
    ]);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('dimensions');
    // An envelope whose "events" hides behind __proto__ is not an event list.
    await expectError(await postRaw(`{"__proto__":{"events":[{"eventType":"x","timestamp":${now}}]}}`), 400, 'invalid_body');
  });

  it('deep nesting never crashes: a nested batch is one invalid event, a nested dimension one invalid value', async () => {
    const depth = 100_000;
    const deepBatch: Accepted = await (await postRaw('['.repeat(depth) + ']'.repeat(depth))).json();
    expect(deepBatch).toMatchObject({ accepted: 0, rejected: [{ index: 0, code: 'invalid_event' }] });
    const eventType = uniqueEventType('deep');
    const response = await postRaw(
      `[{"eventType":"${eventType}","timestamp":${Date.now()},"dimensions":{"d":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}},{"eventType":"${eventType}","timestamp":${Date.now()}}]`,
    );
    expect(response.status).toBe(202);
    const body: Accepted = await response.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([[0, 'invalid_dimension_value']]);
  });

  it('wrong content types are 415; form posts and multipart never reach the parser', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'image/png']) {
      await expectError(await postRaw('{"eventType":"x"}', { 'Content-Type': type }), 415, 'unsupported_media_type');
    }
  });

  it('oversized bodies are 413: declared, streamed without a length, and a deflate bomb', async () => {
    // No Content-Length (a stream of unknown size): the limit is enforced while reading.
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 2 * 1024 * 1024) controller.close();
        else {
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        }
      },
    });
    await expectError(await postRaw(stream), 413, 'payload_too_large');
    expect(sent).toBeLessThan(2 * 1024 * 1024);
    const bomb = await compress(new Uint8Array(8 * 1024 * 1024), 'deflate');
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    await expectError(await postRaw(bomb, { 'Content-Encoding': 'deflate' }), 413, 'payload_too_large');
    await expectError(await postRaw(new Uint8Array(10)), 400, 'malformed_json');
  });
});

describe('body decoding (property-based, in workerd)', () => {
  const MAX = 64 * 1024;
  const requestWith = (body: BodyInit, encoding: string | null) =>
    new Request(`${BASE}/x`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(encoding === null ? {} : { 'Content-Encoding': encoding }) }, body });

  it('gzip and deflate bodies decode to exactly the JSON that was compressed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('gzip', 'deflate'), async (value, encoding) => {
        const text = JSON.stringify(value);
        fc.pre(new TextEncoder().encode(text).byteLength <= MAX);
        const decoded = await readJsonBody(requestWith(await compress(text, encoding), encoding), MAX);
        expect(decoded).toEqual(JSON.parse(text));
      }),
      { numRuns: 150 },
    );
  });

  it('arbitrary bytes under any encoding give a value or a 4xx ApiError with a known code, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.constantFrom('gzip', 'deflate', null), fc.boolean(), async (bytes, encoding, compressFirst) => {
        const body = compressFirst && encoding !== null ? await compress(bytes, encoding) : bytes;
        try {
          await readJsonBody(requestWith(body, encoding), MAX);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          expect(error.status).toBe(400);
          expect(['malformed_body', 'invalid_utf8', 'malformed_json', 'empty_body']).toContain(error.code);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the limit applies to the decompressed size, to the byte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -40, max: 40 }), fc.constantFrom('gzip', 'deflate'), async (offset, encoding) => {
        const size = MAX + offset;
        const text = `"${'x'.repeat(size - 2)}"`;
        const outcome = await readJsonBody(requestWith(await compress(text, encoding), encoding), MAX).then(
          (value) => (typeof value === 'string' ? value.length + 2 : -1),
          (error: unknown) => (error instanceof ApiError ? error.code : 'unexpected'),
        );
        expect(outcome).toBe(size <= MAX ? size : 'payload_too_large');
      }),
      { numRuns: 60 },
    );
  });
});

describe('a shard that fails (fault injected at the RPC boundary)', () => {
  const SHARDS = Number(env.SHARD_COUNT);

  it('answers 503 naming exactly the failed shard events; the others are counted; a retry counts each once', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('shard_throws');
    const events = Array.from({ length: 24 }, (_, i) => ({ eventId: `${eventType}-${i}`, eventType, timestamp: Date.now() - 2_000, userId: `u${i}` }));
    const broken = shardFor('u0', SHARDS);
    const onBroken = events.flatMap((event, index) => (shardFor(event.userId, SHARDS) === broken ? [index] : []));
    expect(onBroken.length).toBeGreaterThan(0);
    expect(onBroken.length).toBeLessThan(events.length);
    // Not backpressure: the shard throws a plain error (an object reset, an overload).
    edge.setFault((req) => (req.shard === broken ? 'throw' : null));
    const post = (batch: object[]) =>
      edge.fetch('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${project.keys.server}` }, body: JSON.stringify({ events: batch }) });
    const first = await post(events);
    expect(first.status).toBe(503);
    expect(first.headers.get('Retry-After')).toBe('1');
    const failure: { error: { code: string }; accepted: number; duplicates: number; failed: number[]; rejected: unknown[] } = await first.json();
    expect(failure).toMatchObject({ error: { code: 'partially_accepted' }, accepted: events.length - onBroken.length, duplicates: 0, rejected: [] });
    expect(failure.failed).toEqual(onBroken);

    // The client retries everything (the SDK would send just `failed`; both are safe).
    edge.setFault(null);
    const retry: { accepted: number; duplicates: number } = await (await post(events)).json();
    expect(retry).toMatchObject({ accepted: onBroken.length, duplicates: events.length - onBroken.length });
    await sleep(1100);
    await flushAllShards(project.projectId);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(events.length);
  });

  it('a batch of only too-old events answers 202 with its rejections even when the shard that counts them fails', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const old = Date.now() - 8 * 86_400_000;
    const events = Array.from({ length: 3 }, (_, i) => ({ eventId: `too-old-${i}`, eventType: 'too_old', timestamp: old }));
    const post = () =>
      edge.fetch('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${project.keys.server}` }, body: JSON.stringify(events) });
    edge.setFault(() => 'throw');
    const answer = await post();
    expect(answer.status).toBe(202);
    const body: Accepted & { failed?: unknown; error?: unknown } = await answer.json();
    expect(body.accepted).toBe(0);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([
      [0, 'timestamp_too_old'],
      [1, 'timestamp_too_old'],
      [2, 'timestamp_too_old'],
    ]);
    expect(body.failed).toBeUndefined();
    expect(body.error).toBeUndefined();
    expect(edge.calls.map((call) => [call.request.shard, call.request.rejectedTooOld, call.request.eventsJson, call.outcome])).toEqual([[0, 3, '[]', 'thrown']]);
    // Without the fault the count reaches shard 0, still after the answer and still as a 202.
    edge.setFault(null);
    expect((await post()).status).toBe(202);
    expect(edge.calls[1]).toMatchObject({ request: { shard: 0, rejectedTooOld: 3, eventsJson: '[]' }, outcome: 'ok' });
  });

  it('too-old counts ride on the first shard call of a mixed batch; its failure names only that shard\'s events', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('mixed_old');
    const now = Date.now();
    const events = [
      { eventId: `${eventType}-old`, eventType, timestamp: now - 8 * 86_400_000, userId: 'u1' },
      { eventId: `${eventType}-0`, eventType, timestamp: now - 1_000, userId: 'u1' },
      { eventId: `${eventType}-1`, eventType, timestamp: now - 1_000, userId: 'u1' },
    ];
    edge.setFault(() => 'throw');
    const answer = await edge.fetch('/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${project.keys.server}` }, body: JSON.stringify(events) });
    expect(answer.status).toBe(503);
    const body: Accepted & { failed: number[] } = await answer.json();
    expect(body.failed).toEqual([1, 2]);
    expect(body.rejected.map(({ index, code }) => [index, code])).toEqual([[0, 'timestamp_too_old']]);
    expect(edge.calls).toHaveLength(1);
    expect(edge.calls[0]?.request.rejectedTooOld).toBe(1);
  });
});
