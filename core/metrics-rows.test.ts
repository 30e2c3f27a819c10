import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { bucketsFromRow, fillFromLive, groupsFromRows, mergeBuckets, RegisterUnion, usersOver } from './metrics-rows.ts';
import { USER_SKETCH_PRECISION } from './panes.ts';
import { registerPairs } from './sketch-registers.ts';

const MINUTE = 60_000;

function sketchOf(users: string[]): [number[], number[]] {
  const hll = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
  for (const user of users) hll.add(user);
  const { idx, val } = registerPairs(hll);
  return [idx, val];
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('query rows', () => {
  it('reads a one-row series of parallel arrays, whatever their order, and quoted numbers', () => {
    const buckets = bucketsFromRow({ ts: [120, 60], es: ['7', 3], vs: [1.5, 0] }, null);
    expect([...buckets]).toEqual([
      [120_000, { events: 7, valueSum: 1.5, users: null, registers: null }],
      [60_000, { events: 3, valueSum: 0, users: null, registers: null }],
    ]);
    expect(() => bucketsFromRow({ ts: [60], es: [], vs: [] }, null)).toThrow(TypeError);
    expect(() => bucketsFromRow({ ts: [60], es: [1], vs: [1] }, 'sketch')).toThrow(TypeError);
  });

  it('orders breakdown groups by rank and keeps exact raw totals', () => {
    const groups = groupsFromRows(
      [
        { k: '__other__', rank: 3, ts: [0], es: [1], vs: [0], us: [1], users_total: 1 },
        { k: 'US', rank: 1, ts: [0], es: [5], vs: [0], us: [4], users_total: 4 },
      ],
      'exact',
    );
    expect(groups.map((g) => [g.key, g.usersTotal, g.buckets.get(0)?.users])).toEqual([
      ['US', 4, 4],
      ['__other__', 1, 1],
    ]);
  });

  it('merges groups into the main series: counts add, sketches unite (no user counted twice)', () => {
    const a = bucketsFromRow({ ts: [0, 60], es: [2, 1], vs: [10, 0], us: [sketchOf(range('a', 20)), sketchOf(['x'])] }, 'sketch');
    const b = bucketsFromRow({ ts: [0], es: [3], vs: [5], us: [sketchOf([...range('a', 10), ...range('b', 10)])] }, 'sketch');
    const merged = mergeBuckets([a, b]);
    expect(merged.get(0)).toMatchObject({ events: 5, valueSum: 15 });
    // 20 a-users + 10 b-users; the 10 shared a-users once.
    expect(Math.abs((merged.get(0)?.users ?? 0) - 30)).toBeLessThanOrEqual(1);
    expect(merged.get(MINUTE)?.events).toBe(1);
    // Uniques over both minutes: one union, not 30 + 1 added per minute when a user repeats.
    const repeat = bucketsFromRow({ ts: [0, 60], es: [1, 1], vs: [0, 0], us: [sketchOf(range('r', 25)), sketchOf(range('r', 25))] }, 'sketch');
    expect(Math.abs(usersOver(repeat, [0, MINUTE]) - 25)).toBeLessThanOrEqual(1);
    expect(new RegisterUnion().count()).toBe(0);
  });

  it('fills coarse buckets with the sum of their live minutes, never lowering a stored value', () => {
    const buckets = bucketsFromRow({ ts: [0, 300], es: [40, 2], vs: [0, 0] }, null);
    const live = new Map([
      [4 * MINUTE, { events: 9, valueSum: 1 }],
      [5 * MINUTE, { events: 3, valueSum: 2 }],
      [6 * MINUTE, { events: 4, valueSum: 0 }],
      [10 * MINUTE, { events: 1, valueSum: 0 }],
    ]);
    fillFromLive(buckets, live, 5 * MINUTE);
    // Bucket 0 holds 40 in ClickHouse but the live layer saw only its last minute (9): it stays 40.
    expect(buckets.get(0)?.events).toBe(40);
    expect(buckets.get(5 * MINUTE)).toMatchObject({ events: 7, valueSum: 2 });
    expect(buckets.get(10 * MINUTE)?.events).toBe(1);
  });
});
