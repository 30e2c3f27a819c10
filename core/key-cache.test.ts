import { describe, expect, it } from 'vitest';
import { KeyLookupCache } from './key-cache.ts';

const options = { knownCapacity: 1000, unknownCapacity: 200, knownTtlMs: 30_000, unknownTtlMs: 5_000 };

describe('KeyLookupCache', () => {
  it('a flood of unknown keys never evicts a known one (the old single cache was cleared at 10,000 entries)', () => {
    const cache = new KeyLookupCache<string>(options);
    for (let i = 0; i < 1000; i++) cache.remember(`valid-${i}`, `project-${i}`, 0);
    for (let i = 0; i < 100_000; i++) cache.remember(`forged-${i}`, null, 1);
    for (let i = 0; i < 1000; i++) expect(cache.get(`valid-${i}`, 2)).toEqual({ hit: true, value: `project-${i}` });
    expect(cache.sizes).toEqual({ known: 1000, unknown: 200 });
    // The newest unknown answers are still cached; the oldest were pushed out of their own part only.
    expect(cache.get('forged-99999', 2)).toEqual({ hit: true, value: null });
    expect(cache.get('forged-0', 2)).toEqual({ hit: false });
  });

  it('expires known answers after their TTL and unknown ones after theirs', () => {
    const cache = new KeyLookupCache<string>(options);
    cache.remember('k', 'p', 0);
    cache.remember('u', null, 0);
    expect(cache.get('k', 29_999)).toEqual({ hit: true, value: 'p' });
    expect(cache.get('k', 30_000)).toEqual({ hit: false });
    expect(cache.get('u', 4_999)).toEqual({ hit: true, value: null });
    expect(cache.get('u', 5_000)).toEqual({ hit: false });
  });

  it('a key that becomes known (or revoked) moves to the other part', () => {
    const cache = new KeyLookupCache<string>(options);
    cache.remember('k', null, 0);
    cache.remember('k', 'p', 1);
    expect(cache.get('k', 2)).toEqual({ hit: true, value: 'p' });
    cache.remember('k', null, 3);
    expect(cache.get('k', 4)).toEqual({ hit: true, value: null });
    expect(cache.sizes).toEqual({ known: 0, unknown: 1 });
  });
});
