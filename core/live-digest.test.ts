import { describe, expect, it } from 'vitest';
import { earliestMinuteBehind, LiveDigest } from './live-digest.ts';
import { LiveTotals, MINUTE_MS } from './live-totals.ts';

const T0 = Date.UTC(2026, 11, 3, 14, 0);
const pane = (offsetS: number, events: number, dimsKey = 'country=DE') => ({ windowStart: T0 + offsetS * 1000, eventType: 'page_view', dimsKey, events, valueSum: events });

describe('LiveDigest', () => {
  it('sums human events per minute from the running totals, then from batch deltas', () => {
    const digest = new LiveDigest(T0, [pane(0, 3), pane(10, 2, 'country=FR'), pane(70, 5)]);
    expect(digest.since(T0)).toEqual([{ minuteStart: T0, events: 5 }, { minuteStart: T0 + MINUTE_MS, events: 5 }]);
    digest.add(T0 + 20_000, 4);
    digest.add(T0 + 130_000, 1);
    expect(digest.since(T0)).toEqual([
      { minuteStart: T0, events: 9 },
      { minuteStart: T0 + MINUTE_MS, events: 5 },
      { minuteStart: T0 + 2 * MINUTE_MS, events: 1 },
    ]);
  });

  it('does not track panes before its start, and asking for a later start forgets older minutes', () => {
    const digest = new LiveDigest(T0 + 15_000, [pane(0, 3)]);
    expect(digest.fromMinute).toBe(T0);
    // A late event for a minute older than the digest: not tracked (its base was never read).
    digest.add(T0 - MINUTE_MS, 7);
    expect(digest.since(T0 - MINUTE_MS)).toEqual([{ minuteStart: T0, events: 3 }]);
    digest.add(T0 + MINUTE_MS, 2);
    expect(digest.since(T0 + MINUTE_MS + 5_000)).toEqual([{ minuteStart: T0 + MINUTE_MS, events: 2 }]);
    expect(digest.fromMinute).toBe(T0 + MINUTE_MS);
    digest.add(T0, 100);
    expect(digest.since(T0)).toEqual([{ minuteStart: T0 + MINUTE_MS, events: 2 }]);
  });

  it('stays bounded when nobody asks: minutes older than the live retention are dropped as newer ones arrive', () => {
    const digest = new LiveDigest(T0, [pane(0, 3)]);
    for (let minute = 1; minute <= 180; minute++) digest.add(T0 + minute * MINUTE_MS, 1);
    const kept = digest.since(T0);
    expect(kept.length).toBeLessThanOrEqual(61);
    expect(kept[0]?.minuteStart).toBe(T0 + 120 * MINUTE_MS);
    expect(digest.fromMinute).toBe(T0 + 120 * MINUTE_MS);
  });
});

describe('earliestMinuteBehind', () => {
  const previous = [{ minuteStart: T0, events: 5 }, { minuteStart: T0 + MINUTE_MS, events: 8 }, { minuteStart: T0 + 2 * MINUTE_MS, events: 1 }];

  it('is null when the combiner holds at least what the shard had at the previous settle (pushes since then may still be on their way)', () => {
    expect(earliestMinuteBehind(previous, new Map([[T0, 5], [T0 + MINUTE_MS, 9], [T0 + 2 * MINUTE_MS, 1]]), T0)).toBeNull();
    expect(earliestMinuteBehind([], undefined, T0)).toBeNull();
  });

  it('names the earliest minute the combiner still lacks events of, including minutes it has nothing of', () => {
    expect(earliestMinuteBehind(previous, new Map([[T0, 5], [T0 + MINUTE_MS, 7], [T0 + 2 * MINUTE_MS, 0]]), T0)).toBe(T0 + MINUTE_MS);
    expect(earliestMinuteBehind(previous, new Map([[T0, 5], [T0 + MINUTE_MS, 8]]), T0)).toBe(T0 + 2 * MINUTE_MS);
    expect(earliestMinuteBehind(previous, undefined, T0)).toBe(T0);
  });

  it('ignores minutes older than the settle looks back', () => {
    expect(earliestMinuteBehind(previous, new Map([[T0 + MINUTE_MS, 8], [T0 + 2 * MINUTE_MS, 1]]), T0 + MINUTE_MS + 30_000)).toBeNull();
  });
});

describe('LiveTotals.sourceEventsByMinute', () => {
  it('holds each source\'s latest events per minute, from the given minute on', () => {
    const totals = new LiveTotals();
    totals.merge(0, [pane(0, 3), pane(10, 2, 'country=FR'), pane(70, 4)], T0 + 80_000);
    totals.merge(1, [pane(0, 6)], T0 + 80_000);
    // Newer absolute totals replace older ones; they do not add.
    totals.merge(0, [pane(0, 5)], T0 + 80_000);
    expect(totals.sourceEventsByMinute(T0 + 30_000)).toEqual(new Map([
      [0, new Map([[T0, 7], [T0 + MINUTE_MS, 4]])],
      [1, new Map([[T0, 6]])],
    ]));
    expect(totals.sourceEventsByMinute(T0 + MINUTE_MS)).toEqual(new Map([[0, new Map([[T0 + MINUTE_MS, 4]])]]));
  });
});
