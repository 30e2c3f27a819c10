// @ts-check
/**
 * One chart series: a fixed number of 1-minute windows ending at the current
 * window. Pure (no DOM), so the merge rules below can be tested in Node.
 *
 * Values come from two sources that race each other:
 * - the snapshot (`GET /v1/metrics`), zero-filled per minute;
 * - live deltas, each the *absolute* total of one window so far.
 * A live value received after the snapshot request was sent is at least as
 * fresh as the snapshot, so it wins; anything older is replaced by the snapshot,
 * except in the two newest windows: the store only has a window once it was
 * flushed (after the allowed lateness), so there a lower snapshot value means
 * "not flushed yet", not "fewer events".
 */

export const MINUTE_MS = 60_000;

/** Deltas further ahead of our clock than this are treated as bogus, not as "the future". */
const MAX_FUTURE_WINDOW_MS = 2 * MINUTE_MS;

/**
 * @typedef {'snapshot' | 'live' | 'fill'} PointSource
 * @typedef {{ value: number, source: PointSource, observedAt: number }} Point
 * @typedef {{ time: number, value: number | null, partial: boolean }} ChartPoint
 * @typedef {'applied' | 'stale-seq' | 'out-of-range' | 'future' | 'invalid'} DeltaOutcome
 */

/** @param {number} ms */
export function floorToMinute(ms) {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

export class MinuteSeries {
  /**
   * @param {number} minutes number of windows shown, the current one included
   * @param {number} headMs start of the current window
   */
  constructor(minutes, headMs) {
    this.minutes = minutes;
    this.headMs = floorToMinute(headMs);
    /** @type {Map<number, Point>} */
    this.points = new Map();
    /** Highest seq seen on this topic since the last (re)connect, and the newest window seen. */
    this.lastSeq = -Infinity;
    this.lastWindowMs = -Infinity;
    /** Local receive time of the last applied delta (ms), 0 if none. */
    this.lastDeltaAt = 0;
  }

  /** Start of the oldest window in range. */
  get startMs() {
    return this.headMs - (this.minutes - 1) * MINUTE_MS;
  }

  /**
   * Moves the current window forward (never back). New windows are set to 0
   * when `liveCovered` (the socket was open, so silence means no events);
   * otherwise they stay unknown until a snapshot or delta fills them.
   * @param {number} windowStartMs
   * @param {boolean} liveCovered
   * @param {number} now
   * @returns {boolean} whether the head moved
   */
  advanceTo(windowStartMs, liveCovered, now) {
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

  prune() {
    const start = this.startMs;
    for (const w of this.points.keys()) if (w < start || w > this.headMs) this.points.delete(w);
  }

  /**
   * Applies a snapshot answer that covered [rangeStart, rangeEnd). Windows
   * the server left out are zero, per the zero-fill contract.
   * @param {ReadonlyArray<{ time: number, value: number }>} dataPoints
   * @param {number} rangeStart
   * @param {number} rangeEnd exclusive
   * @param {number} requestedAt local time the request was sent
   */
  applySnapshot(dataPoints, rangeStart, rangeEnd, requestedAt) {
    /** @type {Map<number, number>} */
    const byWindow = new Map();
    for (const p of dataPoints) {
      const w = floorToMinute(p.time);
      byWindow.set(w, (byWindow.get(w) ?? 0) + p.value);
    }
    const from = Math.max(floorToMinute(rangeStart), this.startMs);
    const to = Math.min(rangeEnd, this.headMs + MINUTE_MS);
    const unflushedFrom = this.headMs - MINUTE_MS;
    for (let w = from; w < to; w += MINUTE_MS) {
      const existing = this.points.get(w);
      const value = byWindow.get(w) ?? 0;
      if (existing?.source === 'live') {
        if (existing.observedAt >= requestedAt) continue;
        if (w >= unflushedFrom && existing.value > value) continue;
      }
      this.points.set(w, { value, source: 'snapshot', observedAt: requestedAt });
    }
  }

  /**
   * @param {{ windowStartMs: number, value: number, seq: number | null }} delta
   * @param {number} now local receive time
   * @returns {DeltaOutcome}
   */
  applyDelta(delta, now) {
    const w = delta.windowStartMs;
    if (w % MINUTE_MS !== 0 || !Number.isFinite(delta.value)) return 'invalid';
    if (w > this.headMs + MAX_FUTURE_WINDOW_MS) return 'future';
    if (delta.seq !== null) {
      // A lower seq is a reordered, stale frame, unless the server's counter
      // restarted (an evicted object keeps its hibernated sockets but starts
      // again at 1), which also shows as a lower seq opening a newer window.
      const restarted = delta.seq <= 1 || w > this.lastWindowMs;
      if (delta.seq < this.lastSeq && !restarted) return 'stale-seq';
      this.lastSeq = delta.seq;
    }
    this.lastWindowMs = Math.max(this.lastWindowMs, w);
    if (w > this.headMs) this.advanceTo(w, true, now);
    if (w < this.startMs) return 'out-of-range';
    this.points.set(w, { value: delta.value, source: 'live', observedAt: now });
    this.lastDeltaAt = now;
    return 'applied';
  }

  /** Forget seq ordering: after a reconnect the server may count from scratch. */
  resetSeq() {
    this.lastSeq = -Infinity;
    this.lastWindowMs = -Infinity;
  }

  /** @param {number} windowStartMs */
  valueAt(windowStartMs) {
    const p = this.points.get(windowStartMs);
    return p ? p.value : null;
  }

  /** @returns {ChartPoint[]} oldest first; `null` where nothing is known */
  toChart() {
    /** @type {ChartPoint[]} */
    const out = [];
    for (let i = 0; i < this.minutes; i++) {
      const time = this.startMs + i * MINUTE_MS;
      out.push({ time, value: this.valueAt(time), partial: time === this.headMs });
    }
    return out;
  }

  /** Sum over the range, and how many windows are unknown. */
  total() {
    let sum = 0;
    let unknown = 0;
    for (let i = 0; i < this.minutes; i++) {
      const v = this.valueAt(this.startMs + i * MINUTE_MS);
      if (v === null) unknown++;
      else sum += v;
    }
    return { sum, unknown };
  }
}

/**
 * Validates one server frame item as a delta. Unknown fields are ignored.
 * @param {unknown} raw
 * @returns {{ topic: string, windowStartMs: number, value: number, seq: number | null, timestampMs: number | null } | null}
 */
export function parseDelta(raw) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const o = /** @type {Record<string, unknown>} */ (raw);
  if (typeof o.topic !== 'string' || typeof o.windowStart !== 'string') return null;
  if (typeof o.value !== 'number' || !Number.isFinite(o.value)) return null;
  const windowStartMs = Date.parse(o.windowStart);
  if (!Number.isFinite(windowStartMs)) return null;
  if (typeof o.windowEnd === 'string') {
    // Only 1-minute windows belong on these charts (a 10 s pane would corrupt a minute).
    if (Date.parse(o.windowEnd) - windowStartMs !== MINUTE_MS) return null;
  }
  const seq = typeof o.seq === 'number' && Number.isFinite(o.seq) ? o.seq : null;
  const ts = typeof o.timestamp === 'string' ? Date.parse(o.timestamp) : NaN;
  return { topic: o.topic, windowStartMs, value: o.value, seq, timestampMs: Number.isFinite(ts) ? ts : null };
}
