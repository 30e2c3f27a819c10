import { describe, expect, it } from 'vitest';
import { LiveTotals, MINUTE_MS } from './live-totals.ts';
import { columnsOf } from './partial-columns.ts';

const T0 = Date.UTC(2026, 5, 7, 11, 25);
const partial = (paneOffsetS: number, events: number, valueSum: number, eventType = 'ad_click', dimsKey = 'campaignId=c1') => ({
  windowStart: T0 + paneOffsetS * 1000,
  eventType,
  dimsKey,
  events,
  valueSum,
});

describe('LiveTotals', () => {
  it('adds sources and keeps each source at its newest (largest-count) partial', () => {
    const totals = new LiveTotals();
    expect(totals.merge(0, [partial(0, 3, 30)], T0)).toHaveLength(1);
    totals.merge(1, [partial(0, 2, 20)], T0);
    // A re-sent or late older partial never lowers a total...
    expect(totals.merge(0, [partial(0, 1, 10)], T0)).toEqual([]);
    expect(totals.merge(0, [partial(0, 3, 30)], T0)).toEqual([]);
    // ...and the diff of a newer one is what moved.
    const [change] = totals.merge(0, [partial(0, 5, -5)], T0);
    expect(change?.diff).toEqual({ events: 2, valueSum: -35 });
    expect(totals.series('ad_click', {}, 0)).toEqual([{ minuteStart: T0, events: 7, valueSum: 15 }]);
  });

  it('folds panes into minutes and filters by event type and dimensions', () => {
    const totals = new LiveTotals();
    totals.merge(0, [partial(0, 1, 1), partial(10, 2, 2), partial(60, 4, 4), partial(0, 8, 8, 'purchase', 'country=US')], T0);
    expect(totals.series(null, {}, 0)).toEqual([
      { minuteStart: T0, events: 11, valueSum: 11 },
      { minuteStart: T0 + MINUTE_MS, events: 4, valueSum: 4 },
    ]);
    expect(totals.series(null, { country: 'US' }, 0)).toEqual([
      { minuteStart: T0, events: 8, valueSum: 8 },
      { minuteStart: T0 + MINUTE_MS, events: 0, valueSum: 0 },
    ]);
    expect(totals.catalog()).toEqual({ eventTypes: ['ad_click', 'purchase'], dimensions: ['campaignId', 'country'] });
    expect(totals.totals(T0 + 5000).map((p) => p.windowStart).sort()).toEqual([T0 + 10_000, T0 + 60_000]);
  });

  it('merges partials as columns exactly as the same partials as objects, skipping malformed entries', () => {
    const groups = [partial(0, 3, 30), partial(10, 2, 2.5, 'purchase', 'country=US'), partial(0, 1, 10), partial(60, 4, 4)];
    const asObjects = new LiveTotals();
    const asColumns = new LiveTotals();
    const changes = asObjects.merge(0, groups, T0);
    expect(asColumns.mergeColumns(0, columnsOf(groups), T0)).toEqual(changes);
    expect(asColumns.series(null, {}, 0)).toEqual(asObjects.series(null, {}, 0));
    const bad = columnsOf([partial(0, 9, 9), partial(10, 9, 9)]);
    bad.events[0] = Number.NaN;
    bad.valueSums[1] = Number.POSITIVE_INFINITY;
    expect(asColumns.mergeColumns(1, bad, T0)).toEqual([]);
  });

  it('finds a pane by its key', () => {
    const totals = new LiveTotals();
    totals.merge(0, [partial(10, 2, 3)], T0);
    totals.merge(1, [partial(10, 1, 1)], T0);
    expect(totals.pane(T0 + 10_000, 'ad_click', 'campaignId=c1')?.total).toEqual({ events: 3, valueSum: 4 });
    expect(totals.pane(T0, 'ad_click', 'campaignId=c1')).toBeUndefined();
  });

  it('drops minutes past the retention and ignores malformed partials', () => {
    const totals = new LiveTotals(10 * MINUTE_MS);
    totals.merge(0, [partial(0, 1, 1), { ...partial(60, 1, 1), events: Number.NaN }], T0);
    totals.prune(T0 + 11 * MINUTE_MS);
    expect(totals.series(null, {}, 0)).toEqual([]);
    expect(totals.merge(0, [partial(0, 9, 9)], T0 + 20 * MINUTE_MS)).toEqual([]);
  });
});
