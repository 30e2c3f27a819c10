// What the chaos test reads back from ClickHouse, straight from the dev server
// (CLICKHOUSE_DIRECT_URL, never through the fault proxy). Rollups are always
// read with sum() and maxMap(users_hll), never as single rows (README).
import type { ObservedCell } from '../../core/chaos-generator.ts';
import { parseUsersEstimate, toNumber } from '../../core/recount.ts';
import { queryRows } from '../workers/aggregation-support.ts';

function field(row: unknown, key: string): unknown {
  return typeof row === 'object' && row !== null ? Reflect.get(row, key) : undefined;
}

function text(row: unknown, key: string): string {
  const value = field(row, key);
  if (typeof value !== 'string') throw new Error(`ClickHouse row: ${key} is not a string in ${JSON.stringify(row)}`);
  return value;
}

/** A merged user sketch as stored: non-zero registers (index ascending, as maxMap returns them). */
export interface Registers {
  idx: number[];
  val: number[];
}

export interface MergedUsers {
  estimate: number;
  registers: Registers;
}

export interface ObservedCellWithUsers extends ObservedCell {
  usersEstimate: number;
  registers: Registers;
}

/** The `users` column of a maxMap(users_hll) row: [[idx...], [val...]]. */
function registersOf(row: unknown): Registers {
  const users = field(row, 'users');
  if (!Array.isArray(users) || users.length !== 2 || !Array.isArray(users[0]) || !Array.isArray(users[1])) return { idx: [], val: [] };
  return { idx: users[0].map(toNumber), val: users[1].map(toNumber) };
}

function merged(row: unknown): MergedUsers {
  return { estimate: parseUsersEstimate(row), registers: registersOf(row) };
}

/** events_1m per (event type, dims, minute) of one project. */
export async function readCells(projectId: string, project: number): Promise<ObservedCellWithUsers[]> {
  const rows = await queryRows(
    `SELECT event_type, dims_key, toUInt64(toUnixTimestamp(window_start)) AS t,
            sum(events) AS events, sum(value_sum) AS value_sum, sum(late_events) AS late_events, sum(bot_events) AS bot_events,
            maxMap(users_hll) AS users
     FROM events_1m WHERE project_id = {projectId:String}
     GROUP BY event_type, dims_key, t`,
    { projectId },
  );
  return rows.map((row) => ({
    project,
    eventType: text(row, 'event_type'),
    dimsKey: text(row, 'dims_key'),
    minuteMs: toNumber(field(row, 't')) * 1000,
    events: toNumber(field(row, 'events')),
    valueSum: toNumber(field(row, 'value_sum')),
    lateEvents: toNumber(field(row, 'late_events')),
    botEvents: toNumber(field(row, 'bot_events')),
    usersEstimate: parseUsersEstimate(row),
    registers: registersOf(row),
  }));
}

/** Merged sketches per (event type, minute), over every dimension set. */
export async function readUsersByTypeMinute(projectId: string): Promise<Map<string, MergedUsers>> {
  const rows = await queryRows(
    `SELECT event_type, toUInt64(toUnixTimestamp(window_start)) AS t, maxMap(users_hll) AS users
     FROM events_1m WHERE project_id = {projectId:String} GROUP BY event_type, t`,
    { projectId },
  );
  return new Map(rows.map((row) => [`${text(row, 'event_type')}\u0000${toNumber(field(row, 't')) * 1000}`, merged(row)]));
}

export async function readProjectUsers(projectId: string): Promise<MergedUsers> {
  const [row] = await queryRows('SELECT maxMap(users_hll) AS users FROM events_1m WHERE project_id = {projectId:String}', { projectId });
  return merged(row);
}

export async function readRollupTotals(table: 'events_1h' | 'events_1d', projectId: string): Promise<{ events: number; valueSum: number; lateEvents: number }> {
  const [row] = await queryRows(
    `SELECT sum(events) AS events, sum(value_sum) AS value_sum, sum(late_events) AS late_events FROM ${table} WHERE project_id = {projectId:String}`,
    { projectId },
  );
  return { events: toNumber(field(row, 'events') ?? 0), valueSum: toNumber(field(row, 'value_sum') ?? 0), lateEvents: toNumber(field(row, 'late_events') ?? 0) };
}

/** Every raw event id of the project, with how often it is stored, and its late flag. */
export async function readRawIds(projectId: string): Promise<Map<string, { copies: number; late: number }>> {
  const rows = await queryRows(
    'SELECT event_id, count() AS copies, max(late) AS late FROM events_raw WHERE project_id = {projectId:String} GROUP BY event_id',
    { projectId },
  );
  return new Map(rows.map((row) => [text(row, 'event_id'), { copies: toNumber(field(row, 'copies')), late: toNumber(field(row, 'late')) }]));
}

export async function readGovernance(projectId: string): Promise<Map<string, number>> {
  const rows = await queryRows(
    'SELECT toString(reason) AS reason, dimension, sum(events) AS events FROM governance_1m WHERE project_id = {projectId:String} GROUP BY reason, dimension',
    { projectId },
  );
  const out = new Map<string, number>();
  for (const row of rows) {
    const key = `${text(row, 'reason')}:${text(row, 'dimension')}`;
    out.set(key, (out.get(key) ?? 0) + toNumber(field(row, 'events')));
  }
  return out;
}
