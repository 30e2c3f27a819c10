/**
 * Messages between the edge Worker, ShardAggregator and Broadcast objects,
 * and the live WebSocket protocol. Pure types and parsers: no runtime imports.
 */
import type { DimensionPolicy } from './cardinality.ts';
import type { ValidEvent } from './events.ts';

/** Worker -> ShardAggregator: one RPC per shard per request. */
export interface ShardIngestRequest {
  projectId: string;
  shard: number;
  /**
   * Events may carry the optional EnrichedEventFields too; the shard reads them when present.
   * Exactly one of `events` and `eventsJson` is set.
   */
  events?: ValidEvent[];
  /** The same events as one JSON array string: what the edge sends (one string crosses RPC far cheaper than an array of objects). */
  eventsJson?: string;
  /** The project's declared dimensions and K; omitted = every dimension, K = MAX_DIMENSION_VALUES. */
  dimensionPolicy?: DimensionPolicy;
  /** Events of this request the edge rejected as too old, counted in the shard's health (per arrival window). */
  rejectedTooOld?: number;
}

/** Fields the enriching edge adds to a ValidEvent (optional until it sends them). */
export interface EnrichedEventFields {
  /** Counted apart (bot_events) and kept out of human metrics and user sketches. */
  bot?: boolean;
  /** Edge receive time, epoch ms (raw events' received_at). */
  receivedAtMs?: number;
  /** City, colo, time zone and ASN of a browser-key request (raw events only; see core/enrich.ts RawGeo). */
  geo?: { city?: string; colo?: string; timezone?: string; asn?: number };
}

export interface ShardIngestResult {
  accepted: number;
  /** Same eventId already counted within the dedup horizon. */
  duplicates: number;
  /** Events whose window had already closed: recorded as adjustment rows. */
  late: number;
  /** Accepted events flagged as bots. */
  bots?: number;
  /** Accepted events with a dimension value folded into `__other__`. */
  foldedEvents?: number;
  /** Accepted events with an undeclared dimension dropped. */
  droppedDimensionEvents?: number;
}

/** A shard's running total for one (window, event type, dimension set). */
export interface PartialAggregate {
  windowStart: number;
  eventType: string;
  dimsKey: string;
  events: number;
  valueSum: number;
}

/**
 * Partials column by column (entry i of each column is one group): how a
 * shard's pane cache hands over the groups that changed, with no object per
 * group (core/partial-columns.ts).
 */
export interface PartialColumns {
  windowStarts: Float64Array;
  eventTypes: string[];
  dimsKeys: string[];
  events: Float64Array;
  valueSums: Float64Array;
}

/** ShardAggregator -> Combiner: absolute partials, so a re-sent push is harmless. `columns` are further groups, as columns. */
export interface ShardPartials {
  projectId: string;
  shard: number;
  windowMs: number;
  groups: PartialAggregate[];
  columns?: PartialColumns;
}

/** Server -> viewer: the value of a topic's window so far (absolute, not an increment). */
export interface LiveDelta {
  topic: string;
  windowStart: string;
  windowEnd: string;
  value: number;
  timestamp: string;
  seq: number;
  /** The value leaves its trailing band (core/live-anomaly.ts); the band itself when there is one. */
  anomaly: boolean;
  lower?: number;
  upper?: number;
}
