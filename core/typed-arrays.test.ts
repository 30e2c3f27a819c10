import { describe, expect, it } from 'vitest';
import { grownInt32, Int32List } from './typed-arrays.ts';

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

describe('Int32List', () => {
  it('pushes past its first store, keeps the order, and keeps the store when cleared', () => {
    const list = new Int32List();
    for (let i = 0; i < 40; i++) list.push(i * 3 - 5);
    expect(list.length).toBe(40);
    expect(list.toArray()).toEqual(Array.from({ length: 40 }, (_, i) => i * 3 - 5));
    const store = list.items;
    list.clear();
    expect(list.length).toBe(0);
    expect(list.toArray()).toEqual([]);
    list.push(9);
    expect(list.items).toBe(store);
    expect(list.toArray()).toEqual([9]);
  });
});
