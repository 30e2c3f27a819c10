import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { checkSlidingQuery, mergeSlidingResults, SlidingAccumulator, slidingRange, type PaneRow } from './sliding.ts';

function sketch(...ids: string[]): Uint8Array {
  const h = new HyperLogLog({ precision: 12 });
  for (const id of ids) h.add(id);
  return h.serialize();
}

function row(overrides: Partial<PaneRow>): PaneRow {
  return { eventType: 'click', dimsKey: 'country=DE', events: 1, valueSum: 1, botEvents: 0, sketch: sketch('u1'), ...overrides };
}

describe('slidingRange', () => {
  it('covers whole panes ending with the pane that holds now', () => {
    expect(slidingRange(125_000, 10_000, 300)).toEqual({ fromMs: -170_000, toMs: 130_000 });
    expect(slidingRange(125_000, 10_000, 1)).toEqual({ fromMs: 120_000, toMs: 130_000 });
    expect(slidingRange(125_000, 10_000, 15)).toEqual({ fromMs: 110_000, toMs: 130_000 });
  });
});

describe('checkSlidingQuery', () => {
  it('bounds lastSeconds and filters', () => {
    expect(checkSlidingQuery({ lastSeconds: 300 }).ok).toBe(true);
    expect(checkSlidingQuery({ lastSeconds: 0 }).ok).toBe(false);
    expect(checkSlidingQuery({ lastSeconds: 3601 }).ok).toBe(false);
    expect(checkSlidingQuery({ lastSeconds: 1.5 }).ok).toBe(false);
    const filters = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
    expect(checkSlidingQuery({ lastSeconds: 60, filters }).ok).toBe(false);
  });
});

describe('SlidingAccumulator', () => {
  it('adds counts and merges users of matching panes only', () => {
    const acc = new SlidingAccumulator({ eventType: 'click', filters: { country: 'DE' }, lastSeconds: 300 });
    acc.add(row({ sketch: sketch('u1', 'u2'), events: 2, valueSum: 5 }));
    acc.add(row({ sketch: sketch('u2', 'u3'), events: 3, valueSum: 1, botEvents: 4 }));
    acc.add(row({ dimsKey: 'country=US', sketch: sketch('x') }));
    acc.add(row({ eventType: 'view', sketch: sketch('y') }));
    acc.add(row({ sketch: null, events: 0, valueSum: 0, botEvents: 2 }));
    const result = acc.result({ fromMs: 0, toMs: 10 });
    expect(result).toMatchObject({ fromMs: 0, toMs: 10, events: 5, valueSum: 6, botEvents: 6, uniqueUsers: 3 });
    expect(HyperLogLog.deserialize(result.sketch).count()).toBe(3);
  });

  it('matches every event type for * or no event type', () => {
    const acc = new SlidingAccumulator({ lastSeconds: 60, eventType: '*' });
    acc.add(row({}));
    acc.add(row({ eventType: 'view', sketch: sketch('u9') }));
    expect(acc.result({ fromMs: 0, toMs: 1 }).uniqueUsers).toBe(2);
  });
});

describe('mergeSlidingResults', () => {
  it('adds shard results and unions their users', () => {
    const a = new SlidingAccumulator({ lastSeconds: 60 });
    a.add(row({ sketch: sketch('u1', 'u2') }));
    const b = new SlidingAccumulator({ lastSeconds: 60 });
    b.add(row({ sketch: sketch('u3'), events: 2 }));
    const merged = mergeSlidingResults([a.result({ fromMs: 0, toMs: 1 }), b.result({ fromMs: 0, toMs: 1 })]);
    expect(merged).toMatchObject({ events: 3, uniqueUsers: 3 });
    expect(mergeSlidingResults([])).toBeNull();
  });
});
