import { describe, expect, it } from 'vitest';
import { bandOf, DEFAULT_ANOMALY_OPTIONS, flagDaily, flagTrailing, isAnomalous } from './anomaly.ts';

describe('bandOf', () => {
  it('is mean ± sigma·sd with the sample standard deviation', () => {
    const samples = [10, 12, 14, 16, 18, 20, 22, 24];
    const band = bandOf(samples, 2, 8);
    const mean = 17;
    const sd = Math.sqrt(samples.reduce((s, x) => s + (x - mean) ** 2, 0) / 7);
    expect(band?.mean).toBe(mean);
    expect(band?.lower).toBeCloseTo(mean - 2 * sd, 10);
    expect(band?.upper).toBeCloseTo(mean + 2 * sd, 10);
  });

  it('never reaches below zero', () => {
    expect(bandOf([0, 0, 0, 0, 0, 0, 0, 40], 2, 8)?.lower).toBe(0);
  });

  it('gives no band with too few samples', () => {
    expect(bandOf([1, 2, 3], 2, 8)).toBeNull();
  });

  it('floors sigma at sqrt(mean) so a flat baseline does not flag ordinary noise', () => {
    const band = bandOf(Array.from({ length: 10 }, () => 100), 2, 8);
    expect(band).toEqual({ mean: 100, lower: 80, upper: 120 });
    expect(isAnomalous(115, band)).toBe(false);
    expect(isAnomalous(121, band)).toBe(true);
  });
});

describe('flagTrailing', () => {
  it('flags a spike and a drop against the trailing window, not ordinary points', () => {
    const steady = Array.from({ length: 30 }, (_, i) => 100 + ((i * 7) % 11) - 5);
    const spike = flagTrailing(steady, [101, 400, 98], DEFAULT_ANOMALY_OPTIONS);
    expect(spike.map((p) => p.anomaly)).toEqual([false, true, false]);
    expect(spike[0]?.lower).toBeLessThan(101);
    expect(spike[0]?.upper).toBeGreaterThan(101);
    expect(flagTrailing(steady, [2], DEFAULT_ANOMALY_OPTIONS).map((p) => p.anomaly)).toEqual([true]);
  });

  it('lets a spike widen the band for the points after it (the baseline includes it)', () => {
    const steady = Array.from({ length: 30 }, () => 100);
    const [, afterSpike] = flagTrailing(steady, [1000, 100], DEFAULT_ANOMALY_OPTIONS);
    expect((afterSpike?.upper ?? 0) - (afterSpike?.lower ?? 0)).toBeGreaterThan(100);
  });

  it('does not flag before the baseline has enough samples', () => {
    const flagged = flagTrailing([], [1, 1000, 1, 1], DEFAULT_ANOMALY_OPTIONS);
    expect(flagged.every((p) => !p.anomaly && p.lower === undefined)).toBe(true);
  });
});

describe('flagDaily', () => {
  it('compares each point with the same bucket on previous days', () => {
    const days = Array.from({ length: 7 }, (_, d) => [50 + d, 500 + d * 3]);
    const flagged = flagDaily(days, [52, 120], { ...DEFAULT_ANOMALY_OPTIONS, baseline: 'daily' });
    expect(flagged.map((p) => p.anomaly)).toEqual([false, true]);
  });
});
