import { describe, expect, it } from 'vitest';
import { isWindowClosed, windowCloseTime, windowStartOf } from './windows.ts';

const MINUTE = 60_000;

describe('windowStartOf', () => {
  it('floors a timestamp to the start of its window', () => {
    const minute = Date.UTC(2024, 5, 1, 12, 34);
    expect(windowStartOf(minute, MINUTE)).toBe(minute);
    expect(windowStartOf(minute + 1, MINUTE)).toBe(minute);
    expect(windowStartOf(minute + MINUTE - 1, MINUTE)).toBe(minute);
    expect(windowStartOf(minute + MINUTE, MINUTE)).toBe(minute + MINUTE);
  });

  it('works for sub-minute windows', () => {
    expect(windowStartOf(12_345, 1000)).toBe(12_000);
    expect(windowStartOf(29_999, 15_000)).toBe(15_000);
  });

  it('floors negative timestamps towards minus infinity', () => {
    expect(windowStartOf(-1, 1000)).toBe(-1000);
    expect(windowStartOf(-1000, 1000)).toBe(-1000);
    expect(windowStartOf(-1001, 1000)).toBe(-2000);
  });

  it('returns a window start that contains the timestamp', () => {
    for (const t of [0, 1, 59_999, 60_000, 1_717_243_212_345]) {
      const start = windowStartOf(t, 5000);
      expect(start % 5000).toBe(0);
      expect(start).toBeLessThanOrEqual(t);
      expect(t).toBeLessThan(start + 5000);
    }
  });
});

describe('windowCloseTime / isWindowClosed', () => {
  it('closes at window end plus allowed lateness', () => {
    expect(windowCloseTime(60_000, MINUTE, 10_000)).toBe(130_000);
  });

  it('is open before the close time and closed from it on', () => {
    expect(isWindowClosed(60_000, MINUTE, 10_000, 129_999)).toBe(false);
    expect(isWindowClosed(60_000, MINUTE, 10_000, 130_000)).toBe(true);
    expect(isWindowClosed(60_000, MINUTE, 10_000, 500_000)).toBe(true);
  });

  it('closes exactly at window end with zero lateness', () => {
    expect(isWindowClosed(0, 1000, 0, 999)).toBe(false);
    expect(isWindowClosed(0, 1000, 0, 1000)).toBe(true);
  });

  it('agrees with windowCloseTime', () => {
    const close = windowCloseTime(120_000, 5000, 2000);
    expect(isWindowClosed(120_000, 5000, 2000, close - 1)).toBe(false);
    expect(isWindowClosed(120_000, 5000, 2000, close)).toBe(true);
  });
});
