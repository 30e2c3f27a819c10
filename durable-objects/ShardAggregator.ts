import { DurableObject } from 'cloudflare:workers';
import { readAggregationConfig, type AggregationConfig } from '../core/aggregation-config.ts';
import { readLiveConfig } from '../core/live-config.ts';
import { BackpressureError } from '../core/backpressure.ts';
import { compilePolicy, MemoryAdmittedValues, type AdmittedValues, type DimensionPolicy } from '../core/cardinality.ts';
import { backoffDelayMs, nextAlarmAt } from '../core/flush-policy.ts';
import { checkpointDelayMs } from '../core/checkpoint-policy.ts';
import { collectBatch, isGovernanceReason, newKeyCache } from '../core/ingest-batch.ts';
import { PendingWrites } from '../core/pending-writes.ts';
import { partialsOf } from '../core/partial-columns.ts';
import { PushCoalescer, type LivePush } from '../core/push-coalescer.ts';
import { LiveDigest, type MinuteEvents } from '../core/live-digest.ts';
import { LIVE_RETENTION_MS, paneGroupKey } from '../core/live-totals.ts';
import { parseDimensionPolicy, parseShardEvents, parseStoredDimensionPolicy, type ShardEvent } from '../core/shard-events.ts';
import { DedupSet, decodeJournal, encodeJournal } from '../core/dedup-set.ts';
import { hash64Into } from '../core/hash64.ts';
import { PaneCache, PANES_UNSEALED_INDEX_SQL, SHARD_SCHEMA, UPGRADE_PANES_SQL, unsealedPart, UPSERT_PANE_IN_PLACE_SQL, withinBytes, type PaneRecord } from '../core/pane-store.ts';
import { closedThrough, closeTimeOf, minuteStartOf } from '../core/panes.ts';
import type { PartialAggregate, ShardIngestRequest, ShardIngestResult, ShardPartials } from '../core/protocol.ts';
import { dedupToken, FLUSH_INSERT_SETTINGS, TABLES } from '../core/rollup-rows.ts';
import { buildSealedBatch, splitIntoParts } from '../core/sealing.ts';
import {
  buildShardStats,
  combineOutcomes,
  COUNTER_NAMES,
  emptyCounters,
  isCounterName,
  serializeLastFlush,
  type FlushOutcome,
  type ShardCounters,
  type ShardStats,
} from '../core/shard-health.ts';
import { checkSlidingQuery, slidingRange, SlidingAccumulator, type SlidingWindowQuery, type SlidingWindowResult } from '../core/sliding.ts';
import { windowStartOf } from '../core/windows.ts';
import { clickHouseClient } from '../workers/clickhouse.ts';
import { combinerFor, SETTLE_LOOKBACK_MS } from './Combiner.ts';

export type { FlushOutcome, ShardStats } from '../core/shard-health.ts';

/** Panes are kept this long for live totals (Broadcast rebuild) and sliding windows. */
const PANE_RETENTION_MS = 60 * 60_000;
/** Pane rows per sealed batch, so a batch (and its JSON) stays small after a long outage. */
const MAX_PANES_PER_BATCH = 5000;
/** Batches sealed and sent in one alarm run while catching up. */
const MAX_SEALS_PER_CYCLE = 8;
/** Pane rows cached in memory (whole pane starts, oldest dropped first, never while dirty): a few hundred bytes each. */
const MAX_CACHED_PANE_GROUPS = 50_000;
/**
 * Write-behind: ingest makes a call durable with ONE ingest-log row and counts
 * it in memory; a checkpoint writes the changed pane rows, governance, raw
 * rows, counters and dedup hashes in one transaction and truncates the log.
 * A checkpoint runs just after the pane boundary following the first call it
 * covers (core/checkpoint-policy.ts; and before any seal or read of the
 * stored state), or at once when the log gets this long.
 */
const CHECKPOINT_MAX_LOG_ROWS = 1024;
const CHECKPOINT_MAX_LOG_CHARS = 8 * 1024 * 1024;
/** Dirty pane rows at which ingest checkpoints at once (bounds memory between checkpoints). */
const CHECKPOINT_MAX_DIRTY_PANES = 20_000;

const idHash = new Uint32Array(2);

/**
 * One per (project, shard). Counts events in panes (count, value sum, bot
 * counts and a user sketch per pane, event type and dimension set) and
 * flushes closed windows to ClickHouse exactly once: a sealed batch is stored
 * with a deterministic dedup token before it is sent, re-sent unchanged until
 * ClickHouse acknowledges it, and only then deleted.
 *
 * Durability without a write per group: an ingest call appends its events to
 * `ingest_log` (one row) before it returns, and is counted in memory; a
 * checkpoint moves the counted state into the SQLite tables and truncates the
 * log. An evicted or aborted object reloads the tables and replays the log
 * (the same code path, with each call's own clock), so it rebuilds identically.
 */
export class ShardAggregator extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: AggregationConfig;
  private admitted!: StoredAdmittedValues;
  private readonly keys = newKeyCache();
  /** Backlog sizes, recounted on (re)load and kept in step with every change. */
  private unsealedRows = 0;
  private sealedRows = 0;
  private rawPendingRows = 0;
  /** After a failed flush, ingest must not pull the alarm earlier than the backoff. */
  private retryNotBefore = 0;
  private cycle: Promise<unknown> = Promise.resolve();
  /** Event-id hashes seen within the dedup horizon; rebuilt from `dedup_journal` and the log on load (see core/dedup-set.ts). */
  private seen = new DedupSet();
  /** Distinguishes journal rows written in the same millisecond (by this or an earlier instance). */
  private journalSeq = Math.floor(Math.random() * 2 ** 30);
  /** Pane rows; a miss reads SQLite (the arrows run after the constructor has set `sql`). */
  private readonly panes = new PaneCache(MAX_CACHED_PANE_GROUPS, {
    hasAnyRow: (paneStart) => this.sql.exec('SELECT 1 FROM panes WHERE pane_start = ? LIMIT 1', paneStart).toArray().length > 0,
    load: (paneStart, eventType, dimsKey) =>
      this.sql.exec<PaneRecord>('SELECT * FROM panes WHERE pane_start = ? AND event_type = ? AND dims_key = ?', paneStart, eventType, dimsKey).toArray()[0],
  });
  /** meta rows read or written by this instance; cleared whenever a transaction rolls back. */
  private readonly metaCache = new Map<string, string | null>();
  /** Counted since the last checkpoint (besides the dirty panes). */
  private readonly pending = new PendingWrites();
  private maxEventTimeMs = 0;
  /** Ingest-log rows and characters not yet covered by a checkpoint, and the newest sequence. */
  private logRows = 0;
  private logChars = 0;
  private logSeq = 0;
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  /** SQLite rows written by this instance (tables and indexes, as the runtime counts them). */
  private rowsWritten = 0;
  /** Live pushes to this shard's combiner, at most one per live tick (see PushCoalescer). */
  private readonly pushes: PushCoalescer;
  /** Human events per minute for the combiner's settling check; built on its first use, dropped with the in-memory state. */
  private digest: LiveDigest | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = readAggregationConfig(env);
    this.pushes = new PushCoalescer(
      readLiveConfig(env).tickMs,
      (projectId, shard, push) => this.pushToCombiner(projectId, shard, push),
      // The groups batches changed since the last push, their totals built now (once per group per push).
      () => this.panes.takeLivePartials(),
    );
    this.migrate();
    this.load(Date.now());
    this.announce();
  }

  /**
   * A (re)started shard pushes its recent totals once: pushes that were
   * waiting, or on their way, when the previous instance died were lost with
   * it, and nothing else would send them (a client's retry is a duplicate that
   * changes nothing). Totals are absolute, so re-sending what the combiner
   * already has moves nothing.
   */
  private announce(): void {
    const identity = this.identity();
    if (identity === null) return;
    const groups = this.recentTotals(Date.now() - SETTLE_LOOKBACK_MS);
    if (groups.length > 0) this.pushes.add(identity.projectId, identity.shard, groups);
  }

  /** Everything in memory from storage: the tables as of the last checkpoint, then the ingest log replayed on top. */
  private load(now: number): void {
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    this.panes.clear();
    this.keys.clear();
    this.digest = null;
    this.metaCache.clear();
    this.pending.clear();
    this.seen = new DedupSet();
    this.admitted = new StoredAdmittedValues(this.sql, (query, ...bindings) => this.write(query, ...bindings));
    this.unsealedRows = this.count('SELECT COUNT(*) AS n FROM panes WHERE unsealed = 1');
    this.sealedRows = this.count('SELECT COALESCE(SUM(row_count), 0) AS n FROM batches');
    this.rawPendingRows = this.count('SELECT COALESCE(SUM(row_count), 0) AS n FROM raw_pending');
    this.maxEventTimeMs = Number(this.getMeta('max_event_time') ?? '0');
    this.rebuildSeen(now);
    this.logRows = 0;
    this.logChars = 0;
    this.logSeq = this.count('SELECT COALESCE(MAX(seq), 0) AS n FROM ingest_log');
    for (const row of this.sql.exec<{ seq: number; at_ms: number; events_json: string; policy_json: string | null; too_old: number }>(
      'SELECT seq, at_ms, events_json, policy_json, too_old FROM ingest_log ORDER BY seq',
    )) {
      const events = parseShardEvents(row.events_json);
      const policy = parseStoredDimensionPolicy(row.policy_json);
      if (!events.ok || !policy.ok) {
        // Never happens for rows this code wrote (ingest checks first); kept aside, never silently dropped.
        this.quarantineLogRow(row.seq, events.ok ? (policy.ok ? '' : policy.message) : events.message);
        continue;
      }
      this.apply(events.events, row.too_old, policy.policy, row.at_ms);
      this.logRows++;
      this.logChars += row.events_json.length;
    }
    if (this.logRows > 0) this.scheduleCheckpoint();
  }

  /** The dedup set from the journal rows (and ids of the old per-id table) inside the horizon. */
  private rebuildSeen(now: number): void {
    const cutoff = now - this.config.dedupHorizonMs;
    for (const row of this.sql.exec<{ seen_at: number; hashes: ArrayBuffer }>('SELECT seen_at, hashes FROM dedup_journal WHERE seen_at >= ?', cutoff)) {
      const sec = Math.floor(row.seen_at / 1000);
      decodeJournal(row.hashes, (hi, lo) => this.seen.restore(hi, lo, sec));
    }
    for (const row of this.sql.exec<{ event_id: string; seen_at: number }>('SELECT event_id, seen_at FROM seen_events WHERE seen_at >= ?', cutoff)) {
      hash64Into(row.event_id, idHash);
      this.seen.restore(idHash[0] ?? 0, idHash[1] ?? 0, Math.floor(row.seen_at / 1000));
    }
  }

  private migrate(): void {
    this.sql.exec(SHARD_SCHEMA);
    const panes = this.sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'panes'").toArray()[0];
    if (panes !== undefined && !/WITHOUT ROWID/i.test(panes.sql)) {
      this.ctx.storage.transactionSync(() => {
        for (const statement of UPGRADE_PANES_SQL) this.sql.exec(statement);
      });
    }
    this.sql.exec(PANES_UNSEALED_INDEX_SQL);
    if (this.getMeta('incarnation') === null) this.setMeta('incarnation', crypto.randomUUID());
  }

  /**
   * Counts a batch and returns once it is durable (output gate: the ingest-log
   * row is written before the answer leaves), so the edge's 202 means "will be
   * counted". At the backlog bound it throws a BackpressureError (see
   * core/backpressure.ts) having recorded nothing.
   */
  async ingest(request: ShardIngestRequest): Promise<ShardIngestResult> {
    const now = Date.now();
    const parsed = parseShardEvents(typeof request.eventsJson === 'string' ? request.eventsJson : request.events);
    if (!parsed.ok) throw new TypeError(`ingest expects { projectId, shard, events | eventsJson }: ${parsed.message}`);
    const policy = parseDimensionPolicy(request.dimensionPolicy);
    if (!policy.ok) throw new TypeError(`ingest: ${policy.message}`);
    const tooOld = Number.isInteger(request.rejectedTooOld) && (request.rejectedTooOld ?? 0) > 0 ? (request.rejectedTooOld ?? 0) : 0;
    this.rememberIdentity(request.projectId, request.shard);
    const backlogRows = this.unsealedRows + this.sealedRows + this.rawPendingRows;
    if (backlogRows >= this.config.maxBacklogRows) {
      const retryAfterSeconds = Math.min(60, Math.max(1, Math.ceil((Math.max(this.retryNotBefore, now + this.config.flushIntervalMs) - now) / 1000)));
      throw new BackpressureError({ retryAfterSeconds, backlogRows, limit: this.config.maxBacklogRows });
    }
    if (parsed.events.length === 0 && tooOld === 0) return { accepted: 0, duplicates: 0, late: 0, bots: 0, foldedEvents: 0, droppedDimensionEvents: 0 };
    const eventsJson = typeof request.eventsJson === 'string' ? request.eventsJson : JSON.stringify(parsed.events);
    let recorded: Recorded;
    try {
      // The log row and the in-memory count succeed or fail together: on a throw the row rolls back and memory reloads.
      recorded = this.ctx.storage.transactionSync(() => {
        this.logSeq++;
        this.write(
          'INSERT INTO ingest_log (seq, at_ms, events_json, policy_json, too_old) VALUES (?, ?, ?, ?, ?)',
          this.logSeq, now, eventsJson, request.dimensionPolicy === undefined ? null : JSON.stringify(request.dimensionPolicy), tooOld,
        );
        return this.apply(parsed.events, tooOld, policy.policy, now);
      });
    } catch (error) {
      this.load(now);
      // The groups that were waiting for a push go out from their totals as reloaded (PaneCache.clear keeps which they were).
      // The live view is an observer: a failure here must not hide why the call failed.
      try {
        this.pushes.changed(request.projectId, request.shard);
      } catch (pushError) {
        console.warn('ShardAggregator live push after a failed call:', pushError instanceof Error ? pushError.message : pushError);
      }
      throw error;
    }
    // Committed: the live push goes now, before anything below that could throw (a client's retry would be a duplicate, and push nothing).
    if (recorded.liveGroups > 0) this.pushes.changed(request.projectId, request.shard);
    this.logRows++;
    this.logChars += eventsJson.length;
    if (this.logRows >= CHECKPOINT_MAX_LOG_ROWS || this.logChars >= CHECKPOINT_MAX_LOG_CHARS || this.panes.dirtyCount >= CHECKPOINT_MAX_DIRTY_PANES) {
      this.checkpoint();
    } else this.scheduleCheckpoint();
    if (recorded.earliestCloseMs !== null) {
      await this.armAlarmBy(Math.max(now + this.config.flushIntervalMs, recorded.earliestCloseMs, this.retryNotBefore));
    }
    return recorded.result;
  }

  /**
   * Counts one call's events in memory: the same code for a live call and for
   * a replayed log row (with the call's own clock), so a reload rebuilds the
   * same state. Reads storage only on a pane-cache miss; writes nothing.
   */
  private apply(events: readonly ShardEvent[], tooOld: number, policy: DimensionPolicy | undefined, now: number): Recorded {
    const nowSec = Math.floor(now / 1000);
    // Ids seen at or after this second are duplicates: the horizon, rounded so it is never shorter.
    const cutoffSec = Math.floor((now - this.config.dedupHorizonMs) / 1000);
    const added: number[] = [];
    const batch = collectBatch(events, tooOld, {
      config: this.config,
      nowMs: now,
      identity: this.identity() ?? { projectId: '', shard: 0 },
      policy: compilePolicy(policy, this.config.maxDimensionValues),
      admitted: this.admitted,
      keys: this.keys,
      // 64-bit id hashes in memory; the checkpoint writes them as ONE journal row (see core/dedup-set.ts).
      markSeen: (eventId) => {
        hash64Into(eventId, idHash);
        const hi = idHash[0] ?? 0;
        const lo = idHash[1] ?? 0;
        if (!this.seen.add(hi, lo, nowSec, cutoffSec)) return false;
        added.push(hi, lo);
        return true;
      },
      panes: this.panes,
    });
    this.pending.addSeen(added, now);
    // The batch's events into their cached rows, which stay dirty until the next checkpoint.
    const written = this.panes.applyBatch();
    const digest = this.digest;
    if (digest !== null) for (const { paneStart, events } of written.addedByPane) digest.add(paneStart, events);
    this.pending.addGovernance(batch.governance);
    this.pending.addRaw(batch.raw);
    this.rawPendingRows += [...batch.raw.values()].reduce((sum, rows) => sum + rows.length, 0);
    this.pending.addCounters(batch.counters);
    if (batch.maxEventTimeMs !== null && batch.maxEventTimeMs > this.maxEventTimeMs) this.maxEventTimeMs = batch.maxEventTimeMs;
    this.unsealedRows += written.newlyUnsealed;
    const closes = batch.governance.map((entry) => closeTimeOf(entry.windowStart, this.config));
    if (written.earliestCloseMs !== null) closes.push(written.earliestCloseMs);
    const { accepted, duplicates, late, bots, foldedEvents, droppedDimensionEvents } = batch.counters;
    return {
      result: { accepted, duplicates, late, bots, foldedEvents, droppedDimensionEvents },
      liveGroups: written.liveGroups,
      earliestCloseMs: closes.length > 0 ? Math.min(...closes) : null,
    };
  }

  private scheduleCheckpoint(): void {
    if (this.checkpointTimer !== null) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      try {
        this.checkpoint();
      } catch (error) {
        // The log still holds everything; the next call, read or alarm tries again.
        console.warn('ShardAggregator checkpoint failed:', error instanceof Error ? error.message : error);
        this.scheduleCheckpoint();
      }
    }, checkpointDelayMs(Date.now(), this.config.paneMs));
  }

  /**
   * Writes what memory counted since the last checkpoint (dirty pane rows,
   * admitted values, governance, raw rows, counters, the new dedup hashes as
   * one journal row) and deletes the log rows it covers, in one transaction.
   * Every seal and every read of the stored state runs one first.
   */
  checkpoint(): void {
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    if (this.logRows === 0 && this.panes.dirtyCount === 0 && this.pending.isEmpty && !this.admitted.hasPending) return;
    const throughSeq = this.logSeq;
    this.transaction(() => {
        this.panes.forEachDirtyRow((values) => this.write(UPSERT_PANE_IN_PLACE_SQL, ...values));
        this.admitted.writePending();
        for (const entry of this.pending.governance.values()) {
          this.write(
            `INSERT INTO governance_pending (window_start, reason, dimension, events) VALUES (?, ?, ?, ?)
             ON CONFLICT (window_start, reason, dimension) DO UPDATE SET events = events + excluded.events`,
            entry.windowStart, entry.reason, entry.dimension, entry.events,
          );
        }
        for (const { windowStart, rows: rawRows } of this.pending.raw) {
          for (const part of splitIntoParts(rawRows)) {
            this.write('INSERT INTO raw_pending (window_start, row_count, rows_json) VALUES (?, ?, ?)', windowStart, part.rows, part.json);
          }
        }
        for (const name of COUNTER_NAMES) {
          const delta = this.pending.counters[name];
          if (delta !== 0) this.write('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value', name, delta);
        }
        if (this.maxEventTimeMs > Number(this.getMeta('max_event_time') ?? '0')) this.setMeta('max_event_time', String(this.maxEventTimeMs));
        if (this.pending.seenHashes.length > 0) {
          this.journalSeq = (this.journalSeq + 1) % 2 ** 31;
          this.write('INSERT INTO dedup_journal (seen_at, seq, hashes) VALUES (?, ?, ?)', this.pending.seenAtMs, this.journalSeq, encodeJournal(this.pending.seenHashes));
        }
        this.write('DELETE FROM ingest_log WHERE seq <= ?', throughSeq);
    });
    // Only now: had the transaction thrown, memory would still be the truth and everything still dirty.
    this.panes.markClean();
    this.pending.clear();
    this.admitted.clearPending();
    this.logRows = 0;
    this.logChars = 0;
    this.panes.trim();
  }

  private quarantineLogRow(seq: number, reason: string): void {
    console.error(`ShardAggregator: ingest log row ${seq} cannot be replayed (${reason}); moved to ingest_quarantine`);
    this.transaction(() => {
      this.write('INSERT OR REPLACE INTO ingest_quarantine SELECT seq, at_ms, events_json, policy_json, too_old, ? FROM ingest_log WHERE seq = ?', reason, seq);
      this.write('DELETE FROM ingest_log WHERE seq = ?', seq);
    });
  }

  override async alarm(): Promise<void> {
    await this.runCycle();
  }

  /** Runs one flush cycle now: used by operators and tests instead of waiting for the alarm. */
  async flushNow(): Promise<FlushOutcome> {
    return this.runCycle();
  }

  /** Cycles of one instance run one after another; correctness never depends on it (tokens do), it only saves duplicate sends. */
  private runCycle(): Promise<FlushOutcome> {
    const run = this.cycle.then(() => this.cycleOnce(), () => this.cycleOnce());
    this.cycle = run.catch(() => undefined);
    return run;
  }

  /** Backlog first (oldest first), then seal closed windows and send them: normally one insert per run. */
  private async cycleOnce(): Promise<FlushOutcome> {
    const now = Date.now();
    let outcome: FlushOutcome;
    try {
      this.checkpoint();
      this.prune(now);
      outcome = await this.flushBatches();
      for (let round = 0; outcome.status !== 'error' && round < MAX_SEALS_PER_CYCLE; round++) {
        if (this.sealClosedWindows(Date.now()) === null) break;
        outcome = combineOutcomes(outcome, await this.flushBatches());
      }
    } catch (error) {
      // Never throw out of alarm(): the runtime's retries are few, an outage can be long.
      const attempts = Number(this.getMeta('failed_cycles') ?? '0') + 1;
      outcome = { status: 'error', attempts, message: error instanceof Error ? error.message : String(error) };
    }
    this.setMeta('failed_cycles', outcome.status === 'error' ? String(outcome.attempts) : '0');
    const at = await this.scheduleNext(now, outcome);
    if (outcome.status === 'error' && at !== null) outcome = { ...outcome, retryAtMs: at };
    // Health shows the last real flush attempt, not the idle wake-ups after it.
    if (outcome.status !== 'idle') this.setMeta('last_flush', serializeLastFlush(outcome, now));
    return outcome;
  }

  /** Moves closed panes (up to MAX_PANES_PER_BATCH) plus their governance and raw rows into one sealed batch, atomically. */
  sealClosedWindows(now: number): number | null {
    const identity = this.identity();
    if (identity === null) return null;
    // Sealing reads the stored panes: everything counted so far must be in them.
    this.checkpoint();
    const through = closedThrough(now, this.config);
    const sealed = this.transaction(() => {
      this.setMeta('sealed_through', String(through));
      const panes = withinBytes(
        this.sql
          .exec<PaneRecord>(
            'SELECT * FROM panes WHERE unsealed = 1 AND pane_start < ? ORDER BY pane_start, event_type, dims_key LIMIT ?',
            through, MAX_PANES_PER_BATCH,
          )
          .toArray(),
      );
      const governance = this.sql
        .exec<{ window_start: number; reason: string; dimension: string; events: number }>('SELECT * FROM governance_pending WHERE window_start < ?', through)
        .toArray();
      const raw = this.sql
        .exec<{ id: number; window_start: number; row_count: number; rows_json: string }>('SELECT * FROM raw_pending WHERE window_start < ? ORDER BY id LIMIT 64', through)
        .toArray();
      const content = buildSealedBatch({
        identity,
        windowMs: this.config.windowMs,
        panes: panes.map(unsealedPart),
        governance: governance.flatMap((row) => (isGovernanceReason(row.reason) ? [{ windowStart: row.window_start, reason: row.reason, dimension: row.dimension, events: row.events }] : [])),
        raw: raw.map((row) => ({ windowStart: row.window_start, rowCount: row.row_count, rowsJson: row.rows_json })),
      });
      if (content === null) return null;
      const sequence = Number(this.getMeta('next_sequence') ?? '1');
      const token = dedupToken(identity.projectId, identity.shard, this.getMeta('incarnation') ?? '', sequence);
      this.write(
        'INSERT INTO batches (sequence, token, row_count, oldest_window_start, sealed_at) VALUES (?, ?, ?, ?, ?)',
        sequence, token, content.rowCount, content.oldestWindowStart, now,
      );
      content.parts.forEach((part, index) => this.write('INSERT INTO batch_parts (sequence, part, rows_json) VALUES (?, ?, ?)', sequence, index, part));
      for (const row of panes) {
        this.write(
          `UPDATE panes SET u_events = 0, u_value_sum = 0, u_bot_events = 0, u_bot_value_sum = 0, u_late_events = 0, unsealed = 0
           WHERE pane_start = ? AND event_type = ? AND dims_key = ?`,
          row.pane_start, row.event_type, row.dims_key,
        );
      }
      this.write('DELETE FROM governance_pending WHERE window_start < ?', through);
      for (const row of raw) this.write('DELETE FROM raw_pending WHERE id = ?', row.id);
      this.setMeta('next_sequence', String(sequence + 1));
      return { sequence, rowCount: content.rowCount, panes: panes.length, rawRows: raw.reduce((sum, row) => sum + row.row_count, 0) };
    });
    if (sealed === null) return null;
    // Sealing reset the unsealed columns of closed panes behind the cache.
    this.panes.dropBefore(through);
    this.unsealedRows -= sealed.panes;
    this.rawPendingRows -= sealed.rawRows;
    this.sealedRows += sealed.rowCount;
    return sealed.sequence;
  }

  /** Sends sealed batches oldest first, each as ONE insert; a batch is deleted only after ClickHouse acknowledged it. */
  private async flushBatches(): Promise<FlushOutcome> {
    const batches = this.sql
      .exec<{ sequence: number; token: string; attempts: number; row_count: number }>('SELECT sequence, token, attempts, row_count FROM batches ORDER BY sequence')
      .toArray();
    if (batches.length === 0) return { status: 'idle' };
    const client = clickHouseClient(this.env);
    let rows = 0;
    try {
      for (const batch of batches) {
        const values = this.batchRows(batch.sequence);
        try {
          await client.insert({
            table: TABLES.landing,
            values,
            format: 'JSONEachRow',
            clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, insert_deduplication_token: batch.token },
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const attempts = batch.attempts + 1;
          this.write('UPDATE batches SET attempts = ?, last_error = ? WHERE sequence = ?', attempts, message.slice(0, 1000), batch.sequence);
          console.warn(`ShardAggregator flush of batch ${batch.token} failed (attempt ${attempts}): ${message}`);
          return { status: 'error', attempts, message };
        }
        const deleted = this.ctx.storage.transactionSync(() => {
          this.write('DELETE FROM batch_parts WHERE sequence = ?', batch.sequence);
          return this.write('DELETE FROM batches WHERE sequence = ?', batch.sequence).rowsWritten > 0;
        });
        // An overlapping cycle may have acknowledged it first (same token: ClickHouse kept one copy).
        if (deleted) this.sealedRows -= batch.row_count;
        rows += batch.row_count;
      }
    } finally {
      await client.close();
    }
    return { status: 'flushed', batches: batches.length, rows };
  }

  private batchRows(sequence: number): unknown[] {
    const values: unknown[] = [];
    for (const part of this.sql.exec<{ rows_json: string }>('SELECT rows_json FROM batch_parts WHERE sequence = ? ORDER BY part', sequence)) {
      const parsed: unknown = JSON.parse(part.rows_json);
      if (!Array.isArray(parsed)) throw new Error(`batch ${sequence} has a corrupt part`);
      values.push(...parsed);
    }
    return values;
  }

  private async scheduleNext(now: number, outcome: FlushOutcome): Promise<number | null> {
    const through = closedThrough(now, this.config);
    const workReady =
      this.count('SELECT COUNT(*) AS n FROM batches') > 0 ||
      this.count('SELECT COUNT(*) AS n FROM (SELECT 1 FROM panes WHERE unsealed = 1 AND pane_start < ? LIMIT 1)', through) > 0;
    const oldestOpen = this.minimum(
      'SELECT MIN(m) AS n FROM (SELECT MIN(pane_start) AS m FROM panes WHERE unsealed = 1 UNION ALL SELECT MIN(window_start) FROM governance_pending UNION ALL SELECT MIN(window_start) FROM raw_pending)',
    );
    const oldestSeen = this.minimum('SELECT MIN(m) AS n FROM (SELECT MIN(seen_at) AS m FROM dedup_journal UNION ALL SELECT MIN(seen_at) FROM seen_events)');
    const oldestPane = this.minimum('SELECT MIN(pane_start) AS n FROM panes');
    const expiries = [oldestSeen === null ? null : oldestSeen + this.config.dedupHorizonMs, oldestPane === null ? null : oldestPane + PANE_RETENTION_MS].filter(
      (t): t is number => t !== null,
    );
    const backoffMs = outcome.status === 'error' ? backoffDelayMs(outcome.attempts) : null;
    const at = nextAlarmAt({
      nowMs: now,
      flushIntervalMs: this.config.flushIntervalMs,
      backoffMs,
      workReady,
      nextCloseMs: oldestOpen === null ? null : closeTimeOf(oldestOpen, this.config),
      nextExpiryMs: expiries.length > 0 ? Math.min(...expiries) : null,
    });
    this.retryNotBefore = backoffMs === null || at === null ? 0 : at;
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at);
    return at;
  }

  private async armAlarmBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private prune(now: number): void {
    this.write('DELETE FROM dedup_journal WHERE seen_at < ?', now - this.config.dedupHorizonMs);
    this.write('DELETE FROM seen_events WHERE seen_at < ?', now - this.config.dedupHorizonMs);
    this.write('DELETE FROM panes WHERE unsealed = 0 AND pane_start < ?', now - PANE_RETENTION_MS);
    this.panes.dropBefore(now - PANE_RETENTION_MS);
    this.admitted.prune(minuteStartOf(now - PANE_RETENTION_MS));
  }

  /** Running pane totals (human events and value sum) since `sinceMs`, so a restarted Broadcast can rebuild its view. */
  async liveTotals(sinceMs: number): Promise<PartialAggregate[]> {
    return this.recentTotals(sinceMs);
  }

  /**
   * Human events per minute from `sinceMs`'s minute on: what a combiner
   * compares with the totals it holds from this shard (core/live-digest.ts).
   * Kept in memory as batches are counted, so a settle reads no rows.
   */
  async liveDigest(sinceMs: number): Promise<MinuteEvents[]> {
    if (!Number.isFinite(sinceMs)) throw new RangeError('liveDigest expects a finite sinceMs');
    const sinceMinute = minuteStartOf(sinceMs);
    if (this.digest === null || sinceMinute < this.digest.fromMinute) this.digest = new LiveDigest(sinceMinute, this.recentTotals(sinceMinute));
    return this.digest.since(sinceMs);
  }

  private recentTotals(sinceMs: number): PartialAggregate[] {
    // Combiners call this to settle and rebuild: read the tables and lay the dirty rows over
    // them rather than checkpointing, which would undo the write coalescing.
    const totals = new Map<string, PartialAggregate>();
    const put = (row: { pane_start: number; event_type: string; dims_key: string; events: number; value_sum: number }): void => {
      totals.set(paneGroupKey(row.pane_start, row.event_type, row.dims_key), {
        windowStart: row.pane_start, eventType: row.event_type, dimsKey: row.dims_key, events: row.events, valueSum: row.value_sum,
      });
    };
    for (const row of this.sql.exec<{ pane_start: number; event_type: string; dims_key: string; events: number; value_sum: number }>(
      'SELECT pane_start, event_type, dims_key, events, value_sum FROM panes WHERE pane_start >= ? AND events > 0',
      sinceMs,
    )) {
      put(row);
    }
    for (const row of this.panes.dirtyRecords()) if (row.pane_start >= sinceMs && row.events > 0) put(row);
    return [...totals.values()];
  }

  /** Events, value sum and unique users of the last `lastSeconds` (whole panes), from panes only. Results of shards add up (see core/sliding.ts). */
  async slidingWindow(query: SlidingWindowQuery): Promise<SlidingWindowResult> {
    const checked = checkSlidingQuery(query);
    if (!checked.ok) throw new RangeError(checked.message);
    this.checkpoint();
    const range = slidingRange(Date.now(), this.config.paneMs, checked.query.lastSeconds);
    const accumulator = new SlidingAccumulator(checked.query);
    const rows = this.sql.exec<{ event_type: string; dims_key: string; events: number; value_sum: number; bot_events: number; users: ArrayBuffer | null }>(
      'SELECT event_type, dims_key, events, value_sum, bot_events, users FROM panes WHERE pane_start >= ? AND pane_start < ?',
      range.fromMs, range.toMs,
    );
    for (const row of rows) {
      accumulator.add({
        eventType: row.event_type, dimsKey: row.dims_key, events: row.events, valueSum: row.value_sum, botEvents: row.bot_events,
        sketch: row.users === null ? null : new Uint8Array(row.users),
      });
    }
    return accumulator.result(range);
  }

  async stats(): Promise<ShardStats> {
    this.checkpoint();
    const now = Date.now();
    const identity = this.identity();
    const through = closedThrough(now, this.config);
    const oldestClosedPane = this.minimum('SELECT MIN(pane_start) AS n FROM panes WHERE unsealed = 1 AND pane_start < ?', through);
    const numberMeta = (key: string): number | null => {
      const value = this.getMeta(key);
      return value === null ? null : Number(value);
    };
    return buildShardStats({
      nowMs: now,
      projectId: identity?.projectId ?? null,
      shard: identity?.shard ?? null,
      incarnation: this.getMeta('incarnation') ?? '',
      windowMs: this.config.windowMs,
      watermarkMs: through,
      unsealedRows: this.unsealedRows,
      pendingRawRows: this.rawPendingRows,
      rowsWrittenSinceStart: this.rowsWritten,
      sealedBatches: this.count('SELECT COUNT(*) AS n FROM batches'),
      sealedRows: this.sealedRows,
      maxBacklogRows: this.config.maxBacklogRows,
      nextSequence: numberMeta('next_sequence') ?? 1,
      sealedThroughMs: numberMeta('sealed_through'),
      maxEventTimeMs: numberMeta('max_event_time'),
      oldestSealedWindowMs: this.minimum('SELECT MIN(oldest_window_start) AS n FROM batches'),
      oldestClosedUnsealedWindowMs: oldestClosedPane === null ? null : windowStartOf(oldestClosedPane, this.config.windowMs),
      lastFlushJson: this.getMeta('last_flush'),
      nextAlarmMs: await this.ctx.storage.getAlarm(),
      dedupEntries: this.seen.liveCount(Math.floor((now - this.config.dedupHorizonMs) / 1000)),
      dedupHorizonMs: this.config.dedupHorizonMs,
      counters: this.counters(),
    });
  }

  /** transactionSync that forgets the meta cache when it rolls back. */
  private transaction<T>(body: () => T): T {
    try {
      return this.ctx.storage.transactionSync(body);
    } catch (error) {
      this.metaCache.clear();
      throw error;
    }
  }

  /** Shard -> its combiner (never the root directly: at many shards the root would pass its ~1,000 RPC/s soft limit). */
  private pushToCombiner(projectId: string, shard: number, push: LivePush): void {
    const partials: ShardPartials = { projectId, shard, windowMs: this.config.paneMs, groups: push.groups, columns: push.columns };
    // The live view is an observer: its failure must never fail ingestion. A failed push goes out again with the next one.
    this.ctx.waitUntil(
      combinerFor(this.env, projectId, shard)
        .publish(partials)
        .catch((error: unknown) => {
          console.warn('ShardAggregator push to Combiner failed (retried):', error instanceof Error ? error.message : error);
          const oldestKept = Date.now() - LIVE_RETENTION_MS;
          const groups = [...push.groups, ...partialsOf(push.columns)];
          this.pushes.retry(projectId, shard, groups.filter((group) => group.windowStart >= oldestKept));
        }),
    );
  }

  private counters(): ShardCounters {
    const counters = emptyCounters();
    for (const row of this.sql.exec<{ name: string; value: number }>('SELECT name, value FROM counters')) {
      if (isCounterName(row.name)) counters[row.name] = row.value;
    }
    return counters;
  }

  private rememberIdentity(projectId: string, shard: number): void {
    if (this.getMeta('project_id') === null) {
      this.setMeta('project_id', projectId);
      this.setMeta('shard', String(shard));
    }
  }

  private identity(): { projectId: string; shard: number } | null {
    const projectId = this.getMeta('project_id');
    const shard = this.getMeta('shard');
    return projectId === null || shard === null ? null : { projectId, shard: Number(shard) };
  }

  /** Every storage write goes through here, so stats can tell rows written (what SQLite-backed objects are billed by). */
  private write(query: string, ...bindings: SqlStorageValue[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
    const cursor = this.sql.exec(query, ...bindings);
    this.rowsWritten += cursor.rowsWritten;
    return cursor;
  }

  private count(query: string, ...bindings: SqlStorageValue[]): number {
    return Number(this.sql.exec<{ n: number }>(query, ...bindings).one().n);
  }

  private minimum(query: string, ...bindings: SqlStorageValue[]): number | null {
    const value = this.sql.exec<{ n: number | null }>(query, ...bindings).one().n;
    return value === null ? null : Number(value);
  }

  /** Read through an in-memory copy (this instance is the only writer; a rolled-back transaction clears it). */
  private getMeta(key: string): string | null {
    const cached = this.metaCache.get(key);
    if (cached !== undefined) return cached;
    const row = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    const value = row?.value ?? null;
    this.metaCache.set(key, value);
    return value;
  }

  private setMeta(key: string, value: string): void {
    if (this.metaCache.get(key) === value) return;
    this.write('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
    this.metaCache.set(key, value);
  }
}

interface Recorded {
  result: ShardIngestResult;
  /** Groups whose human totals changed (their partials wait in the pane cache for the next push). */
  liveGroups: number;
  earliestCloseMs: number | null;
}

/**
 * Admitted dimension values: SQLite as of the last checkpoint, plus the
 * admissions since (memory, written by the checkpoint); loaded lazily per window.
 */
class StoredAdmittedValues implements AdmittedValues {
  private readonly cache = new MemoryAdmittedValues();
  private readonly loaded = new Set<number>();
  private pending: Array<[number, string, string]> = [];
  private readonly sql: SqlStorage;
  private readonly write: (query: string, ...bindings: SqlStorageValue[]) => unknown;

  constructor(sql: SqlStorage, write: (query: string, ...bindings: SqlStorageValue[]) => unknown) {
    this.sql = sql;
    this.write = write;
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  get(windowStart: number, dimension: string): ReadonlySet<string> {
    if (!this.loaded.has(windowStart)) {
      for (const row of this.sql.exec<{ dimension: string; value: string }>('SELECT dimension, value FROM dim_values WHERE window_start = ?', windowStart)) {
        this.cache.admit(windowStart, row.dimension, row.value);
      }
      this.loaded.add(windowStart);
    }
    return this.cache.get(windowStart, dimension);
  }

  admit(windowStart: number, dimension: string, value: string): void {
    this.cache.admit(windowStart, dimension, value);
    this.pending.push([windowStart, dimension, value]);
  }

  /** Inside the checkpoint's transaction. */
  writePending(): void {
    for (const [windowStart, dimension, value] of this.pending) {
      this.write('INSERT OR IGNORE INTO dim_values (window_start, dimension, value) VALUES (?, ?, ?)', windowStart, dimension, value);
    }
  }

  clearPending(): void {
    this.pending = [];
  }

  /** After a checkpoint (nothing pending). */
  prune(cutoff: number): void {
    this.cache.prune(cutoff);
    for (const windowStart of this.loaded) if (windowStart < cutoff) this.loaded.delete(windowStart);
    this.write('DELETE FROM dim_values WHERE window_start < ?', cutoff);
  }
}
