/** Shapes of rows written to ClickHouse, kept apart from any client so they unit-test in Node. */
import { parseDimensionsKey } from './dimensions.ts';

/** Table names in one place: SQL never interpolates anything else. */
export const TABLES = {
  eventsPerMinute: 'events_1m',
} as const;

/** A row of `events_1m` as JSONEachRow. */
export interface RollupRow {
  project_id: string;
  event_type: string;
  /** 'YYYY-MM-DD hh:mm:ss' in UTC. */
  window_start: string;
  dims_key: string;
  dims: Record<string, string>;
  events: number;
  value_sum: number;
  late_events: number;
}

export interface WindowAggregate {
  windowStart: number;
  eventType: string;
  dimsKey: string;
  events: number;
  valueSum: number;
  lateEvents: number;
}

const MINUTE_MS = 60_000;

/** Panes shorter than a minute land in their minute's row; the table sums them. */
export function toRollupRow(projectId: string, aggregate: WindowAggregate): RollupRow {
  const minuteStart = aggregate.windowStart - (aggregate.windowStart % MINUTE_MS);
  return {
    project_id: projectId,
    event_type: aggregate.eventType,
    window_start: clickHouseDateTime(minuteStart),
    dims_key: aggregate.dimsKey,
    dims: { ...parseDimensionsKey(aggregate.dimsKey) },
    events: aggregate.events,
    value_sum: aggregate.valueSum,
    late_events: aggregate.lateEvents,
  };
}

export function clickHouseDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Deterministic: the same sealed batch always carries the same token. The
 * incarnation (random, minted when a shard's storage is first created) keeps
 * a shard whose storage was wiped from reusing an old token for new rows,
 * which ClickHouse would silently drop as a duplicate.
 */
export function dedupToken(projectId: string, shard: number, incarnation: string, sequence: number): string {
  return `edgepulse:${projectId}:${shard}:${incarnation}:${sequence}`;
}
