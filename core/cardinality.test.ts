import { describe, expect, it } from 'vitest';
import { compilePolicy, governDimensions, MemoryAdmittedValues, OTHER_VALUE } from './cardinality.ts';

const W = Date.UTC(2026, 0, 1, 10, 0);

describe('governDimensions', () => {
  it('admits the first K values per window and dimension and folds the rest into __other__', () => {
    const admitted = new MemoryAdmittedValues();
    const policy = compilePolicy({ declared: null, maxValuesPerWindow: 2 }, 100);
    const out = ['a', 'b', 'c', 'a', 'd', 'b'].map((v) => governDimensions(W, { campaign: v, country: 'DE' }, policy, admitted));
    expect(out.map((o) => o.dimensions.campaign)).toEqual(['a', 'b', OTHER_VALUE, 'a', OTHER_VALUE, 'b']);
    expect(out.map((o) => o.folded)).toEqual([[], [], ['campaign'], [], ['campaign'], []]);
    expect(out.every((o) => o.dimensions.country === 'DE')).toBe(true);
    // A new window starts empty.
    expect(governDimensions(W + 60_000, { campaign: 'c' }, policy, admitted).dimensions).toEqual({ campaign: 'c' });
  });

  it('drops undeclared dimensions and reports them', () => {
    const policy = compilePolicy({ declared: ['country'] }, 100);
    const out = governDimensions(W, { userId2: 'x', country: 'DE', path: '/a' }, policy, new MemoryAdmittedValues());
    expect(out.dimensions).toEqual({ country: 'DE' });
    expect(out.dropped).toEqual(['userId2', 'path']);
    expect(out.folded).toEqual([]);
  });

  it('allows every dimension when declared is null or no policy is given, with the default K', () => {
    expect(compilePolicy(undefined, 7)).toEqual({ declared: null, maxValues: 7, signature: '7|*' });
    expect(compilePolicy({ declared: null }, 7)).toEqual({ declared: null, maxValues: 7, signature: '7|*' });
    expect(compilePolicy({ declared: ['b', 'a'] }, 7).signature).toBe(compilePolicy({ declared: ['a', 'b'] }, 7).signature);
    expect(compilePolicy({ declared: null, maxValuesPerWindow: 0 }, 7).maxValues).toBe(7);
    expect(compilePolicy({ declared: ['a'], maxValuesPerWindow: 3 }, 7).maxValues).toBe(3);
  });

  it('returns the input object untouched when nothing is dropped or folded', () => {
    const dims = { a: '1' };
    expect(governDimensions(W, dims, compilePolicy(undefined, 10), new MemoryAdmittedValues()).dimensions).toBe(dims);
  });

  it('makes the same decisions from the same admitted sets (a rebuilt shard agrees with its former self)', () => {
    const policy = compilePolicy({ declared: null, maxValuesPerWindow: 3 }, 100);
    const live = new MemoryAdmittedValues();
    const values = Array.from({ length: 20 }, (_, i) => `v${i % 7}`);
    const before = values.slice(0, 10).map((v) => governDimensions(W, { k: v }, policy, live).dimensions.k);
    // Rebuild from the persisted admissions only.
    const rebuilt = new MemoryAdmittedValues();
    for (const v of live.get(W, 'k')) rebuilt.admit(W, 'k', v);
    const after = values.slice(10).map((v) => governDimensions(W, { k: v }, policy, rebuilt).dimensions.k);
    const reference = new MemoryAdmittedValues();
    expect([...before, ...after]).toEqual(values.map((v) => governDimensions(W, { k: v }, policy, reference).dimensions.k));
  });

  it('forgets pruned windows', () => {
    const admitted = new MemoryAdmittedValues();
    admitted.admit(W, 'k', 'a');
    admitted.prune(W + 1);
    expect(admitted.get(W, 'k').size).toBe(0);
  });
});

describe('GovernedKeyCache', () => {
  it('past its bound a window keeps the sets it has and governs new ones uncached, with the same outcomes', async () => {
    const { GovernedKeyCache } = await import('./cardinality.ts');
    const { dimensionsKey } = await import('./dimensions.ts');
    const cached = new GovernedKeyCache(dimensionsKey);
    const policy = compilePolicy({ declared: ['a', 'b'], maxValuesPerWindow: 200 }, 100);
    const withCache = new MemoryAdmittedValues();
    const plain = new MemoryAdmittedValues();
    const dims = (i: number): Record<string, string> => (i % 3 === 0 ? { a: `v${i % 250}`, b: `w${i}` } : { b: `w${i}`, a: `v${i % 250}`, c: 'x' });
    // 40,000 distinct sets in one window (the bound is 30,000), then the first ones again.
    for (const i of [...Array.from({ length: 40_000 }, (_, k) => k), ...Array.from({ length: 2000 }, (_, k) => k)]) {
      const expected = governDimensions(W, dims(i), policy, plain);
      const got = cached.govern(W, dims(i), policy, withCache);
      if (got.dimsKey !== dimensionsKey(expected.dimensions) || got.folded.join() !== expected.folded.join() || got.dropped.join() !== expected.dropped.join()) {
        throw new Error(`set ${i}: cached ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
      }
    }
    expect(withCache.get(W, 'a').size).toBe(plain.get(W, 'a').size);
  });

  it('governs uncached, with the same outcomes, the sets of a window past its pair bound or with more dimensions than it numbers', async () => {
    const { GovernedKeyCache } = await import('./cardinality.ts');
    const { dimensionsKey } = await import('./dimensions.ts');
    const cached = new GovernedKeyCache(dimensionsKey);
    const policy = compilePolicy(undefined, 100);
    const withCache = new MemoryAdmittedValues();
    const plain = new MemoryAdmittedValues();
    const wide = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`d${i}`, 'x']));
    // A user id sent as a dimension: a new value per event, 70,000 of them in one window (65,536 pairs are numbered).
    for (let i = 0; i < 70_000; i++) {
      const dims = i % 1000 === 0 ? wide : { user: `u${i}`, country: 'DE' };
      const expected = governDimensions(W, dims, policy, plain);
      const got = cached.govern(W, dims, policy, withCache);
      if (got.dimsKey !== dimensionsKey(expected.dimensions) || got.folded.join() !== expected.folded.join() || cached.lastDimsKey !== got.dimsKey) {
        throw new Error(`set ${i}: cached ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
      }
    }
    expect(cached.govern(W, { user: 'u1', country: 'DE' }, policy, withCache).dimsKey).toBe('country=DE&user=u1');
    expect(cached.govern(W, { user: 'u69999', country: 'DE' }, policy, withCache).dimsKey).toBe('country=DE&user=__other__');
  });

  it('numbers sets that differ only in key order with one slot, and tells its answer in its fields', async () => {
    const { GovernedKeyCache } = await import('./cardinality.ts');
    const { dimensionsKey } = await import('./dimensions.ts');
    const cached = new GovernedKeyCache(dimensionsKey);
    const policy = compilePolicy({ declared: ['a', 'b'], maxValuesPerWindow: 1 }, 100);
    const admitted = new MemoryAdmittedValues();
    const first = cached.govern(W, { a: '1', b: '2' }, policy, admitted);
    expect([cached.lastSlot, cached.lastGeneration, cached.lastClean, cached.lastDimsKey]).toEqual([first.slot, first.generation, true, 'a=1&b=2']);
    const reordered = cached.govern(W, { b: '2', a: '1' }, policy, admitted);
    expect(reordered.slot).toBe(first.slot);
    const folded = cached.govern(W, { a: '9', b: '2', c: 'x' }, policy, admitted);
    expect(folded.slot).not.toBe(first.slot);
    expect([cached.lastSlot, cached.lastClean, cached.lastDimsKey]).toEqual([folded.slot, false, 'a=__other__&b=2']);
    // Found again (cached): the same answer from the fields.
    cached.govern(W, { b: '2', a: '1' }, policy, admitted);
    expect([cached.lastSlot, cached.lastClean]).toEqual([first.slot, true]);
    cached.govern(W, { a: '9', b: '2', c: 'x' }, policy, admitted);
    expect([cached.lastSlot, cached.lastClean]).toEqual([folded.slot, false]);
    // Another window numbers anew, under another generation.
    const next = cached.govern(W + 60_000, { a: '1', b: '2' }, policy, admitted);
    expect(next.generation).not.toBe(first.generation);
  });

  it('tells apart sets that share their values: other names, other splits, one more empty value', async () => {
    const { GovernedKeyCache } = await import('./cardinality.ts');
    const { dimensionsKey } = await import('./dimensions.ts');
    const cached = new GovernedKeyCache(dimensionsKey);
    const admitted = new MemoryAdmittedValues();
    const policy = compilePolicy(undefined, 100);
    const long = (last: string, extra = {}): Record<string, string> => ({ a: '1', b: '2', c: '3', d: '4', e: last, ...extra });
    const sets: Array<Record<string, string>> = [
      { a: 'x' }, { b: 'x' }, { a: 'xy', b: '' }, { a: 'x', b: 'y' }, { a: 'x', b: '' }, { b: 'x', a: 'y' }, {},
      // Longer than the pairs a set keeps inline: told apart by the later ones.
      long('5'), long('6'), long('5', { f: '6' }), long('6', { f: '5' }), { a: '1', b: '2', c: '3', d: '4' },
    ];
    for (let round = 0; round < 2; round++) {
      for (const dims of sets) expect(cached.govern(W, dims, policy, admitted).dimsKey).toBe(dimensionsKey(dims));
    }
  });

  it('gives the same outcomes as governing every event, whatever the key order', async () => {
    const { GovernedKeyCache } = await import('./cardinality.ts');
    const { dimensionsKey } = await import('./dimensions.ts');
    const policy = compilePolicy({ declared: ['a', 'b'], maxValuesPerWindow: 3 }, 100);
    const cached = new GovernedKeyCache(dimensionsKey);
    const withCache = new MemoryAdmittedValues();
    const plain = new MemoryAdmittedValues();
    for (let i = 0; i < 500; i++) {
      const window = W + 60_000 * Math.floor(i / 200);
      const dims = i % 2 === 0 ? { a: `v${i % 7}`, b: `w${i % 5}`, c: 'x' } : { c: 'x', b: `w${i % 5}`, a: `v${i % 7}` };
      const expected = governDimensions(window, dims, policy, plain);
      const got = cached.govern(window, dims, policy, withCache);
      expect(got.dimsKey).toBe(dimensionsKey(expected.dimensions));
      expect([...got.folded].sort()).toEqual([...expected.folded].sort());
      expect(got.dropped).toEqual(expected.dropped);
    }
  });
});
