import { describe, expect, it } from 'vitest';
import { backoffDelayMs, MAX_BACKOFF_MS, MIN_ALARM_DELAY_MS, nextAlarmAt, type ScheduleInput } from './flush-policy.ts';

describe('backoffDelayMs', () => {
  it('doubles from 1 s to a 60 s cap, with half of each delay random', () => {
    expect(backoffDelayMs(1, () => 0)).toBe(500);
    expect(backoffDelayMs(1, () => 1)).toBe(1000);
    expect(backoffDelayMs(3, () => 0)).toBe(2000);
    expect(backoffDelayMs(3, () => 1)).toBe(4000);
    expect(backoffDelayMs(50, () => 1)).toBe(MAX_BACKOFF_MS);
    expect(backoffDelayMs(50, () => 0)).toBe(MAX_BACKOFF_MS / 2);
    expect(backoffDelayMs(0, () => 0)).toBe(500);
  });

  it('spreads retries of shards that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(4)));
    expect(delays.size).toBeGreaterThan(40);
  });
});

describe('nextAlarmAt', () => {
  const base: ScheduleInput = { nowMs: 100_000, flushIntervalMs: 5000, backoffMs: null, workReady: false, nextCloseMs: null, nextExpiryMs: null };

  it('backs off after a failure, never sooner than a second', () => {
    expect(nextAlarmAt({ ...base, backoffMs: 8000, workReady: true })).toBe(108_000);
    expect(nextAlarmAt({ ...base, backoffMs: 10 })).toBe(100_000 + MIN_ALARM_DELAY_MS);
  });

  it('paces ready work by the flush interval', () => {
    expect(nextAlarmAt({ ...base, workReady: true, nextCloseMs: 90_000 })).toBe(105_000);
  });

  it('sleeps until the oldest open window closes', () => {
    expect(nextAlarmAt({ ...base, nextCloseMs: 160_000, nextExpiryMs: 120_000 })).toBe(160_000);
    expect(nextAlarmAt({ ...base, nextCloseMs: 101_000 })).toBe(105_000);
  });

  it('wakes for expiries only when nothing else is pending, and not at all when empty', () => {
    expect(nextAlarmAt({ ...base, nextExpiryMs: 700_000 })).toBe(700_000);
    expect(nextAlarmAt(base)).toBeNull();
  });
});
