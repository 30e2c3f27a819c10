import { describe, expect, it } from 'vitest';
import { DeltaRing } from './delta-ring.ts';
import type { LiveDelta } from './protocol.ts';

const delta = (seq: number): LiveDelta => ({ topic: 't', windowStart: 'w', windowEnd: 'e', value: seq * 10, timestamp: 'x', seq, anomaly: false });

describe('DeltaRing', () => {
  it('returns exactly the deltas after lastSeq while it covers them', () => {
    const ring = new DeltaRing(4, 100);
    for (const seq of [101, 102, 103]) expect(ring.push(delta(seq))).toBe('appended');
    expect(ring.since(100)?.map((d) => d.seq)).toEqual([101, 102, 103]);
    expect(ring.since(102)?.map((d) => d.seq)).toEqual([103]);
    expect(ring.since(103)).toEqual([]);
  });

  it('refuses what it cannot prove: too old, or from the future', () => {
    const ring = new DeltaRing(2, 0);
    for (const seq of [1, 2, 3, 4]) ring.push(delta(seq));
    expect(ring.floor).toBe(2);
    expect(ring.since(1)).toBeNull();
    expect(ring.since(2)?.map((d) => d.seq)).toEqual([3, 4]);
    expect(ring.since(5)).toBeNull();
  });

  it('restarts at a seq jump and ignores repeats', () => {
    const ring = new DeltaRing(8, 0);
    ring.push(delta(1));
    expect(ring.push(delta(1))).toBe('stale');
    expect(ring.push(delta(2 ** 32 + 1))).toBe('restarted');
    expect(ring.since(1)).toBeNull();
    expect(ring.since(2 ** 32)?.map((d) => d.seq)).toEqual([2 ** 32 + 1]);
    ring.reset(2 ** 32 + 5);
    expect(ring.since(2 ** 32 + 5)).toEqual([]);
  });
});
