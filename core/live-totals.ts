/**
 * Running pane totals merged across sources: shards in a Combiner, combiners
 * in the root Broadcast. Pure and in memory; both objects rebuild it from the
 * level below after an eviction.
 *
 * Merge rule: a source sends absolute running totals per (pane, event type,
 * dimension set). Within one source the human event count of a pane only
 * grows and moves together with its value sum, so the partial with more
 * events is the newer one: a late or repeated push never lowers a total,
 * even for negative values. Counts and sums of sources add, since shards
 * partition events. (Unique users would add too, as shards partition users
 * by the shard key; partials carry no sketches today.)
 */
import { parseDimensionsKey } from './dimensions.ts';
import { columnsLength } from './partial-columns.ts';
import type { PartialAggregate, PartialColumns } from './protocol.ts';

export const MINUTE_MS = 60_000;
export const LIVE_RETENTION_MS = 60 * MINUTE_MS;

export interface Counts {
  events: number;
  valueSum: number;
}

export interface PaneTotal {
  paneStart: number;
  minuteStart: number;
  eventType: string;
  dimsKey: string;
  dimensions: Record<string, string>;
  /** Latest partial per source. */
  readonly bySource: Map<number, Counts>;
  /** Sum over sources. */
  total: Counts;
}

/** A pane total that moved, by how much. */
export interface PaneChange {
  pane: PaneTotal;
  diff: Counts;
}

export function minuteOf(timestampMs: number): number {
  return timestampMs - (((timestampMs % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/** The key of one (pane start, event type, dimension set) group, as every live stage keys its maps. */
export function paneGroupKey(paneStart: number, eventType: string, dimsKey: string): string {
  return `${paneStart}\u0000${eventType}\u0000${dimsKey}`;
}

export class LiveTotals {
  /** minute start -> pane key -> pane total. */
  private readonly minutes = new Map<number, Map<string, PaneTotal>>();

  readonly retentionMs: number;

  constructor(retentionMs: number = LIVE_RETENTION_MS) {
    this.retentionMs = retentionMs;
  }

  /** Merges one source's partials; returns the panes whose totals changed. */
  merge(source: number, partials: readonly PartialAggregate[], nowMs: number): PaneChange[] {
    const changes: PaneChange[] = [];
    for (const partial of partials) {
      if (isPartial(partial)) this.mergeOne(source, partial.windowStart, partial.eventType, partial.dimsKey, partial.events, partial.valueSum, nowMs, changes);
    }
    return changes;
  }

  /** merge for partials as columns (what shards push). */
  mergeColumns(source: number, columns: PartialColumns, nowMs: number): PaneChange[] {
    const changes: PaneChange[] = [];
    for (let i = 0; i < columnsLength(columns); i++) {
      const windowStart = columns.windowStarts[i] ?? Number.NaN;
      const eventType = columns.eventTypes[i];
      const dimsKey = columns.dimsKeys[i];
      const events = columns.events[i] ?? Number.NaN;
      const valueSum = columns.valueSums[i] ?? Number.NaN;
      if (typeof eventType === 'string' && typeof dimsKey === 'string' && isPartialNumbers(windowStart, events, valueSum)) {
        this.mergeOne(source, windowStart, eventType, dimsKey, events, valueSum, nowMs, changes);
      }
    }
    return changes;
  }

  private mergeOne(source: number, windowStart: number, eventType: string, dimsKey: string, events: number, valueSum: number, nowMs: number, changes: PaneChange[]): void {
    if (windowStart < nowMs - this.retentionMs) return;
    const minuteStart = minuteOf(windowStart);
    let panes = this.minutes.get(minuteStart);
    if (panes === undefined) {
      panes = new Map();
      this.minutes.set(minuteStart, panes);
    }
    const key = paneGroupKey(windowStart, eventType, dimsKey);
    let pane = panes.get(key);
    if (pane === undefined) {
      pane = {
        paneStart: windowStart,
        minuteStart,
        eventType,
        dimsKey,
        dimensions: parseDimensionsKey(dimsKey),
        bySource: new Map(),
        total: { events: 0, valueSum: 0 },
      };
      panes.set(key, pane);
    }
    const previous = pane.bySource.get(source);
    if (previous !== undefined && previous.events >= events) return;
    const diff = { events: events - (previous?.events ?? 0), valueSum: valueSum - (previous?.valueSum ?? 0) };
    pane.bySource.set(source, { events, valueSum });
    pane.total = { events: pane.total.events + diff.events, valueSum: pane.total.valueSum + diff.valueSum };
    changes.push({ pane, diff });
  }

  /** The pane total of (pane start, event type, dimension set), if retained. */
  pane(paneStart: number, eventType: string, dimsKey: string): PaneTotal | undefined {
    return this.minutes.get(minuteOf(paneStart))?.get(paneGroupKey(paneStart, eventType, dimsKey));
  }

  prune(nowMs: number): void {
    for (const minuteStart of this.minutes.keys()) {
      if (minuteStart + MINUTE_MS <= nowMs - this.retentionMs) this.minutes.delete(minuteStart);
    }
  }

  *panes(sinceMs = -Infinity): IterableIterator<PaneTotal> {
    for (const [minuteStart, panes] of this.minutes) {
      if (minuteStart + MINUTE_MS <= sinceMs) continue;
      yield* panes.values();
    }
  }

  /** Each source's events per minute, minutes from `sinceMs`'s on (what a combiner's settle compares with its shards' digests). */
  sourceEventsByMinute(sinceMs: number): Map<number, Map<number, number>> {
    const since = minuteOf(sinceMs);
    const bySource = new Map<number, Map<number, number>>();
    for (const [minuteStart, panes] of this.minutes) {
      if (minuteStart < since) continue;
      for (const pane of panes.values()) {
        for (const [source, counts] of pane.bySource) {
          let minutes = bySource.get(source);
          if (minutes === undefined) {
            minutes = new Map();
            bySource.set(source, minutes);
          }
          minutes.set(minuteStart, (minutes.get(minuteStart) ?? 0) + counts.events);
        }
      }
    }
    return bySource;
  }

  /** As PartialAggregates of the summed totals (what a combiner passes up). */
  totals(sinceMs: number): PartialAggregate[] {
    const out: PartialAggregate[] = [];
    for (const pane of this.panes(sinceMs)) {
      if (pane.paneStart < sinceMs) continue;
      out.push(toPartial(pane));
    }
    return out;
  }

  /** Per-minute totals since `sinceMs` for an event type (null = all) and dimension filters. */
  series(eventType: string | null, filters: Readonly<Record<string, string>>, sinceMs: number): Array<{ minuteStart: number; events: number; valueSum: number }> {
    const series: Array<{ minuteStart: number; events: number; valueSum: number }> = [];
    const filterEntries = Object.entries(filters);
    for (const [minuteStart, panes] of [...this.minutes].sort(([a], [b]) => a - b)) {
      if (minuteStart < sinceMs) continue;
      let events = 0;
      let valueSum = 0;
      for (const pane of panes.values()) {
        if (eventType !== null && pane.eventType !== eventType) continue;
        if (!filterEntries.every(([key, value]) => pane.dimensions[key] === value)) continue;
        events += pane.total.events;
        valueSum += pane.total.valueSum;
      }
      series.push({ minuteStart, events, valueSum });
    }
    return series;
  }

  catalog(): { eventTypes: string[]; dimensions: string[] } {
    const eventTypes = new Set<string>();
    const dimensions = new Set<string>();
    for (const pane of this.panes()) {
      eventTypes.add(pane.eventType);
      for (const key of Object.keys(pane.dimensions)) dimensions.add(key);
    }
    return { eventTypes: [...eventTypes].sort(), dimensions: [...dimensions].sort() };
  }
}

export function toPartial(pane: PaneTotal): PartialAggregate {
  return { windowStart: pane.paneStart, eventType: pane.eventType, dimsKey: pane.dimsKey, events: pane.total.events, valueSum: pane.total.valueSum };
}

/** RPC arguments are structured clones from our own objects, but a bad one must not poison the totals. */
function isPartial(value: PartialAggregate): boolean {
  return typeof value.eventType === 'string' && typeof value.dimsKey === 'string' && isPartialNumbers(value.windowStart, value.events, value.valueSum);
}

function isPartialNumbers(windowStart: number, events: number, valueSum: number): boolean {
  return Number.isFinite(windowStart) && Number.isFinite(events) && events >= 0 && Number.isFinite(valueSum);
}
