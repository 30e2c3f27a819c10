/**
 * A relay's copy of one topic: the last hour of minute values (for snapshots
 * to new viewers without asking the root), the current seq, and the resume
 * ring. Pure.
 */
import { DeltaRing, DEFAULT_RING_SIZE } from './delta-ring.ts';
import { flagLiveMinute } from './live-anomaly.ts';
import type { SnapshotMessage } from './live-protocol.ts';
import { LIVE_RETENTION_MS, MINUTE_MS, minuteOf } from './live-totals.ts';
import type { LiveDelta } from './protocol.ts';
import type { TopicSnapshot } from './topic-book.ts';

export type RelayApply = 'applied' | 'gap' | 'stale';

export class RelayTopic {
  private readonly ring: DeltaRing;
  private readonly values = new Map<number, number>();
  readonly name: string;

  constructor(name: string, snapshot: TopicSnapshot, ringSize: number = DEFAULT_RING_SIZE) {
    this.name = name;
    this.ring = new DeltaRing(ringSize, snapshot.seq);
    this.load(snapshot);
  }

  get seq(): number {
    return this.ring.last;
  }

  /**
   * A delta from the root. 'gap' means deltas were missed before this one (a
   * lost push or a new root incarnation): the delta is still good (values are
   * absolute) but other minutes may be stale, so the caller resyncs.
   */
  apply(delta: LiveDelta): RelayApply {
    const pushed = this.ring.push(delta);
    if (pushed === 'stale') return 'stale';
    const start = Date.parse(delta.windowStart);
    if (Number.isFinite(start)) {
      const minute = minuteOf(start);
      const isNew = !this.values.has(minute);
      this.values.set(minute, delta.value);
      // A new minute is the moment one may have fallen out of the retention.
      if (isNew) this.prune(minute + MINUTE_MS);
    }
    return pushed === 'restarted' ? 'gap' : 'applied';
  }

  /** Replaces everything with a fresh root snapshot. */
  resync(snapshot: TopicSnapshot): void {
    this.values.clear();
    this.load(snapshot);
  }

  since(lastSeq: number): LiveDelta[] | null {
    return this.ring.since(lastSeq);
  }

  /** The last `minutes` minutes up to the current one, zero-filled. */
  snapshotMessage(minutes: number, nowMs: number): SnapshotMessage {
    const head = minuteOf(nowMs);
    const from = head - (minutes - 1) * MINUTE_MS;
    const points = [];
    for (let minute = from; minute <= head; minute += MINUTE_MS) {
      points.push({ time: new Date(minute).toISOString(), value: this.values.get(minute) ?? 0 });
    }
    return { type: 'snapshot', topic: this.name, from: new Date(from).toISOString(), to: new Date(head + MINUTE_MS).toISOString(), seq: this.seq, points };
  }

  /** The current minute's value as a delta at the current seq (what a new viewer sees first), flagged as the root flags deltas. */
  currentDelta(nowMs: number): LiveDelta {
    const head = minuteOf(nowMs);
    const valueAt = (minute: number): number => this.values.get(minute) ?? 0;
    return {
      topic: this.name,
      windowStart: new Date(head).toISOString(),
      windowEnd: new Date(head + MINUTE_MS).toISOString(),
      value: valueAt(head),
      timestamp: new Date(nowMs).toISOString(),
      seq: this.seq,
      ...flagLiveMinute(valueAt, head, nowMs),
    };
  }

  prune(nowMs: number): void {
    for (const minute of this.values.keys()) if (minute + MINUTE_MS <= nowMs - LIVE_RETENTION_MS) this.values.delete(minute);
  }

  /** Minute values, and the resume ring seeded from the root's recent deltas when they lead exactly up to the snapshot's seq. */
  private load(snapshot: TopicSnapshot): void {
    for (const point of snapshot.minutes) this.values.set(point.minuteStart, point.value);
    const recent = snapshot.recent ?? [];
    const first = recent[0];
    const consecutive = first !== undefined && recent.every((delta, i) => delta.seq === first.seq + i) && first.seq + recent.length - 1 === snapshot.seq;
    if (!consecutive) {
      this.ring.reset(snapshot.seq);
      return;
    }
    this.ring.reset(first.seq - 1);
    for (const delta of recent) this.ring.push(delta);
  }
}
