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

/** The last minute computed: events of a batch mostly share one, and `%` on a double (a timestamp) is a slow fmod call. */
let lastMinuteStart = Number.NaN;

export function minuteStartOf(timestampMs: number): number {
  // NaN bounds fail both comparisons, so the first call and odd inputs take the arithmetic.
  if (timestampMs >= lastMinuteStart && timestampMs < lastMinuteStart + MINUTE_MS) return lastMinuteStart;
  const start = windowStartOf(timestampMs, MINUTE_MS);
  lastMinuteStart = start;
  return start;
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
 * The groups of one pane: event type -> dims key -> group. Event types are
 * few, and each event brings its own copy of the type string: a scan with
 * `===` compares such copies inline, where a Map compares them in the
 * runtime (slow).
 */
interface PaneGroups {
  /** The first SCANNED_TYPES types seen, and their groups. */
  types: string[];
  byType: Array<Map<string, GroupDelta>>;
  /** Any further types (a project with many), by map. */
  more: Map<string, Map<string, GroupDelta>> | null;
}

const SCANNED_TYPES = 16;

function newPaneGroups(): PaneGroups {
  return { types: [], byType: [], more: null };
}

function groupsOfType(pane: PaneGroups, eventType: string): Map<string, GroupDelta> {
  const { types, byType } = pane;
  for (let i = 0; i < types.length; i++) {
    if (types[i] === eventType) {
      const found = byType[i];
      if (found !== undefined) return found;
    }
  }
  let groups = pane.more?.get(eventType);
  if (groups !== undefined) return groups;
  groups = new Map<string, GroupDelta>();
  if (types.length < SCANNED_TYPES) {
    types.push(eventType);
    byType.push(groups);
  } else {
    pane.more ??= new Map();
    pane.more.set(eventType, groups);
  }
  return groups;
}

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
  private readonly byPane = new Map<number, PaneGroups>();
  /** The pane of the previous event, [lastPane, lastPaneEnd): most events of a batch share it, so no pane arithmetic for them. */
  private lastPane = Number.NaN;
  private lastPaneEnd = Number.NaN;
  private lastPaneGroups: PaneGroups = newPaneGroups();
  private lastPaneLate = false;
  /** The previous event's type and its groups in the current pane (runs of one type are common). */
  private lastType: string | null = null;
  private lastTypeGroups: Map<string, GroupDelta> = new Map();

  constructor(timing: PaneTiming, nowMs: number) {
    this.timing = timing;
    this.closedThroughMs = closedThrough(nowMs, timing);
  }

  /** Returns whether the event was late. */
  add(event: PaneEvent): boolean {
    const timestampMs = event.timestampMs;
    // NaN bounds (no pane yet) fail the test.
    if (!(timestampMs >= this.lastPane && timestampMs < this.lastPaneEnd)) this.enterPane(timestampMs);
    const eventType = event.eventType;
    let byDims = this.lastTypeGroups;
    if (eventType !== this.lastType) {
      byDims = groupsOfType(this.lastPaneGroups, eventType);
      this.lastType = eventType;
      this.lastTypeGroups = byDims;
    }
    const late = this.lastPaneLate;
    if (late) this.late++;
    const dimsKey = event.dimsKey;
    let group = byDims.get(dimsKey);
    if (event.bot) {
      if (group === undefined) group = this.newGroup(byDims, eventType, dimsKey, []);
      if (late) group.lateEvents++;
      group.botEvents++;
      group.botValueSum += event.value;
      this.bots++;
      return late;
    }
    hash64Into(event.userKey, hashOut);
    const hi = hashOut[0] ?? 0;
    const lo = hashOut[1] ?? 0;
    // A new group starts with its first hash pair: most groups of a batch see one or two events.
    if (group === undefined) group = this.newGroup(byDims, eventType, dimsKey, [hi, lo]);
    else group.userHashes.push(hi, lo);
    if (late) group.lateEvents++;
    group.events++;
    group.valueSum += event.value;
    return late;
  }

  private enterPane(timestampMs: number): void {
    const paneStart = windowStartOf(timestampMs, this.timing.paneMs);
    let paneGroups = this.byPane.get(paneStart);
    if (paneGroups === undefined) {
      paneGroups = newPaneGroups();
      this.byPane.set(paneStart, paneGroups);
    }
    this.lastPane = paneStart;
    this.lastPaneEnd = paneStart + this.timing.paneMs;
    this.lastPaneGroups = paneGroups;
    this.lastType = null;
    // Panes tile windows, so lateness is a property of the pane.
    this.lastPaneLate = windowStartOf(paneStart, this.timing.windowMs) + this.timing.windowMs <= this.closedThroughMs;
  }

  private newGroup(byDims: Map<string, GroupDelta>, eventType: string, dimsKey: string, userHashes: number[]): GroupDelta {
    const group: GroupDelta = {
      paneStart: this.lastPane, eventType, dimsKey,
      events: 0, valueSum: 0, botEvents: 0, botValueSum: 0, lateEvents: 0, userHashes,
    };
    byDims.set(dimsKey, group);
    this.groups.push(group);
    return group;
  }
}
