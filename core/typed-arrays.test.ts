import { describe, expect, it } from 'vitest';
import { grownInt32 } from './typed-arrays.ts';

describe('grownInt32', () => {
  it('keeps the values, zero-extends, and doubles (from at least 16) until the length fits', () => {
    const values = Int32Array.from([3, -1, 7]);
    const grown = grownInt32(values, 20);
    expect(grown.length).toBe(32);
    expect([...grown.subarray(0, 4)]).toEqual([3, -1, 7, 0]);
    expect(grownInt32(new Int32Array(64), 65).length).toBe(128);
    expect(grownInt32(new Int32Array(64), 300).length).toBe(512);
  });
});
