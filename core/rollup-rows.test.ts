import { describe, expect, it } from 'vitest';
import { clickHouseDateTime, clickHouseDateTime64, dedupToken, FLUSH_INSERT_SETTINGS, TABLES, toRollupRow, type MinuteAggregate } from './rollup-rows.ts';

function aggregate(overrides: Partial<MinuteAggregate> = {}): MinuteAggregate {
  return {
    minuteStart: Date.UTC(2024, 5, 1, 12, 34),
    eventType: 'page_view',
    dimsKey: 'country=DE&plan=pro',
    events: 5,
    valueSum: 12.5,
    botEvents: 2,
    botValueSum: 1,
    lateEvents: 1,
    users: { idx: [3, 40], val: [2, 5] },
    ...overrides,
  };
}

describe('clickHouseDateTime', () => {
  it("formats epoch ms as 'YYYY-MM-DD hh:mm:ss' in UTC, dropping milliseconds", () => {
    expect(clickHouseDateTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02 03:04:05');
    expect(clickHouseDateTime(Date.UTC(2024, 11, 31, 23, 59, 59, 999))).toBe('2024-12-31 23:59:59');
  });

  it('keeps milliseconds for DateTime64(3)', () => {
    expect(clickHouseDateTime64(Date.UTC(2024, 11, 31, 23, 59, 59, 7))).toBe('2024-12-31 23:59:59.007');
  });
});

describe('toRollupRow', () => {
  it('maps a minute aggregate to a landing row of kind rollup', () => {
    expect(toRollupRow('proj-1', 3, aggregate())).toEqual({
      kind: 'rollup',
      project_id: 'proj-1',
      shard: 3,
      event_type: 'page_view',
      window_start: '2024-06-01 12:34:00',
      dims_key: 'country=DE&plan=pro',
      dims: { country: 'DE', plan: 'pro' },
      events: 5,
      value_sum: 12.5,
      bot_events: 2,
      bot_value_sum: 1,
      late_events: 1,
      hll_idx: [3, 40],
      hll_val: [2, 5],
    });
  });

  it('decodes URI-encoded dimension values and gives dims a plain prototype (JSON-safe)', () => {
    const row = toRollupRow('p', 0, aggregate({ dimsKey: 'path=%2Fa%26b' }));
    expect(row.dims).toEqual({ path: '/a&b' });
    expect(Object.getPrototypeOf(row.dims)).toBe(Object.prototype);
  });
});

describe('dedupToken', () => {
  it('is deterministic and scoped to project, shard, incarnation and sequence', () => {
    expect(dedupToken('p', 2, 'inc', 7)).toBe('edgepulse:p:2:inc:7');
    expect(dedupToken('p', 2, 'inc', 7)).toBe(dedupToken('p', 2, 'inc', 7));
    expect(new Set([dedupToken('p', 2, 'inc', 7), dedupToken('p', 3, 'inc', 7), dedupToken('p', 2, 'other', 7), dedupToken('q', 2, 'inc', 7)]).size).toBe(4);
  });
});

describe('flush constants', () => {
  it('insert synchronously into the landing table with dedup in dependent views', () => {
    expect(TABLES.landing).toBe('ingest_landing');
    expect(TABLES.eventsPerMinute).toBe('events_1m');
    expect(FLUSH_INSERT_SETTINGS).toEqual({ async_insert: 0, insert_deduplicate: 1, deduplicate_blocks_in_dependent_materialized_views: 1 });
  });
});
