/**
 * Rows a shard flushes to ClickHouse, kept apart from any client so they
 * unit-test in Node. A flush is ONE insert into the `ingest_landing` table
 * (engine Null); materialized views fan its rows out by `kind` into the
 * rollups, the raw events table and the governance counters (see
 * migrations/clickhouse/0001_rollups.sql), so one dedup token covers all.
 */
import { parseDimensionsKey } from './dimensions.ts';
import type { PaneCounts } from './panes.ts';
import type { RegisterPairs } from './sketch-registers.ts';

/** Table names in one place: SQL never interpolates anything else. */
export const TABLES = {
  landing: 'ingest_landing',
  eventsPerMinute: 'events_1m',
  eventsPerHour: 'events_1h',
  eventsPerDay: 'events_1d',
  rawEvents: 'events_raw',
  governance: 'governance_1m',
} as const;

/** Settings of every flush insert. */
export const FLUSH_INSERT_SETTINGS = {
  // Synchronous: ClickHouse 26 defaults async_insert=1, which would acknowledge before the block is deduplicated and stored.
  async_insert: 0,
  insert_deduplicate: 1,
  // Off (older servers' default), the views' target tables would not drop a retried block: everything would double count.
  deduplicate_blocks_in_dependent_materialized_views: 1,
} as const;

/** A minute of one (event type, dimension set): additive counts plus the users' registers. */
export interface RollupLandingRow {
  kind: 'rollup';
  project_id: string;
  shard: number;
  event_type: string;
  /** 'YYYY-MM-DD hh:mm:ss' in UTC. */
  window_start: string;
  dims_key: string;
  dims: Record<string, string>;
  events: number;
  value_sum: number;
  bot_events: number;
  bot_value_sum: number;
  late_events: number;
  hll_idx: number[];
  hll_val: number[];
}

/** One accepted event, for drill-down and recount (RAW_EVENTS=1). */
export interface RawLandingRow {
  kind: 'raw';
  project_id: string;
  shard: number;
  event_type: string;
  event_id: string;
  /** 'YYYY-MM-DD hh:mm:ss.sss' in UTC. */
  event_time: string;
  received_at: string;
  user_id: string;
  /** Dimensions as sent (after dropping undeclared ones). */
  dims: Record<string, string>;
  /** The key the event was counted under (after folding), so a recount matches rollup rows exactly. */
  dims_key: string;
  value: number;
  bot: 0 | 1;
  late: 0 | 1;
  /** Where the edge placed a browser-key request ('' / 0 when unknown; migration 0003). */
  city: string;
  colo: string;
  timezone: string;
  asn: number;
}

export type GovernanceReason = 'folded' | 'undeclared' | 'too_old';

/** Events whose dimension was folded or dropped, or that the edge rejected as too old. */
export interface GovernanceLandingRow {
  kind: 'governance';
  project_id: string;
  shard: number;
  window_start: string;
  reason: GovernanceReason;
  /** '' for reason too_old. */
  dimension: string;
  events: number;
}

export type LandingRow = RollupLandingRow | RawLandingRow | GovernanceLandingRow;

export interface MinuteAggregate extends PaneCounts {
  minuteStart: number;
  eventType: string;
  dimsKey: string;
  users: RegisterPairs;
}

export function toRollupRow(projectId: string, shard: number, aggregate: MinuteAggregate): RollupLandingRow {
  return {
    kind: 'rollup',
    project_id: projectId,
    shard,
    event_type: aggregate.eventType,
    window_start: clickHouseDateTime(aggregate.minuteStart),
    dims_key: aggregate.dimsKey,
    dims: { ...parseDimensionsKey(aggregate.dimsKey) },
    events: aggregate.events,
    value_sum: aggregate.valueSum,
    bot_events: aggregate.botEvents,
    bot_value_sum: aggregate.botValueSum,
    late_events: aggregate.lateEvents,
    hll_idx: aggregate.users.idx,
    hll_val: aggregate.users.val,
  };
}

export function clickHouseDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

export function clickHouseDateTime64(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 23).replace('T', ' ');
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
