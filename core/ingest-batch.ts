/**
 * What one ingest request changes: dedup decisions come from a callback,
 * admitted dimension values from an AdmittedValues, and the pane rows the
 * events count into from a PaneCache (whose misses read storage). The batch
 * is left open in the cache: the caller folds it into the rows with
 * PaneCache.applyBatch.
 */
import type { AggregationConfig } from './aggregation-config.ts';
import { GovernedKeyCache, type AdmittedValues, type CompiledPolicy } from './cardinality.ts';
import type { ValidEvent } from './events.ts';
import type { ShardEvent } from './shard-events.ts';
import { fastDimensionsKey } from './dims-key.ts';
import type { PaneCache } from './pane-store.ts';
import { minuteStartOf } from './panes.ts';
import { clickHouseDateTime64, type GovernanceReason, type RawLandingRow } from './rollup-rows.ts';
import { emptyCounters, type ShardCounters } from './shard-health.ts';
import { windowStartOf } from './windows.ts';

export interface GovernanceEntry {
  /** Seal window of the events (arrival window for too_old). */
  windowStart: number;
  reason: GovernanceReason;
  dimension: string;
  events: number;
}

export interface CollectOptions {
  config: AggregationConfig;
  nowMs: number;
  identity: { projectId: string; shard: number };
  policy: CompiledPolicy;
  admitted: AdmittedValues;
  /** Reused across requests (a shard keeps one); must be cleared when admissions roll back. */
  keys: GovernedKeyCache;
  /** Records the id; false when it was already seen within the horizon. */
  markSeen: (eventId: string) => boolean;
  /** The pane rows: each event is staged for its row here (PaneCache.add) and counted at applyBatch. */
  panes: PaneCache;
}

export interface CollectedBatch {
  governance: GovernanceEntry[];
  /** Raw rows per seal window (empty unless RAW_EVENTS=1). */
  raw: Map<number, RawLandingRow[]>;
  counters: ShardCounters;
  maxEventTimeMs: number | null;
}

/** A cache for collectBatch callers that keep none (the canonical key is core/dimensions.ts's). */
export function newKeyCache(): GovernedKeyCache {
  return new GovernedKeyCache(fastDimensionsKey);
}

export function collectBatch(events: readonly ShardEvent[], rejectedTooOld: number | undefined, options: CollectOptions): CollectedBatch {
  const { config, nowMs, identity, policy, admitted } = options;
  const panes = options.panes;
  const keys = options.keys;
  panes.startBatch(config, nowMs);
  const governance = new Map<string, GovernanceEntry>();
  const bump = (windowStart: number, reason: GovernanceReason, dimension: string, count: number): void => {
    const key = `${windowStart}\u0000${reason}\u0000${dimension}`;
    const entry = governance.get(key);
    if (entry) entry.events += count;
    else governance.set(key, { windowStart, reason, dimension, events: count });
  };
  const raw = new Map<number, RawLandingRow[]>();
  const counters = emptyCounters();
  let maxEventTimeMs: number | null = null;

  for (const event of events) {
    if (!options.markSeen(event.eventId)) {
      counters.duplicates++;
      continue;
    }
    counters.accepted++;
    const governed = keys.govern(minuteStartOf(event.timestampMs), event.dimensions, policy, admitted);
    // The answer's fields on the cache (hot), not on `governed` (a cache miss per event), unless something was folded or dropped.
    if (!keys.lastClean) {
      const sealWindow = windowStartOf(event.timestampMs, config.windowMs);
      for (const dimension of governed.folded) bump(sealWindow, 'folded', dimension, 1);
      for (const dimension of governed.dropped) bump(sealWindow, 'undeclared', dimension, 1);
      if (governed.folded.length > 0) counters.foldedEvents++;
      if (governed.dropped.length > 0) counters.droppedDimensionEvents++;
    }
    const dimsKey = keys.lastDimsKey;
    const bot = isBot(event);
    const userKey = event.userId ?? event.eventId;
    const late = panes.add(event.eventType, event.timestampMs, event.value, userKey, dimsKey, keys.lastSlot, keys.lastGeneration, bot);
    if (late) counters.late++;
    if (bot) counters.bots++;
    if (maxEventTimeMs === null || event.timestampMs > maxEventTimeMs) maxEventTimeMs = event.timestampMs;
    if (config.rawEvents) {
      const sealWindow = windowStartOf(event.timestampMs, config.windowMs);
      const geo = event.geo;
      const rows = raw.get(sealWindow) ?? [];
      rows.push({
        kind: 'raw',
        project_id: identity.projectId,
        shard: identity.shard,
        event_type: event.eventType,
        event_id: event.eventId,
        event_time: clickHouseDateTime64(event.timestampMs),
        received_at: clickHouseDateTime64(receivedAt(event, nowMs)),
        user_id: userKey,
        dims: withoutDimensions(event.dimensions, governed.dropped),
        dims_key: dimsKey,
        value: event.value,
        bot: bot ? 1 : 0,
        late: late ? 1 : 0,
        city: geo?.city ?? '',
        colo: geo?.colo ?? '',
        timezone: geo?.timezone ?? '',
        asn: geo?.asn ?? 0,
      });
      raw.set(sealWindow, rows);
    }
  }
  if (rejectedTooOld !== undefined && Number.isInteger(rejectedTooOld) && rejectedTooOld > 0) {
    counters.rejectedTooOld = rejectedTooOld;
    bump(windowStartOf(nowMs, config.windowMs), 'too_old', '', rejectedTooOld);
  }
  return { governance: [...governance.values()], raw, counters, maxEventTimeMs };
}

/** The enriching edge flags bots (EnrichedEventFields); until it does, nothing is a bot. */
export function isBot(event: ValidEvent): boolean {
  return 'bot' in event && event.bot === true;
}

function receivedAt(event: ValidEvent, fallback: number): number {
  return 'receivedAtMs' in event && typeof event.receivedAtMs === 'number' && Number.isFinite(event.receivedAtMs) ? event.receivedAtMs : fallback;
}

function withoutDimensions(dimensions: Readonly<Record<string, string>>, dropped: readonly string[]): Record<string, string> {
  if (dropped.length === 0) return { ...dimensions };
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(dimensions)) if (!dropped.includes(key)) kept[key] = value;
  return kept;
}

export function isGovernanceReason(reason: string): reason is GovernanceReason {
  return reason === 'folded' || reason === 'undeclared' || reason === 'too_old';
}
