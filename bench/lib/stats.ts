/** Small statistics helpers shared by the benches. */

/** Nearest-rank percentile (p in [0, 100]) of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export interface LatencySummary {
  count: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  const s = Float64Array.from(latenciesMs).sort();
  return {
    count: s.length,
    mean_ms: round(mean(latenciesMs), 4),
    p50_ms: round(percentile(s, 50), 4),
    p90_ms: round(percentile(s, 90), 4),
    p99_ms: round(percentile(s, 99), 4),
    max_ms: round(s[s.length - 1] ?? Number.NaN, 4),
  };
}

/** Relative spread (max - min) / median of repeated measurements. */
export function relativeSpread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

/** Rounds to `digits` significant digits; keeps NaN/Infinity out of JSON by turning them into null. */
export function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : (null as unknown as number);
}
