/**
 * One live time series: a fixed number of 1-minute windows ending at the
 * current window. Pure (no DOM), so the merge rules are unit-tested in Node.
 *
 * Values come from two sources that race each other:
 * - the snapshot (`GET /v1/metrics`), zero-filled per minute;
 * - live deltas, each the *absolute* total of one window so far.
 * A live value received after the snapshot request was sent is at least as
 * fresh as the snapshot, so it wins; anything older is replaced by the
 * snapshot, except in the two newest windows: the store only has a window
 * once it was flushed (after the allowed lateness), so there a lower snapshot
 * value means "not flushed yet", not "fewer events".
 *
 * Each window may also carry an anomaly flag and the expected band
 * (lower..upper) from the query API; live deltas can flag a window too.
 */
import { MINUTE_MS, floorToMinute } from './time.ts';

/** Deltas further ahead of our clock than this are treated as bogus, not as "the future". */
const MAX_FUTURE_WINDOW_MS = 2 * MINUTE_MS;

export type PointSource = 'snapshot' | 'live' | 'fill';

interface Point {
  value: number;
  source: PointSource;
  observedAt: number;
}

export interface Band {
  lower: number;
  upper: number;
}

export interface SnapshotPoint {
  time: number;
  value: number;
  anomaly?: boolean;
  lower?: number | null;
  upper?: number | null;
}

export interface Delta {
  windowStartMs: number;
  value: number;
  seq: number | null;
  anomaly?: boolean | null;
}

export type DeltaOutcome = 'applied' | 'stale-seq' | 'out-of-range' | 'future' | 'invalid';

/** Column arrays, oldest first, as a chart wants them; null where nothing is known. */
export interface SeriesColumns {
  times: number[];
  values: Array<number | null>;
  lower: Array<number | null>;
  upper: Array<number | null>;
  anomalies: Array<number | null>;
}

export interface WindowSum {
  sum: number;
  /** Windows in the span with no known value. */
  unknown: number;
}

export class MinuteSeries {
  readonly minutes: number;
  headMs: number;
  private readonly points = new Map<number, Point>();
  private readonly bands = new Map<number, Band>();
  private readonly anomalyFlags = new Map<number, boolean>();
  /** Highest seq seen since the last (re)connect, and the newest window seen. */
  private lastSeq = -Infinity;
  private lastWindowMs = -Infinity;
  /** Local receive time of the last applied delta, 0 if none. */
  lastDeltaAt = 0;

  constructor(minutes: number, headMs: number) {
    this.minutes = Math.max(1, Math.floor(minutes));
    this.headMs = floorToMinute(headMs);
  }

  /** Start of the oldest window in range. */
  get startMs(): number {
    return this.headMs - (this.minutes - 1) * MINUTE_MS;
  }

  /**
   * Moves the current window forward (never back). New windows are 0 when
   * `liveCovered` (the socket was open, so silence means no events);
   * otherwise they stay unknown until a snapshot or delta fills them.
   */
  advanceTo(windowStartMs: number, liveCovered: boolean, now: number): boolean {
    const target = floorToMinute(windowStartMs);
    if (target <= this.headMs) return false;
    const previousHead = this.headMs;
    this.headMs = target;
    if (liveCovered) {
      for (let w = Math.max(previousHead + MINUTE_MS, this.startMs); w <= target; w += MINUTE_MS) {
        if (!this.points.has(w)) this.points.set(w, { value: 0, source: 'fill', observedAt: now });
      }
    }
    this.prune();
    return true;
  }

  private prune(): void {
    const start = this.startMs;
    for (const map of [this.points, this.bands, this.anomalyFlags]) {
      for (const w of map.keys()) if (w < start || w > this.headMs) map.delete(w);
    }
  }

  /**
   * Applies a snapshot answer that covered [rangeStart, rangeEnd). Windows
   * the server left out are zero, per the zero-fill contract.
   */
  applySnapshot(dataPoints: readonly SnapshotPoint[], rangeStart: number, rangeEnd: number, requestedAt: number): void {
    const byWindow = new Map<number, SnapshotPoint>();
    for (const p of dataPoints) {
      const w = floorToMinute(p.time);
      const seen = byWindow.get(w);
      byWindow.set(w, seen ? { ...p, value: seen.value + p.value } : p);
    }
    const from = Math.max(floorToMinute(rangeStart), this.startMs);
    const to = Math.min(rangeEnd, this.headMs + MINUTE_MS);
    const unflushedFrom = this.headMs - MINUTE_MS;
    for (let w = from; w < to; w += MINUTE_MS) {
      const point = byWindow.get(w);
      if (point && point.lower != null && point.upper != null) this.bands.set(w, { lower: point.lower, upper: point.upper });
      if (point?.anomaly !== undefined) this.anomalyFlags.set(w, point.anomaly);
      const existing = this.points.get(w);
      const value = point?.value ?? 0;
      if (existing?.source === 'live') {
        if (existing.observedAt >= requestedAt) continue;
        if (w >= unflushedFrom && existing.value > value) continue;
      }
      this.points.set(w, { value, source: 'snapshot', observedAt: requestedAt });
    }
  }

  applyDelta(delta: Delta, now: number): DeltaOutcome {
    const w = delta.windowStartMs;
    if (w % MINUTE_MS !== 0 || !Number.isFinite(delta.value)) return 'invalid';
    if (w > this.headMs + MAX_FUTURE_WINDOW_MS) return 'future';
    if (delta.seq !== null) {
      // A lower seq is a reordered, stale frame, unless the server's counter
      // restarted (an evicted object starts again at 1), which also shows as
      // a lower seq opening a newer window.
      const restarted = delta.seq <= 1 || w > this.lastWindowMs;
      if (delta.seq < this.lastSeq && !restarted) return 'stale-seq';
      this.lastSeq = delta.seq;
    }
    this.lastWindowMs = Math.max(this.lastWindowMs, w);
    if (w > this.headMs) this.advanceTo(w, true, now);
    if (w < this.startMs) return 'out-of-range';
    this.points.set(w, { value: delta.value, source: 'live', observedAt: now });
    if (typeof delta.anomaly === 'boolean') this.anomalyFlags.set(w, delta.anomaly);
    this.lastDeltaAt = now;
    return 'applied';
  }

  /** Forget seq ordering: after a reconnect the server may count from scratch. */
  resetSeq(): void {
    this.lastSeq = -Infinity;
    this.lastWindowMs = -Infinity;
  }

  valueAt(windowStartMs: number): number | null {
    return this.points.get(windowStartMs)?.value ?? null;
  }

  bandAt(windowStartMs: number): Band | null {
    return this.bands.get(windowStartMs) ?? null;
  }

  isAnomaly(windowStartMs: number): boolean {
    return this.anomalyFlags.get(windowStartMs) === true;
  }

  /** Windows flagged as anomalies, oldest first. */
  anomalies(): number[] {
    const out: number[] = [];
    for (const [w, flagged] of this.anomalyFlags) if (flagged && w >= this.startMs && w <= this.headMs) out.push(w);
    return out.sort((a, b) => a - b);
  }

  /** Sum of the newest `count` windows (the current one included). */
  sumLast(count: number): WindowSum {
    return this.sumRange(this.headMs - (Math.min(count, this.minutes) - 1) * MINUTE_MS, this.headMs + MINUTE_MS);
  }

  /** Sum over windows starting in [fromMs, toMs). */
  sumRange(fromMs: number, toMs: number): WindowSum {
    let sum = 0;
    let unknown = 0;
    for (let w = Math.max(floorToMinute(fromMs), this.startMs); w < toMs && w <= this.headMs; w += MINUTE_MS) {
      const v = this.valueAt(w);
      if (v === null) unknown++;
      else sum += v;
    }
    return { sum, unknown };
  }

  total(): WindowSum {
    return this.sumLast(this.minutes);
  }

  /** Everything a chart draws; `times` in ms. */
  columns(): SeriesColumns {
    const columns: SeriesColumns = { times: [], values: [], lower: [], upper: [], anomalies: [] };
    for (let i = 0; i < this.minutes; i++) {
      const w = this.startMs + i * MINUTE_MS;
      const value = this.valueAt(w);
      const band = this.bands.get(w);
      columns.times.push(w);
      columns.values.push(value);
      columns.lower.push(band?.lower ?? null);
      columns.upper.push(band?.upper ?? null);
      columns.anomalies.push(this.isAnomaly(w) ? value : null);
    }
    return columns;
  }
}
