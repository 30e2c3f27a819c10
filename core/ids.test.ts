import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function hexDigits(id: string): string {
  return id.replaceAll('-', '');
}

/** Milliseconds in the first 48 bits (RFC 9562 unix_ts_ms). */
function embeddedTime(id: string): number {
  return Number.parseInt(hexDigits(id).slice(0, 12), 16);
}

const fill = (byte: number) => (bytes: Uint8Array) => bytes.fill(byte);

describe('uuidv7', () => {
  it('has the canonical 8-4-4-4-12 lowercase hex format', () => {
    for (let i = 0; i < 100; i++) expect(uuidv7()).toMatch(UUID);
  });

  it('sets version 7 and the RFC 9562 variant (10xx) whatever the random bytes are', () => {
    for (const byte of [0x00, 0xff, 0x5a, 0xa5]) {
      const id = uuidv7(1_700_000_000_000, fill(byte));
      const hex = hexDigits(id);
      expect(hex[12]).toBe('7');
      expect(Number.parseInt(hex[16] ?? '', 16) >> 2).toBe(0b10);
    }
    for (let i = 0; i < 100; i++) {
      const hex = hexDigits(uuidv7());
      expect(hex[12]).toBe('7');
      expect(['8', '9', 'a', 'b']).toContain(hex[16]);
    }
  });

  it('keeps the random bits outside the version and variant fields', () => {
    const hex = hexDigits(uuidv7(0x0123456789ab, fill(0xff)));
    // rand_a: 12 bits after the version nibble; rand_b: 62 bits after the variant.
    expect(hex.slice(13, 16)).toBe('fff');
    expect(hex[16]).toBe('b');
    expect(hex.slice(17)).toBe('f'.repeat(15));
    const zeros = hexDigits(uuidv7(0x0123456789ab, fill(0x00)));
    expect(zeros.slice(12)).toBe('7000' + '8' + '0'.repeat(15));
  });

  it('embeds the timestamp, which decodes back', () => {
    for (const t of [0, 1, 0xffffffff, 0x100000000, 1_717_243_200_123, Date.UTC(2100, 0, 1), 2 ** 48 - 1]) {
      expect(embeddedTime(uuidv7(t))).toBe(t);
    }
  });

  it('writes the timestamp big-endian in the first 48 bits', () => {
    expect(uuidv7(0x0123456789ab, fill(0)).slice(0, 13)).toBe('01234567-89ab');
  });

  it('floors fractional milliseconds', () => {
    expect(embeddedTime(uuidv7(1_717_243_200_123.9))).toBe(1_717_243_200_123);
  });

  it('defaults to the current time', () => {
    const before = Date.now();
    const t = embeddedTime(uuidv7());
    const after = Date.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it('sorts lexicographically by time for increasing timestamps, whatever the randomness', () => {
    const base = 1_717_243_200_000;
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      // Largest randomness for the earlier id, smallest for the later one: time must still win.
      ids.push(uuidv7(base + i * 37, fill(i % 2 === 0 ? 0xff : 0x00)));
    }
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    for (let i = 1; i < ids.length; i++) expect((ids[i - 1] ?? '') < (ids[i] ?? '')).toBe(true);
  });

  it('uses the injected random source', () => {
    const calls: number[] = [];
    uuidv7(0, (bytes) => {
      calls.push(bytes.length);
    });
    expect(calls).toEqual([16]);
  });

  it('produces distinct ids within the same millisecond', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_717_243_200_000)));
    expect(ids.size).toBe(1000);
  });
});
