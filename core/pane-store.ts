/**
 * The ShardAggregator's SQLite layout and its in-memory pane rows. One
 * `panes` row per (pane, event type, dimension set) holds the running totals
 * (live view, sliding windows), the changes not yet sealed (`u_*`, what the
 * next flush sends) and the pane's user sketch. Batches add to cached rows
 * (PaneCache); a checkpoint writes the changed ones.
 */
import { columnsFor, putGroup, trimmedColumns } from './partial-columns.ts';
import { grownInt32, Int32List } from './typed-arrays.ts';
import { HyperLogLog, sparseEntry, sparseLimitFor } from './hll.ts';
import { hash64Into } from './hash64.ts';
import { closedThrough, closeTimeOf, USER_SKETCH_PRECISION, type PaneTiming } from './panes.ts';
import type { PartialAggregate, PartialColumns } from './protocol.ts';
import type { SealedPane } from './sealing.ts';
import { windowStartOf } from './windows.ts';

/**
 * The panes table, `name` so a migration can build it under another name.
 * WITHOUT ROWID and a partial index of the unsealed rows: SQLite-backed
 * objects are billed per row written, index rows included, and this layout
 * writes a pane row's key once (no separate primary-key index) and its
 * unsealed-index entry only while it is unsealed (none to delete at prune).
 */
export function panesTableSql(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
    pane_start INTEGER NOT NULL, event_type TEXT NOT NULL, dims_key TEXT NOT NULL,
    events INTEGER NOT NULL, value_sum REAL NOT NULL, bot_events INTEGER NOT NULL, bot_value_sum REAL NOT NULL,
    late_events INTEGER NOT NULL, users BLOB,
    u_events INTEGER NOT NULL, u_value_sum REAL NOT NULL, u_bot_events INTEGER NOT NULL, u_bot_value_sum REAL NOT NULL,
    u_late_events INTEGER NOT NULL, unsealed INTEGER NOT NULL,
    PRIMARY KEY (pane_start, event_type, dims_key)) WITHOUT ROWID`;
}

export const PANES_UNSEALED_INDEX_SQL = 'CREATE INDEX IF NOT EXISTS panes_unsealed_by_start ON panes (pane_start) WHERE unsealed = 1';

/** Every column of a panes row, in table order (for copying between layouts). */
export const PANE_COLUMNS = 'pane_start, event_type, dims_key, events, value_sum, bot_events, bot_value_sum, late_events, users, ' +
  'u_events, u_value_sum, u_bot_events, u_bot_value_sum, u_late_events, unsealed';

/**
 * Moves a panes table of the first layout (a rowid table with a separate
 * primary-key index and a full (unsealed, pane_start) index) to the current
 * one, rows unchanged. Run inside a transaction; a no-op once done.
 */
export const UPGRADE_PANES_SQL = [
  panesTableSql('panes_next'),
  `INSERT INTO panes_next (${PANE_COLUMNS}) SELECT ${PANE_COLUMNS} FROM panes`,
  'DROP TABLE panes',
  'ALTER TABLE panes_next RENAME TO panes',
  PANES_UNSEALED_INDEX_SQL,
];

export const SHARD_SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  ${panesTableSql('panes')};
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

export type PaneBindValue = number | string | ArrayBuffer | null;

/** Bind values for UPSERT_PANE_SQL, in column order. */
export function paneValues(row: PaneRecord): PaneBindValue[] {
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

/** Column updates of an existing row in place (no delete + insert, so the unsealed index is touched only when `unsealed` changes). */
export const UPSERT_PANE_IN_PLACE_SQL = `INSERT INTO panes (pane_start, event_type, dims_key, events, value_sum, bot_events, bot_value_sum,
  late_events, users, u_events, u_value_sum, u_bot_events, u_bot_value_sum, u_late_events, unsealed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (pane_start, event_type, dims_key) DO UPDATE SET events = excluded.events, value_sum = excluded.value_sum,
  bot_events = excluded.bot_events, bot_value_sum = excluded.bot_value_sum, late_events = excluded.late_events, users = excluded.users,
  u_events = excluded.u_events, u_value_sum = excluded.u_value_sum, u_bot_events = excluded.u_bot_events,
  u_bot_value_sum = excluded.u_bot_value_sum, u_late_events = excluded.u_late_events, unsealed = excluded.unsealed`;

/** What the cache reads from storage on a miss: the shard's SQLite, or nothing for a cache that holds every row. */
export interface StoredPanes {
  /** Whether storage holds any row of this pane start (asked once per cached pane start). */
  hasAnyRow(paneStart: number): boolean;
  load(paneStart: number, eventType: string, dimsKey: string): PaneRecord | undefined;
}

export const NO_STORED_PANES: StoredPanes = { hasAnyRow: () => false, load: () => undefined };

/**
 * A cached row's numbers, ROW_STRIDE per row in one Float64Array: no object
 * (and no boxed double) per row, and an event touches one stretch of memory.
 * The first eight (one cache line) are all a human event without a value
 * reads or writes (one with a value adds to U_VALUE_SUM too); the unsealed
 * counts are derived (total - sealed), so an event adds to one count, not
 * two. A row's flags (rowState) and pane start (paneStarts) are in arrays of
 * their own: applyBatch reads them for every row a batch touched, and they
 * are small enough to stay in cache.
 */
const BATCH = 0; // number of the batch that last touched the row (listed in `touched` once per batch)
const EVENTS = 1;
const VALUE_SUM = 2;
const USERS = 3; // 0 .. INLINE_USERS inline users (INLINE_0 ..), or HAS_SKETCH, HAS_STORED_SKETCH, HAS_POOL
const INLINE_0 = 4;
const U_VALUE_SUM = 8;
const LATE_EVENTS = 9;
const BOT_EVENTS = 10;
const BOT_VALUE_SUM = 11;
const U_BOT_VALUE_SUM = 12;
/** The counts as of the last seal (stored count - stored u_ count): u_events = EVENTS - SEALED_EVENTS, exactly (integers). */
const SEALED_EVENTS = 13;
const SEALED_BOT_EVENTS = 14;
const SEALED_LATE_EVENTS = 15;
/** Two whole cache lines: a row's first line starts one. */
const ROW_STRIDE = 16;

/** stagedFlags: the event was late, a bot. */
const STAGED_LATE = 1;
const STAGED_BOT = 2;

/** rowState: changed since the last checkpoint (listed in `dirty`). */
const DIRTY = 1;
/** rowState: human events added since the live view last took the row's totals (listed in `live`). */
const LIVE = 2;
/** rowState: the row has changes not yet sealed (the `unsealed` column). */
const UNSEALED = 4;
/** rowState: the row's users gained members since `users` was serialized (done once per checkpoint, not per call). */
const USERS_CHANGED = 8;
/** rowState: the open batch added humans to the row (what the live view hears of; applyBatch clears it). */
const HUMANS_ADDED = 16;

/**
 * Users a row keeps among its numbers (sparse entries, hll.ts sparseEntry)
 * before it builds a sketch object: most groups of a pane see a user or two,
 * and a sketch per group cost more than the rest of the group.
 */
const INLINE_USERS = 4;
/** USERS: the row's sketch object is in `sketches`. */
const HAS_SKETCH = -1;
/** USERS: the row came from storage with a sketch (in `users`), deserialized at its first new user. */
const HAS_STORED_SKETCH = -2;
/**
 * USERS: the row's sparse entries are in a block of the cache's user pool
 * (an open-addressing table, as a sparse sketch keeps them): groups past a
 * few users need no sketch object, no table of their own and no rehash into
 * a fresh array as they grow, until they turn dense. The block's place is in
 * the inline slots, which the row no longer needs.
 */
const HAS_POOL = -3;
const POOL_OFFSET = INLINE_0;
const POOL_SLOTS = INLINE_0 + 1;
const POOL_ENTRIES = INLINE_0 + 2;
const INITIAL_POOL_SLOTS = 1 << 14;
/** A row's first block: room for 12 entries at the sketch's load of 3/4. */
const FIRST_BLOCK_SLOTS = 16;
/** Past this many entries a row's users become a (dense) sketch object, as a sparse sketch would. */
const POOLED_ENTRIES_MAX = sparseLimitFor(USER_SKETCH_PRECISION);

/** Event types a pane start scans before it keeps further ones in a map. */
const SCANNED_TYPES = 16;
/** Slots beyond this are looked up by dims key only (GovernedKeyCache numbers at most 30,000 keys per window). */
const MAX_SLOT = 1 << 16;

/** The cached rows of one pane start and event type. */
interface TypeRows {
  start: CachedPaneStart;
  paneStart: number;
  eventType: string;
  rows: number[];
  /** The rows by dims key, built at the first lookup by dims key (events with slots never need one). */
  byDims: Map<string, number> | null;
  /** Row + 1 (0: none) by GovernedKey.slot of `generation`: an array load instead of a map lookup per event. */
  bySlot: Int32Array;
  generation: number;
  /** Every row is in bySlot (all came with slots of `generation`), so a slot not there has no row yet. */
  slotsComplete: boolean;
}

interface CachedPaneStart {
  /** True when the cache holds every stored row of this pane start, so a miss means "no row". */
  complete: boolean;
  /**
   * The first SCANNED_TYPES event types and their rows. Types are few, and an
   * event may bring its own copy of the type string: a scan with `===`
   * compares such copies inline, where a Map compares them in the runtime.
   */
  types: string[];
  byType: TypeRows[];
  more: Map<string, TypeRows> | null;
  rows: number[];
}

/** What applyBatch changed: groups with new human events (live), rows that became unsealed, the earliest window close among them. */
export interface AppliedBatch {
  /** Groups whose human totals changed (marked for takeLivePartials). */
  liveGroups: number;
  /** The human events this batch added, per pane start (a few per batch; the partials carry running totals). */
  addedByPane: Array<{ paneStart: number; events: number }>;
  newlyUnsealed: number;
  earliestCloseMs: number | null;
}

const hashOut = new Uint32Array(2);
const NO_SLOTS = new Int32Array(0);

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
 *
 * Batches: `startBatch`, one `add` per accepted event, then `applyBatch`.
 * An event goes straight to its row (one array load when its GovernedKey was
 * cached, else one map lookup); applyBatch counts the batch's events into
 * their rows. Storage sees one change per group per checkpoint, and the live
 * view one per group per push (takeLivePartials), never one per event.
 */
export class PaneCache {
  private readonly starts = new Map<number, CachedPaneStart>();
  private readonly maxGroups: number;
  private readonly stored: StoredPanes;
  private nums = new Float64Array(1024 * ROW_STRIDE);
  /** Per row, DIRTY | LIVE | UNSEALED | USERS_CHANGED | HUMANS_ADDED. */
  private rowState = new Uint8Array(1024);
  private paneStarts = new Float64Array(1024);
  /** Rows in use or free: 0 .. rowCount - 1. */
  private rowCount = 0;
  private readonly free: number[] = [];
  private readonly eventTypes: string[] = [];
  private readonly dimsKeys: string[] = [];
  /** A row's user sketch once it has one (more than INLINE_USERS users, or a stored sketch added to). */
  private readonly sketches: Array<HyperLogLog | null> = [];
  /** A row's serialized users as of the last checkpoint (or as loaded): the `users` column. */
  private readonly users: Array<ArrayBuffer | null> = [];
  private readonly dirty = new Int32List();
  /** Rows marked LIVE (maybe listed twice: see takeLivePartials), and the partials of live rows dropped from the cache. */
  private readonly live = new Int32List();
  private droppedLive: PartialAggregate[] = [];
  /** Groups that were waiting for the live view when the cache was cleared: their totals are taken from the rows as reloaded. */
  private liveAfterClear: Array<{ paneStart: number; eventType: string; dimsKey: string }> = [];
  private groups = 0;
  /** forEachDirtyRow's one array of bind values. */
  private readonly bindValues: PaneBindValue[] = new Array<PaneBindValue>(15).fill(null);
  /** A row's sparse entries for serializing (sorted in place) or for its dense sketch: a pooled row has at most POOLED_ENTRIES_MAX. */
  private readonly entriesScratch = new Uint32Array(POOLED_ENTRIES_MAX);
  /** Blocks of sparse user entries of HAS_POOL rows (0: an empty slot), bump-allocated, freed blocks reused by size. */
  private pool = new Uint32Array(INITIAL_POOL_SLOTS);
  private poolTop = 0;
  private readonly poolFree: number[][] = [];

  /** The open batch's events, found but not yet counted (add, then countStaged). */
  private stagedCount = 0;
  private stagedRows = new Int32Array(1024);
  /** Where each staged event's row is to be found (its pane start and type, its dims key, slot and the slot's generation). */
  private readonly stagedTypeRows: Array<TypeRows | null> = [];
  private readonly stagedDimsKeys: string[] = [];
  private stagedSlots = new Int32Array(1024);
  private stagedGenerations = new Int32Array(1024);
  private stagedValues = new Float64Array(1024);
  private stagedFlags = new Uint8Array(1024);
  private readonly stagedUsers: string[] = [];
  private stagedHashes = new Uint32Array(2048);
  /** Where the touch passes leave their sum, so the compiler keeps their loads. */
  private touchSink = 0;

  /** The open batch: its number, the rows it touched, and where its events' panes stand. */
  private batchOpen = false;
  private batchNumber = 0;
  private readonly touched = new Int32List();
  /** The open batch's human events per pane start, and those staged since the current pane was entered. */
  private addedByPane: Array<{ paneStart: number; events: number }> = [];
  private paneHumans = 0;
  private timing: PaneTiming = { paneMs: 1, windowMs: 1, allowedLatenessMs: 0 };
  private closedThroughMs = 0;
  /** The previous event's pane, [paneStartMs, paneEndMs): most events of a batch share it, so no pane arithmetic for them. */
  private paneStartMs = Number.NaN;
  private paneEndMs = Number.NaN;
  private paneLate = false;
  private paneRows: CachedPaneStart | null = null;
  /** The previous event's type and its rows in that pane (runs of one type are common). */
  private lastType = '';
  private lastTypeRows: TypeRows | null = null;

  constructor(maxGroups: number, stored: StoredPanes = NO_STORED_PANES) {
    this.maxGroups = maxGroups;
    this.stored = stored;
  }

  get size(): number {
    return this.groups;
  }

  get dirtyCount(): number {
    return this.dirty.length;
  }

  /** Opens a batch of events that arrived at `nowMs` (lateness is judged against it). */
  startBatch(timing: PaneTiming, nowMs: number): void {
    if (this.batchOpen) throw new Error('PaneCache.startBatch: the previous batch was not applied');
    this.batchOpen = true;
    this.batchNumber++;
    this.timing = timing;
    this.closedThroughMs = closedThrough(nowMs, timing);
    this.paneStartMs = Number.NaN;
    this.paneEndMs = Number.NaN;
    this.paneHumans = 0;
    this.addedByPane = [];
    this.forgetLast();
  }

  /**
   * Stages one accepted event for its row (positional: no object per
   * event). Finding the row and counting wait for applyBatch, which runs
   * them for the whole batch in short passes (find the rows, hash the users,
   * then add to the rows): a pass small enough that the
   * processor has several events' cache misses in flight at once, where one
   * long per-event path waits for each in turn. Human users go into the
   * row's users (a union, so the order of adds changes nothing). Returns
   * whether the event was late (its window had closed: an adjustment).
   */
  add(eventType: string, timestampMs: number, value: number, userKey: string, dimsKey: string, dimsSlot: number, slotGeneration: number, bot: boolean): boolean {
    if (!this.batchOpen) throw new Error('PaneCache.add outside a batch (startBatch first)');
    // NaN bounds (no pane yet) fail the test.
    if (!(timestampMs >= this.paneStartMs && timestampMs < this.paneEndMs)) this.enterPane(timestampMs);
    let rows = this.lastTypeRows;
    if (rows === null || eventType !== this.lastType) rows = this.rowsOfType(eventType);
    const late = this.paneLate;
    const at = this.stagedCount++;
    if (at >= this.stagedRows.length) this.growStaged();
    this.stagedTypeRows[at] = rows;
    this.stagedDimsKeys[at] = dimsKey;
    this.stagedSlots[at] = dimsSlot;
    this.stagedGenerations[at] = slotGeneration;
    this.stagedValues[at] = value;
    this.stagedFlags[at] = (late ? STAGED_LATE : 0) | (bot ? STAGED_BOT : 0);
    this.stagedUsers[at] = bot ? '' : userKey;
    if (!bot) this.paneHumans++;
    return late;
  }

  /** The staged events into their rows: users hashed in one pass, then counts and users added in another. */
  private countStaged(): void {
    const count = this.stagedCount;
    this.resolveStaged(count);
    const users = this.stagedUsers;
    const hashes = this.stagedHashes;
    const flags = this.stagedFlags;
    const nums = this.nums;
    const rows = this.stagedRows;
    // Touch passes: a loop of loads alone has many events' cache misses in flight, so the passes after find the user
    // keys and the rows' first lines in cache instead of waiting for each in turn.
    let touched = 0;
    for (let i = 0; i < count; i++) touched += (users[i] ?? '').length;
    for (let i = 0; i < count; i++) touched += nums[(rows[i] ?? 0) * ROW_STRIDE + USERS] ?? 0;
    this.touchSink = touched;
    for (let i = 0; i < count; i++) {
      if ((flags[i] ?? 0) & STAGED_BOT) continue;
      hash64Into(users[i] ?? '', hashOut);
      hashes[2 * i] = hashOut[0] ?? 0;
      hashes[2 * i + 1] = hashOut[1] ?? 0;
    }
    const values = this.stagedValues;
    const batch = this.batchNumber;
    for (let i = 0; i < count; i++) {
      const row = rows[i] ?? 0;
      const flag = flags[i] ?? 0;
      const base = row * ROW_STRIDE;
      if (nums[base + BATCH] !== batch) {
        nums[base + BATCH] = batch;
        this.touched.push(row);
      }
      // Adding 0 changes no sum (none is ever -0), and most events carry no value: their row's second line stays untouched.
      const value = values[i] ?? 0;
      if (flag !== 0) {
        if (flag & STAGED_LATE) nums[base + LATE_EVENTS] = (nums[base + LATE_EVENTS] ?? 0) + 1;
        if (flag & STAGED_BOT) {
          nums[base + BOT_EVENTS] = (nums[base + BOT_EVENTS] ?? 0) + 1;
          if (value !== 0) {
            nums[base + BOT_VALUE_SUM] = (nums[base + BOT_VALUE_SUM] ?? 0) + value;
            nums[base + U_BOT_VALUE_SUM] = (nums[base + U_BOT_VALUE_SUM] ?? 0) + value;
          }
          continue;
        }
      }
      nums[base + EVENTS] = (nums[base + EVENTS] ?? 0) + 1;
      if (value !== 0) {
        nums[base + VALUE_SUM] = (nums[base + VALUE_SUM] ?? 0) + value;
        nums[base + U_VALUE_SUM] = (nums[base + U_VALUE_SUM] ?? 0) + value;
      }
      hashOut[0] = hashes[2 * i] ?? 0;
      hashOut[1] = hashes[2 * i + 1] ?? 0;
      this.rowState[row] = (this.rowState[row] ?? 0) | (this.addUser(row) ? HUMANS_ADDED | USERS_CHANGED : HUMANS_ADDED);
    }
    users.fill('', 0, count);
    this.stagedCount = 0;
  }

  /**
   * Each staged event's row: by its slot (one array load) in a pass of its
   * own, so the loads of many events are in flight at once; else found by
   * dims key, loaded or started (rowOf), in event order.
   */
  private resolveStaged(count: number): void {
    const rows = this.stagedRows;
    const typeRows = this.stagedTypeRows;
    const slots = this.stagedSlots;
    const generations = this.stagedGenerations;
    for (let i = 0; i < count; i++) {
      const of = typeRows[i] ?? null;
      if (of === null) throw new Error('unreachable: a staged event without its rows');
      const slot = slots[i] ?? -1;
      const generation = generations[i] ?? 0;
      const bySlot = of.bySlot;
      // A slot of the rows' own generation is trusted (slots and dims keys are one to one within one).
      let row = generation === of.generation && slot >= 0 && slot < bySlot.length ? (bySlot[slot] ?? 0) - 1 : -1;
      if (row < 0) row = this.rowOf(of, this.stagedDimsKeys[i] ?? '', slot, generation);
      rows[i] = row;
    }
    typeRows.fill(null, 0, count);
    this.stagedDimsKeys.fill('', 0, count);
  }

  private growStaged(): void {
    const size = this.stagedRows.length * 2;
    const rows = new Int32Array(size);
    rows.set(this.stagedRows);
    this.stagedRows = rows;
    this.stagedSlots = grownInt32(this.stagedSlots, size);
    this.stagedGenerations = grownInt32(this.stagedGenerations, size);
    const values = new Float64Array(size);
    values.set(this.stagedValues);
    this.stagedValues = values;
    const flags = new Uint8Array(size);
    flags.set(this.stagedFlags);
    this.stagedFlags = flags;
    this.stagedHashes = new Uint32Array(2 * size);
  }

  /**
   * Counts the open batch into its rows (each event adds to its row's totals
   * and unsealed changes, in event order, so a replayed batch gives the same
   * sums) and closes the batch. Each touched row is marked unsealed and
   * dirty (until the next checkpoint) and, when humans were added, live
   * (until takeLivePartials).
   */
  applyBatch(): AppliedBatch {
    this.countStaged();
    this.endPaneRun();
    const addedByPane = this.addedByPane;
    this.addedByPane = [];
    let liveGroups = 0;
    let newlyUnsealed = 0;
    let earliestCloseMs = Infinity;
    let closesStart = Number.NaN;
    const rowState = this.rowState;
    const touched = this.touched.items;
    for (let i = 0; i < this.touched.length; i++) {
      const row = touched[i] ?? 0;
      const state = rowState[row] ?? 0;
      if ((state & UNSEALED) === 0) newlyUnsealed++;
      if ((state & DIRTY) === 0) this.dirty.push(row);
      // Live totals are human metrics: a bot-only change moves nothing a viewer sees.
      if ((state & HUMANS_ADDED) !== 0) {
        liveGroups++;
        if ((state & LIVE) === 0) this.live.push(row);
        rowState[row] = (state & ~HUMANS_ADDED) | UNSEALED | DIRTY | LIVE;
      } else {
        rowState[row] = state | UNSEALED | DIRTY;
      }
      const paneStart = this.paneStarts[row] ?? 0;
      if (paneStart !== closesStart) {
        closesStart = paneStart;
        earliestCloseMs = Math.min(earliestCloseMs, closeTimeOf(paneStart, this.timing));
      }
    }
    this.touched.clear();
    this.batchOpen = false;
    return { liveGroups, addedByPane, newlyUnsealed, earliestCloseMs: earliestCloseMs === Infinity ? null : earliestCloseMs };
  }

  /** Adds the human events staged since the event's pane was entered to the batch's count for that pane start. */
  private endPaneRun(): void {
    if (this.paneHumans > 0) addTo(this.addedByPane, this.paneStartMs, this.paneHumans);
    this.paneHumans = 0;
  }

  /**
   * The running human totals of every group whose humans changed since the
   * last call (once per group, however many batches changed it): what the
   * shard's next live push sends, as columns (no object per group). Groups
   * dropped from the cache meanwhile are included, as they were when dropped.
   */
  takeLivePartials(): PartialColumns {
    this.relistAfterClear();
    const dropped = this.droppedLive;
    this.droppedLive = [];
    const columns = columnsFor(this.live.length + dropped.length);
    let length = 0;
    for (const { windowStart, eventType, dimsKey, events, valueSum } of dropped) putGroup(columns, length++, windowStart, eventType, dimsKey, events, valueSum);
    const nums = this.nums;
    const live = this.live.items;
    for (let i = 0; i < this.live.length; i++) {
      const row = live[i] ?? 0;
      const b = row * ROW_STRIDE;
      const state = this.rowState[row] ?? 0;
      // A row dropped (its partial is among `dropped`) or listed twice after reuse.
      if ((state & LIVE) === 0) continue;
      this.rowState[row] = state & ~LIVE;
      putGroup(columns, length++, this.paneStarts[row] ?? 0, this.eventTypes[row] ?? '', this.dimsKeys[row] ?? '', nums[b + EVENTS] ?? 0, nums[b + VALUE_SUM] ?? 0);
    }
    this.live.clear();
    return trimmedColumns(columns, length);
  }

  /** The groups live when the cache was cleared, from their rows as they are now: cached ones are listed live again, others read from storage. */
  private relistAfterClear(): void {
    if (this.liveAfterClear.length === 0) return;
    const keys = this.liveAfterClear;
    this.liveAfterClear = [];
    for (const { paneStart, eventType, dimsKey } of keys) {
      const start = this.starts.get(paneStart);
      const rows = start === undefined ? undefined : typeRowsIn(start, eventType);
      const row = rows === undefined ? undefined : byDimsOf(rows, this.dimsKeys).get(dimsKey);
      if (row !== undefined) {
        const state = this.rowState[row] ?? 0;
        if ((state & LIVE) === 0) {
          this.rowState[row] = state | LIVE;
          this.live.push(row);
        }
        continue;
      }
      const stored = this.stored.load(paneStart, eventType, dimsKey);
      if (stored !== undefined && stored.events > 0) {
        this.droppedLive.push({ windowStart: paneStart, eventType, dimsKey, events: stored.events, valueSum: stored.value_sum });
      }
    }
  }

  /** Live partials waiting for takeLivePartials (an upper bound: a row may be listed twice). */
  get liveCount(): number {
    return this.live.length + this.droppedLive.length + this.liveAfterClear.length;
  }

  private partialOf(row: number): PartialAggregate {
    const b = row * ROW_STRIDE;
    return {
      windowStart: this.paneStarts[row] ?? 0,
      eventType: this.eventTypes[row] ?? '',
      dimsKey: this.dimsKeys[row] ?? '',
      events: this.nums[b + EVENTS] ?? 0,
      valueSum: this.nums[b + VALUE_SUM] ?? 0,
    };
  }

  /** The rows changed since the last markClean, with their users serialized (once per checkpoint). */
  dirtyRows(): PaneRecord[] {
    const records: PaneRecord[] = [];
    for (const row of this.dirty.toArray()) {
      this.serializeChangedUsers(row);
      records.push(this.record(row));
    }
    return records;
  }

  /**
   * dirtyRows for a writer: each dirty row's bind values (paneValues order)
   * in one array reused for every row, valid during the call. A checkpoint
   * writes thousands of rows; a record object per row, kept alive until the
   * last one is made, is garbage the collector must copy.
   */
  forEachDirtyRow(visit: (values: readonly PaneBindValue[]) => void): void {
    const values = this.bindValues;
    const nums = this.nums;
    const dirty = this.dirty.items;
    for (let i = 0; i < this.dirty.length; i++) {
      const row = dirty[i] ?? 0;
      this.serializeChangedUsers(row);
      const b = row * ROW_STRIDE;
      values[0] = this.paneStarts[row] ?? 0;
      values[1] = this.eventTypes[row] ?? '';
      values[2] = this.dimsKeys[row] ?? '';
      values[3] = nums[b + EVENTS] ?? 0;
      values[4] = nums[b + VALUE_SUM] ?? 0;
      values[5] = nums[b + BOT_EVENTS] ?? 0;
      values[6] = nums[b + BOT_VALUE_SUM] ?? 0;
      values[7] = nums[b + LATE_EVENTS] ?? 0;
      values[8] = this.users[row] ?? null;
      values[9] = (nums[b + EVENTS] ?? 0) - (nums[b + SEALED_EVENTS] ?? 0);
      values[10] = nums[b + U_VALUE_SUM] ?? 0;
      values[11] = (nums[b + BOT_EVENTS] ?? 0) - (nums[b + SEALED_BOT_EVENTS] ?? 0);
      values[12] = nums[b + U_BOT_VALUE_SUM] ?? 0;
      values[13] = (nums[b + LATE_EVENTS] ?? 0) - (nums[b + SEALED_LATE_EVENTS] ?? 0);
      values[14] = ((this.rowState[row] ?? 0) & UNSEALED) === 0 ? 0 : 1;
      visit(values);
    }
  }

  /** Serializes a row's users if they changed since they last were (the `users` column). */
  private serializeChangedUsers(row: number): void {
    const state = this.rowState[row] ?? 0;
    if ((state & USERS_CHANGED) === 0) return;
    const bytes = this.serializeUsers(row);
    // The serialized bytes own their whole buffer: it is the column value, no copy.
    if (bytes !== null) this.users[row] = bytes.buffer;
    this.rowState[row] = state & ~USERS_CHANGED;
  }

  /** The dirty rows as they are in memory (users as last serialized): the truth for them until the checkpoint. */
  *dirtyRecords(): Iterable<PaneRecord> {
    for (const row of this.dirty.toArray()) yield this.record(row);
  }

  /** After the checkpoint that wrote dirtyRows() committed. */
  markClean(): void {
    const rowState = this.rowState;
    const dirty = this.dirty.items;
    for (let i = 0; i < this.dirty.length; i++) {
      const row = dirty[i] ?? 0;
      rowState[row] = (rowState[row] ?? 0) & ~DIRTY;
    }
    this.dirty.clear();
  }

  /** A cached row as it is now, its users serialized (null when not cached). */
  find(paneStart: number, eventType: string, dimsKey: string): PaneRecord | undefined {
    const start = this.starts.get(paneStart);
    const rows = start === undefined ? undefined : typeRowsIn(start, eventType);
    const row = rows === undefined ? undefined : byDimsOf(rows, this.dimsKeys).get(dimsKey);
    if (row === undefined) return undefined;
    const record = this.record(row);
    const bytes = this.serializeUsers(row);
    if (bytes !== null) record.users = bytes.buffer;
    return record;
  }

  /** Bytes held for users beyond the row numbers (where inline users are): the user pool, used or not, and the sketch objects. */
  sketchBytes(): number {
    let bytes = this.pool.byteLength;
    for (const sketch of this.sketches) bytes += sketch?.sizeInBytes() ?? 0;
    return bytes;
  }

  /** Drops the oldest pane starts until at most maxGroups rows are cached (never while rows are dirty). */
  trim(): void {
    if (this.dirty.length > 0) return;
    while (this.groups > this.maxGroups && this.starts.size > 0) {
      let oldest = Infinity;
      for (const paneStart of this.starts.keys()) if (paneStart < oldest) oldest = paneStart;
      this.drop(oldest);
    }
  }

  dropBefore(cutoff: number): void {
    if (this.dirty.length > 0) throw new Error('PaneCache.dropBefore with dirty rows: checkpoint first');
    for (const paneStart of [...this.starts.keys()]) if (paneStart < cutoff) this.drop(paneStart);
  }

  /**
   * Forgets everything, dirty rows and an open batch included: only for a
   * reload from storage. What the live view was waiting for is kept: the
   * partials of dropped groups (dropped rows were clean, so those totals were
   * committed) and the keys of live rows, whose totals may include the
   * rolled-back batch: takeLivePartials reads them as reloaded.
   */
  clear(): void {
    const live = this.live.items;
    for (let i = 0; i < this.live.length; i++) {
      const row = live[i] ?? 0;
      if (((this.rowState[row] ?? 0) & LIVE) === 0) continue;
      this.rowState[row] = (this.rowState[row] ?? 0) & ~LIVE;
      this.liveAfterClear.push({ paneStart: this.paneStarts[row] ?? 0, eventType: this.eventTypes[row] ?? '', dimsKey: this.dimsKeys[row] ?? '' });
    }
    this.starts.clear();
    this.rowCount = 0;
    this.free.length = 0;
    // Emptied, not shortened: the arrays keep their room (rows are numbered from 0 again).
    this.eventTypes.fill('');
    this.dimsKeys.fill('');
    this.sketches.fill(null);
    this.users.fill(null);
    this.dirty.clear();
    this.touched.clear();
    this.live.clear();
    this.stagedCount = 0;
    this.stagedUsers.length = 0;
    this.stagedTypeRows.length = 0;
    this.stagedDimsKeys.length = 0;
    this.batchOpen = false;
    this.groups = 0;
    // A fresh pool: blocks from the top are taken as zeroed, and this gives a grown pool's memory back.
    this.pool = new Uint32Array(INITIAL_POOL_SLOTS);
    this.poolTop = 0;
    this.poolFree.length = 0;
    this.forgetLast();
  }

  private enterPane(timestampMs: number): void {
    this.endPaneRun();
    const { paneMs, windowMs } = this.timing;
    const paneStart = windowStartOf(timestampMs, paneMs);
    this.paneStartMs = paneStart;
    this.paneEndMs = paneStart + paneMs;
    // Panes tile windows, so lateness is a property of the pane.
    this.paneLate = windowStartOf(paneStart, windowMs) + windowMs <= this.closedThroughMs;
    this.paneRows = this.starts.get(paneStart) ?? this.newStart(paneStart);
    this.lastTypeRows = null;
  }

  private newStart(paneStart: number): CachedPaneStart {
    const start: CachedPaneStart = { complete: !this.stored.hasAnyRow(paneStart), types: [], byType: [], more: null, rows: [] };
    this.starts.set(paneStart, start);
    return start;
  }

  /** The rows of `eventType` in the current event's pane start, created on first use. */
  private rowsOfType(eventType: string): TypeRows {
    const start = this.paneRows;
    if (start === null) throw new Error('unreachable: no pane entered');
    let rows = typeRowsIn(start, eventType);
    if (rows === undefined) {
      rows = { start, paneStart: this.paneStartMs, eventType, rows: [], byDims: null, bySlot: NO_SLOTS, generation: 0, slotsComplete: true };
      if (start.types.length < SCANNED_TYPES) {
        start.types.push(eventType);
        start.byType.push(rows);
      } else {
        start.more ??= new Map();
        start.more.set(eventType, rows);
      }
    }
    this.lastType = eventType;
    this.lastTypeRows = rows;
    return rows;
  }

  /**
   * The row of a group of the current pane: by slot (trusted within one
   * generation, where slots and dims keys are one to one), else by dims key,
   * else loaded or started.
   */
  private rowOf(rows: TypeRows, dimsKey: string, dimsSlot: number, generation: number): number {
    const slotted = generation > 0 && dimsSlot >= 0 && dimsSlot < MAX_SLOT;
    if (slotted) {
      if (generation !== rows.generation) {
        // Another numbering: its slots say nothing about the rows already here.
        rows.generation = generation;
        rows.bySlot = NO_SLOTS;
        rows.slotsComplete = rows.rows.length === 0;
      }
      const bySlot = rows.bySlot;
      if (dimsSlot < bySlot.length) {
        const found = (bySlot[dimsSlot] ?? 0) - 1;
        if (found >= 0) return found;
      }
    }
    let row = rows.slotsComplete && slotted ? undefined : byDimsOf(rows, this.dimsKeys).get(dimsKey);
    if (row === undefined) {
      const start = rows.start;
      const stored = start.complete ? undefined : this.stored.load(rows.paneStart, rows.eventType, dimsKey);
      row = this.newRow(rows.paneStart, rows.eventType, dimsKey, stored);
      rows.rows.push(row);
      rows.byDims?.set(dimsKey, row);
      start.rows.push(row);
      this.groups++;
    }
    if (slotted) {
      if (dimsSlot >= rows.bySlot.length) rows.bySlot = grownInt32(rows.bySlot, dimsSlot + 1);
      rows.bySlot[dimsSlot] = row + 1;
    } else {
      rows.slotsComplete = false;
    }
    return row;
  }

  private newRow(paneStart: number, eventType: string, dimsKey: string, stored: PaneRecord | undefined): number {
    let row = this.free.pop();
    if (row === undefined) {
      row = this.rowCount++;
      if (this.rowCount * ROW_STRIDE > this.nums.length) {
        const nums = new Float64Array(this.nums.length * 2);
        nums.set(this.nums);
        this.nums = nums;
        const rowState = new Uint8Array(nums.length / ROW_STRIDE);
        rowState.set(this.rowState);
        this.rowState = rowState;
        const paneStarts = new Float64Array(nums.length / ROW_STRIDE);
        paneStarts.set(this.paneStarts);
        this.paneStarts = paneStarts;
      }
    }
    if (row >= this.eventTypes.length) {
      this.eventTypes.push(eventType);
      this.dimsKeys.push(dimsKey);
      this.sketches.push(null);
      this.users.push(null);
    } else {
      // A freed row, or one of before a clear(): the arrays keep their length.
      this.eventTypes[row] = eventType;
      this.dimsKeys[row] = dimsKey;
      this.sketches[row] = null;
      this.users[row] = null;
    }
    const nums = this.nums;
    const b = row * ROW_STRIDE;
    nums.fill(0, b, b + ROW_STRIDE);
    this.rowState[row] = 0;
    this.paneStarts[row] = paneStart;
    if (stored !== undefined) {
      nums[b + EVENTS] = stored.events;
      nums[b + VALUE_SUM] = stored.value_sum;
      nums[b + BOT_EVENTS] = stored.bot_events;
      nums[b + BOT_VALUE_SUM] = stored.bot_value_sum;
      nums[b + LATE_EVENTS] = stored.late_events;
      nums[b + SEALED_EVENTS] = stored.events - stored.u_events;
      nums[b + U_VALUE_SUM] = stored.u_value_sum;
      nums[b + SEALED_BOT_EVENTS] = stored.bot_events - stored.u_bot_events;
      nums[b + U_BOT_VALUE_SUM] = stored.u_bot_value_sum;
      nums[b + SEALED_LATE_EVENTS] = stored.late_events - stored.u_late_events;
      if (stored.unsealed === 1) this.rowState[row] = UNSEALED;
      this.users[row] = stored.users;
      if (stored.users !== null) nums[b + USERS] = HAS_STORED_SKETCH;
    }
    return row;
  }

  /**
   * Adds the user hash in `hashOut` to a row: inline entries, then pooled,
   * then a sketch (a stored sketch is deserialized first). True when the
   * users changed. The hash stays in `hashOut`, not in arguments: a uint32
   * past 2^30 passed to a call is a heap number allocated per event.
   */
  private addUser(row: number): boolean {
    const hi = hashOut[0] ?? 0;
    const lo = hashOut[1] ?? 0;
    const nums = this.nums;
    const b = row * ROW_STRIDE;
    const users = nums[b + USERS] ?? 0;
    if (users === HAS_POOL) return this.addPooled(row);
    if (users < 0) {
      let sketch = this.sketches[row] ?? null;
      if (sketch === null) {
        const stored = this.users[row] ?? null;
        if (users !== HAS_STORED_SKETCH || stored === null) throw new Error('unreachable: a row without its sketch');
        sketch = HyperLogLog.deserialize(new Uint8Array(stored));
        this.sketches[row] = sketch;
        nums[b + USERS] = HAS_SKETCH;
      }
      return sketch.addHash(hi, lo);
    }
    const entry = sparseEntry(hi, lo);
    const index = entry >>> 6;
    for (let i = 0; i < users; i++) {
      const known = nums[b + INLINE_0 + i] ?? 0;
      if (known >>> 6 !== index) continue;
      // One entry per index, the highest rank: as in the sketch.
      if ((known & 63) >= (entry & 63)) return false;
      nums[b + INLINE_0 + i] = entry;
      return true;
    }
    if (users < INLINE_USERS) {
      nums[b + INLINE_0 + users] = entry;
      nums[b + USERS] = users + 1;
      return true;
    }
    const offset = this.allocBlock(FIRST_BLOCK_SLOTS);
    const pool = this.pool;
    for (let i = 0; i < users; i++) insertEntry(pool, offset, FIRST_BLOCK_SLOTS, nums[b + INLINE_0 + i] ?? 0);
    nums[b + USERS] = HAS_POOL;
    nums[b + POOL_OFFSET] = offset;
    nums[b + POOL_SLOTS] = FIRST_BLOCK_SLOTS;
    nums[b + POOL_ENTRIES] = users;
    return this.addPooled(row);
  }

  /** addUser for a HAS_POOL row: the sketch's sparse insert, in the row's block (a bigger block, or a sketch, when full). */
  private addPooled(row: number): boolean {
    const hi = hashOut[0] ?? 0;
    const lo = hashOut[1] ?? 0;
    const entry = sparseEntry(hi, lo);
    const nums = this.nums;
    const b = row * ROW_STRIDE;
    const offset = nums[b + POOL_OFFSET] ?? 0;
    const slots = nums[b + POOL_SLOTS] ?? 0;
    const pool = this.pool;
    const index = entry >>> 6;
    const mask = slots - 1;
    for (let i = index & mask; ; i = (i + 1) & mask) {
      const known = pool[offset + i] ?? 0;
      if (known === 0) break;
      if (known >>> 6 === index) {
        if ((known & 63) >= (entry & 63)) return false;
        pool[offset + i] = entry;
        return true;
      }
    }
    const entries = (nums[b + POOL_ENTRIES] ?? 0) + 1;
    if (entries > POOLED_ENTRIES_MAX) {
      const sketch = HyperLogLog.fromSparseEntries(this.entriesScratch.subarray(0, this.entriesIntoScratch(b)), USER_SKETCH_PRECISION);
      this.freeBlock(offset, slots);
      this.sketches[row] = sketch;
      nums[b + USERS] = HAS_SKETCH;
      return sketch.addHash(hi, lo);
    }
    nums[b + POOL_ENTRIES] = entries;
    if (4 * entries <= 3 * slots) {
      insertEntry(pool, offset, slots, entry);
      return true;
    }
    const grownSlots = slots * 2;
    const grownOffset = this.allocBlock(grownSlots);
    // allocBlock may have replaced the pool.
    const grownPool = this.pool;
    for (let i = 0; i < slots; i++) {
      const known = grownPool[offset + i] ?? 0;
      if (known !== 0) insertEntry(grownPool, grownOffset, grownSlots, known);
    }
    insertEntry(grownPool, grownOffset, grownSlots, entry);
    this.freeBlock(offset, slots);
    nums[b + POOL_OFFSET] = grownOffset;
    nums[b + POOL_SLOTS] = grownSlots;
    return true;
  }

  /** A HAS_POOL row's entries, in block order. */
  /** A row's sparse user entries (pooled, in block order, or inline) copied into entriesScratch; returns how many. */
  private entriesIntoScratch(b: number): number {
    const nums = this.nums;
    const scratch = this.entriesScratch;
    const users = nums[b + USERS] ?? 0;
    let count = 0;
    if (users === HAS_POOL) {
      const offset = nums[b + POOL_OFFSET] ?? 0;
      const end = offset + (nums[b + POOL_SLOTS] ?? 0);
      for (let i = offset; i < end; i++) {
        const entry = this.pool[i] ?? 0;
        if (entry !== 0) scratch[count++] = entry;
      }
    } else {
      for (let i = 0; i < users; i++) scratch[count++] = nums[b + INLINE_0 + i] ?? 0;
    }
    return count;
  }

  /** A zeroed block of `slots` (a power of two) pool slots: a freed one of that size, else from the top (the pool doubles when full). */
  private allocBlock(slots: number): number {
    const freed = this.poolFree[Math.log2(slots)]?.pop();
    if (freed !== undefined) {
      this.pool.fill(0, freed, freed + slots);
      return freed;
    }
    const offset = this.poolTop;
    this.poolTop += slots;
    if (this.poolTop > this.pool.length) {
      let size = this.pool.length * 2;
      while (size < this.poolTop) size *= 2;
      const pool = new Uint32Array(size);
      pool.set(this.pool);
      this.pool = pool;
    }
    return offset;
  }

  private freeBlock(offset: number, slots: number): void {
    const sizeClass = Math.log2(slots);
    (this.poolFree[sizeClass] ??= []).push(offset);
  }

  /** The row's users serialized as they are now, when it has users beyond the stored ones (null: none, or only the stored ones). */
  private serializeUsers(row: number): Uint8Array<ArrayBuffer> | null {
    const b = row * ROW_STRIDE;
    const users = this.nums[b + USERS] ?? 0;
    if (users === HAS_SKETCH) return this.sketches[row]?.serialize() ?? null;
    if (users < 0 && users !== HAS_POOL) return null;
    const count = this.entriesIntoScratch(b);
    return count > 0 ? HyperLogLog.serializeSparseEntriesInPlace(this.entriesScratch, count, USER_SKETCH_PRECISION) : null;
  }

  private record(row: number): PaneRecord {
    const nums = this.nums;
    const b = row * ROW_STRIDE;
    return {
      pane_start: this.paneStarts[row] ?? 0,
      event_type: this.eventTypes[row] ?? '',
      dims_key: this.dimsKeys[row] ?? '',
      events: nums[b + EVENTS] ?? 0,
      value_sum: nums[b + VALUE_SUM] ?? 0,
      bot_events: nums[b + BOT_EVENTS] ?? 0,
      bot_value_sum: nums[b + BOT_VALUE_SUM] ?? 0,
      late_events: nums[b + LATE_EVENTS] ?? 0,
      users: this.users[row] ?? null,
      u_events: (nums[b + EVENTS] ?? 0) - (nums[b + SEALED_EVENTS] ?? 0),
      u_value_sum: nums[b + U_VALUE_SUM] ?? 0,
      u_bot_events: (nums[b + BOT_EVENTS] ?? 0) - (nums[b + SEALED_BOT_EVENTS] ?? 0),
      u_bot_value_sum: nums[b + U_BOT_VALUE_SUM] ?? 0,
      u_late_events: (nums[b + LATE_EVENTS] ?? 0) - (nums[b + SEALED_LATE_EVENTS] ?? 0),
      unsealed: ((this.rowState[row] ?? 0) & UNSEALED) === 0 ? 0 : 1,
    };
  }

  private drop(paneStart: number): void {
    const start = this.starts.get(paneStart);
    if (start === undefined) return;
    for (const row of start.rows) {
      const b = row * ROW_STRIDE;
      const state = this.rowState[row] ?? 0;
      if ((state & LIVE) !== 0) {
        this.droppedLive.push(this.partialOf(row));
        this.rowState[row] = state & ~LIVE;
      }
      if (this.nums[b + USERS] === HAS_POOL) this.freeBlock(this.nums[b + POOL_OFFSET] ?? 0, this.nums[b + POOL_SLOTS] ?? 0);
      // Free the row's strings and sketch for the collector; the numbers are reset on reuse.
      this.sketches[row] = null;
      this.users[row] = null;
      this.dimsKeys[row] = '';
      this.eventTypes[row] = '';
      this.free.push(row);
    }
    this.groups -= start.rows.length;
    this.starts.delete(paneStart);
    this.forgetLast();
  }

  private forgetLast(): void {
    this.paneRows = null;
    this.lastType = '';
    this.lastTypeRows = null;
  }
}

/** Adds a pane start's human events to the batch's list (it has a few pane starts; rows of one may come in more than one run). */
function addTo(addedByPane: Array<{ paneStart: number; events: number }>, paneStart: number, events: number): void {
  if (events === 0) return;
  const entry = addedByPane.find((added) => added.paneStart === paneStart);
  if (entry === undefined) addedByPane.push({ paneStart, events });
  else entry.events += events;
}

/** Puts a sparse entry whose index is not in the block into its first free slot (the sketch's probing: from the index's low bits). */
function insertEntry(pool: Uint32Array, offset: number, slots: number, entry: number): void {
  const mask = slots - 1;
  let i = (entry >>> 6) & mask;
  while ((pool[offset + i] ?? 0) !== 0) i = (i + 1) & mask;
  pool[offset + i] = entry;
}

/** The rows of a type by dims key, built on first use. */
function byDimsOf(rows: TypeRows, dimsKeys: readonly string[]): Map<string, number> {
  if (rows.byDims === null) {
    const byDims = new Map<string, number>();
    for (const row of rows.rows) byDims.set(dimsKeys[row] ?? '', row);
    rows.byDims = byDims;
  }
  return rows.byDims;
}

/** The rows of `eventType` in a cached pane start, if any. */
function typeRowsIn(start: CachedPaneStart, eventType: string): TypeRows | undefined {
  const { types, byType } = start;
  for (let i = 0; i < types.length; i++) if (types[i] === eventType) return byType[i];
  return start.more?.get(eventType);
}

