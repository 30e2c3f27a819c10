import { describe, expect, it } from 'vitest';
import { dimensionsKey, parseDimensionsKey } from './dimensions.ts';

describe('dimensionsKey', () => {
  it('is independent of key insertion order', () => {
    const a = dimensionsKey({ country: 'DE', plan: 'pro', browser: 'firefox' });
    const b = dimensionsKey({ plan: 'pro', browser: 'firefox', country: 'DE' });
    expect(a).toBe(b);
    expect(a).toBe('browser=firefox&country=DE&plan=pro');
  });

  it('is empty for no dimensions', () => {
    expect(dimensionsKey({})).toBe('');
  });

  it("percent-encodes '&', '=' and ':' so they cannot be confused with separators", () => {
    const key = dimensionsKey({ q: 'a&b=c:d' });
    expect(key).toBe('q=a%26b%3Dc%3Ad');
    expect(key.split('&')).toHaveLength(1);
    expect(key.split('=')).toHaveLength(2);
    expect(key).not.toContain(':');
  });

  it('percent-encodes unicode as UTF-8', () => {
    // 'é' is U+00E9 = C3 A9 in UTF-8; '日' is U+65E5 = E6 97 A5; '😀' is U+1F600 = F0 9F 98 80.
    expect(dimensionsKey({ city: 'é日😀' })).toBe('city=%C3%A9%E6%97%A5%F0%9F%98%80');
  });

  it('distinguishes values that differ only in a separator', () => {
    expect(dimensionsKey({ a: 'x&b=y' })).not.toBe(dimensionsKey({ a: 'x', b: 'y' }));
  });

  it('keeps empty values', () => {
    expect(dimensionsKey({ a: '' })).toBe('a=');
  });
});

describe('parseDimensionsKey', () => {
  it('returns an empty object for the empty key', () => {
    expect(Object.keys(parseDimensionsKey(''))).toEqual([]);
  });

  it('decodes a hand-written key', () => {
    expect({ ...parseDimensionsKey('a=1&b=x%26y%3Dz%3Aw') }).toEqual({ a: '1', b: 'x&y=z:w' });
  });

  it('skips parts without a name', () => {
    expect({ ...parseDimensionsKey('=orphan&a=1&noequals') }).toEqual({ a: '1' });
  });

  it('round-trips parseDimensionsKey(dimensionsKey(x)) == x', () => {
    const cases: Array<Record<string, string>> = [
      {},
      { a: '1' },
      { country: 'DE', plan: 'pro' },
      { q: 'a&b=c:d', 'weird.key-name_1': '%41 is not A', empty: '' },
      { city: 'São Paulo', emoji: '😀👍', cjk: '東京', rtl: 'مرحبا' },
      { plus: '1+1 = 2', slash: '/path?x=1#frag', pct: '100%' },
    ];
    for (const dims of cases) {
      expect({ ...parseDimensionsKey(dimensionsKey(dims)) }).toEqual(dims);
    }
  });

  it('returns a null-prototype object so names like __proto__ cannot pollute', () => {
    const parsed = parseDimensionsKey('__proto__=x&constructor=y');
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(parsed['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
