import { describe, expect, it } from 'vitest';
import { readAggregationConfig } from './aggregation-config.ts';

describe('readAggregationConfig', () => {
  it('uses the documented defaults', () => {
    expect(readAggregationConfig({})).toEqual({
      paneMs: 10_000,
      windowMs: 60_000,
      allowedLatenessMs: 60_000,
      flushIntervalMs: 5_000,
      maxDimensionValues: 100,
      dedupHorizonMs: 600_000,
      maxBacklogRows: 250_000,
      rawEvents: false,
    });
  });

  it('reads overrides', () => {
    const config = readAggregationConfig({
      WINDOW_SECONDS: '1', PANE_SECONDS: '1', ALLOWED_LATENESS_SECONDS: '0', MAX_DIMENSION_VALUES: '5',
      DEDUP_HORIZON_SECONDS: '3600', MAX_BACKLOG_ROWS: '10', RAW_EVENTS: '1',
    });
    expect(config).toMatchObject({ paneMs: 1000, windowMs: 1000, allowedLatenessMs: 0, maxDimensionValues: 5, dedupHorizonMs: 3_600_000, maxBacklogRows: 10, rawEvents: true });
  });

  it('fails loudly on settings that cannot work', () => {
    expect(() => readAggregationConfig({ PANE_SECONDS: '7' })).toThrow(/PANE_SECONDS=7 must divide/);
    expect(() => readAggregationConfig({ WINDOW_SECONDS: '1' })).toThrow(/PANE_SECONDS=10 must divide WINDOW_SECONDS=1/);
    expect(() => readAggregationConfig({ DEDUP_HORIZON_SECONDS: '599' })).toThrow(/DEDUP_HORIZON_SECONDS/);
    expect(() => readAggregationConfig({ RAW_EVENTS: 'yes' })).toThrow(/RAW_EVENTS/);
    expect(() => readAggregationConfig({ MAX_DIMENSION_VALUES: '0' })).toThrow(/MAX_DIMENSION_VALUES/);
  });
});
