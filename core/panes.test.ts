import { describe, expect, it } from 'vitest';
import { hash64 } from './hash64.ts';
import { BatchAccumulator, closedThrough, closeTimeOf, isLate, minuteStartOf, type GroupDelta, type PaneEvent, type PaneTiming } from './panes.ts';

function find(batch: BatchAccumulator, paneStart: number, eventType: string, dimsKey: string): GroupDelta | undefined {
  return batch.groups.find((g) => g.paneStart === paneStart && g.eventType === eventType && g.dimsKey === dimsKey);
}

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const timing: PaneTiming = { paneMs: 10_000, windowMs: MIN, allowedLatenessMs: MIN };

function event(overrides: Partial<PaneEvent> = {}): PaneEvent {
  return { eventType: 'click', timestampMs: T0 + 5_000, value: 1, userKey: 'u1', dimsKey: 'country=DE', bot: false, ...overrides };
}

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

describe('BatchAccumulator', () => {
  it('folds events into one delta per (pane, event type, dims)', () => {
    const batch = new BatchAccumulator(timing, T0 + 6_000);
    batch.add(event({ value: 2 }));
    batch.add(event({ value: 3, userKey: 'u2', timestampMs: T0 + 9_999 }));
    batch.add(event({ timestampMs: T0 + 10_000 }));
    batch.add(event({ dimsKey: 'country=US' }));
    batch.add(event({ eventType: 'view' }));
    expect(batch.groups.length).toBe(4);
    const first = find(batch, T0, 'click', 'country=DE');
    expect(first).toMatchObject({ paneStart: T0, events: 2, valueSum: 5, botEvents: 0, lateEvents: 0 });
    // One (hi, lo) hash pair per human event.
    expect(first?.userHashes).toHaveLength(4);
    const h = hash64('u1');
    expect(first?.userHashes.slice(0, 2)).toEqual([Number(h >> 32n), Number(h & 0xffffffffn)]);
  });

  it('counts bots apart and keeps them out of the users', () => {
    const batch = new BatchAccumulator(timing, T0 + 6_000);
    batch.add(event({ bot: true, value: 7 }));
    batch.add(event());
    const group = find(batch, T0, 'click', 'country=DE');
    expect(group).toMatchObject({ events: 1, valueSum: 1, botEvents: 1, botValueSum: 7 });
    expect(group?.userHashes).toHaveLength(2);
    expect(batch.bots).toBe(1);
  });

  it('keeps event types apart however many a pane has, and in any order', () => {
    const batch = new BatchAccumulator(timing, T0 + 6_000);
    const types = Array.from({ length: 40 }, (_, i) => `type_${i}`);
    for (let round = 0; round < 3; round++) for (const eventType of round === 1 ? [...types].reverse() : types) batch.add(event({ eventType: `${eventType}` }));
    expect(batch.groups.length).toBe(40);
    for (const eventType of types) expect(find(batch, T0, eventType, 'country=DE')?.events).toBe(3);
  });

  it('marks and counts late events per group', () => {
    const batch = new BatchAccumulator(timing, T0 + 3 * MIN);
    expect(batch.add(event())).toBe(true);
    expect(batch.add(event({ timestampMs: T0 + 2 * MIN + 1 }))).toBe(false);
    expect(batch.late).toBe(1);
    expect(find(batch, T0, 'click', 'country=DE')?.lateEvents).toBe(1);
  });
});
