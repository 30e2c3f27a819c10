import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { compareTotals, minuteRange, parseTotalsRows, parseUsersEstimate, recountParams, type RecountRow } from './recount.ts';
import { registerPairs } from './sketch-registers.ts';

function row(overrides: Partial<RecountRow> = {}): RecountRow {
  return { t: 60, eventType: 'click', dimsKey: 'a=1', events: 3, botEvents: 1, valueSum: 0.3, botValueSum: 0, ...overrides };
}

describe('recount', () => {
  it('aligns ranges to whole minutes and passes epoch seconds', () => {
    expect(minuteRange(61_000, 119_000)).toEqual({ fromMs: 60_000, toMs: 120_000 });
    expect(recountParams('p', { fromMs: 60_000, toMs: 120_000 })).toEqual({ projectId: 'p', from: 60, to: 120 });
  });

  it('finds no difference when both sides agree, up to float addition order', () => {
    expect(compareTotals([row({ valueSum: 0.1 + 0.2 })], [row({ valueSum: 0.3 })])).toEqual([]);
  });

  it('reports rows that differ or exist on one side only', () => {
    const diffs = compareTotals([row(), row({ t: 120, events: 5 })], [row({ events: 4 }), row({ dimsKey: 'a=2' })]);
    expect(diffs.map((d) => [d.t, d.dimsKey, d.rollup.events, d.raw.events])).toEqual([
      [60, 'a=1', 3, 4],
      [60, 'a=2', 0, 3],
      [120, 'a=1', 5, 0],
    ]);
  });

  it('parses ClickHouse JSON rows (64-bit integers as strings) and rejects junk', () => {
    expect(parseTotalsRows([{ t: '60', event_type: 'x', dims_key: '', events: '2', bot_events: '0', value_sum: 1.5, bot_value_sum: 0 }])).toEqual([
      { t: 60, eventType: 'x', dimsKey: '', events: 2, botEvents: 0, valueSum: 1.5, botValueSum: 0 },
    ]);
    expect(() => parseTotalsRows([{ t: 'x' }])).toThrow(/recount/);
  });

  it('estimates users from a maxMap result', () => {
    const h = new HyperLogLog({ precision: 12 });
    for (let i = 0; i < 40; i++) h.add(`u${i}`);
    const { idx, val } = registerPairs(h);
    expect(Math.abs(parseUsersEstimate({ users: [idx, val] }) - 40)).toBeLessThanOrEqual(3);
    expect(parseUsersEstimate({ users: [[], []] })).toBe(0);
  });
});
