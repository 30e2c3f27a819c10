import { describe, expect, it } from 'vitest';
import { closedThrough, closeTimeOf, isLate, minuteStartOf, type PaneTiming } from './panes.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const timing: PaneTiming = { paneMs: 10_000, windowMs: MIN, allowedLatenessMs: MIN };

describe('watermark arithmetic', () => {
  it('closes a window once the clock passes its end plus the lateness', () => {
    // Window [T0, T0+1m) ends at T0+1m and closes at T0+2m.
    expect(closedThrough(T0 + 2 * MIN - 1, timing)).toBe(T0);
    expect(closedThrough(T0 + 2 * MIN, timing)).toBe(T0 + MIN);
    expect(closeTimeOf(T0 + 30_000, timing)).toBe(T0 + 2 * MIN);
  });

  it('calls an event late only when its whole window had closed at arrival', () => {
    expect(isLate(T0 + 59_999, T0 + 2 * MIN - 1, timing)).toBe(false);
    expect(isLate(T0 + 59_999, T0 + 2 * MIN, timing)).toBe(true);
    expect(isLate(T0, T0 + 2 * MIN, timing)).toBe(true);
    expect(isLate(T0 + MIN, T0 + 2 * MIN, timing)).toBe(false);
  });

  it('with no lateness and 1 s windows, a window closes when it ends', () => {
    const fast: PaneTiming = { paneMs: 1000, windowMs: 1000, allowedLatenessMs: 0 };
    expect(isLate(T0 + 500, T0 + 999, fast)).toBe(false);
    expect(isLate(T0 + 500, T0 + 1000, fast)).toBe(true);
  });

  it('floors to the minute', () => {
    expect(minuteStartOf(T0 + 59_999)).toBe(T0);
  });

  it('floors to the minute whatever the previous call was (the last minute is memoized)', () => {
    for (const t of [T0 + 59_999, T0 + 60_000, T0 - 1, T0, T0 + 30_000, T0 - 60_000, T0 + 60_000 * 1440 + 5, T0 + 1.5, -1, 0, 59_999]) {
      expect(minuteStartOf(t)).toBe(t - (((t % MIN) + MIN) % MIN));
    }
  });
});
