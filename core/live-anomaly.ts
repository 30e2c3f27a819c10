/**
 * Anomaly flags on live deltas (issue 6.3): the query API's trailing
 * baseline (core/anomaly.ts: mean ± sigma·σ of the previous `window` points,
 * σ floored at √mean and at 1, no band below `minSamples` points), applied to
 * a topic's minute values as the live layer holds them. Pure.
 *
 * Two live-only rules:
 * - Minutes before `oldestKnownMs` are left out of the baseline instead of
 *   counted as 0: the live layer keeps 60 minutes, and an invented zero would
 *   drag the band down (a minute inside the retention without events is a
 *   real 0, as in the query API's zero-filled series).
 * - The minute in progress is only flagged above its band: it is still
 *   filling, so a low value early in the minute is not evidence of anything.
 *   Closed minutes (late events) get the full rule.
 */
import { bandOf, DEFAULT_ANOMALY_OPTIONS, isAnomalous, type AnomalyOptions, type Band } from './anomaly.ts';
import { LIVE_RETENTION_MS, MINUTE_MS, minuteOf } from './live-totals.ts';

export interface LiveFlag {
  anomaly: boolean;
  /** The band, rounded to 0.01 on the wire; absent when the baseline is too short for one. */
  lower?: number;
  upper?: number;
}

/** The first minute the live layer holds completely at `nowMs` (older ones were pruned). */
export function oldestLiveMinute(nowMs: number, retentionMs: number = LIVE_RETENTION_MS): number {
  return minuteOf(nowMs - retentionMs) + MINUTE_MS;
}

/** The trailing band of `minuteMs`: the `window` minutes before it that are at or after `oldestKnownMs`, zero-filled. */
export function trailingLiveBand(
  valueAt: (minuteMs: number) => number,
  minuteMs: number,
  oldestKnownMs: number,
  options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS,
): Band | null {
  const samples: number[] = [];
  for (let back = options.window; back >= 1; back--) {
    const minute = minuteMs - back * MINUTE_MS;
    if (minute >= oldestKnownMs) samples.push(valueAt(minute));
  }
  return bandOf(samples, options.sigma, options.minSamples);
}

/** The flag of one minute's value: `open` while the minute is still in progress. */
export function liveFlag(value: number, band: Band | null, open: boolean): LiveFlag {
  if (band === null) return { anomaly: false };
  return { anomaly: open ? value > band.upper : isAnomalous(value, band), lower: round2(band.lower), upper: round2(band.upper) };
}

/** Band and flag of `minuteMs` of a series held as minute -> value, as of `nowMs`. */
export function flagLiveMinute(valueAt: (minuteMs: number) => number, minuteMs: number, nowMs: number, options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS): LiveFlag {
  const band = trailingLiveBand(valueAt, minuteMs, oldestLiveMinute(nowMs), options);
  return liveFlag(valueAt(minuteMs), band, minuteMs + MINUTE_MS > nowMs);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
