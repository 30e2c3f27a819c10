/** Shared helpers of the live fan-out tests (test/workers/live-*.test.ts, broadcast.test.ts). */
import { env } from 'cloudflare:workers';
import type { LiveLimits } from '../../core/live-config.ts';
import type { HelloMessage } from '../../core/live-protocol.ts';
import type { LiveStats } from '../../core/live-rpc.ts';
import { isPlainObject } from '../../core/events.ts';
import { bearer, postJson, request, testProject, type TestProject } from './helpers.ts';

export interface Delta {
  topic: string;
  windowStart: string;
  windowEnd: string;
  value: number;
  timestamp: string;
  seq: number;
  anomaly: boolean | undefined;
  lower: number | undefined;
  upper: number | undefined;
}

export interface Snapshot {
  type: 'snapshot';
  topic: string;
  from: string;
  to: string;
  seq: number;
  points: Array<{ time: string; value: number }>;
}

/** A real WebSocket client through the Worker's /v1/live route, recording frames, messages and the close. */
export class Viewer {
  /** Every message, arrays flattened. */
  readonly messages: unknown[] = [];
  /** Raw parsed frames, to check batching. */
  readonly frames: unknown[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const parsed: unknown = JSON.parse(typeof event.data === 'string' ? event.data : '');
      this.frames.push(parsed);
      if (Array.isArray(parsed)) this.messages.push(...parsed);
      else this.messages.push(parsed);
      this.wake();
    });
    socket.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  static async open(path: string, init: RequestInit = {}): Promise<Viewer> {
    const response = await request(path, { ...init, headers: { Upgrade: 'websocket', ...(init.headers ?? {}) } });
    const socket = response.webSocket;
    if (response.status !== 101 || socket === null) throw new Error(`Upgrade refused: ${response.status} ${await response.text()}`);
    socket.accept();
    return new Viewer(socket);
  }

  /** With the test project's read key (or another project's). */
  static connect(project: TestProject = testProject(), query = ''): Promise<Viewer> {
    return Viewer.open(`/v1/live?key=${project.keys.read}${query}`);
  }

  send(message: unknown): void {
    if (message instanceof Uint8Array) this.socket.send(message);
    else this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  subscribe(topic: string, extra: Record<string, unknown> = {}): void {
    this.send({ action: 'subscribe', topic, ...extra });
  }

  deltas(topic: string): Delta[] {
    return this.messages.filter(isDeltaOf(topic));
  }

  /**
   * Every value this viewer was told for one minute window of a topic, in
   * arrival order: snapshot points and deltas of that window. Tests assert on
   * the window their events were posted in, never on "the first delta": that
   * one is the current minute, which differs once the clock crosses a minute.
   */
  minuteValues(topic: string, minuteMs: number): number[] {
    const time = new Date(minuteMs).toISOString();
    const values: number[] = [];
    for (const message of this.messages) {
      if (isSnapshotOf(topic)(message)) {
        const point = message.points.find((p) => p.time === time);
        if (point !== undefined) values.push(point.value);
      } else if (isDeltaOf(topic)(message) && message.windowStart === time) {
        values.push(message.value);
      }
    }
    return values;
  }

  /** Waits until the newest value this viewer knows for the minute is `value`. */
  async waitForMinuteValue(topic: string, minuteMs: number, value: number, timeoutMs = 10_000): Promise<void> {
    await this.until(
      () => this.minuteValues(topic, minuteMs).at(-1) === value,
      timeoutMs,
      () => `${topic} @ ${new Date(minuteMs).toISOString()} is not ${value}; saw ${JSON.stringify(this.minuteValues(topic, minuteMs))}`,
    );
  }

  async waitFor<T>(predicate: (message: unknown) => message is T, timeoutMs = 10_000): Promise<T> {
    await this.until(() => this.messages.some(predicate), timeoutMs, () => `no matching message; got ${JSON.stringify(this.messages).slice(-3000)}`);
    const found = this.messages.find(predicate);
    if (found === undefined) throw new Error('unreachable');
    return found;
  }

  async waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== null, timeoutMs, () => 'socket still open');
    if (this.closed === null) throw new Error('unreachable');
    return this.closed;
  }

  async until(condition: () => boolean, timeoutMs = 10_000, describe: () => string = () => 'condition not met'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Within ${timeoutMs} ms: ${describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(code = 1000, reason = 'done'): void {
    this.socket.close(code, reason);
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export function isDeltaOf(topic: string, predicate: (delta: Delta) => boolean = () => true) {
  return (message: unknown): message is Delta =>
    isPlainObject(message) && message.topic === topic && typeof message.seq === 'number' && typeof message.value === 'number' && message.type === undefined && predicate(toDelta(message));
}

function toDelta(message: Record<string, unknown>): Delta {
  return {
    topic: String(message.topic),
    windowStart: String(message.windowStart),
    windowEnd: String(message.windowEnd),
    value: Number(message.value),
    timestamp: String(message.timestamp),
    seq: Number(message.seq),
    anomaly: typeof message.anomaly === 'boolean' ? message.anomaly : undefined,
    lower: typeof message.lower === 'number' ? message.lower : undefined,
    upper: typeof message.upper === 'number' ? message.upper : undefined,
  };
}

export function isType<T extends string>(type: T, topic?: string) {
  return (message: unknown): message is { type: T; topic: string; seq: number; resumed?: boolean } =>
    isPlainObject(message) && message.type === type && (topic === undefined || message.topic === topic);
}

export function isHello(message: unknown): message is HelloMessage {
  return isPlainObject(message) && message.type === 'hello' && typeof message.relay === 'string';
}

export function isSnapshotOf(topic: string) {
  return (message: unknown): message is Snapshot => isPlainObject(message) && message.type === 'snapshot' && message.topic === topic && Array.isArray(message.points);
}

export function isErrorCode(code: string) {
  return (message: unknown): message is { error: { code: string; message: string }; topic?: string } =>
    isPlainObject(message) && isPlainObject(message.error) && message.error.code === code;
}

/**
 * The event time of every event a test file posts: one fixed instant, so a
 * test's events all land in one minute window even when the wall clock
 * crosses a minute boundary mid-test (values are per minute).
 */
export const EVENT_TIME_MS = Date.now();

export function minuteOf(timestampMs: number): number {
  return timestampMs - (timestampMs % 60_000);
}

/** `count` events of `eventType`, one user each (so they spread over the shards). */
export function events(eventType: string, count: number, prefix: string, extra: Record<string, unknown> = {}) {
  return Array.from({ length: count }, (_, i) => ({ eventId: `${prefix}-${i}`, eventType, timestamp: EVENT_TIME_MS, userId: `${prefix}-u${i}`, ...extra }));
}

export async function post(eventType: string, count: number, prefix: string, project: TestProject = testProject(), extra: Record<string, unknown> = {}): Promise<void> {
  const response = await postJson('/v1/events', { events: events(eventType, count, prefix, extra) }, bearer(project.keys.server));
  if (response.status !== 202) throw new Error(`POST /v1/events: ${response.status} ${await response.text()}`);
}

export function root(projectId: string = testProject().projectId) {
  return env.BROADCAST.get(env.BROADCAST.idFromName(projectId));
}

export function relay(name: string) {
  return env.LIVE_RELAY.get(env.LIVE_RELAY.idFromName(name));
}

export async function configureLive(limits: Partial<LiveLimits>, projectId: string = testProject().projectId): Promise<void> {
  await root(projectId).configureLive(limits);
}

export async function stats(projectId: string = testProject().projectId): Promise<LiveStats> {
  return root(projectId).liveStats();
}

/** Viewer tokens through the API, as a dashboard server would mint them. */
export async function mintToken(project: TestProject = testProject(), body: Record<string, unknown> = {}): Promise<string> {
  const response = await request('/v1/live/token', { method: 'POST', headers: { ...bearer(project.keys.read), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`POST /v1/live/token: ${response.status} ${await response.text()}`);
  const json: unknown = await response.json();
  if (!isPlainObject(json) || typeof json.token !== 'string') throw new Error('no token in the answer');
  return json.token;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
