/**
 * Sliding windows (e.g. active users in the last 5 minutes, sliding every
 * pane) answered from panes: counts add, user sketches merge. Events are
 * never re-read. Shards partition users (routing by user), so results of
 * different shards combine by adding counts and merging sketches.
 */
import { parseDimensionsKey } from './dimensions.ts';
import { HyperLogLog } from './hll.ts';
import { USER_SKETCH_PRECISION } from './panes.ts';
import { windowStartOf } from './windows.ts';

/** Panes are kept this long, so this is the longest sliding window. */
export const MAX_SLIDING_SECONDS = 3600;
const MAX_FILTERS = 8;

export interface SlidingWindowQuery {
  /** Omitted or '*' = every event type. */
  eventType?: string;
  /** Dimension equality filters (values as counted, so `__other__` works too). */
  filters?: Record<string, string>;
  lastSeconds: number;
}

export interface SlidingWindowResult {
  /** [fromMs, toMs): whole panes, the newest one still filling. */
  fromMs: number;
  toMs: number;
  events: number;
  valueSum: number;
  botEvents: number;
  uniqueUsers: number;
  /** The merged user sketch (core/hll.ts format), to merge across shards exactly. */
  sketch: Uint8Array;
}

export type SlidingQueryCheck = { ok: true; query: SlidingWindowQuery } | { ok: false; message: string };

export function checkSlidingQuery(query: SlidingWindowQuery): SlidingQueryCheck {
  const { lastSeconds, eventType, filters } = query;
  if (!Number.isInteger(lastSeconds) || lastSeconds < 1 || lastSeconds > MAX_SLIDING_SECONDS) {
    return { ok: false, message: `lastSeconds must be an integer in [1, ${MAX_SLIDING_SECONDS}].` };
  }
  if (eventType !== undefined && typeof eventType !== 'string') return { ok: false, message: 'eventType must be a string.' };
  if (filters !== undefined) {
    const entries = Object.entries(filters);
    if (entries.length > MAX_FILTERS) return { ok: false, message: `At most ${MAX_FILTERS} filters.` };
    if (!entries.every(([, value]) => typeof value === 'string')) return { ok: false, message: 'Filter values must be strings.' };
  }
  return { ok: true, query };
}

/** The newest pane (the one holding `nowMs`) and as many before it as cover `lastSeconds`. */
export function slidingRange(nowMs: number, paneMs: number, lastSeconds: number): { fromMs: number; toMs: number } {
  const toMs = windowStartOf(nowMs, paneMs) + paneMs;
  const panes = Math.max(1, Math.ceil((lastSeconds * 1000) / paneMs));
  return { fromMs: toMs - panes * paneMs, toMs };
}

export interface PaneRow {
  eventType: string;
  dimsKey: string;
  events: number;
  valueSum: number;
  botEvents: number;
  /** Serialized user sketch, or null when the group only had bots. */
  sketch: Uint8Array | null;
}

export class SlidingAccumulator {
  private events = 0;
  private valueSum = 0;
  private botEvents = 0;
  private readonly users = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
  private readonly filters: Array<[string, string]>;
  private readonly eventType: string | null;

  constructor(query: SlidingWindowQuery) {
    this.eventType = query.eventType === undefined || query.eventType === '*' ? null : query.eventType;
    this.filters = Object.entries(query.filters ?? {});
  }

  add(row: PaneRow): void {
    if (this.eventType !== null && row.eventType !== this.eventType) return;
    if (this.filters.length > 0) {
      const dimensions = parseDimensionsKey(row.dimsKey);
      if (!this.filters.every(([key, value]) => dimensions[key] === value)) return;
    }
    this.events += row.events;
    this.valueSum += row.valueSum;
    this.botEvents += row.botEvents;
    if (row.sketch !== null) this.users.merge(HyperLogLog.deserialize(row.sketch));
  }

  result(range: { fromMs: number; toMs: number }): SlidingWindowResult {
    return {
      ...range,
      events: this.events,
      valueSum: this.valueSum,
      botEvents: this.botEvents,
      uniqueUsers: this.users.count(),
      sketch: this.users.serialize(),
    };
  }
}

/** Combines per-shard results of the same query: counts add, sketches merge (a union, so no user counts twice). */
export function mergeSlidingResults(results: readonly SlidingWindowResult[]): SlidingWindowResult | null {
  const first = results[0];
  if (first === undefined) return null;
  const users = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
  let events = 0;
  let valueSum = 0;
  let botEvents = 0;
  for (const result of results) {
    events += result.events;
    valueSum += result.valueSum;
    botEvents += result.botEvents;
    users.merge(HyperLogLog.deserialize(result.sketch));
  }
  return { fromMs: first.fromMs, toMs: first.toMs, events, valueSum, botEvents, uniqueUsers: users.count(), sketch: users.serialize() };
}
