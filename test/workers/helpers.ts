import { env, exports } from 'cloudflare:workers';
import { createClient, type ClickHouseClient } from '@clickhouse/client-web';
import { shardObjectName } from '../../core/shard.ts';
import type { FlushOutcome } from '../../durable-objects/ShardAggregator.ts';

export const BASE = 'http://edgepulse.test';

export function request(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** A fresh event type per test keeps tests independent while sharing one ClickHouse. */
export function uniqueEventType(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
}

export function projectId(): string {
  return env.DEFAULT_PROJECT_ID;
}

export function shardStub(shard: number) {
  return env.SHARD_AGGREGATOR.get(env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId(), shard)));
}

/** Runs a flush cycle on every shard of the test project, as their alarms would. */
export async function flushAllShards(): Promise<FlushOutcome[]> {
  const shardCount = Number(env.SHARD_COUNT);
  return Promise.all(Array.from({ length: shardCount }, (_, shard) => shardStub(shard).flushNow()));
}

export function clickHouse(): ClickHouseClient {
  return createClient({ url: env.CLICKHOUSE_URL, username: env.CLICKHOUSE_USER, password: '', database: env.CLICKHOUSE_DATABASE });
}

export async function countInClickHouse(eventType: string): Promise<{ events: number; valueSum: number; lateEvents: number }> {
  const client = clickHouse();
  try {
    const result = await client.query({
      query: `SELECT sum(events) AS events, sum(value_sum) AS value_sum, sum(late_events) AS late_events
              FROM events_1m WHERE project_id = {projectId:String} AND event_type = {eventType:String}`,
      query_params: { projectId: projectId(), eventType },
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

  static async connect(path = '/v1/live'): Promise<LiveClient> {
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
