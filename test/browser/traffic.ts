/**
 * The browser tests' data: back-dated history (recorded as late events and
 * flushed to ClickHouse at once) with a known shape, so every figure the
 * tests read is exact.
 *
 * - page_view, minutes head-20 .. head-3: 3 events/min from US (DESKTOP,
 *   camp_a) and 2 events/min from DE (MOBILE, camp_b): 54 US + 36 DE.
 * - checkout (the anomaly probe), minutes head-90 .. head-5: 4, 5, 6, 5, …
 *   events/min (mean 5, sd ~0.7), country FR; then a spike of 150 events in
 *   minute head-4. Anything that reads "mean ± 2 sd of a trailing baseline"
 *   flags head-4 (and live deltas for it, if any, too).
 * - error, minutes head-12 .. head-3: 1 event/min from JP (users e0..e9),
 *   so the error-rate tile has something to show.
 */
import type { TestEvent } from './harness.ts';

export const MINUTE_MS = 60_000;
export const US_PER_MINUTE = 3;
export const DE_PER_MINUTE = 2;
export const PAGE_VIEW_MINUTES = { from: 20, to: 3 };
export const CHECKOUT_BASELINE = { from: 90, to: 5 };
export const SPIKE_OFFSET_MINUTES = 4;
export const SPIKE_EVENTS = 150;
export const ERROR_MINUTES = { from: 12, to: 3 };
const BASELINE_CYCLE = [4, 5, 6, 5];

export interface SeededHistory {
  head: number;
  events: TestEvent[];
  pageViews: { us: number; de: number };
  checkouts: number;
  errors: number;
  spikeMinute: number;
}

export function seededHistory(now: number): SeededHistory {
  const head = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const events: TestEvent[] = [];
  let user = 0;
  const at = (minute: number, i: number): number => minute + 1000 + i * 97; // inside the minute, spread a little
  let us = 0;
  let de = 0;
  for (let m = PAGE_VIEW_MINUTES.from; m >= PAGE_VIEW_MINUTES.to; m--) {
    const minute = head - m * MINUTE_MS;
    for (let i = 0; i < US_PER_MINUTE; i++, us++) {
      events.push({ eventType: 'page_view', timestamp: at(minute, i), userId: `u${user++ % 40}`, dimensions: { country: 'US', deviceType: 'DESKTOP', campaignId: 'camp_a' } });
    }
    for (let i = 0; i < DE_PER_MINUTE; i++, de++) {
      events.push({ eventType: 'page_view', timestamp: at(minute, i + 10), userId: `u${user++ % 40}`, dimensions: { country: 'DE', deviceType: 'MOBILE', campaignId: 'camp_b' } });
    }
  }
  let checkouts = 0;
  for (let m = CHECKOUT_BASELINE.from; m >= CHECKOUT_BASELINE.to; m--) {
    const minute = head - m * MINUTE_MS;
    const n = BASELINE_CYCLE[m % BASELINE_CYCLE.length] ?? 5;
    for (let i = 0; i < n; i++, checkouts++) events.push({ eventType: 'checkout', timestamp: at(minute, i), userId: `c${checkouts % 25}`, dimensions: { country: 'FR', deviceType: 'DESKTOP' } });
  }
  const spikeMinute = head - SPIKE_OFFSET_MINUTES * MINUTE_MS;
  for (let i = 0; i < SPIKE_EVENTS; i++, checkouts++) {
    events.push({ eventType: 'checkout', timestamp: spikeMinute + 500 + i * 300, userId: `s${i}`, dimensions: { country: 'FR', deviceType: i % 2 === 0 ? 'DESKTOP' : 'MOBILE' } });
  }
  let errors = 0;
  for (let m = ERROR_MINUTES.from; m >= ERROR_MINUTES.to; m--, errors++) {
    events.push({ eventType: 'error', timestamp: at(head - m * MINUTE_MS, 20), userId: `e${errors}`, dimensions: { country: 'JP', deviceType: 'DESKTOP' } });
  }
  return { head, events, pageViews: { us, de }, checkouts, errors, spikeMinute };
}

/** Events "now", for the live KPI check and as background traffic. */
export function liveEvents(count: number, country = 'US'): TestEvent[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    eventType: 'page_view',
    timestamp: now,
    userId: `live${i % 30}`,
    dimensions: { country, deviceType: 'DESKTOP', campaignId: 'camp_a' },
  }));
}
