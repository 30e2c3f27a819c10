import { describe, expect, it } from 'vitest';
import { fillGroupsFromLive, liveBreakdown } from './metrics-live.ts';
import { BucketGrid, type GroupRows } from './metrics-rows.ts';
import type { PartialAggregate } from './protocol.ts';

const MINUTE = 60_000;
const pane = (windowStart: number, eventType: string, dimsKey: string, events: number, valueSum = 0): PartialAggregate => ({ windowStart, eventType, dimsKey, events, valueSum });
const query = { eventType: 'view', filters: { deviceType: 'MOBILE' }, endMs: 10 * MINUTE };

const grid = new BucketGrid(0, MINUTE, 10, null);

function stored(key: string, rank: number, perMinute: Record<number, number>): GroupRows {
  const buckets = grid.emptyLike();
  for (const [minute, events] of Object.entries(perMinute)) buckets.events[Number(minute)] = events;
  return { key, rank, usersTotal: null, buckets };
}

describe('live fill of breakdowns', () => {
  it('sums panes per minute for the query and for each value of the dimension', () => {
    const live = liveBreakdown(
      [
        pane(2 * MINUTE, 'view', 'country=US&deviceType=MOBILE', 2),
        pane(2 * MINUTE + 10_000, 'view', 'country=US&deviceType=MOBILE', 3),
        pane(2 * MINUTE, 'view', 'deviceType=MOBILE', 1),
        pane(3 * MINUTE, 'view', 'country=DE&deviceType=MOBILE', 4),
        pane(3 * MINUTE, 'view', 'country=DE&deviceType=DESKTOP', 50),
        pane(3 * MINUTE, 'click', 'country=DE&deviceType=MOBILE', 60),
        pane(0, 'view', 'country=US&deviceType=MOBILE', 70),
      ],
      query,
      'country',
      false,
      MINUTE,
    );
    expect([...live.main]).toEqual([
      [2 * MINUTE, { events: 6, valueSum: 0 }],
      [3 * MINUTE, { events: 4, valueSum: 0 }],
    ]);
    expect(live.groups.get('US')?.get(2 * MINUTE)?.events).toBe(5);
    // Events without the dimension form the '' group, as dims[...] reads in ClickHouse.
    expect(live.groups.get('')?.get(2 * MINUTE)?.events).toBe(1);
    expect(live.groups.get('DE')?.get(3 * MINUTE)?.events).toBe(4);
    expect(liveBreakdown([pane(2 * MINUTE, 'view', 'deviceType=MOBILE', 1)], { ...query, eventType: null }, 'eventType', true, 0).groups.get('view')?.get(2 * MINUTE)?.events).toBe(1);
  });

  it('adds values ClickHouse has not seen while the top N has room, and folds the rest', () => {
    const live = {
      main: new Map(),
      groups: new Map([
        ['US', new Map([[5 * MINUTE, { events: 7, valueSum: 0 }]])],
        ['JP', new Map([[5 * MINUTE, { events: 3, valueSum: 0 }]])],
        ['FR', new Map([[5 * MINUTE, { events: 2, valueSum: 0 }]])],
        ['BR', new Map([[5 * MINUTE, { events: 1, valueSum: 0 }]])],
      ]),
    };
    const options = { limit: 3, rankBy: 'events' as const, otherLabel: '__other__', like: grid };
    const filled = fillGroupsFromLive([stored('US', 1, { 4: 10, 5: 4 })], live, options);
    expect(filled.map((g) => [g.key, g.buckets.events[5]])).toEqual([
      ['US', 7],
      ['JP', 3],
      ['FR', 2],
      ['__other__', 1],
    ]);
    expect(filled[0]?.buckets.events[4]).toBe(10);
    // ClickHouse already folded: every unseen value goes to the fold, which keeps the larger value.
    const full = fillGroupsFromLive([stored('US', 1, { 5: 4 }), stored('DE', 2, { 5: 1 }), stored('IT', 3, {}), stored('__other__', 4, { 5: 5 })], live, options);
    expect(full.map((g) => [g.key, g.buckets.events[5] ?? 0])).toEqual([
      ['US', 7],
      ['DE', 1],
      ['IT', 0],
      ['__other__', 6],
    ]);
  });
});
