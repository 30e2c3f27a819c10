/**
 * A bounded ring of one topic's recent deltas, for resume: a viewer that
 * reconnects with `lastSeq` gets exactly the deltas after it (no gap, no
 * duplicate) when the ring still covers it, or a fresh snapshot when not.
 *
 * Seqs of a topic are consecutive within one root incarnation, so the ring
 * knows it covers `lastSeq` when lastSeq >= floor, where floor is the seq of
 * the state just before its oldest entry. A jump (a missed delta, or a new
 * root incarnation) restarts the ring at the new delta.
 */
import type { LiveDelta } from './protocol.ts';

export const DEFAULT_RING_SIZE = 128;

export type RingPush = 'appended' | 'restarted' | 'stale';

export class DeltaRing {
  private entries: LiveDelta[] = [];
  /** Seq of the state the ring starts from: every delta with seq > floor is in the ring. */
  private floorSeq: number;
  private lastSeq: number;
  readonly capacity: number;

  constructor(capacity: number, startSeq: number) {
    this.capacity = capacity;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
    this.floorSeq = startSeq;
    this.lastSeq = startSeq;
  }

  get last(): number {
    return this.lastSeq;
  }

  get floor(): number {
    return this.floorSeq;
  }

  get size(): number {
    return this.entries.length;
  }

  push(delta: LiveDelta): RingPush {
    if (delta.seq <= this.lastSeq) return 'stale';
    let result: RingPush = 'appended';
    if (delta.seq !== this.lastSeq + 1) {
      this.entries = [];
      this.floorSeq = delta.seq - 1;
      result = 'restarted';
    }
    this.entries.push(delta);
    this.lastSeq = delta.seq;
    if (this.entries.length > this.capacity) {
      const dropped = this.entries.length - this.capacity;
      this.entries.splice(0, dropped);
      this.floorSeq += dropped;
    }
    return result;
  }

  /** Restarts the ring at a state known from elsewhere (a snapshot). */
  reset(seq: number): void {
    this.entries = [];
    this.floorSeq = seq;
    this.lastSeq = seq;
  }

  /** The deltas after `lastSeq`, oldest first; null when the ring cannot prove it has all of them. */
  since(lastSeq: number): LiveDelta[] | null {
    if (lastSeq < this.floorSeq || lastSeq > this.lastSeq) return null;
    return this.entries.slice(lastSeq - this.floorSeq);
  }
}
