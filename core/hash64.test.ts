import { describe, expect, it } from 'vitest';
import { hash64, hash64BytesInto, hash64Hex, hash64Into, murmur3x86_128 } from './hash64.ts';

/**
 * Reference outputs of MurmurHash3_x86_128 from the SMHasher C source
 * (aappleby/smhasher src/MurmurHash3.cpp), compiled with gcc -O2 on x86-64:
 * the 64-bit hash printed as h2:h1 (hex), for the UTF-8 bytes of each key.
 */
const KEYS = [
  '',
  'a',
  'abc',
  'hello',
  'hello, world',
  '0123456789abcde',
  '0123456789abcdef',
  '0123456789abcdef0',
  'The quick brown fox jumps over the lazy dog',
  'user:42',
  'café',
  '日本語',
  '😀 emoji',
  '\ufffd',
];
const REFERENCE: Record<number, string[]> = {
  0: [
    '0000000000000000', '5556b01ba794933c', 'a2b006a575cdc6d1', 'db91def72b2444a0', 'b9b98a1e8b21605c',
    '4d0818c03c76c46d', '36aed30afb7d4409', '60920c061f8a3855', 'ecee2c672f1583c3', '214a3142681d4381',
    'a390b8f62108a8b4', 'c3f6209cbdfcba6f', 'dd8bc7013cf05486', '39dfc32615861a96',
  ],
  42: [
    '95c80cbaaf6d2cb6', '94460fc6517b4f52', '8741bbe95bcf0fbe', '053404f69c4f9a01', '8094183bef8be0fc',
    'dcf425360deb3ee2', '342cc491786271aa', '44099ef1722ee8c6', 'b1fd95c7b0c69c19', '201dcea502b82fc8',
    'ae35a982e3e78f6a', 'de357da459f880c1', 'f88d26518a309b60', '17bba24402c179ff',
  ],
  0xdeadbeef: [
    'd70a0a0aed7121c5', '4ef0a6b9120456fc', 'e269c9f2e39c9de7', 'aed11c61ab45bd9a', '2873ecc07695d0b8',
    '039f38abfb0fab12', '0fe2ca4685616a7a', '085e27f80273c96b', '722be9211a591eca', '7340d6dec795b686',
    '543a538adabaa24a', '094e045bb8582f95', '00bd150246488ee9', '7384a11914725faa',
  ],
};
/** Full 128-bit reference outputs [h1, h2, h3, h4] for a few keys, seed 0. */
const REFERENCE_128: Array<[string, number[]]> = [
  ['hello', [0x2b2444a0, 0xdb91def7, 0x9adb31b6, 0x9adb31b6]],
  ['hello, world', [0x8b21605c, 0xb9b98a1e, 0x93273a83, 0xeb5957c7]],
  ['The quick brown fox jumps over the lazy dog', [0x2f1583c3, 0xecee2c67, 0x5d7bf66c, 0xe5e91d2c]],
  ['日本語', [0xbdfcba6f, 0xc3f6209c, 0xa8a354fd, 0x3b43196f]],
];

const utf8 = new TextEncoder();

describe('hash64 (MurmurHash3_x86_128, low 64 bits)', () => {
  it('matches the SMHasher verification value 0xB3ECE62A', () => {
    // SMHasher VerificationTest: hash keys {}, {0}, {0,1}, ... {0..254} with seed 256 - len,
    // concatenate the 16-byte outputs, hash that with seed 0, take the first uint32.
    const key = new Uint8Array(256);
    const all = new Uint8Array(16 * 256);
    const view = new DataView(all.buffer);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      const h = murmur3x86_128(key.subarray(0, i), 256 - i);
      for (let j = 0; j < 4; j++) view.setUint32(i * 16 + j * 4, h[j] ?? 0, true);
    }
    expect(murmur3x86_128(all, 0)[0]).toBe(0xb3ece62a);
  });

  it('matches reference C outputs for UTF-8 strings and several seeds', () => {
    for (const [seed, expected] of Object.entries(REFERENCE)) {
      const got = KEYS.map((k) => hash64Hex(k, Number(seed)));
      expect(got).toEqual(expected);
    }
    for (const [key, words] of REFERENCE_128) {
      expect(Array.from(murmur3x86_128(utf8.encode(key)))).toEqual(words);
    }
  });

  it('hashes strings exactly as their TextEncoder UTF-8 bytes (incl. surrogates)', () => {
    const out1 = new Uint32Array(2);
    const out2 = new Uint32Array(2);
    const samples = [
      'plain ascii',
      'é à ü ß',
      '€ ₹ \uffff',
      '\u{1F600}\u{1F4A9}',
      'lone high \ud800 end',
      'lone low \udc00 x',
      'trailing high \ud83d',
      '\udc00\ud800',
      'x'.repeat(1000) + 'ü'.repeat(500) + '😀'.repeat(300), // grows the scratch buffer
      'y'.repeat(30_000) + 'é\ud800', // beyond the retained scratch size: temporary buffer
    ];
    let state = 12345;
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = n % 40;
      for (let i = 0; i < len; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        const pick = state >>> 29;
        s += String.fromCharCode(pick < 4 ? state & 0x7f : pick < 6 ? state & 0x7ff : state & 0xffff);
      }
      samples.push(s);
    }
    for (const s of samples) {
      hash64Into(s, out1, 7);
      hash64BytesInto(utf8.encode(s), out2, 7);
      expect([out1[0], out1[1]]).toEqual([out2[0], out2[1]]);
    }
  });

  it('hashes all-ASCII strings (read from char codes) as their bytes, and one non-ASCII char anywhere falls back to UTF-8', () => {
    const fromString = new Uint32Array(2);
    const fromBytes = new Uint32Array(2);
    for (let len = 0; len <= 48; len++) {
      let ascii = '';
      for (let i = 0; i < len; i++) ascii += String.fromCharCode((i * 37 + len * 11) & 0x7f);
      const variants = [ascii];
      for (let at = 0; at < len; at++) {
        for (const odd of ['\u0080', 'é', '\u0100', '€', '\ud83d']) variants.push(ascii.slice(0, at) + odd + ascii.slice(at + 1));
      }
      for (const s of variants) {
        hash64Into(s, fromString, 3);
        hash64BytesInto(utf8.encode(s), fromBytes, 3);
        expect([fromString[0], fromString[1]], JSON.stringify(s)).toEqual([fromBytes[0], fromBytes[1]]);
      }
    }
  });

  it('bigint, hex and word outputs agree', () => {
    const out = new Uint32Array(2);
    for (const k of KEYS) {
      hash64Into(k, out);
      const big = hash64(k);
      expect(big).toBe((BigInt(out[0] ?? 0) << 32n) | BigInt(out[1] ?? 0));
      expect(hash64Hex(k)).toBe(big.toString(16).padStart(16, '0'));
    }
  });

  it('is well distributed over sequential keys: bits, buckets, leading zeros, no collisions', () => {
    const N = 1 << 16;
    const out = new Uint32Array(2);
    const bitOnes = new Float64Array(64);
    const buckets = new Float64Array(256);
    const lz = new Float64Array(33);
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      hash64Into(`key-${i}`, out);
      const hi = out[0] ?? 0;
      const lo = out[1] ?? 0;
      for (let b = 0; b < 32; b++) {
        bitOnes[b] = (bitOnes[b] ?? 0) + ((lo >>> b) & 1);
        bitOnes[32 + b] = (bitOnes[32 + b] ?? 0) + ((hi >>> b) & 1);
      }
      buckets[hi >>> 24] = (buckets[hi >>> 24] ?? 0) + 1;
      const z = Math.clz32(hi << 8);
      lz[z] = (lz[z] ?? 0) + 1;
      seen.add(`${hi}:${lo}`);
    }
    expect(seen.size).toBe(N);
    // Each output bit is 1 with probability 1/2 (5 sigma tolerance).
    const sigma = Math.sqrt(N / 4);
    for (let b = 0; b < 64; b++) expect(Math.abs((bitOnes[b] ?? 0) - N / 2)).toBeLessThan(5 * sigma);
    // Top byte (the HLL register index for p = 8): chi-square with 255 dof within 5 sigma.
    const expected = N / 256;
    let chi2 = 0;
    for (let i = 0; i < 256; i++) chi2 += ((buckets[i] ?? 0) - expected) ** 2 / expected;
    const sd = Math.sqrt(2 * 255);
    expect(chi2).toBeGreaterThan(255 - 5 * sd);
    expect(chi2).toBeLessThan(255 + 5 * sd);
    // Leading zeros of the bits after the index are geometric: P(z = k) = 2^-(k+1).
    for (let k = 0; k < 8; k++) {
      const p = 2 ** -(k + 1);
      const mean = N * p;
      expect(Math.abs((lz[k] ?? 0) - mean)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    }
  });

  it('avalanches: flipping any input bit flips each output bit with probability ~1/2', () => {
    const SAMPLES = 300;
    const INPUT_BITS = 128;
    const flips = new Float64Array(INPUT_BITS * 64);
    const key = new Uint8Array(16);
    const a = new Uint32Array(2);
    const b = new Uint32Array(2);
    let state = 0x9e3779b9;
    for (let s = 0; s < SAMPLES; s++) {
      for (let i = 0; i < 16; i++) {
        state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
        key[i] = state >>> 24;
      }
      hash64BytesInto(key, a);
      for (let bit = 0; bit < INPUT_BITS; bit++) {
        key[bit >>> 3] = (key[bit >>> 3] ?? 0) ^ (1 << (bit & 7));
        hash64BytesInto(key, b);
        key[bit >>> 3] = (key[bit >>> 3] ?? 0) ^ (1 << (bit & 7));
        const dHi = ((a[0] ?? 0) ^ (b[0] ?? 0)) >>> 0;
        const dLo = ((a[1] ?? 0) ^ (b[1] ?? 0)) >>> 0;
        for (let o = 0; o < 32; o++) {
          flips[bit * 64 + o] = (flips[bit * 64 + o] ?? 0) + ((dLo >>> o) & 1);
          flips[bit * 64 + 32 + o] = (flips[bit * 64 + 32 + o] ?? 0) + ((dHi >>> o) & 1);
        }
      }
    }
    let total = 0;
    let worst = 0;
    for (const f of flips) {
      total += f;
      worst = Math.max(worst, Math.abs(f / SAMPLES - 0.5));
    }
    // Mean flip probability over 2.5M bit trials: 0.5 within 5 sigma (0.0016).
    expect(Math.abs(total / (SAMPLES * flips.length) - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / (SAMPLES * flips.length)));
    // Every (input bit, output bit) cell: 300 samples, sd 0.029; 0.16 is > 5.5 sigma.
    expect(worst).toBeLessThan(0.16);
  });
});
