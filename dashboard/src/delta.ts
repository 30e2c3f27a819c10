/** Validation of live frames: deltas, acks, errors, and the optional snapshot message. */
import { asObject, finiteNumber, isoMs, readError, type ErrorBody } from './json.ts';
import { MINUTE_MS } from './time.ts';
import type { SnapshotPoint } from './series.ts';

export interface ParsedDelta {
  topic: string;
  windowStartMs: number;
  value: number;
  seq: number | null;
  timestampMs: number | null;
  anomaly: boolean | null;
}

export type LiveItem =
  | { kind: 'delta'; delta: ParsedDelta }
  | { kind: 'subscribed'; topic: string }
  | { kind: 'heartbeat' }
  /** `fromMs`/`toMs`: the range the server's snapshot covers (zero-filled within it); null when it did not say. */
  | { kind: 'snapshot'; topic: string; points: SnapshotPoint[]; fromMs: number | null; toMs: number | null }
  | { kind: 'error'; topic: string | null; error: ErrorBody }
  | { kind: 'unknown' };

/** One frame may be one object or an array of them. */
export function parseFrame(message: unknown): LiveItem[] {
  return (Array.isArray(message) ? message : [message]).map(parseLiveItem);
}

export function parseLiveItem(raw: unknown): LiveItem {
  const o = asObject(raw);
  if (!o) return { kind: 'unknown' };
  const topic = typeof o.topic === 'string' ? o.topic : null;
  const error = readError(o);
  if (error) return { kind: 'error', topic, error };
  if (o.type === 'subscribed' && topic !== null) return { kind: 'subscribed', topic };
  // The relay's heartbeat answer is `pong`; `heartbeat` is what older servers sent.
  if (o.type === 'pong' || o.type === 'heartbeat') return { kind: 'heartbeat' };
  if (o.type === 'snapshot' && topic !== null && Array.isArray(o.points)) {
    return { kind: 'snapshot', topic, points: parsePoints(o.points), fromMs: isoMs(o.from), toMs: isoMs(o.to) };
  }
  if (o.type !== undefined) return { kind: 'unknown' };
  const delta = parseDelta(o);
  return delta ? { kind: 'delta', delta } : { kind: 'unknown' };
}

/** Validates one server item as a delta. Unknown fields are ignored. */
export function parseDelta(raw: unknown): ParsedDelta | null {
  const o = asObject(raw);
  if (!o || typeof o.topic !== 'string') return null;
  const value = finiteNumber(o.value);
  const windowStartMs = isoMs(o.windowStart);
  if (value === null || windowStartMs === null) return null;
  const windowEndMs = isoMs(o.windowEnd);
  // Only 1-minute windows belong on these series (a 10 s pane would corrupt a minute).
  if (o.windowEnd !== undefined && (windowEndMs === null || windowEndMs - windowStartMs !== MINUTE_MS)) return null;
  return {
    topic: o.topic,
    windowStartMs,
    value,
    seq: finiteNumber(o.seq),
    timestampMs: isoMs(o.timestamp),
    anomaly: typeof o.anomaly === 'boolean' ? o.anomaly : null,
  };
}

/** `dataPoints` of the query API (and of a live snapshot message); bad entries are skipped. */
export function parsePoints(raw: readonly unknown[]): SnapshotPoint[] {
  const out: SnapshotPoint[] = [];
  for (const item of raw) {
    const o = asObject(item);
    const time = isoMs(o?.time);
    const value = finiteNumber(o?.value);
    if (!o || time === null || value === null) continue;
    const point: SnapshotPoint = { time, value };
    if (typeof o.anomaly === 'boolean') point.anomaly = o.anomaly;
    const lower = finiteNumber(o.lower);
    const upper = finiteNumber(o.upper);
    if (lower !== null && upper !== null) {
      point.lower = lower;
      point.upper = upper;
    }
    out.push(point);
  }
  return out;
}
