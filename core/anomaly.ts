/**
 * Anomaly bands (seed 001): a point is flagged when it leaves
 * mean ± k·σ of its baseline. Two baselines:
 * - `trailing`: the previous `window` points of the same series (reacts to
 *   trends; the default, since it needs no history beyond the chart);
 * - `daily`: the same bucket on each of the previous `days` days (respects
 *   daily seasonality; needs that history, and the query fetches it).
 * Baselines with fewer than `minSamples` points give no band and no flag,
 * σ has a floor so a perfectly flat baseline does not flag every wobble, and
 * the lower edge never goes below zero.
 */
export type BaselineKind = 'trailing' | 'daily';

export interface AnomalyOptions {
  baseline: BaselineKind;
  /** Trailing: points in the baseline window. */
  window: number;
  /** Daily: number of previous days. */
  days: number;
  /** Band half-width in standard deviations. */
  sigma: number;
  minSamples: number;
}

export const DEFAULT_ANOMALY_OPTIONS: AnomalyOptions = { baseline: 'trailing', window: 30, days: 7, sigma: 2, minSamples: 8 };

export interface Band {
  mean: number;
  lower: number;
  upper: number;
}

export interface FlaggedPoint {
  value: number;
  anomaly: boolean;
  lower?: number;
  upper?: number;
}

export function bandOf(samples: readonly number[], sigma: number, minSamples: number): Band | null {
  if (samples.length < minSamples) return null;
  let sum = 0;
  for (const sample of samples) sum += sample;
  const mean = sum / samples.length;
  let squares = 0;
  for (const sample of samples) squares += (sample - mean) ** 2;
  // Sample standard deviation, floored: counts are Poisson-like, so never tighter than sqrt(mean), and at least 1.
  const sd = Math.max(Math.sqrt(squares / Math.max(1, samples.length - 1)), Math.sqrt(Math.max(mean, 0)), 1);
  // Every measure here (counts, sums of non-negative values, uniques) is >= 0: so is the band.
  return { mean, lower: Math.max(0, mean - sigma * sd), upper: mean + sigma * sd };
}

export function isAnomalous(value: number, band: Band | null): boolean {
  return band !== null && (value < band.lower || value > band.upper);
}

/**
 * Trailing baseline. `history` holds the points before `values[0]` (at least
 * `window` of them for the first point to get a band).
 */
export function flagTrailing(history: readonly number[], values: readonly number[], options: AnomalyOptions): FlaggedPoint[] {
  const all = [...history, ...values];
  return values.map((value, i) => {
    const end = history.length + i;
    const band = bandOf(all.slice(Math.max(0, end - options.window), end), options.sigma, options.minSamples);
    return withBand(value, band);
  });
}

/** Daily baseline: `previousDays[d][i]` is the value of point i's bucket d+1 days earlier. */
export function flagDaily(previousDays: readonly (readonly number[])[], values: readonly number[], options: AnomalyOptions): FlaggedPoint[] {
  return values.map((value, i) => {
    const samples = previousDays.map((day) => day[i]).filter((sample): sample is number => sample !== undefined);
    return withBand(value, bandOf(samples, options.sigma, Math.min(options.minSamples, options.days)));
  });
}

function withBand(value: number, band: Band | null): FlaggedPoint {
  return band === null ? { value, anomaly: false } : { value, anomaly: isAnomalous(value, band), lower: band.lower, upper: band.upper };
}
