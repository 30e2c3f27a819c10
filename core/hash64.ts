/**
 * 64-bit string hashing for sketches (HyperLogLog and friends).
 *
 * Choice: MurmurHash3_x86_128 (Austin Appleby, SMHasher reference
 * `MurmurHash3.cpp`), keeping the first 64 bits of its 128-bit output.
 *
 * - It is built from 32-bit multiplies, rotates and xors only, so in JavaScript
 *   it runs on `Math.imul` and int32 arithmetic: no BigInt, no 16-bit limb
 *   emulation of 64-bit products (which xxHash64 or MurmurHash3_x64_128 would
 *   need), hence fast in V8/workerd and in browsers.
 * - It passes SMHasher's distribution/avalanche suites, and both 32-bit words
 *   we keep (h1, h2) are finalised with fmix32 after mixing all four lanes.
 * - It is a published reference algorithm, so outputs are checkable against
 *   the C code: the tests check SMHasher's verification value 0xB3ECE62A and
 *   vectors produced by the reference C implementation.
 *
 * The 64-bit hash of a key is the first 8 output bytes read as a little-endian
 * uint64, i.e. `(h2 << 32) | h1`; we expose it as two uint32 words
 * `hi = h2`, `lo = h1` (this equals Python `mmh3.hash128(key, seed,
 * x64arch=False) & (2**64 - 1)`).
 *
 * Strings are hashed as their UTF-8 encoding (as `TextEncoder` would produce:
 * lone surrogates become U+FFFD), so the same text hashes the same in every
 * runtime and language. It is NOT a cryptographic or keyed hash: do not use it
 * where an adversary chooses inputs to collide.
 *
 * Pure ECMAScript: runs in workerd, browsers and Node.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

/** Reusable UTF-8 scratch buffer (grown on demand up to MAX_SCRATCH bytes). */
let scratch = new Uint8Array(256);
let scratchView = new DataView(scratch.buffer);
/** Longer strings get a temporary buffer so a single huge key does not pin memory. */
const MAX_SCRATCH = 1 << 16;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Core MurmurHash3_x86_128 over `len` bytes of `view` starting at byte 0.
 * Writes h1..h4 (uint32) into out[0..3] when `full`, else writes the 64-bit
 * hash as out[0] = hi (h2), out[1] = lo (h1).
 */
function murmur(view: DataView, len: number, seed: number, out: Uint32Array, full: boolean): void {
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const blockEnd = len - (len & 15);
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  for (let i = 0; i < blockEnd; i += 16) {
    k1 = view.getInt32(i, true);
    k2 = view.getInt32(i + 4, true);
    k3 = view.getInt32(i + 8, true);
    k4 = view.getInt32(i + 12, true);

    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(k2, C2);
    k2 = (k2 << 16) | (k2 >>> 16);
    k2 = Math.imul(k2, C3);
    h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(k3, C3);
    k3 = (k3 << 17) | (k3 >>> 15);
    k3 = Math.imul(k3, C4);
    h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(k4, C4);
    k4 = (k4 << 18) | (k4 >>> 14);
    k4 = Math.imul(k4, C1);
    h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  const rem = len & 15;
  if (rem > 0) {
    // Tail bytes, little-endian within each 32-bit lane (the reference's
    // fall-through switch).
    k1 = 0;
    k2 = 0;
    k3 = 0;
    k4 = 0;
    for (let j = rem - 1; j >= 0; j--) {
      const b = view.getUint8(blockEnd + j);
      const lane = j >>> 2;
      const shift = (j & 3) << 3;
      if (lane === 0) k1 ^= b << shift;
      else if (lane === 1) k2 ^= b << shift;
      else if (lane === 2) k3 ^= b << shift;
      else k4 ^= b << shift;
    }
    if (rem > 12) {
      k4 = Math.imul(k4, C4);
      k4 = (k4 << 18) | (k4 >>> 14);
      k4 = Math.imul(k4, C1);
      h4 ^= k4;
    }
    if (rem > 8) {
      k3 = Math.imul(k3, C3);
      k3 = (k3 << 17) | (k3 >>> 15);
      k3 = Math.imul(k3, C4);
      h3 ^= k3;
    }
    if (rem > 4) {
      k2 = Math.imul(k2, C2);
      k2 = (k2 << 16) | (k2 >>> 16);
      k2 = Math.imul(k2, C3);
      h2 ^= k2;
    }
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }

  // Finalisation. `len` is xor-ed as the reference does with a 32-bit int.
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;

  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);

  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;

  if (full) {
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    out[0] = h1;
    out[1] = h2;
    out[2] = h3;
    out[3] = h4;
  } else {
    out[0] = h2;
    out[1] = h1;
  }
}

/**
 * UTF-8 encodes `s` into `buf` (which must hold 3 bytes per UTF-16 code unit)
 * and returns the byte length. Identical to `TextEncoder#encode` (lone
 * surrogates -> U+FFFD, EF BF BD).
 */
function encodeUtf8(s: string, buf: Uint8Array): number {
  const n = s.length;
  let pos = 0;
  let i = 0;
  // ASCII fast path.
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[pos++] = c;
  }
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >>> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          buf[pos++] = 0xf0 | (c >>> 18);
          buf[pos++] = 0x80 | ((c >>> 12) & 0x3f);
          buf[pos++] = 0x80 | ((c >>> 6) & 0x3f);
          buf[pos++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd; // lone surrogate
      }
      buf[pos++] = 0xe0 | (c >>> 12);
      buf[pos++] = 0x80 | ((c >>> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

/**
 * MurmurHash3_x86_128 of an all-ASCII string read straight from its char
 * codes (an ASCII char is its own UTF-8 byte), skipping the copy into a byte
 * buffer: user keys are hashed once per event. Returns false, having written
 * nothing, when a char is not ASCII; the caller then hashes the UTF-8 bytes.
 */
function murmurAscii(s: string, seed: number, out: Uint32Array): boolean {
  const len = s.length;
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  let seen = 0;
  const blockEnd = len - (len & 15);
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  for (let i = 0; i < blockEnd; i += 16) {
    const a0 = s.charCodeAt(i), a1 = s.charCodeAt(i + 1), a2 = s.charCodeAt(i + 2), a3 = s.charCodeAt(i + 3);
    const b0 = s.charCodeAt(i + 4), b1 = s.charCodeAt(i + 5), b2 = s.charCodeAt(i + 6), b3 = s.charCodeAt(i + 7);
    const c0 = s.charCodeAt(i + 8), c1 = s.charCodeAt(i + 9), c2 = s.charCodeAt(i + 10), c3 = s.charCodeAt(i + 11);
    const d0 = s.charCodeAt(i + 12), d1 = s.charCodeAt(i + 13), d2 = s.charCodeAt(i + 14), d3 = s.charCodeAt(i + 15);
    seen |= a0 | a1 | a2 | a3 | b0 | b1 | b2 | b3 | c0 | c1 | c2 | c3 | d0 | d1 | d2 | d3;

    k1 = Math.imul(a0 | (a1 << 8) | (a2 << 16) | (a3 << 24), C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(b0 | (b1 << 8) | (b2 << 16) | (b3 << 24), C2);
    k2 = (k2 << 16) | (k2 >>> 16);
    k2 = Math.imul(k2, C3);
    h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), C3);
    k3 = (k3 << 17) | (k3 >>> 15);
    k3 = Math.imul(k3, C4);
    h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(d0 | (d1 << 8) | (d2 << 16) | (d3 << 24), C4);
    k4 = (k4 << 18) | (k4 >>> 14);
    k4 = Math.imul(k4, C1);
    h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  const rem = len & 15;
  if (rem > 0) {
    k1 = 0;
    k2 = 0;
    k3 = 0;
    k4 = 0;
    // Tail chars, little-endian within each 32-bit lane.
    const lane1 = Math.min(rem, 4);
    const lane2 = Math.min(rem, 8);
    const lane3 = Math.min(rem, 12);
    let j = 0;
    for (; j < lane1; j++) {
      const b = s.charCodeAt(blockEnd + j);
      seen |= b;
      k1 |= b << (j << 3);
    }
    for (; j < lane2; j++) {
      const b = s.charCodeAt(blockEnd + j);
      seen |= b;
      k2 |= b << ((j - 4) << 3);
    }
    for (; j < lane3; j++) {
      const b = s.charCodeAt(blockEnd + j);
      seen |= b;
      k3 |= b << ((j - 8) << 3);
    }
    for (; j < rem; j++) {
      const b = s.charCodeAt(blockEnd + j);
      seen |= b;
      k4 |= b << ((j - 12) << 3);
    }
    if (rem > 12) {
      k4 = Math.imul(k4, C4);
      k4 = (k4 << 18) | (k4 >>> 14);
      k4 = Math.imul(k4, C1);
      h4 ^= k4;
    }
    if (rem > 8) {
      k3 = Math.imul(k3, C3);
      k3 = (k3 << 17) | (k3 >>> 15);
      k3 = Math.imul(k3, C4);
      h3 ^= k3;
    }
    if (rem > 4) {
      k2 = Math.imul(k2, C2);
      k2 = (k2 << 16) | (k2 >>> 16);
      k2 = Math.imul(k2, C3);
      h2 ^= k2;
    }
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }
  // Any char >= 0x80 means the UTF-8 bytes differ from the char codes.
  if (seen >= 0x80) return false;

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;

  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;

  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h3 = fmix32(h3);
  h4 = fmix32(h4);

  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  out[0] = h2;
  out[1] = h1;
  return true;
}

/**
 * Hashes the UTF-8 encoding of `value` and writes the 64-bit hash into
 * `out[0]` (hi, upper 32 bits) and `out[1]` (lo, lower 32 bits). Allocation
 * free: the hot path used by `HyperLogLog#add`.
 */
export function hash64Into(value: string, out: Uint32Array, seed = 0): void {
  if (murmurAscii(value, seed, out)) return;
  // Worst case 3 bytes per UTF-16 code unit.
  const need = value.length * 3;
  if (need > scratch.length) {
    if (need > MAX_SCRATCH) {
      const buf = new Uint8Array(need);
      murmur(new DataView(buf.buffer), encodeUtf8(value, buf), seed, out, false);
      return;
    }
    let size = scratch.length;
    while (size < need) size *= 2;
    scratch = new Uint8Array(size);
    scratchView = new DataView(scratch.buffer);
  }
  murmur(scratchView, encodeUtf8(value, scratch), seed, out, false);
}

/** Like {@link hash64Into} for raw bytes. */
export function hash64BytesInto(bytes: Uint8Array, out: Uint32Array, seed = 0): void {
  murmur(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength, seed, out, false);
}

/** The full 128-bit MurmurHash3_x86_128 as four uint32 words [h1, h2, h3, h4]. */
export function murmur3x86_128(bytes: Uint8Array, seed = 0): Uint32Array {
  const out = new Uint32Array(4);
  murmur(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength, seed, out, true);
  return out;
}

const tmp = new Uint32Array(2);

/** 64-bit hash of the UTF-8 encoding of `value`, as an unsigned bigint. */
export function hash64(value: string, seed = 0): bigint {
  hash64Into(value, tmp, seed);
  return (BigInt(tmp[0] ?? 0) << 32n) | BigInt(tmp[1] ?? 0);
}

/** 64-bit hash of `value` as 16 lower-case hex digits (big-endian order). */
export function hash64Hex(value: string, seed = 0): string {
  hash64Into(value, tmp, seed);
  return (tmp[0] ?? 0).toString(16).padStart(8, '0') + (tmp[1] ?? 0).toString(16).padStart(8, '0');
}
