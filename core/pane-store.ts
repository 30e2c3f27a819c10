/**
 * The ShardAggregator's SQLite layout and the pure merge of a batch's group
 * delta into a stored pane row. One `panes` row per (pane, event type,
 * dimension set) holds the running totals (live view, sliding windows), the
 * changes not yet sealed (`u_*`, what the next flush sends) and the pane's
 * user sketch: a batch costs one read and one write per group.
 */
import { HyperLogLog } from './hll.ts';
import { USER_SKETCH_PRECISION, type GroupDelta } from './panes.ts';
import type { SealedPane } from './sealing.ts';

export const SHARD_SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS panes (
    pane_start INTEGER NOT NULL, event_type TEXT NOT NULL, dims_key TEXT NOT NULL,
    events INTEGER NOT NULL, value_sum REAL NOT NULL, bot_events INTEGER NOT NULL, bot_value_sum REAL NOT NULL,
    late_events INTEGER NOT NULL, users BLOB,
    u_events INTEGER NOT NULL, u_value_sum REAL NOT NULL, u_bot_events INTEGER NOT NULL, u_bot_value_sum REAL NOT NULL,
    u_late_events INTEGER NOT NULL, unsealed INTEGER NOT NULL,
    PRIMARY KEY (pane_start, event_type, dims_key));
  CREATE INDEX IF NOT EXISTS panes_unsealed ON panes (unsealed, pane_start);
  CREATE TABLE IF NOT EXISTS dim_values (window_start INTEGER NOT NULL, dimension TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (window_start, dimension, value));
  CREATE TABLE IF NOT EXISTS governance_pending (window_start INTEGER NOT NULL, reason TEXT NOT NULL, dimension TEXT NOT NULL,
    events INTEGER NOT NULL, PRIMARY KEY (window_start, reason, dimension));
  CREATE TABLE IF NOT EXISTS raw_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, window_start INTEGER NOT NULL,
    row_count INTEGER NOT NULL, rows_json TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS raw_pending_by_window ON raw_pending (window_start);
  CREATE TABLE IF NOT EXISTS batches (sequence INTEGER PRIMARY KEY, token TEXT NOT NULL, row_count INTEGER NOT NULL,
    oldest_window_start INTEGER, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sealed_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS batch_parts (sequence INTEGER NOT NULL, part INTEGER NOT NULL, rows_json TEXT NOT NULL,
    PRIMARY KEY (sequence, part));
  -- Dedup of older versions (one row per id); read once on start and pruned, no longer written.
  CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen_at);
  CREATE TABLE IF NOT EXISTS dedup_journal (seen_at INTEGER NOT NULL, seq INTEGER NOT NULL, hashes BLOB NOT NULL,
    PRIMARY KEY (seen_at, seq)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  -- Write-behind: one row per ingest call since the last checkpoint, replayed on load (see ShardAggregator).
  CREATE TABLE IF NOT EXISTS ingest_log (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, events_json TEXT NOT NULL,
    policy_json TEXT, too_old INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS ingest_quarantine (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, events_json TEXT NOT NULL,
    policy_json TEXT, too_old INTEGER NOT NULL, reason TEXT NOT NULL);
`;

/** A `panes` row (SQLite returns BLOBs as ArrayBuffer). A type, not an interface, so it fits SqlStorage's row constraint. */
export type PaneRecord = {
  pane_start: number;
  event_type: string;
  dims_key: string;
  events: number;
  value_sum: number;
  bot_events: number;
  bot_value_sum: number;
  late_events: number;
  users: ArrayBuffer | null;
  u_events: number;
  u_value_sum: number;
  u_bot_events: number;
  u_bot_value_sum: number;
  u_late_events: number;
  unsealed: number;
};

export const UPSERT_PANE_SQL = `INSERT OR REPLACE INTO panes (pane_start, event_type, dims_key, events, value_sum, bot_events, bot_value_sum,
  late_events, users, u_events, u_value_sum, u_bot_events, u_bot_value_sum, u_late_events, unsealed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The row after adding a batch's delta: totals and unsealed changes grow, new users join the sketch. */
export function mergeIntoPane(row: PaneRecord | undefined, group: GroupDelta): PaneRecord {
  let users: ArrayBuffer | null = row?.users ?? null;
  if (group.userHashes.length > 0) {
    const sketch = users === null ? new HyperLogLog({ precision: USER_SKETCH_PRECISION }) : HyperLogLog.deserialize(new Uint8Array(users));
    let changed = users === null;
    const hashes = group.userHashes;
    for (let i = 0; i < hashes.length; i += 2) changed = sketch.addHash(hashes[i] ?? 0, hashes[i + 1] ?? 0) || changed;
    if (changed) users = toArrayBuffer(sketch.serialize());
  }
  return {
    pane_start: group.paneStart,
    event_type: group.eventType,
    dims_key: group.dimsKey,
    events: (row?.events ?? 0) + group.events,
    value_sum: (row?.value_sum ?? 0) + group.valueSum,
    bot_events: (row?.bot_events ?? 0) + group.botEvents,
    bot_value_sum: (row?.bot_value_sum ?? 0) + group.botValueSum,
    late_events: (row?.late_events ?? 0) + group.lateEvents,
    users,
    u_events: (row?.u_events ?? 0) + group.events,
    u_value_sum: (row?.u_value_sum ?? 0) + group.valueSum,
    u_bot_events: (row?.u_bot_events ?? 0) + group.botEvents,
    u_bot_value_sum: (row?.u_bot_value_sum ?? 0) + group.botValueSum,
    u_late_events: (row?.u_late_events ?? 0) + group.lateEvents,
    unsealed: 1,
  };
}

/** Bind values for UPSERT_PANE_SQL, in column order. */
export function paneValues(row: PaneRecord): Array<number | string | ArrayBuffer | null> {
  return [
    row.pane_start, row.event_type, row.dims_key, row.events, row.value_sum, row.bot_events, row.bot_value_sum, row.late_events, row.users,
    row.u_events, row.u_value_sum, row.u_bot_events, row.u_bot_value_sum, row.u_late_events, row.unsealed,
  ];
}

/** What the next flush sends for a row: its unsealed changes, with the pane's whole user sketch (a union is idempotent). */
export function unsealedPart(row: PaneRecord): SealedPane {
  return {
    paneStart: row.pane_start,
    eventType: row.event_type,
    dimsKey: row.dims_key,
    events: row.u_events,
    valueSum: row.u_value_sum,
    botEvents: row.u_bot_events,
    botValueSum: row.u_bot_value_sum,
    lateEvents: row.u_late_events,
    users: row.users === null ? null : HyperLogLog.deserialize(new Uint8Array(row.users)),
  };
}

/** Sketch bytes per sealed batch (its JSON is ~10x that): a batch of saturated sketches stays well inside a 128 MB isolate. */
export const MAX_SKETCH_BYTES_PER_BATCH = 1024 * 1024;

/** The leading rows whose sketches fit the byte budget (at least one); the rest wait for the next batch. */
export function withinBytes(rows: PaneRecord[], budget: number = MAX_SKETCH_BYTES_PER_BATCH): PaneRecord[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += rows[i]?.users?.byteLength ?? 0;
    if (bytes > budget && i > 0) return rows.slice(0, i);
  }
  return rows;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** Column updates of an existing row in place (no delete + insert, so the unsealed index is touched only when `unsealed` changes). */
export const UPSERT_PANE_IN_PLACE_SQL = `INSERT INTO panes (pane_start, event_type, dims_key, events, value_sum, bot_events, bot_value_sum,
  late_events, users, u_events, u_value_sum, u_bot_events, u_bot_value_sum, u_late_events, unsealed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (pane_start, event_type, dims_key) DO UPDATE SET events = excluded.events, value_sum = excluded.value_sum,
  bot_events = excluded.bot_events, bot_value_sum = excluded.bot_value_sum, late_events = excluded.late_events, users = excluded.users,
  u_events = excluded.u_events, u_value_sum = excluded.u_value_sum, u_bot_events = excluded.u_bot_events,
  u_bot_value_sum = excluded.u_bot_value_sum, u_late_events = excluded.u_late_events, unsealed = excluded.unsealed`;

/** A cached pane row plus its live sketch (deserialized once, then added to in place). */
export interface CachedPane {
  row: PaneRecord;
  sketch: HyperLogLog | null;
  /** The sketch gained users since `row.users` was last serialized (done once per checkpoint, not per call: dirtyRows). */
  sketchChanged: boolean;
}

interface CachedPaneStart {
  /** True when the cache holds every stored row of this pane start, so a miss means "no row". */
  complete: boolean;
  byType: Map<string, Map<string, CachedPane>>;
  groups: number;
}

/**
 * Write-through cache of pane rows, by whole pane start: live traffic touches
 * the current pane or two, whose rows then need no SELECT (a new group needs
 * no read at all once its pane start is known to be complete). Bounded by
 * `maxGroups`; over it, the oldest pane starts are dropped whole. The caller
 * must `clear()` when a transaction that wrote through it rolls back, and
 * `dropBefore()` what it changes behind the cache's back (sealing, pruning).
 *
 * Write-behind: rows changed since the last checkpoint are *dirty* and held
 * here until the checkpoint writes them (`dirtyRows`, then `markClean`); they are never
 * trimmed or dropped before that (the ingest log covers them meanwhile).
 */
export class PaneCache {
  private readonly starts = new Map<number, CachedPaneStart>();
  private readonly dirty = new Set<CachedPane>();
  private groups = 0;
  private readonly maxGroups: number;

  constructor(maxGroups: number) {
    this.maxGroups = maxGroups;
  }

  get size(): number {
    return this.groups;
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  markDirty(pane: CachedPane): void {
    this.dirty.add(pane);
  }

  /** The rows changed since the last markClean, with their sketches serialized (once per checkpoint). */
  dirtyRows(): PaneRecord[] {
    const rows: PaneRecord[] = [];
    for (const pane of this.dirty) {
      if (pane.sketchChanged && pane.sketch !== null) pane.row.users = toArrayBuffer(pane.sketch.serialize());
      pane.sketchChanged = false;
      rows.push(pane.row);
    }
    return rows;
  }

  /** The dirty rows as they are in memory (sketches not serialized): the truth for them until the checkpoint. */
  *dirtyRecords(): Iterable<PaneRecord> {
    for (const pane of this.dirty) yield pane.row;
  }

  /** After the checkpoint that wrote dirtyRows() committed. */
  markClean(): void {
    this.dirty.clear();
  }

  /**
   * The cached row of a group, loading it through `load` when the cache cannot
   * know; undefined when no row exists. `hasAnyRow` is asked once per pane start.
   */
  lookup(
    paneStart: number,
    eventType: string,
    dimsKey: string,
    hasAnyRow: (paneStart: number) => boolean,
    load: () => PaneRecord | undefined,
  ): CachedPane | undefined {
    let start = this.starts.get(paneStart);
    if (start === undefined) {
      start = { complete: !hasAnyRow(paneStart), byType: new Map(), groups: 0 };
      this.starts.set(paneStart, start);
    }
    const cached = start.byType.get(eventType)?.get(dimsKey);
    if (cached !== undefined || start.complete) return cached;
    const row = load();
    return row === undefined ? undefined : this.put(row);
  }

  /** Adds (or replaces) a row; its pane start entry must exist (lookup creates it). */
  put(row: PaneRecord, sketch: HyperLogLog | null = null): CachedPane {
    const start = this.starts.get(row.pane_start);
    if (start === undefined) throw new Error('PaneCache.put before lookup');
    let byDims = start.byType.get(row.event_type);
    if (byDims === undefined) {
      byDims = new Map();
      start.byType.set(row.event_type, byDims);
    }
    const cached: CachedPane = { row, sketch, sketchChanged: false };
    if (!byDims.has(row.dims_key)) {
      start.groups++;
      this.groups++;
    }
    byDims.set(row.dims_key, cached);
    return cached;
  }

  /** Drops the oldest pane starts until at most maxGroups rows are cached (never while rows are dirty). */
  trim(): void {
    if (this.dirty.size > 0) return;
    while (this.groups > this.maxGroups && this.starts.size > 0) {
      let oldest = Infinity;
      for (const paneStart of this.starts.keys()) if (paneStart < oldest) oldest = paneStart;
      this.drop(oldest);
    }
  }

  dropBefore(cutoff: number): void {
    if (this.dirty.size > 0) throw new Error('PaneCache.dropBefore with dirty rows: checkpoint first');
    for (const paneStart of [...this.starts.keys()]) if (paneStart < cutoff) this.drop(paneStart);
  }

  /** Forgets everything, dirty rows included: only for a reload from storage. */
  clear(): void {
    this.starts.clear();
    this.dirty.clear();
    this.groups = 0;
  }

  private drop(paneStart: number): void {
    const start = this.starts.get(paneStart);
    if (start === undefined) return;
    this.groups -= start.groups;
    this.starts.delete(paneStart);
  }
}

/**
 * Adds a batch's delta to a cached row in place (or starts a new row) and
 * returns the row plus its live sketch. The sketch is deserialized at most
 * once per cached row; serializing it waits for the checkpoint (dirtyRows).
 */
export function applyToCached(cached: CachedPane | undefined, group: GroupDelta): { row: PaneRecord; sketch: HyperLogLog | null; sketchChanged: boolean; wasUnsealed: boolean } {
  const row: PaneRecord = cached?.row ?? {
    pane_start: group.paneStart, event_type: group.eventType, dims_key: group.dimsKey,
    events: 0, value_sum: 0, bot_events: 0, bot_value_sum: 0, late_events: 0, users: null,
    u_events: 0, u_value_sum: 0, u_bot_events: 0, u_bot_value_sum: 0, u_late_events: 0, unsealed: 0,
  };
  const wasUnsealed = row.unsealed === 1;
  let sketch = cached?.sketch ?? null;
  let sketchChanged = cached?.sketchChanged ?? false;
  if (group.userHashes.length > 0) {
    if (sketch === null) {
      if (row.users === null) {
        sketch = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
        sketchChanged = true;
      } else sketch = HyperLogLog.deserialize(new Uint8Array(row.users));
    }
    const hashes = group.userHashes;
    for (let i = 0; i < hashes.length; i += 2) sketchChanged = sketch.addHash(hashes[i] ?? 0, hashes[i + 1] ?? 0) || sketchChanged;
  }
  addCounts(row, group);
  return { row, sketch, sketchChanged, wasUnsealed };
}

function addCounts(row: PaneRecord, group: GroupDelta): PaneRecord {
  row.events += group.events;
  row.value_sum += group.valueSum;
  row.bot_events += group.botEvents;
  row.bot_value_sum += group.botValueSum;
  row.late_events += group.lateEvents;
  row.u_events += group.events;
  row.u_value_sum += group.valueSum;
  row.u_bot_events += group.botEvents;
  row.u_bot_value_sum += group.botValueSum;
  row.u_late_events += group.lateEvents;
  row.unsealed = 1;
  return row;
}
