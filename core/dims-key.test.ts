import { describe, expect, it } from 'vitest';
import { dimensionsKey } from './dimensions.ts';
import { fastDimensionsKey } from './dims-key.ts';

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('fastDimensionsKey', () => {
  it('equals dimensionsKey on hand-picked cases', () => {
    const cases: Array<Record<string, string>> = [{}, { a: '1' }, { b: '2', a: '1' }, { path: '/a b?c=d&e', 'x.y': 'ü€😀', Z: '', z: "*'()!~" }];
    for (const dims of cases) {
      expect(fastDimensionsKey(dims)).toBe(dimensionsKey(dims));
    }
  });

  it('equals dimensionsKey on 5,000 random dimension sets (keys, order, unicode, reserved characters)', () => {
    const next = random(42);
    const alphabet = "aZ09-_.!~*'()/ &=?%+:é€😀\u0000";
    const text = (max: number) => Array.from({ length: Math.floor(next() * max) }, () => [...alphabet][Math.floor(next() * [...alphabet].length)]).join('');
    for (let n = 0; n < 5000; n++) {
      const dims: Record<string, string> = {};
      const count = Math.floor(next() * 6);
      for (let k = 0; k < count; k++) dims[`${text(3)}k${k}`] = text(8);
      expect(fastDimensionsKey(dims)).toBe(dimensionsKey(dims));
    }
  });
});
