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
import { hash64Into } from './hash64.ts';
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

export function minuteStartOf(timestampMs: number): number {
  return windowStartOf(timestampMs, MINUTE_MS);
}

/** One accepted event, reduced to what aggregation needs. */
export interface PaneEvent {
  eventType: string;
  timestampMs: number;
  value: number;
  /** userId ?? visitorId ?? eventId: the identity the user sketch counts. */
  userKey: string;
  /** Canonical dimensions key, after cardinality governance. */
  dimsKey: string;
  bot: boolean;
}

/** Additive counters of a group; bots are counted apart and kept out of human metrics. */
export interface PaneCounts {
  events: number;
  valueSum: number;
  botEvents: number;
  botValueSum: number;
  lateEvents: number;
}

/** What one batch adds to one group: counts plus the 64-bit hashes (hi, lo pairs) of its human users. */
export interface GroupDelta extends PaneCounts {
  paneStart: number;
  eventType: string;
  dimsKey: string;
  userHashes: number[];
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

const hashOut = new Uint32Array(2);

/**
 * Folds a batch into one delta per group, so storage sees one write per group
 * per batch, never one per event. Hashing happens here, once per event.
 * Groups are found through nested maps, never through a key string built
 * per event: building and hashing one cost more than the rest of the work.
 */
export class BatchAccumulator {
  /** One delta per (pane, event type, dims), in first-seen order. */
  readonly groups: GroupDelta[] = [];
  late = 0;
  bots = 0;
  private readonly timing: PaneTiming;
  private readonly closedThroughMs: number;
  /** pane -> event type -> dims key -> group: the dims key is a cached string from governance, so no key is built per event. */
  private readonly byPane = new Map<number, Map<string, Map<string, GroupDelta>>>();
  private lastPane = Number.NaN;
  private lastPaneGroups: Map<string, Map<string, GroupDelta>> | null = null;
  private lastPaneLate = false;

  constructor(timing: PaneTiming, nowMs: number) {
    this.timing = timing;
    this.closedThroughMs = closedThrough(nowMs, timing);
  }

  /** Returns whether the event was late. */
  add(event: PaneEvent): boolean {
    const paneStart = windowStartOf(event.timestampMs, this.timing.paneMs);
    if (paneStart !== this.lastPane) {
      let paneGroups = this.byPane.get(paneStart);
      if (paneGroups === undefined) {
        paneGroups = new Map();
        this.byPane.set(paneStart, paneGroups);
      }
      this.lastPane = paneStart;
      this.lastPaneGroups = paneGroups;
      // Panes tile windows, so lateness is a property of the pane.
      this.lastPaneLate = windowStartOf(paneStart, this.timing.windowMs) + this.timing.windowMs <= this.closedThroughMs;
    }
    const paneGroups = this.lastPaneGroups;
    if (paneGroups === null) throw new Error('unreachable: pane groups missing');
    let byDims = paneGroups.get(event.eventType);
    if (byDims === undefined) {
      byDims = new Map();
      paneGroups.set(event.eventType, byDims);
    }
    let group = byDims.get(event.dimsKey);
    if (group === undefined) {
      group = {
        paneStart, eventType: event.eventType, dimsKey: event.dimsKey,
        events: 0, valueSum: 0, botEvents: 0, botValueSum: 0, lateEvents: 0, userHashes: [],
      };
      byDims.set(event.dimsKey, group);
      this.groups.push(group);
    }
    const late = this.lastPaneLate;
    if (late) {
      group.lateEvents++;
      this.late++;
    }
    if (event.bot) {
      group.botEvents++;
      group.botValueSum += event.value;
      this.bots++;
      return late;
    }
    group.events++;
    group.valueSum += event.value;
    hash64Into(event.userKey, hashOut);
    group.userHashes.push(hashOut[0] ?? 0, hashOut[1] ?? 0);
    return late;
  }
}
