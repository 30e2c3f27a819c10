import { describe, expect, it } from 'vitest';
import { decodeJournal, DedupSet, encodeJournal } from './dedup-set.ts';
import { hash64Into } from './hash64.ts';

const out = new Uint32Array(2);
function h(id: string): [number, number] {
  hash64Into(id, out);
  return [out[0] ?? 0, out[1] ?? 0];
}

describe('DedupSet', () => {
  it('is exact across growth, expiry and removal (checked against a Set)', () => {
    const set = new DedupSet();
    const truth = new Map<string, number>();
    let now = 1_000_000;
    const horizon = 600;
    for (let i = 0; i < 60_000; i++) {
      if (i % 100 === 0) now++;
      const id = `e${Math.floor(Math.random() * 40_000)}`;
      const [hi, lo] = h(id);
      const seen = truth.get(id);
      const expected = seen === undefined || seen < now - horizon;
      expect(set.add(hi, lo, now, now - horizon)).toBe(expected);
      if (expected) truth.set(id, now);
      if (i % 997 === 0 && expected) {
        set.remove(hi, lo);
        truth.delete(id);
      }
    }
    for (const [id, seen] of truth) {
      const [hi, lo] = h(id);
      expect(set.add(hi, lo, now, now - horizon)).toBe(seen < now - horizon);
    }
  });

  it('round-trips journal blobs and restores the latest second', () => {
    const ids = ['a', 'b', 'c'].map(h).flat();
    const pairs: number[] = [];
    decodeJournal(encodeJournal(ids), (hi, lo) => pairs.push(hi, lo));
    expect(pairs).toEqual(ids);
    const set = new DedupSet();
    set.restore(ids[0] ?? 0, ids[1] ?? 0, 100);
    set.restore(ids[0] ?? 0, ids[1] ?? 0, 50);
    expect(set.liveCount(100)).toBe(1);
    expect(set.add(ids[0] ?? 0, ids[1] ?? 0, 101, 100)).toBe(false);
    expect(set.add(ids[0] ?? 0, ids[1] ?? 0, 200, 101)).toBe(true);
  });
});
