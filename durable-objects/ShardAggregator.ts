import { DurableObject } from 'cloudflare:workers';
import { readConfig, type RuntimeConfig } from '../core/config.ts';
import { dimensionsKey } from '../core/dimensions.ts';
import type { PartialAggregate, ShardIngestRequest, ShardIngestResult, ShardPartials } from '../core/protocol.ts';
import { dedupToken, TABLES, toRollupRow, type RollupRow, type WindowAggregate } from '../core/rollup-rows.ts';
import { isWindowClosed, windowStartOf } from '../core/windows.ts';
import { clickHouseClient } from '../workers/clickhouse.ts';

/** Retries of the same eventId inside this horizon count once. */
const DEDUP_HORIZON_MS = 10 * 60_000;
/** Live totals are kept this long so the broadcast layer can be rebuilt. */
const LIVE_RETENTION_MS = 60 * 60_000;
const MAX_BACKOFF_MS = 60_000;

export type FlushOutcome =
  | { status: 'idle' }
  | { status: 'flushed'; batches: number; rows: number }
  | { status: 'error'; attempts: number; message: string };

export interface ShardStats {
  projectId: string | null;
  shard: number | null;
  pendingGroups: number;
  sealedBatches: number;
  nextSequence: number;
  lastFlush: FlushOutcome | null;
}

type GroupDelta = WindowAggregate;

/**
 * One per (project, shard). Counts events in tumbling windows held in SQLite
 * storage, and flushes closed windows to ClickHouse exactly once: a sealed
 * batch is stored with a deterministic dedup token before it is sent, re-sent
 * unchanged until ClickHouse acknowledges it, and only then deleted.
 */
export class ShardAggregator extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: RuntimeConfig;
  private lastFlush: FlushOutcome | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = readConfig(env);
    this.migrate();
  }

  private migrate(): void {
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS pending_windows (
        window_start INTEGER NOT NULL, event_type TEXT NOT NULL, dims_key TEXT NOT NULL,
        events INTEGER NOT NULL, value_sum REAL NOT NULL, late_events INTEGER NOT NULL,
        PRIMARY KEY (window_start, event_type, dims_key));
      CREATE TABLE IF NOT EXISTS live_totals (
        window_start INTEGER NOT NULL, event_type TEXT NOT NULL, dims_key TEXT NOT NULL,
        events INTEGER NOT NULL, value_sum REAL NOT NULL,
        PRIMARY KEY (window_start, event_type, dims_key));
      CREATE TABLE IF NOT EXISTS sealed_batches (
        sequence INTEGER PRIMARY KEY, token TEXT NOT NULL, rows_json TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sealed_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen_at);
    `);
    if (this.getMeta('incarnation') === null) this.setMeta('incarnation', crypto.randomUUID());
  }

  /** Counts a batch. Returns once the change is durable, so the edge's 202 means "will be counted". */
  async ingest(request: ShardIngestRequest): Promise<ShardIngestResult> {
    const now = Date.now();
    this.rememberIdentity(request.projectId, request.shard);
    const { windowMs, allowedLatenessMs } = this.config;
    const deltas = new Map<string, GroupDelta>();
    let duplicates = 0;
    let late = 0;

    // No await inside: all of these writes commit as one atomic transaction.
    for (const event of request.events) {
      const inserted = this.sql.exec(
        'INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)',
        event.eventId,
        now,
      ).rowsWritten;
      if (inserted === 0) {
        duplicates++;
        continue;
      }
      const windowStart = windowStartOf(event.timestampMs, windowMs);
      const isLate = isWindowClosed(windowStart, windowMs, allowedLatenessMs, now);
      if (isLate) late++;
      const dimsKey = dimensionsKey(event.dimensions);
      const groupKey = `${windowStart}\u0000${event.eventType}\u0000${dimsKey}`;
      const delta = deltas.get(groupKey);
      if (delta) {
        delta.events++;
        delta.valueSum += event.value;
        delta.lateEvents += isLate ? 1 : 0;
      } else {
        deltas.set(groupKey, {
          windowStart,
          eventType: event.eventType,
          dimsKey,
          events: 1,
          valueSum: event.value,
          lateEvents: isLate ? 1 : 0,
        });
      }
    }
    // One row write per group, not per event.
    for (const delta of deltas.values()) {
      this.sql.exec(
        `INSERT INTO pending_windows (window_start, event_type, dims_key, events, value_sum, late_events)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (window_start, event_type, dims_key) DO UPDATE SET
           events = events + excluded.events, value_sum = value_sum + excluded.value_sum,
           late_events = late_events + excluded.late_events`,
        delta.windowStart, delta.eventType, delta.dimsKey, delta.events, delta.valueSum, delta.lateEvents,
      );
      this.sql.exec(
        `INSERT INTO live_totals (window_start, event_type, dims_key, events, value_sum) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (window_start, event_type, dims_key) DO UPDATE SET
           events = events + excluded.events, value_sum = value_sum + excluded.value_sum`,
        delta.windowStart, delta.eventType, delta.dimsKey, delta.events, delta.valueSum,
      );
    }

    if (deltas.size > 0) {
      await this.ensureAlarm(now + this.config.flushIntervalMs);
      this.pushToBroadcast(request.projectId, request.shard, [...deltas.values()]);
    }
    return { accepted: request.events.length - duplicates, duplicates, late };
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sealClosedWindows(now);
    this.pruneHousekeeping(now);
    const outcome = await this.flushSealedBatches();
    this.lastFlush = outcome;
    if (outcome.status === 'error') {
      // Our own backoff instead of throwing: the runtime gives up after a few
      // retries, while a ClickHouse outage can last longer than that.
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(outcome.attempts, 6));
      await this.ctx.storage.setAlarm(now + backoff / 2 + Math.random() * (backoff / 2));
      return;
    }
    const pending = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending_windows').one().n;
    // A later time, never Date.now(): an alarm set for "now" inside alarm() can be dropped (workerd#6866).
    if (pending > 0) await this.ctx.storage.setAlarm(Date.now() + this.config.flushIntervalMs);
  }

  /** Moves every closed window into one sealed batch with the next sequence number, atomically. */
  sealClosedWindows(now: number): number | null {
    const identity = this.identity();
    if (identity === null) return null;
    const cutoff = now - this.config.windowMs - this.config.allowedLatenessMs;
    return this.ctx.storage.transactionSync(() => {
      const rows = this.sql
        .exec<{ window_start: number; event_type: string; dims_key: string; events: number; value_sum: number; late_events: number }>(
          'SELECT * FROM pending_windows WHERE window_start <= ? ORDER BY window_start, event_type, dims_key',
          cutoff,
        )
        .toArray();
      if (rows.length === 0) return null;
      const sequence = Number(this.getMeta('next_sequence') ?? '1');
      const rollupRows: RollupRow[] = rows.map((row) =>
        toRollupRow(identity.projectId, {
          windowStart: row.window_start,
          eventType: row.event_type,
          dimsKey: row.dims_key,
          events: row.events,
          valueSum: row.value_sum,
          lateEvents: row.late_events,
        }),
      );
      this.sql.exec(
        'INSERT INTO sealed_batches (sequence, token, rows_json, sealed_at) VALUES (?, ?, ?, ?)',
        sequence,
        dedupToken(identity.projectId, identity.shard, this.getMeta('incarnation') ?? '', sequence),
        JSON.stringify(rollupRows),
        now,
      );
      this.sql.exec('DELETE FROM pending_windows WHERE window_start <= ?', cutoff);
      this.setMeta('next_sequence', String(sequence + 1));
      return sequence;
    });
  }

  /** Sends sealed batches oldest first; each is deleted only after ClickHouse acknowledged it. */
  private async flushSealedBatches(): Promise<FlushOutcome> {
    const batches = this.sql
      .exec<{ sequence: number; token: string; rows_json: string; attempts: number }>(
        'SELECT sequence, token, rows_json, attempts FROM sealed_batches ORDER BY sequence',
      )
      .toArray();
    if (batches.length === 0) return { status: 'idle' };
    const client = clickHouseClient(this.env);
    let rows = 0;
    try {
      for (const batch of batches) {
        // Written by sealClosedWindows from typed rows; storage is ours, not client input.
        const values = JSON.parse(batch.rows_json) as RollupRow[];
        try {
          await client.insert({
            table: TABLES.eventsPerMinute,
            values,
            format: 'JSONEachRow',
            // Synchronous insert: ClickHouse 26 defaults async_insert=1, which would acknowledge before the block is deduplicated and stored.
            clickhouse_settings: { insert_deduplication_token: batch.token, async_insert: 0 },
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const attempts = batch.attempts + 1;
          this.sql.exec(
            'UPDATE sealed_batches SET attempts = ?, last_error = ? WHERE sequence = ?',
            attempts,
            message.slice(0, 1000),
            batch.sequence,
          );
          console.warn(`ShardAggregator flush of batch ${batch.token} failed (attempt ${attempts}): ${message}`);
          return { status: 'error', attempts, message };
        }
        this.sql.exec('DELETE FROM sealed_batches WHERE sequence = ?', batch.sequence);
        rows += values.length;
      }
    } finally {
      await client.close();
    }
    return { status: 'flushed', batches: batches.length, rows };
  }

  /** Runs one flush cycle now: used by operators and tests instead of waiting for the alarm. */
  async flushNow(): Promise<FlushOutcome> {
    await this.alarm();
    return this.lastFlush ?? { status: 'idle' };
  }

  /** Running totals since `sinceMs`, so a restarted Broadcast can rebuild its view. */
  async liveTotals(sinceMs: number): Promise<PartialAggregate[]> {
    return this.sql
      .exec<{ window_start: number; event_type: string; dims_key: string; events: number; value_sum: number }>(
        'SELECT * FROM live_totals WHERE window_start >= ?',
        sinceMs,
      )
      .toArray()
      .map((row) => ({ windowStart: row.window_start, eventType: row.event_type, dimsKey: row.dims_key, events: row.events, valueSum: row.value_sum }));
  }

  async stats(): Promise<ShardStats> {
    const identity = this.identity();
    return {
      projectId: identity?.projectId ?? null,
      shard: identity?.shard ?? null,
      pendingGroups: this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending_windows').one().n,
      sealedBatches: this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM sealed_batches').one().n,
      nextSequence: Number(this.getMeta('next_sequence') ?? '1'),
      lastFlush: this.lastFlush,
    };
  }

  private pruneHousekeeping(now: number): void {
    this.sql.exec('DELETE FROM seen_events WHERE seen_at < ?', now - DEDUP_HORIZON_MS);
    this.sql.exec('DELETE FROM live_totals WHERE window_start < ?', now - LIVE_RETENTION_MS);
  }

  private pushToBroadcast(projectId: string, shard: number, deltas: readonly GroupDelta[]): void {
    const groups: PartialAggregate[] = deltas.map((delta) => {
      const total = this.sql
        .exec<{ events: number; value_sum: number }>(
          'SELECT events, value_sum FROM live_totals WHERE window_start = ? AND event_type = ? AND dims_key = ?',
          delta.windowStart, delta.eventType, delta.dimsKey,
        )
        .one();
      return { windowStart: delta.windowStart, eventType: delta.eventType, dimsKey: delta.dimsKey, events: total.events, valueSum: total.value_sum };
    });
    const partials: ShardPartials = { projectId, shard, windowMs: this.config.windowMs, groups };
    const broadcast = this.env.BROADCAST.get(this.env.BROADCAST.idFromName(projectId));
    // The live view is an observer: its failure must never fail ingestion.
    this.ctx.waitUntil(
      broadcast.publish(partials).catch((error: unknown) => {
        console.warn('ShardAggregator push to Broadcast failed:', error instanceof Error ? error.message : error);
      }),
    );
  }

  private async ensureAlarm(at: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(at);
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

  private getMeta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }
}
