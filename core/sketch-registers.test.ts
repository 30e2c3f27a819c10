import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { estimateFromRegisters, registerPairs, sketchFromRegisters } from './sketch-registers.ts';

function sketch(prefix: string, n: number, precision = 12): HyperLogLog {
  const h = new HyperLogLog({ precision });
  for (let i = 0; i < n; i++) h.add(`${prefix}${i}`);
  return h;
}

describe('register pairs', () => {
  it('round-trip a sketch to the same dense registers, sparse or dense', () => {
    for (const n of [0, 1, 50, 5000]) {
      const h = sketch('u', n);
      const { idx, val } = registerPairs(h);
      expect(idx.length).toBe(val.length);
      expect(idx.length).toBeLessThanOrEqual(Math.min(n, 4096));
      expect(sketchFromRegisters(12, idx, val).registers()).toEqual(h.registers());
    }
  });

  it('merge like ClickHouse maxMap: register-wise max equals the sketch of the union', () => {
    const a = sketch('a', 3000);
    const b = sketch('b', 2000);
    const pa = registerPairs(a);
    const pb = registerPairs(b);
    // Concatenated pairs with repeated indexes: the max wins, as maxMap does.
    const merged = sketchFromRegisters(12, [...pa.idx, ...pb.idx], [...pa.val, ...pb.val]);
    expect(merged.registers()).toEqual(a.clone().merge(b).registers());
    const estimate = estimateFromRegisters(12, [...pa.idx, ...pb.idx], [...pa.val, ...pb.val]);
    expect(Math.abs(estimate - 5000) / 5000).toBeLessThan(4 * (1.04 / 64));
  });

  it('estimate small sets within 3 after the round trip', () => {
    for (const n of [1, 2, 5, 10, 20, 50, 100]) {
      const { idx, val } = registerPairs(sketch(`s${n}-`, n));
      expect(Math.abs(estimateFromRegisters(12, idx, val) - n)).toBeLessThanOrEqual(3);
    }
    expect(estimateFromRegisters(12, [], [])).toBe(0);
  });

  it('reject malformed input instead of guessing', () => {
    expect(() => sketchFromRegisters(17, [], [])).toThrow(RangeError);
    expect(() => sketchFromRegisters(12, [1], [])).toThrow(/entries/);
    expect(() => sketchFromRegisters(12, [4096], [1])).toThrow(/index/);
    expect(() => sketchFromRegisters(12, [1], [54])).toThrow(/value/);
    expect(() => sketchFromRegisters(12, [1.5], [1])).toThrow(RangeError);
  });
});
