/**
 * The shard's in-memory dedup set: 64-bit event-id hashes (core/hash64.ts)
 * with the second each was first seen, in one open-addressing table (linear
 * probing). Pure: no storage; the ShardAggregator persists each call's new
 * hashes as ONE journal row (see `encodeJournal`) in the call's transaction
 * and rebuilds this set from the journal rows inside the horizon on restart.
 *
 * Semantics: an id seen at t is a duplicate until t + horizon (entries with
 * seenAt < now - horizon count as absent), as the old per-id table was.
 *
 * Exactness: two distinct ids collide only if their 64-bit hashes are equal;
 * with n ids in the horizon a given new id is falsely dropped with
 * probability n / 2^64 (1e7 ids: 5e-13), and any false drop at all within a
 * horizon has probability about n^2 / 2^65 (1e7 ids: 3e-6): far below the
 * 1e-4 bound of issue 3.
 *
 * Memory: 12 bytes per slot (hi, lo, seen second); the table keeps its load
 * between 3/8 and 3/4, so 16-32 bytes per id in the horizon (about 24 on
 * average). Expired entries are dropped when the table is rebuilt (on growth),
 * so memory follows the ids of one horizon, not all ids ever seen.
 */

const MIN_CAPACITY = 1024;

export class DedupSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** Epoch second the id was first seen; 0 = empty slot. */
  private at: Uint32Array;
  private mask: number;
  /** Occupied slots (live or expired). */
  private used = 0;

  constructor(capacity = MIN_CAPACITY) {
    const size = tableSize(capacity);
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.at = new Uint32Array(size);
    this.mask = size - 1;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.at.length * 12;
  }

  /** Ids seen at or after `cutoffSec` (a scan: for health, not per event). */
  liveCount(cutoffSec: number): number {
    let n = 0;
    const at = this.at;
    for (let i = 0; i < at.length; i++) if ((at[i] ?? 0) >= cutoffSec && (at[i] ?? 0) !== 0) n++;
    return n;
  }

  /**
   * Records (hi, lo) as seen at `nowSec` unless it was seen at or after
   * `cutoffSec`; returns false for such a duplicate. An expired entry is
   * renewed in place.
   */
  add(hi: number, lo: number, nowSec: number, cutoffSec: number): boolean {
    const slot = this.find(hi, lo);
    if (slot >= 0) {
      if ((this.at[slot] ?? 0) >= cutoffSec) return false;
      this.at[slot] = nowSec;
      return true;
    }
    if ((this.used + 1) * 4 > this.at.length * 3) this.rebuild(cutoffSec);
    this.insert(hi, lo, nowSec);
    return true;
  }

  /** Inserts a hash from the journal (rebuild): keeps the latest seen second of an id. */
  restore(hi: number, lo: number, seenSec: number): void {
    const slot = this.find(hi, lo);
    if (slot >= 0) {
      if (seenSec > (this.at[slot] ?? 0)) this.at[slot] = seenSec;
      return;
    }
    if ((this.used + 1) * 4 > this.at.length * 3) this.rebuild(0);
    this.insert(hi, lo, seenSec);
  }

  /** Forgets (hi, lo) (a rolled-back call). Backward-shift deletion keeps every probe chain intact. */
  remove(hi: number, lo: number): void {
    let i = this.find(hi, lo);
    if (i < 0) return;
    const mask = this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if ((this.at[j] ?? 0) === 0) break;
      const home = (this.lo[j] ?? 0) & mask;
      // Move j back to i when its home is not cyclically within (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        this.hi[i] = this.hi[j] ?? 0;
        this.lo[i] = this.lo[j] ?? 0;
        this.at[i] = this.at[j] ?? 0;
        i = j;
      }
    }
    this.hi[i] = 0;
    this.lo[i] = 0;
    this.at[i] = 0;
    this.used--;
  }

  clear(): void {
    this.hi.fill(0);
    this.lo.fill(0);
    this.at.fill(0);
    this.used = 0;
  }

  private find(hi: number, lo: number): number {
    const mask = this.mask;
    const at = this.at;
    let i = lo & mask;
    for (;;) {
      if ((at[i] ?? 0) === 0) return -1;
      if (this.lo[i] === lo && this.hi[i] === hi) return i;
      i = (i + 1) & mask;
    }
  }

  private insert(hi: number, lo: number, sec: number): void {
    const mask = this.mask;
    const at = this.at;
    let i = lo & mask;
    while ((at[i] ?? 0) !== 0) i = (i + 1) & mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
    at[i] = sec;
    this.used++;
  }

  /**
   * Drops entries seen before `cutoffSec` and resizes to the smallest power of two the live ones fill at most
   * half of (so a full table doubles: load stays in [3/8, 3/4)). Not "(live + 1) x 8/3": at the 3/4 threshold
   * that lands one slot above a power of two and quadrupled the table (50 B per id instead of 16-32).
   */
  private rebuild(cutoffSec: number): void {
    const { hi, lo, at } = this;
    let live = 0;
    for (let i = 0; i < at.length; i++) if ((at[i] ?? 0) !== 0 && (at[i] ?? 0) >= cutoffSec) live++;
    const size = tableSize(live * 2 + 1);
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.at = new Uint32Array(size);
    this.mask = size - 1;
    this.used = 0;
    for (let i = 0; i < at.length; i++) {
      const sec = at[i] ?? 0;
      if (sec !== 0 && sec >= cutoffSec) this.insert(hi[i] ?? 0, lo[i] ?? 0, sec);
    }
  }
}

function tableSize(capacity: number): number {
  let size = MIN_CAPACITY;
  while (size < capacity) size *= 2;
  return size;
}

/** A call's new hashes as one journal blob: (hi, lo) uint32 pairs, little-endian. */
export function encodeJournal(hashes: readonly number[]): ArrayBuffer {
  const buffer = new ArrayBuffer(hashes.length * 4);
  const view = new DataView(buffer);
  for (let i = 0; i < hashes.length; i++) view.setUint32(i * 4, hashes[i] ?? 0, true);
  return buffer;
}

/** Calls `each(hi, lo)` for every pair of a journal blob. */
export function decodeJournal(blob: ArrayBuffer, each: (hi: number, lo: number) => void): void {
  const view = new DataView(blob);
  for (let offset = 0; offset + 8 <= blob.byteLength; offset += 8) each(view.getUint32(offset, true), view.getUint32(offset + 4, true));
}
