/**
 * Live fill of breakdowns. Pure. The shards' pane totals (ShardAggregator
 * liveTotals: every group's running count and sum per pane, flushed or not)
 * are summed per minute for the query's main series and per value of the
 * breakdown dimension, so groups ClickHouse has not seen yet appear too.
 */
import { parseDimensionsKey } from './dimensions.ts';
import { fillFromLive, type BucketGrid, type GroupRows, type LiveMinutes } from './metrics-rows.ts';
import type { MetricsQuery } from './metrics-query.ts';
import type { PartialAggregate } from './protocol.ts';

const MINUTE_MS = 60_000;

export interface LiveBreakdown {
  main: LiveMinutes;
  /** Value of the breakdown dimension ('' when an event has none, as in ClickHouse) -> its minutes. */
  groups: ReadonlyMap<string, LiveMinutes>;
}

type MutableMinutes = Map<number, { events: number; valueSum: number }>;

/** Panes of [sinceMs, endMs) matching the query's event type and filters, summed per minute, whole and per group. */
export function liveBreakdown(
  panes: readonly PartialAggregate[],
  query: Pick<MetricsQuery, 'eventType' | 'filters' | 'endMs'>,
  groupBy: string,
  groupByEventType: boolean,
  sinceMs: number,
): LiveBreakdown {
  const main: MutableMinutes = new Map();
  const groups = new Map<string, MutableMinutes>();
  const filters = Object.entries(query.filters);
  for (const pane of panes) {
    if (pane.windowStart < sinceMs || pane.windowStart >= query.endMs) continue;
    if (query.eventType !== null && pane.eventType !== query.eventType) continue;
    const dimensions = parseDimensionsKey(pane.dimsKey);
    if (!filters.every(([key, value]) => (dimensions[key] ?? '') === value)) continue;
    const minute = pane.windowStart - (pane.windowStart % MINUTE_MS);
    add(main, minute, pane);
    const key = groupByEventType ? pane.eventType : (dimensions[groupBy] ?? '');
    const group = groups.get(key) ?? new Map();
    add(group, minute, pane);
    groups.set(key, group);
  }
  return { main, groups };
}

function add(minutes: MutableMinutes, minute: number, pane: PartialAggregate): void {
  const sum = minutes.get(minute) ?? { events: 0, valueSum: 0 };
  sum.events += pane.events;
  sum.valueSum += pane.valueSum;
  minutes.set(minute, sum);
}

/**
 * Fills ClickHouse's top groups from their live minutes. Values ClickHouse
 * has not seen join as groups of their own while the top N has room (then
 * ClickHouse folded nothing, so they are truly new), largest first; every
 * other live value feeds the `otherLabel` fold. Each bucket keeps the larger
 * of ClickHouse's value and the live one (fillFromLive).
 */
export function fillGroupsFromLive(
  groups: GroupRows[],
  live: LiveBreakdown,
  options: { limit: number; rankBy: 'events' | 'valueSum'; otherLabel: string; like: BucketGrid },
): GroupRows[] {
  const named = groups.filter((group) => group.key !== options.otherLabel);
  let other: GroupRows | undefined = groups.find((group) => group.key === options.otherLabel);
  for (const group of named) {
    const minutes = live.groups.get(group.key);
    if (minutes) fillFromLive(group.buckets, minutes);
  }
  const known = new Set(named.map((group) => group.key));
  const liveOnly = [...live.groups]
    .filter(([key]) => !known.has(key))
    .map(([key, minutes]) => ({ key, minutes, total: [...minutes.values()].reduce((sum, m) => sum + m[options.rankBy], 0) }))
    .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  // A literal fold value (cardinality governance's `__other__`) always goes to the fold.
  const candidates = liveOnly.filter(({ key }) => key !== options.otherLabel);
  const room = other === undefined ? Math.max(0, options.limit - named.length) : 0;
  const addedKeys = new Set(candidates.slice(0, room).map(({ key }) => key));
  const added: GroupRows[] = candidates.slice(0, room).map(({ key, minutes }, i) => {
    const group: GroupRows = { key, rank: named.length + i + 1, buckets: options.like.emptyLike(), usersTotal: null };
    fillFromLive(group.buckets, minutes);
    return group;
  });
  const folded = liveOnly.filter(({ key }) => !addedKeys.has(key));
  if (folded.length > 0) {
    const rest: MutableMinutes = new Map();
    for (const { minutes } of folded) {
      for (const [minute, totals] of minutes) {
        const sum = rest.get(minute) ?? { events: 0, valueSum: 0 };
        sum.events += totals.events;
        sum.valueSum += totals.valueSum;
        rest.set(minute, sum);
      }
    }
    other ??= { key: options.otherLabel, rank: options.limit + 1, buckets: options.like.emptyLike(), usersTotal: null };
    fillFromLive(other.buckets, rest);
  }
  return [...named, ...added, ...(other === undefined ? [] : [other])];
}
