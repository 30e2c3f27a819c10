import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { BucketGrid, fillFromLive, fillFromRow, groupsFromRows, mergeBuckets, RegisterUnion, usersOver } from './metrics-rows.ts';
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
const minutes = (n: number, users: 'sketch' | 'exact' | null = null) => new BucketGrid(0, MINUTE, n, users);

describe('query rows', () => {
  it('lays a one-row series of parallel arrays on the grid, whatever their order, quoted numbers too', () => {
    const grid = fillFromRow(minutes(3), { ts: [120, 60, 9999], es: ['7', 3, 1], vs: [1.5, 0, 1] }, null);
    expect([...grid.events]).toEqual([0, 3, 7]);
    expect([...grid.valueSum]).toEqual([0, 0, 1.5]);
    expect(grid.indexOf(120_000)).toBe(2);
    expect(grid.indexOf(30_000)).toBe(-1);
    expect(() => fillFromRow(minutes(1), { ts: [60], es: [], vs: [] }, null)).toThrow(TypeError);
    expect(() => fillFromRow(minutes(1), { ts: [60], es: [1], vs: [1] }, 'sketch')).toThrow(TypeError);
    expect(BucketGrid.covering(90_000, 240_000, MINUTE, null)).toMatchObject({ startMs: 60_000, length: 3 });
  });

  it('orders breakdown groups by rank and keeps exact raw totals', () => {
    const groups = groupsFromRows(
      [
        { k: '__other__', rank: 3, ts: [0], es: [1], vs: [0], us: [1], users_total: 1 },
        { k: 'US', rank: 1, ts: [0], es: [5], vs: [0], us: [4], users_total: 4 },
      ],
      'exact',
      minutes(1, 'exact'),
    );
    expect(groups.map((g) => [g.key, g.usersTotal, g.buckets.users?.[0]])).toEqual([
      ['US', 4, 4],
      ['__other__', 1, 1],
    ]);
  });

  it('merges groups into the main series: counts add, sketches unite (no user counted twice)', () => {
    const like = minutes(2, 'sketch');
    const a = fillFromRow(like.emptyLike(), { ts: [0, 60], es: [2, 1], vs: [10, 0], us: [sketchOf(range('a', 20)), sketchOf(['x'])] }, 'sketch');
    const b = fillFromRow(like.emptyLike(), { ts: [0], es: [3], vs: [5], us: [sketchOf([...range('a', 10), ...range('b', 10)])] }, 'sketch');
    const merged = mergeBuckets([a, b], like);
    expect([merged.events[0], merged.valueSum[0], merged.events[1]]).toEqual([5, 15, 1]);
    // 20 a-users + 10 b-users; the 10 shared a-users once.
    expect(Math.abs((merged.users?.[0] ?? 0) - 30)).toBeLessThanOrEqual(1);
    // Uniques over both minutes: one union, not 25 + 25 when the same users repeat.
    const repeat = fillFromRow(like.emptyLike(), { ts: [0, 60], es: [1, 1], vs: [0, 0], us: [sketchOf(range('r', 25)), sketchOf(range('r', 25))] }, 'sketch');
    expect(Math.abs(usersOver(repeat, 0, 2) - 25)).toBeLessThanOrEqual(1);
    expect(new RegisterUnion().count()).toBe(0);
  });

  it('fills coarse buckets with the sum of their live minutes, never lowering a stored value', () => {
    const grid = fillFromRow(new BucketGrid(0, 5 * MINUTE, 3, null), { ts: [0, 300], es: [40, 2], vs: [0, 0] }, null);
    const live = new Map([
      [4 * MINUTE, { events: 9, valueSum: 1 }],
      [5 * MINUTE, { events: 3, valueSum: 2 }],
      [6 * MINUTE, { events: 4, valueSum: 0 }],
      [10 * MINUTE, { events: 1, valueSum: 0 }],
      [99 * MINUTE, { events: 1, valueSum: 0 }],
    ]);
    fillFromLive(grid, live);
    // Bucket 0 holds 40 in ClickHouse but the live layer saw only its last minute (9): it stays 40.
    expect([...grid.events]).toEqual([40, 7, 1]);
    expect(grid.valueSum[1]).toBe(2);
  });
});
