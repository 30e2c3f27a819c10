/**
 * Recount: the rollups (events_1m) against a recount of the raw events
 * (events_raw, RAW_EVENTS=1) for a project and a range of whole minutes, per
 * (minute, event type, counted dims_key). Pure: the SQL and the comparison;
 * scripts/recount.ts and the fault tests run the queries.
 */
import { TABLES } from './rollup-rows.ts';
import { estimateFromRegisters } from './sketch-registers.ts';
import { USER_SKETCH_PRECISION } from './panes.ts';

const MINUTE_MS = 60_000;

export interface RecountTotals {
  events: number;
  botEvents: number;
  valueSum: number;
  botValueSum: number;
}

export interface RecountRow extends RecountTotals {
  /** Minute start, epoch seconds. */
  t: number;
  eventType: string;
  dimsKey: string;
}

export interface RecountDifference {
  t: number;
  eventType: string;
  dimsKey: string;
  rollup: RecountTotals;
  raw: RecountTotals;
}

export interface RecountRange {
  fromMs: number;
  toMs: number;
}

/** Whole minutes covering [from, to): rollup rows are per minute, so both sides must use the same minutes. */
export function minuteRange(fromMs: number, toMs: number): RecountRange {
  return { fromMs: Math.floor(fromMs / MINUTE_MS) * MINUTE_MS, toMs: Math.ceil(toMs / MINUTE_MS) * MINUTE_MS };
}

/** Query parameters: {projectId:String}, {from:UInt64}, {to:UInt64} in epoch seconds. */
export function recountParams(projectId: string, range: RecountRange): Record<string, string | number> {
  return { projectId, from: Math.floor(range.fromMs / 1000), to: Math.floor(range.toMs / 1000) };
}

export const ROLLUP_TOTALS_SQL = `
  SELECT toUInt64(toUnixTimestamp(window_start)) AS t, event_type, dims_key,
         sum(events) AS events, sum(bot_events) AS bot_events, sum(value_sum) AS value_sum, sum(bot_value_sum) AS bot_value_sum
  FROM ${TABLES.eventsPerMinute}
  WHERE project_id = {projectId:String} AND window_start >= toDateTime({from:UInt64}) AND window_start < toDateTime({to:UInt64})
  GROUP BY t, event_type, dims_key`;

export const RAW_TOTALS_SQL = `
  SELECT toUInt64(toUnixTimestamp(toStartOfMinute(event_time))) AS t, event_type, dims_key,
         countIf(bot = 0) AS events, countIf(bot = 1) AS bot_events, sumIf(value, bot = 0) AS value_sum, sumIf(value, bot = 1) AS bot_value_sum
  FROM ${TABLES.rawEvents}
  WHERE project_id = {projectId:String} AND event_time >= toDateTime64({from:UInt64}, 3) AND event_time < toDateTime64({to:UInt64}, 3)
  GROUP BY t, event_type, dims_key`;

/** Raw rows stored more than once (should be 0: flushes are deduplicated by token). */
export const RAW_DUPLICATES_SQL = `
  SELECT count() - uniqExact(event_id) AS duplicates, count() AS rows, uniqExactIf(user_id, bot = 0) AS users
  FROM ${TABLES.rawEvents}
  WHERE project_id = {projectId:String} AND event_time >= toDateTime64({from:UInt64}, 3) AND event_time < toDateTime64({to:UInt64}, 3)`;

/** The merged user sketch of the range (any filter could be added the same way). */
export const ROLLUP_USERS_SQL = `
  SELECT maxMap(users_hll) AS users
  FROM ${TABLES.eventsPerMinute}
  WHERE project_id = {projectId:String} AND window_start >= toDateTime({from:UInt64}) AND window_start < toDateTime({to:UInt64})`;

/** Parses rows of ROLLUP_TOTALS_SQL / RAW_TOTALS_SQL (UInt64 arrive as strings in JSON). */
export function parseTotalsRows(rows: readonly unknown[]): RecountRow[] {
  return rows.map((row) => {
    if (typeof row !== 'object' || row === null) throw new Error(`recount: unexpected row ${JSON.stringify(row)}`);
    const get = (key: string): unknown => (key in row ? Reflect.get(row, key) : undefined);
    const eventType = get('event_type');
    const dimsKey = get('dims_key');
    if (typeof eventType !== 'string' || typeof dimsKey !== 'string') throw new Error(`recount: unexpected row ${JSON.stringify(row)}`);
    return {
      t: toNumber(get('t')),
      eventType,
      dimsKey,
      events: toNumber(get('events')),
      botEvents: toNumber(get('bot_events')),
      valueSum: toNumber(get('value_sum')),
      botValueSum: toNumber(get('bot_value_sum')),
    };
  });
}

/** The merged sketch's estimate from a ROLLUP_USERS_SQL row. */
export function parseUsersEstimate(row: unknown): number {
  const users = typeof row === 'object' && row !== null && 'users' in row ? row.users : null;
  if (!Array.isArray(users) || users.length !== 2 || !Array.isArray(users[0]) || !Array.isArray(users[1])) return 0;
  return estimateFromRegisters(USER_SKETCH_PRECISION, users[0].map(toNumber), users[1].map(toNumber));
}

export function toNumber(value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(number)) throw new Error(`recount: expected a number, got ${JSON.stringify(value)}`);
  return number;
}

/** Every (minute, event type, dims) whose counts differ; value sums are compared with a relative tolerance (float addition order). */
export function compareTotals(rollup: readonly RecountRow[], raw: readonly RecountRow[]): RecountDifference[] {
  const zero: RecountTotals = { events: 0, botEvents: 0, valueSum: 0, botValueSum: 0 };
  const key = (row: RecountRow): string => `${row.t}\u0000${row.eventType}\u0000${row.dimsKey}`;
  const byKey = new Map<string, { t: number; eventType: string; dimsKey: string; rollup: RecountTotals; raw: RecountTotals }>();
  for (const [side, rows] of [['rollup', rollup], ['raw', raw]] as const) {
    for (const row of rows) {
      const entry = byKey.get(key(row)) ?? { t: row.t, eventType: row.eventType, dimsKey: row.dimsKey, rollup: zero, raw: zero };
      entry[side] = { events: row.events, botEvents: row.botEvents, valueSum: row.valueSum, botValueSum: row.botValueSum };
      byKey.set(key(row), entry);
    }
  }
  return [...byKey.values()]
    .filter((entry) => !sameTotals(entry.rollup, entry.raw))
    .sort((a, b) => a.t - b.t || a.eventType.localeCompare(b.eventType) || a.dimsKey.localeCompare(b.dimsKey));
}

function sameTotals(a: RecountTotals, b: RecountTotals): boolean {
  return a.events === b.events && a.botEvents === b.botEvents && close(a.valueSum, b.valueSum) && close(a.botValueSum, b.botValueSum);
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}
