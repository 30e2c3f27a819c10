import { afterEach, describe, expect, it, vi } from 'vitest';
import { uuidv7 } from '../src/index.ts';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function timePrefix(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('uuidv7', () => {
  it('has the RFC 9562 version 7 / variant 10 layout', () => {
    for (let i = 0; i < 1000; i++) expect(uuidv7()).toMatch(UUIDV7);
  });

  // Future dates: the generator's last timestamp is process state, and ids never go back in time.
  it('carries the mint time in its first 48 bits', () => {
    vi.useFakeTimers({ now: Date.parse('2030-06-07T11:26:00.123Z') });
    expect(timePrefix(uuidv7())).toBe(Date.parse('2030-06-07T11:26:00.123Z'));
    vi.setSystemTime(Date.parse('2030-06-07T11:26:00.124Z'));
    expect(timePrefix(uuidv7())).toBe(Date.parse('2030-06-07T11:26:00.124Z'));
  });

  it('sorts in mint order within one millisecond, past the counter, and when the clock steps back', () => {
    vi.useFakeTimers({ now: Date.parse('2031-01-01T00:00:00.000Z') });
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(uuidv7()); // more than the 12-bit counter holds
    vi.setSystemTime(Date.parse('2030-12-31T23:59:59.000Z')); // clock steps back
    for (let i = 0; i < 10; i++) ids.push(uuidv7());
    vi.setSystemTime(Date.parse('2031-01-01T00:00:01.000Z'));
    ids.push(uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(UUIDV7);
    // The time prefix never decreases and stays within a few ms of the clock.
    const prefixes = ids.map(timePrefix);
    expect(prefixes.every((prefix, i) => i === 0 || prefix >= (prefixes[i - 1] ?? 0))).toBe(true);
    expect((prefixes[4999] ?? 0) - Date.parse('2031-01-01T00:00:00.000Z')).toBeLessThanOrEqual(2);
  });
});
