import { describe, expect, it } from 'vitest';
import { fnv1a32, groupByShard, shardFor, shardObjectName } from './shard.ts';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('returns an unsigned 32-bit integer', () => {
    for (const text of ['', 'a', 'user-123', 'x'.repeat(1000), '😀']) {
      const hash = fnv1a32(text);
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBeGreaterThanOrEqual(0);
      expect(hash).toBeLessThanOrEqual(0xffffffff);
    }
  });
});

describe('shardFor', () => {
  it('returns an integer in [0, shardCount)', () => {
    for (const count of [1, 2, 3, 16, 17, 1024]) {
      for (let i = 0; i < 500; i++) {
        const shard = shardFor(`key-${i}`, count);
        expect(Number.isInteger(shard)).toBe(true);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(count);
      }
    }
  });

  it('maps everything to shard 0 with one shard', () => {
    expect(shardFor('anything', 1)).toBe(0);
    expect(shardFor('', 1)).toBe(0);
  });

  it('is stable: the same key always maps to the same shard', () => {
    for (let i = 0; i < 200; i++) {
      const key = `user-${i}`;
      const first = shardFor(key, 16);
      for (let j = 0; j < 3; j++) expect(shardFor(key, 16)).toBe(first);
    }
  });

  it('routes by fnv1a32 modulo the shard count (routing must never change)', () => {
    // fnv1a32('foobar') = 0xbf9cf968 = 3214735720; 3214735720 mod 16 = 8, mod 7 = 3214735720 - 7*459247960 = 0.
    expect(shardFor('foobar', 16)).toBe(8);
    expect(shardFor('foobar', 7)).toBe(0);
    // fnv1a32('a') = 0xe40c292c: low nibble 0xc = 12.
    expect(shardFor('a', 16)).toBe(12);
  });

  it('spreads 100k keys across 16 shards within ±5% of uniform', () => {
    const shards = 16;
    const keys = 100_000;
    const counts = new Array<number>(shards).fill(0);
    for (let i = 0; i < keys; i++) {
      const shard = shardFor(`user-${i}`, shards);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    const expected = keys / shards;
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(expected * 0.95);
      expect(count).toBeLessThanOrEqual(expected * 1.05);
    }
  });

  it('rejects a shard count of 0, negative, non-integer or NaN', () => {
    for (const count of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => shardFor('k', count), String(count)).toThrow(RangeError);
    }
  });
});

describe('shardObjectName', () => {
  it('names the object after project and shard', () => {
    expect(shardObjectName('proj', 3)).toBe('proj:shard:3');
  });
});

describe('groupByShard', () => {
  it('puts each item in the group of its key’s shard, preserving input order', () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ id: i, user: `u${i % 37}` }));
    const groups = groupByShard(items, (item) => item.user, 8);

    let total = 0;
    for (const [shard, group] of groups) {
      expect(group.length).toBeGreaterThan(0);
      total += group.length;
      for (const item of group) expect(shardFor(item.user, 8)).toBe(shard);
      const ids = group.map((item) => item.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
    expect(total).toBe(items.length);

    // Same items as filtering the input by shard, in the same order.
    for (const [shard, group] of groups) {
      expect(group).toEqual(items.filter((item) => shardFor(item.user, 8) === shard));
    }
  });

  it('keeps items with the same key together', () => {
    const items = ['a', 'b', 'a', 'c', 'a'];
    const groups = groupByShard(items, (s) => s, 1024);
    const groupOfA = [...groups.values()].find((g) => g.includes('a'));
    expect(groupOfA?.filter((s) => s === 'a')).toHaveLength(3);
  });

  it('returns an empty map for no items', () => {
    expect(groupByShard([], (s: string) => s, 16).size).toBe(0);
  });

  it('throws for an invalid shard count', () => {
    expect(() => groupByShard(['x'], (s) => s, 0)).toThrow(RangeError);
  });
});
