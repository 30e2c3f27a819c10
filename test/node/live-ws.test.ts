/**
 * The live protocol from outside the Workers runtime: the real `ws` client in
 * Node against the whole local stack (scripts/lib/local-stack.ts: the Worker
 * and its Durable Objects under `wrangler dev`, a ClickHouse dev server), as a
 * non-browser viewer would connect. Covers what the in-runtime tests cannot:
 * a TCP connection dropped without a close handshake (`terminate()`), then a
 * resume by lastSeq over a new connection; and refusals seen as HTTP answers
 * to the upgrade.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createProject, ROOT, startLocalStack, type LocalStack, type ProjectKeys } from '../../scripts/lib/local-stack.ts';

interface Delta {
  topic: string;
  windowStart: string;
  value: number;
  seq: number;
}

let stack: LocalStack | undefined;
let tmp = '';
let keys: ProjectKeys;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'edgepulse-live-ws-'));
  const adminToken = randomBytes(18).toString('base64url');
  stack = await startLocalStack({
    port: 0,
    clickhouse: { dataDir: join(tmp, 'clickhouse') },
    persistTo: join(tmp, 'wrangler'),
    vars: { ADMIN_TOKEN: adminToken, CLICKHOUSE_PASSWORD: '', VIEWER_TOKEN_SECRET: randomBytes(24).toString('base64url'), SHARD_COUNT: '4' },
    // wrangler's [assets] needs dashboard/dist; this test never loads the page.
    dashboard: existsSync(join(ROOT, 'dashboard/dist/index.html')) ? 'skip' : 'once',
    verbose: process.env.LIVE_WS_TEST_VERBOSE === '1',
  });
  keys = await createProject(stack.workerUrl, adminToken, `ws-${randomUUID().slice(0, 8)}`);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

function workerUrl(): string {
  if (stack === undefined) throw new Error('the local stack did not start');
  return stack.workerUrl;
}

async function mintToken(): Promise<string> {
  const response = await fetch(`${workerUrl()}/v1/live/token`, { method: 'POST', headers: { Authorization: `Bearer ${keys.read}` } });
  const body: unknown = await response.json();
  if (response.status !== 201 || typeof body !== 'object' || body === null || !('token' in body) || typeof body.token !== 'string') {
    throw new Error(`POST /v1/live/token: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.token;
}

/** `count` events of `eventType` at `timestampMs` (one minute for the whole test), one user each. */
async function post(eventType: string, count: number, prefix: string, timestampMs: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({ eventId: `${prefix}-${i}`, eventType, timestamp: timestampMs, userId: `${prefix}-u${i}` }));
  const response = await fetch(`${workerUrl()}/v1/events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${keys.server}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  if (response.status !== 202) throw new Error(`POST /v1/events: ${response.status} ${await response.text()}`);
}

function socketUrl(token: string): string {
  const url = new URL(`/v1/live?token=${encodeURIComponent(token)}&project=${encodeURIComponent(keys.projectId)}`, workerUrl());
  url.protocol = 'ws:';
  return url.toString();
}

/** A refused upgrade: the HTTP status and the error code of its JSON body. */
class Refused extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string) {
    super(`upgrade refused: ${status} ${code}`);
    this.status = status;
    this.code = code;
  }
}

/** A `ws` client recording every message (delta frames flattened). */
class WsViewer {
  readonly messages: unknown[] = [];
  private waiters: Array<() => void> = [];

  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const parsed: unknown = JSON.parse(data.toString());
      if (Array.isArray(parsed)) this.messages.push(...parsed);
      else this.messages.push(parsed);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static open(url: string): Promise<WsViewer> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new WsViewer(socket)));
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          let code = '';
          try {
            const body: unknown = JSON.parse(text);
            if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'code' in body.error) code = String(body.error.code);
          } catch {
            code = 'not_json';
          }
          reject(new Refused(response.statusCode ?? 0, code));
        });
      });
      socket.once('error', (error) => reject(error));
    });
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  deltas(topic: string): Delta[] {
    return this.messages.filter(isDeltaOf(topic));
  }

  async waitFor<T>(predicate: (message: unknown) => message is T, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found !== undefined) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Drops the TCP connection: no close frame, the server sees it vanish. */
  terminate(): void {
    this.socket.terminate();
  }

  close(): void {
    this.socket.close(1000, 'done');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDeltaOf(topic: string, predicate: (delta: Delta) => boolean = () => true) {
  return (message: unknown): message is Delta =>
    isObject(message) &&
    message.type === undefined &&
    message.topic === topic &&
    typeof message.seq === 'number' &&
    typeof message.value === 'number' &&
    typeof message.windowStart === 'string' &&
    predicate({ topic, windowStart: message.windowStart, value: message.value, seq: message.seq });
}

function isType(type: string, topic?: string) {
  return (message: unknown): message is { type: string; topic: string; seq: number; resumed?: boolean } =>
    isObject(message) && message.type === type && (topic === undefined || message.topic === topic);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live protocol over real TCP (ws from Node against workerd)', () => {
  it('subscribes, gets the snapshot and deltas, survives an abrupt TCP drop and resumes with exactly the missed deltas', async () => {
    const eventType = `ws_${randomUUID().slice(0, 8)}`;
    const topic = `metrics:${eventType}`;
    const eventTime = Date.now();
    const window = new Date(eventTime - (eventTime % 60_000)).toISOString();
    const ofWindow = (value: number) => isDeltaOf(topic, (d) => d.windowStart === window && d.value === value);

    const first = await WsViewer.open(socketUrl(await mintToken()));
    await first.waitFor(isType('hello'));
    first.send({ action: 'subscribe', topic });
    const subscribed = await first.waitFor(isType('subscribed', topic));
    expect(subscribed.resumed).toBe(false);
    await first.waitFor(isType('snapshot', topic));
    await first.waitFor(isDeltaOf(topic, (d) => d.seq === subscribed.seq));
    await post(eventType, 3, `${eventType}-a`, eventTime);
    await first.waitFor(ofWindow(3));
    const lastSeen = Math.max(...first.deltas(topic).map((d) => d.seq));
    // A witness that stays keeps the topic on the relay (one nobody watches is dropped, seqs and all)
    // and records what the first viewer misses.
    const witness = await WsViewer.open(socketUrl(await mintToken()));
    witness.send({ action: 'subscribe', topic });
    await witness.waitFor(isType('subscribed', topic));

    first.terminate();
    // While it is gone: three changes in separate ticks.
    for (let round = 1; round <= 3; round++) {
      await post(eventType, 1, `${eventType}-r${round}`, eventTime);
      await witness.waitFor(ofWindow(3 + round));
      await sleep(300);
    }

    const back = await WsViewer.open(socketUrl(await mintToken()));
    back.send({ action: 'subscribe', topic, lastSeq: lastSeen });
    const resumed = await back.waitFor(isType('subscribed', topic));
    expect(resumed.resumed).toBe(true);
    await back.waitFor(ofWindow(6));
    await sleep(500);
    expect(back.messages.filter(isType('snapshot', topic))).toEqual([]);
    const replayed = back.deltas(topic).map((d) => [d.seq, d.value]);
    // Exactly what was missed: consecutive seqs after lastSeen, no duplicates, the values the witness saw.
    expect(replayed.map(([seq]) => seq)).toEqual(Array.from({ length: replayed.length }, (_, i) => lastSeen + 1 + i));
    expect(replayed).toEqual(witness.deltas(topic).filter((d) => d.seq > lastSeen).map((d) => [d.seq, d.value]));
    expect(replayed.at(-1)?.[1]).toBe(6);
    for (const viewer of [witness, back]) viewer.close();
  });

  it('refuses a tampered token before the upgrade, with a JSON error', async () => {
    const token = await mintToken();
    const [claims, signature = ''] = token.split('.');
    const tampered = `${claims}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const refusal = await WsViewer.open(socketUrl(tampered)).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(Refused);
    expect(refusal).toMatchObject({ status: 401, code: 'bad_signature' });
    // The untouched token still connects.
    const viewer = await WsViewer.open(socketUrl(token));
    await viewer.waitFor(isType('hello'));
    viewer.close();
  });
});
