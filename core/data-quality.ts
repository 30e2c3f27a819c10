/**
 * GET /v1/data-quality: per window (minute), what did not count as a plain
 * on-time event, so late data and cardinality governance are visible and
 * never silent: late events (counted as additive adjustment rows), bot
 * events (kept out of human metrics), events the edge rejected as too old
 * (minute of arrival), and events whose dimension was folded into
 * `__other__` or dropped as undeclared (per dimension). Pure: parameters,
 * SQL text (typed server-side parameters only) and the answer's shape.
 */
import { parseTimestamp } from './events.ts';
import { TABLES } from './rollup-rows.ts';

const MINUTE_MS = 60_000;
export const DEFAULT_QUALITY_RANGE_MS = 60 * MINUTE_MS;
export const MAX_QUALITY_RANGE_MS = 7 * 24 * 60 * MINUTE_MS;

export interface DataQualityQuery {
  startMs: number;
  endMs: number;
}

export type DataQualityParse = { ok: true; query: DataQualityQuery } | { ok: false; code: string; message: string };

export function parseDataQualityQuery(params: URLSearchParams, nowMs: number): DataQualityParse {
  for (const name of params.keys()) {
    if (name !== 'start' && name !== 'end' && name !== 'key') return { ok: false, code: 'unknown_parameter', message: `Unknown parameter "${name.slice(0, 64)}" (start, end).` };
  }
  const time = (raw: string | null): number | null => (raw === null ? null : parseTimestamp(/^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw));
  const endRaw = params.get('end');
  const endMs = endRaw === null ? nowMs : time(endRaw);
  if (endMs === null) return { ok: false, code: 'invalid_end', message: 'end must be ISO-8601 or epoch seconds/milliseconds.' };
  const startRaw = params.get('start');
  const startMs = startRaw === null ? endMs - DEFAULT_QUALITY_RANGE_MS : time(startRaw);
  if (startMs === null) return { ok: false, code: 'invalid_start', message: 'start must be ISO-8601 or epoch seconds/milliseconds.' };
  if (startMs >= endMs) return { ok: false, code: 'invalid_range', message: 'start must be before end.' };
  if (endMs - startMs > MAX_QUALITY_RANGE_MS) return { ok: false, code: 'range_too_large', message: 'The range may span at most 7 days.' };
  return { ok: true, query: { startMs: Math.floor(startMs / MINUTE_MS) * MINUTE_MS, endMs } };
}

/** Per minute: late and bot events of the rollups (human events too, for a share). */
export const QUALITY_ROLLUP_SQL = `SELECT toUnixTimestamp(window_start) AS t, sum(events) AS events, sum(late_events) AS late, sum(bot_events) AS bots
FROM ${TABLES.eventsPerMinute}
WHERE project_id = {projectId:String} AND window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')
GROUP BY t HAVING late > 0 OR bots > 0 OR events > 0 ORDER BY t`;

/** Per minute, reason and dimension: folded, undeclared and too-old events. */
export const QUALITY_GOVERNANCE_SQL = `SELECT toUnixTimestamp(window_start) AS t, toString(reason) AS reason, dimension, sum(events) AS events
FROM ${TABLES.governance}
WHERE project_id = {projectId:String} AND window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')
GROUP BY t, reason, dimension ORDER BY t, reason, dimension`;

export function qualityParams(projectId: string, query: DataQualityQuery): Record<string, string | number> {
  return { projectId, from: Math.floor(query.startMs / 1000), to: Math.ceil(query.endMs / 1000) };
}

export interface QualityWindow {
  time: string;
  events: number;
  lateEvents: number;
  botEvents: number;
  tooOldEvents: number;
  /** Events per dimension whose value was folded into `__other__` (K reached). */
  folded: Record<string, number>;
  /** Events per undeclared dimension that was dropped. */
  undeclared: Record<string, number>;
}

export interface QualityTotals {
  events: number;
  lateEvents: number;
  botEvents: number;
  tooOldEvents: number;
  foldedEvents: number;
  undeclaredEvents: number;
}

/** Windows with anything to report, oldest first, and their totals, from the two statements' rows. */
export function buildQuality(rollupRows: readonly unknown[], governanceRows: readonly unknown[]): { windows: QualityWindow[]; totals: QualityTotals } {
  const windows = new Map<number, QualityWindow>();
  const windowAt = (t: number): QualityWindow => {
    let window = windows.get(t);
    if (window === undefined) {
      window = { time: new Date(t * 1000).toISOString(), events: 0, lateEvents: 0, botEvents: 0, tooOldEvents: 0, folded: {}, undeclared: {} };
      windows.set(t, window);
    }
    return window;
  };
  const totals: QualityTotals = { events: 0, lateEvents: 0, botEvents: 0, tooOldEvents: 0, foldedEvents: 0, undeclaredEvents: 0 };
  for (const row of rollupRows) {
    const t = field(row, 't');
    if (t === null) continue;
    const window = windowAt(t);
    window.events += field(row, 'events') ?? 0;
    window.lateEvents += field(row, 'late') ?? 0;
    window.botEvents += field(row, 'bots') ?? 0;
  }
  for (const row of governanceRows) {
    const t = field(row, 't');
    const events = field(row, 'events') ?? 0;
    const reason = text(row, 'reason');
    const dimension = text(row, 'dimension') ?? '';
    if (t === null || events === 0) continue;
    const window = windowAt(t);
    if (reason === 'too_old') window.tooOldEvents += events;
    else if (reason === 'folded') window.folded[dimension] = (window.folded[dimension] ?? 0) + events;
    else if (reason === 'undeclared') window.undeclared[dimension] = (window.undeclared[dimension] ?? 0) + events;
  }
  const sorted = [...windows.entries()].sort(([a], [b]) => a - b).map(([, window]) => window);
  for (const window of sorted) {
    totals.events += window.events;
    totals.lateEvents += window.lateEvents;
    totals.botEvents += window.botEvents;
    totals.tooOldEvents += window.tooOldEvents;
    totals.foldedEvents += Object.values(window.folded).reduce((sum, n) => sum + n, 0);
    totals.undeclaredEvents += Object.values(window.undeclared).reduce((sum, n) => sum + n, 0);
  }
  return { windows: sorted, totals };
}

/** A numeric column (ClickHouse sends UInt64 as a string in JSON). */
function field(row: unknown, name: string): number | null {
  if (typeof row !== 'object' || row === null) return null;
  const value: unknown = Reflect.get(row, name);
  const number = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? number : null;
}

function text(row: unknown, name: string): string | null {
  if (typeof row !== 'object' || row === null) return null;
  const value: unknown = Reflect.get(row, name);
  return typeof value === 'string' ? value : null;
}
