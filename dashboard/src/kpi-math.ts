/** KPI arithmetic on live series. Pure. */
import type { MinuteSeries } from './series.ts';
import { MINUTE_MS, SECOND_MS } from './time.ts';

/** Never divide the current minute by less than this, or the first events look like a flood. */
const MIN_ELAPSED_MS = 5 * SECOND_MS;

/**
 * Events per second over the last 60 s: this minute so far plus the
 * not-yet-elapsed share of the previous minute (assumed uniform). Early in a
 * minute with no previous value known, divides by the time elapsed instead.
 */
export function eventsPerSecond(series: MinuteSeries, serverNow: number): number | null {
  const head = series.headMs;
  const current = series.valueAt(head);
  if (current === null) return null;
  const elapsed = Math.min(MINUTE_MS, Math.max(0, serverNow - head));
  const previous = series.valueAt(head - MINUTE_MS);
  if (previous === null) return current / (Math.max(MIN_ELAPSED_MS, elapsed) / SECOND_MS);
  return (current + previous * (1 - elapsed / MINUTE_MS)) / 60;
}

/** Sum of the newest `minutes` windows; null when none of them is known. */
export function recentSum(series: MinuteSeries, minutes: number): { value: number; complete: boolean } | null {
  const { sum, unknown } = series.sumLast(minutes);
  if (unknown >= Math.min(minutes, series.minutes)) return null;
  return { value: sum, complete: unknown === 0 };
}

/** errors / all events over the newest `minutes` windows; null when nothing is known or no events. */
export function errorRate(errors: MinuteSeries, all: MinuteSeries, minutes: number): { rate: number; errors: number; events: number } | null {
  const e = recentSum(errors, minutes);
  const a = recentSum(all, minutes);
  if (e === null || a === null || a.value <= 0) return null;
  return { rate: Math.min(1, e.value / a.value), errors: e.value, events: a.value };
}
