import { describe, expect, it } from 'vitest';
import { clickHouseDateTime, dedupToken, TABLES, toRollupRow, type WindowAggregate } from './rollup-rows.ts';

function aggregate(overrides: Partial<WindowAggregate> = {}): WindowAggregate {
  return {
    windowStart: Date.UTC(2024, 5, 1, 12, 34),
    eventType: 'page_view',
    dimsKey: 'country=DE&plan=pro',
    events: 5,
    valueSum: 12.5,
    lateEvents: 1,
    ...overrides,
  };
}

describe('clickHouseDateTime', () => {
  it("formats epoch ms as 'YYYY-MM-DD hh:mm:ss' in UTC", () => {
    expect(clickHouseDateTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02 03:04:05');
    expect(clickHouseDateTime(0)).toBe('1970-01-01 00:00:00');
  });

  it('drops milliseconds rather than rounding', () => {
    expect(clickHouseDateTime(Date.UTC(2024, 11, 31, 23, 59, 59, 999))).toBe('2024-12-31 23:59:59');
  });
});

describe('toRollupRow', () => {
  it('maps an aggregate to an events_1m row', () => {
    expect(toRollupRow('proj-1', aggregate())).toEqual({
      project_id: 'proj-1',
      event_type: 'page_view',
      window_start: '2024-06-01 12:34:00',
      dims_key: 'country=DE&plan=pro',
      dims: { country: 'DE', plan: 'pro' },
      events: 5,
      value_sum: 12.5,
      late_events: 1,
    });
    expect(TABLES.eventsPerMinute).toBe('events_1m');
  });

  it('floors sub-minute panes to their minute', () => {
    for (const second of [0, 1, 15, 30, 45, 59]) {
      const row = toRollupRow('p', aggregate({ windowStart: Date.UTC(2024, 5, 1, 12, 34, second) }));
      expect(row.window_start).toBe('2024-06-01 12:34:00');
    }
    const row = toRollupRow('p', aggregate({ windowStart: Date.UTC(2024, 5, 1, 12, 34, 59, 999) }));
    expect(row.window_start).toBe('2024-06-01 12:34:00');
  });

  it('parses dims from dims_key, decoding escaped characters', () => {
    const dimsKey = `url=${encodeURIComponent('https://a.test/?x=1&y=2')}&city=${encodeURIComponent('Zürich')}`;
    const row = toRollupRow('p', aggregate({ dimsKey }));
    expect(row.dims_key).toBe(dimsKey);
    expect(row.dims).toEqual({ url: 'https://a.test/?x=1&y=2', city: 'Zürich' });
  });

  it('gives an empty dims object for an empty dims_key, as a plain serialisable object', () => {
    const row = toRollupRow('p', aggregate({ dimsKey: '' }));
    expect(row.dims).toEqual({});
    expect(JSON.stringify(row.dims)).toBe('{}');
    expect(Object.getPrototypeOf(row.dims)).toBe(Object.prototype);
  });
});

describe('dedupToken', () => {
  it('is deterministic', () => {
    expect(dedupToken('proj', 3, 'inc-1', 42)).toBe(dedupToken('proj', 3, 'inc-1', 42));
  });

  it('differs when project, shard or sequence differs', () => {
    const tokens = new Set<string>();
    const projects = ['a', 'b', 'a:1', 'a:1:2'];
    for (const project of projects) {
      for (let shard = 0; shard < 13; shard++) {
        for (let sequence = 0; sequence < 13; sequence++) tokens.add(dedupToken(project, shard, 'inc-1', sequence));
      }
    }
    expect(tokens.size).toBe(projects.length * 13 * 13);
  });

  it('does not collide when digits could be regrouped', () => {
    expect(dedupToken('p', 1, 'i', 23)).not.toBe(dedupToken('p', 12, 'i', 3));
    expect(dedupToken('p1', 2, 'i', 3)).not.toBe(dedupToken('p', 12, 'i', 3));
  });

  it('differs between incarnations of a shard whose storage was wiped', () => {
    expect(dedupToken('p', 1, 'first', 1)).not.toBe(dedupToken('p', 1, 'second', 1));
  });
});
