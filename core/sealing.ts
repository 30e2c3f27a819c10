/**
 * Sealing: closed panes become 1-minute rollup rows (counts add, sketches
 * merge), and a batch's rows are split into storage parts small enough for
 * one SQLite value each (Durable Object SQLite caps a value at 2 MB).
 */
import { HyperLogLog } from './hll.ts';
import type { GovernanceEntry } from './ingest-batch.ts';
import { addCounts, emptyCounts, minuteStartOf, USER_SKETCH_PRECISION, type PaneCounts } from './panes.ts';
import { clickHouseDateTime, toRollupRow, type GovernanceLandingRow, type MinuteAggregate } from './rollup-rows.ts';
import { registerPairs } from './sketch-registers.ts';
import { windowStartOf } from './windows.ts';

export interface SealedPane extends PaneCounts {
  paneStart: number;
  eventType: string;
  dimsKey: string;
  /** The pane's absolute user sketch (re-sending it is harmless: a union is idempotent), or null. */
  users: HyperLogLog | null;
}

/** Panes of the same minute and group fold into one row: that is the pre-aggregation. */
export function foldIntoMinutes(panes: Iterable<SealedPane>): MinuteAggregate[] {
  const minutes = new Map<string, { counts: PaneCounts; minuteStart: number; eventType: string; dimsKey: string; users: HyperLogLog | null }>();
  for (const pane of panes) {
    const minuteStart = minuteStartOf(pane.paneStart);
    const key = `${minuteStart}\u0000${pane.eventType}\u0000${pane.dimsKey}`;
    let minute = minutes.get(key);
    if (minute === undefined) {
      minute = { counts: emptyCounts(), minuteStart, eventType: pane.eventType, dimsKey: pane.dimsKey, users: null };
      minutes.set(key, minute);
    }
    addCounts(minute.counts, pane);
    if (pane.users !== null) {
      minute.users ??= new HyperLogLog({ precision: USER_SKETCH_PRECISION });
      minute.users.merge(pane.users);
    }
  }
  return [...minutes.values()].map((minute) => ({
    ...minute.counts,
    minuteStart: minute.minuteStart,
    eventType: minute.eventType,
    dimsKey: minute.dimsKey,
    users: minute.users === null ? { idx: [], val: [] } : registerPairs(minute.users),
  }));
}

/** Target size of one stored part: well under the 2 MB SQLite value cap. */
export const PART_TARGET_CHARS = 512 * 1024;

export interface Part {
  /** A JSON array of rows. */
  json: string;
  rows: number;
}

/** JSON arrays of rows, each at most about `targetChars` long (a single larger row gets a part of its own). */
export function splitIntoParts(rows: readonly unknown[], targetChars: number = PART_TARGET_CHARS): Part[] {
  const parts: Part[] = [];
  let current: string[] = [];
  let size = 2;
  const close = (): void => {
    parts.push({ json: `[${current.join(',')}]`, rows: current.length });
    current = [];
    size = 2;
  };
  for (const row of rows) {
    const json = JSON.stringify(row);
    if (current.length > 0 && size + json.length + 1 > targetChars) close();
    current.push(json);
    size += json.length + 1;
  }
  if (current.length > 0) close();
  return parts;
}

export interface SealInput {
  identity: { projectId: string; shard: number };
  windowMs: number;
  panes: readonly SealedPane[];
  governance: readonly GovernanceEntry[];
  /** Raw rows as stored at ingest: ready-made JSON arrays. */
  raw: ReadonlyArray<{ windowStart: number; rowCount: number; rowsJson: string }>;
}

export interface SealedBatchContent {
  /** JSON arrays of landing rows; together, the batch's one insert. */
  parts: string[];
  rowCount: number;
  /** Start of the oldest seal window in the batch (flush lag). */
  oldestWindowStart: number;
}

/** The content of one sealed batch, or null when there is nothing to seal. Deterministic for the same input. */
export function buildSealedBatch(input: SealInput): SealedBatchContent | null {
  const { identity } = input;
  if (input.panes.length === 0 && input.governance.length === 0 && input.raw.length === 0) return null;
  const rollups = foldIntoMinutes(input.panes).map((minute) => toRollupRow(identity.projectId, identity.shard, minute));
  const governance = input.governance.map((entry): GovernanceLandingRow => ({
    kind: 'governance',
    project_id: identity.projectId,
    shard: identity.shard,
    window_start: clickHouseDateTime(minuteStartOf(entry.windowStart)),
    reason: entry.reason,
    dimension: entry.dimension,
    events: entry.events,
  }));
  const parts = splitIntoParts([...rollups, ...governance]).map((part) => part.json);
  parts.push(...input.raw.map((raw) => raw.rowsJson));
  const windows = [...input.panes.map((pane) => pane.paneStart), ...input.governance.map((entry) => entry.windowStart), ...input.raw.map((raw) => raw.windowStart)];
  return {
    parts,
    rowCount: rollups.length + governance.length + input.raw.reduce((sum, raw) => sum + raw.rowCount, 0),
    oldestWindowStart: windowStartOf(Math.min(...windows), input.windowMs),
  };
}
