import { describe, expect, it } from 'vitest';
import { bandOf, DEFAULT_ANOMALY_OPTIONS, flagTrailing } from './anomaly.ts';
import { flagLiveMinute, liveFlag, oldestLiveMinute, trailingLiveBand } from './live-anomaly.ts';
import { MINUTE_MS } from './live-totals.ts';

const HEAD = Date.UTC(2026, 5, 7, 11, 0);
const series = (values: ReadonlyMap<number, number>) => (minute: number) => values.get(minute) ?? 0;

describe('live anomaly flags', () => {
  it('uses the query API rule: the band of the 30 minutes before, zero-filled', () => {
    const values = new Map<number, number>();
    for (let back = 1; back <= 30; back++) values.set(HEAD - back * MINUTE_MS, back % 2 === 0 ? 12 : 8);
    const band = trailingLiveBand(series(values), HEAD, oldestLiveMinute(HEAD + 5000));
    expect(band).toEqual(bandOf([...values.values()], DEFAULT_ANOMALY_OPTIONS.sigma, DEFAULT_ANOMALY_OPTIONS.minSamples));
    // The same band the query API computes for the point after that history.
    const history = Array.from({ length: 30 }, (_, i) => values.get(HEAD - (30 - i) * MINUTE_MS) ?? 0);
    const [queryPoint] = flagTrailing(history, [40], DEFAULT_ANOMALY_OPTIONS);
    expect(queryPoint).toMatchObject({ anomaly: true, lower: band?.lower, upper: band?.upper });
  });

  it('flags a spike in the current minute, not a normal one', () => {
    const values = new Map<number, number>();
    for (let back = 1; back <= 30; back++) values.set(HEAD - back * MINUTE_MS, 10);
    values.set(HEAD, 60);
    const spike = flagLiveMinute(series(values), HEAD, HEAD + 20_000);
    expect(spike.anomaly).toBe(true);
    // mean 10, σ floored at √10: 10 ± 2·3.16, rounded to 0.01.
    expect(spike).toEqual({ anomaly: true, lower: 3.68, upper: 16.32 });
    values.set(HEAD, 12);
    expect(flagLiveMinute(series(values), HEAD, HEAD + 20_000).anomaly).toBe(false);
  });

  it('flags the minute in progress only above its band; a closed minute also below', () => {
    const band = { mean: 10, lower: 4, upper: 16 };
    expect(liveFlag(1, band, true).anomaly).toBe(false);
    expect(liveFlag(17, band, true).anomaly).toBe(true);
    expect(liveFlag(1, band, false).anomaly).toBe(true);
  });

  it('leaves minutes the live layer no longer holds out of the baseline instead of counting them as 0', () => {
    const now = HEAD + 30_000;
    const oldest = oldestLiveMinute(now);
    expect(oldest).toBe(HEAD - 59 * MINUTE_MS);
    // A late event for a minute 55 minutes back: only 4 earlier minutes are known, too few for a band.
    const minute = HEAD - 55 * MINUTE_MS;
    expect(trailingLiveBand(() => 5, minute, oldest)).toBeNull();
    expect(flagLiveMinute(() => 500, minute, now)).toEqual({ anomaly: false });
  });
});
