/**
 * Panes: the shard's unit of aggregation. Each (pane, event type, dimension
 * set) group holds a count, a value sum, bot counts and an HLL of users.
 * Panes tile the seal window, which tiles the 1-minute rows in ClickHouse.
 *
 * Watermark policy (documented choice): a window is closed once the shard's
 * wall clock passes its end plus the allowed lateness. Not "max event time
 * seen": that watermark stalls when a shard gets no traffic (nothing would
 * ever flush) and one client with a fast clock would close everybody's
 * windows early. The edge already rejects timestamps > 5 min ahead.
 */
import { windowStartOf } from './windows.ts';

export const MINUTE_MS = 60_000;

/** Precision of every user sketch the shards keep and flush: m = 4096, standard error 1.04/64 = 1.6%. */
export const USER_SKETCH_PRECISION = 12;

export interface PaneTiming {
  paneMs: number;
  windowMs: number;
  allowedLatenessMs: number;
}

/**
 * Every seal window that ends at or before this instant is closed at `nowMs`.
 * A multiple of windowMs, so "pane_start < closedThrough" selects whole windows.
 */
export function closedThrough(nowMs: number, timing: PaneTiming): number {
  return windowStartOf(nowMs - timing.allowedLatenessMs, timing.windowMs);
}

/** Late = the event's window had already closed when the event arrived: it becomes an adjustment row. */
export function isLate(timestampMs: number, nowMs: number, timing: PaneTiming): boolean {
  return windowStartOf(timestampMs, timing.windowMs) + timing.windowMs <= closedThrough(nowMs, timing);
}

/** When the window holding `paneStartMs` may be sealed. */
export function closeTimeOf(paneStartMs: number, timing: PaneTiming): number {
  return windowStartOf(paneStartMs, timing.windowMs) + timing.windowMs + timing.allowedLatenessMs;
}

/** The last minute computed: events of a batch mostly share one, and `%` on a double (a timestamp) is a slow fmod call. */
let lastMinuteStart = Number.NaN;

export function minuteStartOf(timestampMs: number): number {
  // NaN bounds fail both comparisons, so the first call and odd inputs take the arithmetic.
  if (timestampMs >= lastMinuteStart && timestampMs < lastMinuteStart + MINUTE_MS) return lastMinuteStart;
  const start = windowStartOf(timestampMs, MINUTE_MS);
  lastMinuteStart = start;
  return start;
}

/** Additive counters of a group; bots are counted apart and kept out of human metrics. */
export interface PaneCounts {
  events: number;
  valueSum: number;
  botEvents: number;
  botValueSum: number;
  lateEvents: number;
}

export function emptyCounts(): PaneCounts {
  return { events: 0, valueSum: 0, botEvents: 0, botValueSum: 0, lateEvents: 0 };
}

export function addCounts(into: PaneCounts, delta: PaneCounts): void {
  into.events += delta.events;
  into.valueSum += delta.valueSum;
  into.botEvents += delta.botEvents;
  into.botValueSum += delta.botValueSum;
  into.lateEvents += delta.lateEvents;
}
