import { describe, expect, it } from 'vitest';
import {
  collisionDeviation,
  compareCells,
  defaultFaultCounts,
  GroundTruth,
  generateChaosPlan,
  materializeBatch,
  MINUTE_MS,
  resolveOptions,
  Rng,
  topicSeries,
  uniquesBound,
  windowEndOf,
  Zipf,
  type ChaosPlan,
  type MaterializedBatch,
  type ObservedCell,
} from './chaos-generator.ts';
import { dimensionsKey } from './dimensions.ts';
import { fastDimensionsKey } from './dims-key.ts';
import { validateBatch } from './events.ts';
import { DEFAULT_MAX_EVENT_AGE_MS, DEFAULT_MAX_FUTURE_SKEW_MS } from './limits.ts';

const SHORT = resolveOptions({ seed: 7, events: 3000, durationMs: 18_000 });
const LARGE = resolveOptions({ seed: 11, events: 40_000, durationMs: 120_000, projects: 4 });

/** Every fresh batch materialized at its planned send time after `t0`. */
function materializeAll(plan: ChaosPlan, t0: number): MaterializedBatch[] {
  return plan.batches.filter((b) => b.resendOf === null).map((b) => materializeBatch(plan, b, t0 + b.sendAtMs));
}

describe('chaos generator', () => {
  it('is a pure function of its seed and options', () => {
    expect(generateChaosPlan(SHORT)).toEqual(generateChaosPlan(SHORT));
    const other = generateChaosPlan({ ...SHORT, seed: 8 });
    expect(other.batches).not.toEqual(generateChaosPlan(SHORT).batches);
  });

  it('produces the requested mix: out of order, late, resends, malformed, anonymous', () => {
    const { counts, batches } = generateChaosPlan(LARGE);
    expect(counts.items).toBe(40_000);
    expect(counts.valid + counts.malformed).toBe(counts.items);
    const share = (n: number, of: number) => n / of;
    expect(share(counts.outOfOrder, counts.valid)).toBeGreaterThan(0.04);
    expect(share(counts.outOfOrder, counts.valid)).toBeLessThan(0.06);
    // Timing kinds come by quota: the shares are the planned ones up to a few events.
    expect(share(counts.outOfOrder, counts.valid)).toBeCloseTo(0.05, 3);
    expect(share(counts.late, counts.valid)).toBeCloseTo(0.01, 3);
    expect(share(counts.malformed, counts.items)).toBeGreaterThan(0.007);
    expect(share(counts.malformed, counts.items)).toBeLessThan(0.013);
    expect(share(counts.resends, counts.batches)).toBeGreaterThan(0.012);
    expect(share(counts.resends, counts.batches)).toBeLessThan(0.03);
    expect(share(counts.anonymous, counts.valid)).toBeGreaterThan(0.02);
    expect(Object.keys(counts.byDefect).length).toBe(13);
    // Batches are sorted by send time; every resend comes after its original.
    const sendAt = new Map(batches.map((b) => [b.id, b.sendAtMs]));
    for (let i = 1; i < batches.length; i++) expect(batches[i]?.sendAtMs).toBeGreaterThanOrEqual(batches[i - 1]?.sendAtMs ?? 0);
    for (const b of batches) if (b.resendOf !== null) expect(b.sendAtMs).toBeGreaterThan(sendAt.get(b.resendOf) ?? Infinity);
    expect(Math.max(...batches.map((b) => b.items.length))).toBeLessThanOrEqual(1000);
  });

  it('reaches the planned out-of-order and late shares in the short run too (late events only once 5 s of stream is behind)', () => {
    for (const seed of [7, 8, 42]) {
      const plan = generateChaosPlan({ ...SHORT, seed });
      const { valid, outOfOrder, late } = plan.counts;
      expect(Math.abs(outOfOrder - 0.05 * valid)).toBeLessThanOrEqual(SHORT.projects);
      expect(Math.abs(late - 0.01 * valid)).toBeLessThanOrEqual(SHORT.projects + 1);
      for (const batch of plan.batches) {
        if (batch.items.some((item) => item.kind === 'valid' && item.timing === 'late')) expect(batch.sendAtMs).toBeGreaterThanOrEqual(SHORT.timing.lateMinAgeMs + 1000);
      }
    }
  });

  it('draws users from a skewed (Zipf-like) distribution', () => {
    const zipf = new Zipf(500, 1.1);
    const rng = new Rng(1);
    const hits = new Array<number>(500).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const rank = zipf.sample(rng);
      hits[rank] = (hits[rank] ?? 0) + 1;
    }
    const [first = 0] = hits;
    expect(first / (hits[9] ?? 1)).toBeGreaterThan(6);
    expect(first / (hits[99] ?? 1)).toBeGreaterThan(60);
  });

  it('materializes bodies the edge validates exactly as planned: accepted, rejected and their codes', () => {
    const plan = generateChaosPlan(SHORT);
    const t0 = Date.UTC(2026, 10, 23, 10, 0, 30);
    for (const batch of materializeAll(plan, t0)) {
      const result = validateBatch(batch.body, { nowMs: batch.sendMs, newEventId: () => 'minted' });
      expect(result.acceptedIndexes).toEqual(batch.events.map((e) => e.index));
      expect(result.rejected.map((r) => [r.index, r.code])).toEqual(batch.rejections.map((r) => [r.index, r.code]));
      result.accepted.forEach((event, i) => {
        const expected = batch.events[i];
        if (expected === undefined) throw new Error('unreachable');
        expect(event.timestampMs).toBe(expected.timestampMs);
        expect(event.value).toBe(expected.value);
        expect(event.userId ?? event.eventId).toBe(expected.userKey);
        const declared = plan.projects[batch.project]?.declaredDimensions ?? null;
        const kept = Object.fromEntries(Object.entries(event.dimensions).filter(([k]) => declared === null || declared.includes(k)));
        expect(dimensionsKey(kept)).toBe(expected.dimsKey);
        expect(fastDimensionsKey(kept)).toBe(expected.dimsKey);
      });
    }
  });

  it('keeps timestamps inside the accepted range and classifies them by their window', () => {
    const plan = generateChaosPlan(LARGE);
    const t0 = Date.UTC(2026, 10, 23, 10, 0, 0) + 321;
    const maxTsSent = new Map<number, number>();
    let outOfOrderBehind = 0;
    let outOfOrder = 0;
    // Checked per event, asserted once (40,000 expect() calls take seconds).
    const violations: string[] = [];
    for (const batch of materializeAll(plan, t0)) {
      for (const event of batch.events) {
        const where = `${event.eventId} (${event.timing}, ts ${event.timestampMs}, sent ${batch.sendMs})`;
        if (event.timestampMs > batch.sendMs + DEFAULT_MAX_FUTURE_SKEW_MS) violations.push(`${where}: too far in the future`);
        if (event.timestampMs <= batch.sendMs - DEFAULT_MAX_EVENT_AGE_MS) violations.push(`${where}: too old`);
        if (event.timing === 'late') {
          // Its 1-s window closed at least lateMinAge - 1 s before it is sent, and the run had started.
          if (windowEndOf(event.timestampMs, 1000) > batch.sendMs - plan.options.timing.lateMinAgeMs + 1000) violations.push(`${where}: window not closed long enough`);
          if (event.timestampMs < t0 - 1000) violations.push(`${where}: before the run`);
        } else if (windowEndOf(event.timestampMs, 1000) <= batch.sendMs + 1000) {
          // Still open for more than a second after the send starts.
          violations.push(`${where}: window closes within a second of the send`);
        }
      }
      for (const event of batch.events) {
        const before = maxTsSent.get(batch.project) ?? -Infinity;
        if (event.timing === 'out-of-order') {
          outOfOrder++;
          if (event.timestampMs < before) outOfOrderBehind++;
        }
        if (event.timing !== 'late') maxTsSent.set(batch.project, Math.max(before, event.timestampMs));
      }
    }
    expect(violations).toEqual([]);
    // Out of order really means "earlier than something already sent" (but a project's very first events).
    expect(outOfOrderBehind / outOfOrder).toBeGreaterThan(0.99);
  });

  it('plans faults inside the run, and keeps fault-proxy rules of a shard apart from its project outage', () => {
    const plan = generateChaosPlan(LARGE);
    const counts = defaultFaultCounts(LARGE.durationMs);
    const byKind = (kind: string) => plan.faults.filter((f) => f.kind === kind).length;
    expect(byKind('clickhouse-down')).toBe(counts.clickhouseDown);
    expect(byKind('abort-mid-window')).toBe(counts.abortMidWindow);
    expect(byKind('abort-mid-flush')).toBe(counts.abortMidFlush);
    expect(byKind('lost-response')).toBe(counts.lostResponse);
    expect(byKind('duplicate-alarm')).toBe(counts.duplicateAlarm);
    expect(byKind('viewer-disconnect')).toBe(counts.viewerDisconnect);
    for (const fault of plan.faults) {
      expect(fault.atMs).toBeGreaterThanOrEqual(1000);
      expect(fault.atMs).toBeLessThan(LARGE.durationMs);
    }
    const outages = plan.faults.flatMap((f) => (f.kind === 'clickhouse-down' ? [f] : []));
    for (const fault of plan.faults) {
      if (fault.kind !== 'lost-response' && fault.kind !== 'abort-mid-flush') continue;
      for (const o of outages) {
        if (o.project !== fault.project) continue;
        expect(fault.atMs < o.atMs - 1500 || fault.atMs > o.atMs + o.durationMs + 1500).toBe(true);
      }
    }
  });

  it('builds the truth from fresh batches only, with late events counted twice over (events and late_events)', () => {
    const plan = generateChaosPlan(SHORT);
    const truth = new GroundTruth();
    const t0 = Date.UTC(2026, 10, 23, 10, 0, 30);
    const batches = materializeAll(plan, t0);
    for (const batch of batches) truth.add(batch);
    const all = batches.flatMap((b) => b.events);
    let events = 0;
    let late = 0;
    for (let p = 0; p < plan.projects.length; p++) {
      const totals = truth.totals(p);
      events += totals.events;
      late += totals.lateEvents;
    }
    expect(events).toBe(plan.counts.valid);
    expect(events).toBe(all.length);
    expect(late).toBe(plan.counts.late);
    expect(() => truth.add(batches[0] as MaterializedBatch)).toThrow(/planned twice/);
    // The undeclared dimension never reaches a key.
    const declaredProject = plan.projects.findIndex((p) => p.declaredDimensions !== null);
    expect(declaredProject).toBeGreaterThan(0);
    expect([...truth.cells.values()].some((c) => c.dimsKey.includes('experiment'))).toBe(false);
    expect(truth.undeclaredDrops.get(declaredProject)).toBeGreaterThan(0);
  });

  it('names every difference exactly: missing, extra and wrong cells, field by field', () => {
    const truth = new GroundTruth();
    const plan = generateChaosPlan(SHORT);
    const batch = materializeAll(plan, Date.UTC(2026, 10, 23, 10, 0, 30))[0] as MaterializedBatch;
    truth.add(batch);
    const cells = [...truth.cells.values()];
    const observed: ObservedCell[] = cells.map((c) => ({ project: c.project, eventType: c.eventType, dimsKey: c.dimsKey, minuteMs: c.minuteMs, events: c.events, valueSum: c.valueSum, lateEvents: c.lateEvents, botEvents: 0 }));
    expect(compareCells(cells, observed)).toEqual([]);
    const [first, second] = observed;
    if (first === undefined || second === undefined) throw new Error('need two cells');
    first.events += 1;
    observed.splice(1, 1);
    observed.push({ project: 0, eventType: 'ghost', dimsKey: '', minuteMs: 0, events: 2, valueSum: 0, lateEvents: 0, botEvents: 0 });
    const differences = compareCells(cells, observed);
    expect(differences).toContainEqual({ project: first.project, eventType: first.eventType, dimsKey: first.dimsKey, minuteMs: first.minuteMs, field: 'events', expected: first.events - 1, actual: first.events });
    expect(differences).toContainEqual({ project: second.project, eventType: second.eventType, dimsKey: second.dimsKey, minuteMs: second.minuteMs, field: 'events', expected: second.events, actual: 0 });
    expect(differences).toContainEqual({ project: 0, eventType: 'ghost', dimsKey: '', minuteMs: 0, field: 'events', expected: 0, actual: 2 });
  });

  it('computes live topic series per minute from cells', () => {
    const cells = [
      { eventType: 'click', dimsKey: 'country=DE&device=mobile', minuteMs: 0, events: 3, valueSum: 3 },
      { eventType: 'click', dimsKey: 'country=FR', minuteMs: 0, events: 1, valueSum: 1 },
      { eventType: 'page_view', dimsKey: `path=${encodeURIComponent('/checkout?step=2')}`, minuteMs: MINUTE_MS, events: 5, valueSum: 0 },
    ];
    expect([...topicSeries('metrics:click:country:DE', cells)]).toEqual([[0, 3]]);
    expect([...topicSeries('metrics:*', cells)]).toEqual([[0, 4], [MINUTE_MS, 5]]);
    expect([...topicSeries(`metrics:page_view:path:${encodeURIComponent('/checkout?step=2')}`, cells)]).toEqual([[MINUTE_MS, 5]]);
  });

  it('states the uniques bound: +-3, 4 standard errors of p = 12, or the small-set collision tail, whichever is widest', () => {
    expect(uniquesBound(1)).toBe(3);
    expect(uniquesBound(10)).toBe(4);
    expect(uniquesBound(55)).toBe(9);
    expect(uniquesBound(10_000)).toBeCloseTo(650, 6);
    // The tail term: 4 collisions among 55 users (lambda = 0.37) is possible, 9 is not.
    expect(collisionDeviation(55 ** 2 / 8192, 1e-9)).toBe(8);
    expect(collisionDeviation(0, 1e-9)).toBe(0);
  });
});
