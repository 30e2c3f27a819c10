// Shared helpers of the aggregation and fault tests: shards of a private
// project, the fault proxy, and ClickHouse reads that bypass the proxy.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createClient, type ClickHouseClient } from '@clickhouse/client-web';
import type { ValidEvent } from '../../core/events.ts';
import {
  compareTotals,
  minuteRange,
  parseTotalsRows,
  parseUsersEstimate,
  RAW_DUPLICATES_SQL,
  RAW_TOTALS_SQL,
  recountParams,
  ROLLUP_TOTALS_SQL,
  ROLLUP_USERS_SQL,
  toNumber,
  type RecountDifference,
} from '../../core/recount.ts';
import { shardObjectName } from '../../core/shard.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';

/** A project of its own per test: its shards, rows and fault rules are invisible to every other test. */
export function newProjectId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

export function shardOf(projectId: string, shard = 0) {
  return env.SHARD_AGGREGATOR.get(env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard)));
}

export interface EventOptions {
  eventType?: string;
  timestampMs?: number;
  value?: number;
  users?: number;
  dimensions?: (i: number) => Record<string, string>;
  extra?: (i: number) => Record<string, unknown>;
}

/** `count` events with ids `${prefix}-${i}`; users cycle through `users` distinct ids. */
export function makeEvents(prefix: string, count: number, options: EventOptions = {}): ValidEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    eventType: options.eventType ?? 'click',
    timestampMs: options.timestampMs ?? Date.now(),
    value: options.value ?? 1,
    userId: `${prefix}-user-${i % (options.users ?? count)}`,
    dimensions: options.dimensions?.(i) ?? { country: 'DE' },
    ...options.extra?.(i),
  }));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stringBinding(name: string): string {
  const value: unknown = Reflect.get(env, name);
  if (typeof value !== 'string' || value === '') throw new Error(`binding ${name} is not set (see the workers project in vitest.config.ts)`);
  return value;
}

export type FaultMode = 'ok' | 'down' | 'drop-response' | 'hold';

export interface FaultCounters {
  seen: number;
  forwarded: number;
  refused: number;
  dropped: number;
  held: number;
}

/** Faults for one project's flushes only: the proxy matches the dedup token in the insert URL. */
export function faultsFor(projectId: string) {
  const match = `edgepulse:${projectId}:`;
  const url = `${stringBinding('FAULT_PROXY_URL')}/__faults`;
  return {
    async set(mode: FaultMode, remaining?: number): Promise<void> {
      const response = await fetch(url, { method: 'POST', body: JSON.stringify({ match, mode, remaining }) });
      if (!response.ok) throw new Error(`fault proxy: ${response.status} ${await response.text()}`);
    },
    async counters(): Promise<FaultCounters> {
      const response = await fetch(`${url}?match=${encodeURIComponent(match)}`);
      const body: { counters: FaultCounters } = await response.json();
      return body.counters;
    },
  };
}

/** Reads go straight to ClickHouse, never through the fault proxy. */
export function directClickHouse(): ClickHouseClient {
  return createClient({ url: stringBinding('CLICKHOUSE_DIRECT_URL'), username: env.CLICKHOUSE_USER, password: '', database: env.CLICKHOUSE_DATABASE });
}

export async function queryRows(sql: string, params: Record<string, unknown>): Promise<unknown[]> {
  const client = directClickHouse();
  try {
    const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return await result.json<unknown>();
  } finally {
    await client.close();
  }
}

export interface Totals {
  events: number;
  valueSum: number;
  botEvents: number;
  lateEvents: number;
  rows: number;
}

export async function totalsIn(table: 'events_1m' | 'events_1h' | 'events_1d', projectId: string, eventType?: string): Promise<Totals> {
  const [row] = await queryRows(
    `SELECT sum(events) AS events, sum(value_sum) AS value_sum, sum(bot_events) AS bot_events, sum(late_events) AS late_events, count() AS rows
     FROM ${table} WHERE project_id = {projectId:String} AND ({eventType:String} = '' OR event_type = {eventType:String})`,
    { projectId, eventType: eventType ?? '' },
  );
  const get = (key: string): number => toNumber(typeof row === 'object' && row !== null ? Reflect.get(row, key) : undefined);
  return { events: get('events'), valueSum: get('value_sum'), botEvents: get('bot_events'), lateEvents: get('late_events'), rows: get('rows') };
}

export interface RecountReport {
  differences: RecountDifference[];
  rawRows: number;
  rawDuplicates: number;
  exactUsers: number;
  estimatedUsers: number;
}

/** What `npm run recount` checks, for the last hour of a project. */
export async function recount(projectId: string): Promise<RecountReport> {
  const params = recountParams(projectId, minuteRange(Date.now() - 3_600_000, Date.now() + 60_000));
  const [rollup, raw, [dups], [users]] = await Promise.all([
    queryRows(ROLLUP_TOTALS_SQL, params),
    queryRows(RAW_TOTALS_SQL, params),
    queryRows(RAW_DUPLICATES_SQL, params),
    queryRows(ROLLUP_USERS_SQL, params),
  ]);
  const get = (row: unknown, key: string): number => toNumber(typeof row === 'object' && row !== null ? Reflect.get(row, key) : undefined);
  return {
    differences: compareTotals(parseTotalsRows(rollup), parseTotalsRows(raw)),
    rawRows: get(dups, 'rows'),
    rawDuplicates: get(dups, 'duplicates'),
    exactUsers: get(dups, 'users'),
    estimatedUsers: parseUsersEstimate(users),
  };
}

/**
 * The end state every fault test must reach: rollups equal what was accepted,
 * the recount of raw events agrees row by row, nothing is stored twice, and
 * uniques are within the sketch's bound (+-3 for small sets, 4 standard errors otherwise).
 */
export async function expectConsistent(projectId: string, accepted: { events: number; valueSum: number; users: number; botEvents?: number }): Promise<RecountReport> {
  const totals = await totalsIn('events_1m', projectId);
  const report = await recount(projectId);
  const problems: string[] = [];
  const bots = accepted.botEvents ?? 0;
  if (totals.events !== accepted.events) problems.push(`events_1m has ${totals.events} events, accepted ${accepted.events}`);
  if (totals.botEvents !== bots) problems.push(`events_1m has ${totals.botEvents} bot events, accepted ${bots}`);
  if (Math.abs(totals.valueSum - accepted.valueSum) > 1e-6) problems.push(`events_1m value_sum ${totals.valueSum}, accepted ${accepted.valueSum}`);
  for (const table of ['events_1h', 'events_1d'] as const) {
    const view = await totalsIn(table, projectId);
    if (view.events !== accepted.events) problems.push(`${table} has ${view.events} events, accepted ${accepted.events}`);
  }
  if (report.differences.length > 0) problems.push(`recount differs: ${JSON.stringify(report.differences)}`);
  if (report.rawRows !== accepted.events + bots) problems.push(`events_raw has ${report.rawRows} rows, accepted ${accepted.events + bots}`);
  if (report.rawDuplicates !== 0) problems.push(`events_raw holds ${report.rawDuplicates} duplicate rows`);
  if (report.exactUsers !== accepted.users) problems.push(`events_raw has ${report.exactUsers} users, accepted ${accepted.users}`);
  const bound = Math.max(3, 4 * (1.04 / 64) * accepted.users);
  if (Math.abs(report.estimatedUsers - accepted.users) > bound) problems.push(`users estimate ${report.estimatedUsers} vs ${accepted.users} (bound ${bound})`);
  if (problems.length > 0) throw new Error(`${projectId} is inconsistent:\n${problems.join('\n')}`);
  return report;
}

type ShardStub = ReturnType<typeof shardOf>;

/**
 * Alarms are not reset between tests: run the pending one now, then remove
 * the one it re-armed (the shard always re-arms while it holds anything), so
 * nothing fires into a later test.
 */
export async function drainAlarms(stub: ShardStub): Promise<void> {
  await runDurableObjectAlarm(stub);
  await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAlarm());
}

/** Sleeps until the (1 s, no lateness) test window holding `timestampMs` has closed. */
export async function untilClosed(timestampMs: number): Promise<void> {
  const closesAt = Math.floor(timestampMs / 1000) * 1000 + 1000;
  await sleep(Math.max(0, closesAt - Date.now()) + 50);
}

/** Waits until the shard's windows have closed (1 s windows in tests), then runs a flush cycle. */
export async function flushClosed(stub: ShardStub): Promise<void> {
  await sleep(1100);
  await stub.flushNow();
}
