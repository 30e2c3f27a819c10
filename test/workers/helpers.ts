import { env, exports } from 'cloudflare:workers';
import { createClient, type ClickHouseClient } from '@clickhouse/client-web';
import { shardObjectName } from '../../core/shard.ts';
import type { FlushOutcome } from '../../durable-objects/ShardAggregator.ts';

export const BASE = 'http://edgepulse.test';
export const ADMIN_TOKEN = 'test-admin-token';

export interface TestProject {
  projectId: string;
  keys: { public: string; server: string; read: string };
}

let currentProject: TestProject | null = null;

/** Creates a project through the admin API; each test file gets its own (see setup.ts). */
export async function createTestProject(options: { allowedOrigins?: string[]; declaredDimensions?: string[] } = {}): Promise<TestProject> {
  const projectId = `test-${crypto.randomUUID().slice(0, 12)}`;
  const response = await request('/v1/admin/projects', {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ projectId, ...options }),
  });
  if (response.status !== 201) throw new Error(`createTestProject: ${response.status} ${await response.text()}`);
  const body: { keys: TestProject['keys'] } = await response.json();
  return { projectId, keys: body.keys };
}

export async function useNewTestProject(): Promise<TestProject> {
  currentProject = await createTestProject();
  return currentProject;
}

export function testProject(): TestProject {
  if (currentProject === null) throw new Error('No test project: test/workers/setup.ts creates one in beforeAll.');
  return currentProject;
}

/** A request with no credentials at all. */
export function request(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function bearer(key: string): Record<string, string> {
  return { Authorization: `Bearer ${key}` };
}

/** Headers of a server-side writer (the test project's server key). */
export function writeHeaders(): Record<string, string> {
  return bearer(testProject().keys.server);
}

/** GET with the test project's read key. */
export function readGet(path: string): Promise<Response> {
  return request(path, { headers: bearer(testProject().keys.read) });
}

/** POSTs JSON with the test project's server key unless headers carry their own Authorization. */
export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...writeHeaders(), ...headers },
    body: JSON.stringify(body),
  });
}

/** A fresh event type per test keeps tests independent while sharing one ClickHouse. */
export function uniqueEventType(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
}

export function projectId(): string {
  return testProject().projectId;
}

export function shardStub(shard: number, project: string = projectId()) {
  return env.SHARD_AGGREGATOR.get(env.SHARD_AGGREGATOR.idFromName(shardObjectName(project, shard)));
}

/** Runs a flush cycle on every shard of a project (default: the test project), as their alarms would. */
export async function flushAllShards(project: string = projectId()): Promise<FlushOutcome[]> {
  const shardCount = Number(env.SHARD_COUNT);
  return Promise.all(Array.from({ length: shardCount }, (_, shard) => shardStub(shard, project).flushNow()));
}

export function clickHouse(): ClickHouseClient {
  return createClient({ url: env.CLICKHOUSE_URL, username: env.CLICKHOUSE_USER, password: '', database: env.CLICKHOUSE_DATABASE });
}

export async function countInClickHouse(eventType: string, project: string = projectId()): Promise<{ events: number; valueSum: number; lateEvents: number }> {
  const client = clickHouse();
  try {
    const result = await client.query({
      query: `SELECT sum(events) AS events, sum(value_sum) AS value_sum, sum(late_events) AS late_events
              FROM events_1m WHERE project_id = {projectId:String} AND event_type = {eventType:String}`,
      query_params: { projectId: project, eventType },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ events: string | number; value_sum: number; late_events: string | number }>();
    return { events: Number(row?.events ?? 0), valueSum: Number(row?.value_sum ?? 0), lateEvents: Number(row?.late_events ?? 0) };
  } finally {
    await client.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for the start of the next second. Test windows are 1 s with no
 * lateness, so an event reaching its shard in a later second than its
 * timestamp is (rightly) late: tests that assert "not late" start here.
 */
export async function atFreshSecond(): Promise<number> {
  await sleep(1000 - (Date.now() % 1000) + 5);
  return Date.now();
}

/** A real WebSocket client connected through the Worker's /v1/live route. */
export class LiveClient {
  readonly messages: unknown[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const data = typeof event.data === 'string' ? event.data : '';
      const parsed: unknown = JSON.parse(data);
      if (Array.isArray(parsed)) this.messages.push(...parsed);
      else this.messages.push(parsed);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(path = `/v1/live?key=${testProject().keys.read}`): Promise<LiveClient> {
    const response = await request(path, { headers: { Upgrade: 'websocket' } });
    const socket = response.webSocket;
    if (response.status !== 101 || socket === null) throw new Error(`Upgrade refused: ${response.status} ${await response.text()}`);
    socket.accept();
    return new LiveClient(socket);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first message matching the predicate, or rejects after the timeout. */
  async waitFor<T>(predicate: (message: unknown) => message is T, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found !== undefined) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`No matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close(1000, 'done');
  }
}

export interface DeltaMessage {
  topic: string;
  windowStart: string;
  windowEnd: string;
  value: number;
  timestamp: string;
  seq: number;
}

export function isDelta(topic: string, predicate: (delta: DeltaMessage) => boolean = () => true) {
  return (message: unknown): message is DeltaMessage => {
    if (typeof message !== 'object' || message === null || !('topic' in message) || !('value' in message)) return false;
    const delta = message as DeltaMessage;
    return delta.topic === topic && predicate(delta);
  };
}
