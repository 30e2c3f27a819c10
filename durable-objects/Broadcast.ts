import { DurableObject } from 'cloudflare:workers';
import { combinerObjectName } from '../core/fanout-math.ts';
import { parseLiveLimits, readLiveConfig, type LiveConfig, type LiveLimits } from '../core/live-config.ts';
import type {
  AttachRequest,
  AttachResult,
  CombinedPartials,
  LiveStats,
  RelayAssignment,
  RootInbound,
  RelayAssignmentRequest,
  RelayDeliveryResult,
  RelayReport,
} from '../core/live-rpc.ts';
import { LIVE_RETENTION_MS, LiveTotals, MINUTE_MS, minuteOf } from '../core/live-totals.ts';
import type { LiveDelta } from '../core/protocol.ts';
import { RelayOutbox } from '../core/relay-outbox.ts';
import { assignRelay, isRelayHint, type RelayRecord } from '../core/relay-placement.ts';
import { Ticker } from '../core/ticker.ts';
import { seqBase, TopicBook } from '../core/topic-book.ts';
import { parseTopic } from '../core/topics.ts';

/** Queued deltas per relay before the oldest are dropped (the relay then resyncs). */
const MAX_OUTBOX_DELTAS = 5000;
/** Failed pushes in a row after which a relay is presumed gone and its topics detached. */
const MAX_RELAY_FAILURES = 20;
/** How far back liveSeries' read-through refresh re-reads the shards (the query API fills the last 5 minutes). */
const READ_THROUGH_LOOKBACK_MS = 6 * MINUTE_MS;

/**
 * The root of a project's live fan-out, one per project (idFromName(projectId)).
 *
 * - Takes the combiners' summed pane totals (`combined`, at most one RPC per
 *   combiner per tick; shards never call the root) and keeps the last 60
 *   minutes of pane totals in memory; after an eviction it rebuilds them from
 *   the combiners, which rebuild from the shards' liveTotals.
 * - Computes a topic only while some relay subscribes to it, and once per tick
 *   sends each relay one RPC with the deltas of its topics.
 * - Places viewers: keeps the relays' occupancy and leases free slots to the
 *   edge (assignRelay).
 * - Serves liveSeries / catalog / freshness to the query API.
 * It holds no viewer sockets itself.
 */
export class Broadcast extends DurableObject<Env> {
  private readonly config: LiveConfig;
  private readonly totals = new LiveTotals();
  private readonly book: TopicBook;
  /** Bumped on every start: seqs of this incarnation are above every earlier one. */
  private readonly epoch: number;
  private limits: LiveLimits;
  private readonly relays: RelayRecord[];
  private readonly outboxes = new Map<string, RelayOutbox>();
  private readonly ticker: Ticker;
  /** When the newest partial arrived (epoch ms): the freshness of everything this object serves. */
  private lastPublishAtMs: number | null = null;
  /** In-memory totals are lost on eviction; the first use after a start re-reads them. */
  private rebuild: Promise<void> | null = null;
  /** liveSeries read-through: the refresh running, and the one queued behind it (shared by every caller that waits). */
  private refreshRunning: Promise<void> | null = null;
  private refreshQueued: Promise<void> | null = null;
  /** RPCs received since this incarnation started (liveStats): what the combiner level is there to bound. */
  private readonly inbound: RootInbound = { combined: 0, attachTopics: 0, assignRelay: 0, relayReport: 0, liveSeries: 0 };
  private readonly combinedBy: number[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS relays (name TEXT PRIMARY KEY, hint TEXT, viewers INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS relay_topics (relay TEXT NOT NULL, topic TEXT NOT NULL, PRIMARY KEY (relay, topic));`);
    this.config = readLiveConfig(env);
    this.epoch = Number(this.getMeta('epoch') ?? '0') + 1;
    this.setMeta('epoch', String(this.epoch));
    this.book = new TopicBook(seqBase(this.epoch));
    this.limits = this.storedLimits();
    this.relays = sql
      .exec<{ name: string; hint: string | null; viewers: number }>('SELECT name, hint, viewers FROM relays ORDER BY name')
      .toArray()
      .map((row) => ({ name: row.name, hint: isRelayHint(row.hint) ? row.hint : null, viewers: row.viewers, leases: [] }));
    this.ticker = new Ticker(this.config.tickMs, () => this.flushDeltas());
  }

  /** A Broadcast never accepts sockets: viewers connect to relays through GET /v1/live. */
  override async fetch(): Promise<Response> {
    return Response.json({ error: { code: 'use_live_route', message: 'Viewers connect through GET /v1/live, which routes them to a relay.' } }, { status: 400 });
  }

  // ---------- partials in ----------

  /** Combiner -> root: at most one RPC per combiner per tick with the summed totals of the panes that changed. */
  async combined(batch: CombinedPartials): Promise<void> {
    if (!Array.isArray(batch.groups) || !Number.isInteger(batch.combiner) || batch.combiner < 0) throw new TypeError('combined expects { projectId, combiner, groups }');
    this.inbound.combined++;
    this.combinedBy[batch.combiner] = (this.combinedBy[batch.combiner] ?? 0) + 1;
    const now = Date.now();
    this.lastPublishAtMs = now;
    this.rememberProject(batch.projectId);
    await this.ensureRebuilt();
    this.book.apply(this.totals.merge(batch.combiner, batch.groups, now));
    this.prune(now);
    this.ticker.request();
  }

  private flushDeltas(): void {
    const deltas = this.book.flush(Date.now());
    if (deltas.length === 0) return;
    const perRelay = new Map<string, LiveDelta[]>();
    for (const delta of deltas) {
      for (const relay of this.book.relaysOf(delta.topic)) {
        const list = perRelay.get(relay);
        if (list === undefined) perRelay.set(relay, [delta]);
        else list.push(delta);
      }
    }
    for (const [relay, list] of perRelay) this.outbox(relay).enqueue(list);
  }

  private outbox(relay: string): RelayOutbox {
    let outbox = this.outboxes.get(relay);
    if (outbox === undefined) {
      outbox = new RelayOutbox((deltas) => this.deliver(relay, deltas), {
        maxQueued: MAX_OUTBOX_DELTAS,
        maxFailures: MAX_RELAY_FAILURES,
        wait: (attempt) => new Promise((resolve) => setTimeout(resolve, Math.min(5000, this.config.tickMs * attempt))),
        onGiveUp: () => {
          console.warn(`relay ${relay} unreachable; detaching its topics`);
          for (const topic of this.topicsOf(relay)) this.detach(relay, topic);
        },
      });
      this.outboxes.set(relay, outbox);
    }
    return outbox;
  }

  private async deliver(relay: string, deltas: LiveDelta[]): Promise<void> {
    const projectId = this.projectId();
    if (projectId === null) return;
    const result: RelayDeliveryResult = await this.relayStub(relay).deliver({ projectId, relay, deltas });
    for (const topic of result.unwanted) this.detach(relay, topic);
    this.setViewers(relay, result.viewers);
  }

  // ---------- relays ----------

  /** Edge -> root: a relay near the viewer with room, and how many viewers the edge may send it before asking again. */
  async assignRelay(request: RelayAssignmentRequest): Promise<RelayAssignment> {
    this.inbound.assignRelay++;
    this.rememberProject(request.projectId);
    const hint = isRelayHint(request.hint) ? request.hint : null;
    for (const name of request.full ?? []) {
      const relay = this.relays.find((r) => r.name === name);
      if (relay !== undefined) relay.viewers = Math.max(relay.viewers, this.limits.relayMaxViewers);
    }
    const assignment = assignRelay(this.relays, {
      projectId: request.projectId,
      hint,
      capacity: this.limits.relayMaxViewers,
      nowMs: Date.now(),
      exclude: request.full ?? [],
    });
    if (assignment.created) {
      this.ctx.storage.sql.exec('INSERT OR IGNORE INTO relays (name, hint, viewers) VALUES (?, ?, 0)', assignment.relay, assignment.hint);
    }
    return { relay: assignment.relay, hint: assignment.hint, slots: assignment.slots, limits: this.limits, tickMs: this.config.tickMs };
  }

  /** Relay -> root: start sending these topics to the relay; returns their snapshots. */
  async attachTopics(request: AttachRequest): Promise<AttachResult> {
    this.inbound.attachTopics++;
    this.rememberProject(request.projectId);
    await this.ensureRebuilt();
    const result: AttachResult = { snapshots: [], errors: [] };
    for (const name of request.topics) {
      const parsed = parseTopic(name);
      if (!parsed.ok) {
        result.errors.push({ topic: name, message: parsed.message });
        continue;
      }
      result.snapshots.push(this.book.attach(parsed.topic, request.relay, this.totals));
      this.ctx.storage.sql.exec('INSERT OR IGNORE INTO relay_topics (relay, topic) VALUES (?, ?)', request.relay, name);
    }
    if (!this.relays.some((relay) => relay.name === request.relay)) {
      this.relays.push({ name: request.relay, hint: null, viewers: 0, leases: [] });
      this.ctx.storage.sql.exec('INSERT OR IGNORE INTO relays (name, hint, viewers) VALUES (?, NULL, 0)', request.relay);
    }
    return result;
  }

  /** Relay -> root: its viewer count changed (sent at most once a second). */
  async relayReport(report: RelayReport): Promise<void> {
    this.inbound.relayReport++;
    this.rememberProject(report.projectId);
    if (Number.isInteger(report.viewers) && report.viewers >= 0) this.setViewers(report.relay, report.viewers);
  }

  /** Per-project viewer limits (relay capacity, snapshot length, slow-viewer bound); unset keys keep the vars' values. */
  async configureLive(input: unknown): Promise<LiveLimits> {
    const parsed = parseLiveLimits(input, this.config.limits);
    if (!parsed.ok) throw new RangeError(parsed.message);
    this.limits = parsed.limits;
    this.setMeta('limits', JSON.stringify(input));
    return this.limits;
  }

  async liveStats(): Promise<LiveStats> {
    return {
      projectId: this.projectId(),
      epoch: this.epoch,
      limits: this.limits,
      combiners: this.config.combiners.combiners,
      topics: this.book.names().sort(),
      relays: this.relays.map((relay) => ({ name: relay.name, hint: relay.hint, viewers: relay.viewers, topics: this.topicsOf(relay.name) })),
      inbound: { ...this.inbound },
      combinedByCombiner: Array.from({ length: this.config.combiners.combiners }, (_, index) => this.combinedBy[index] ?? 0),
    };
  }

  private setViewers(name: string, viewers: number): void {
    const relay = this.relays.find((r) => r.name === name);
    if (relay === undefined || relay.viewers === viewers) return;
    relay.viewers = viewers;
    this.ctx.storage.sql.exec('UPDATE relays SET viewers = ? WHERE name = ?', viewers, name);
  }

  private detach(relay: string, topic: string): void {
    this.book.detach(topic, relay);
    this.ctx.storage.sql.exec('DELETE FROM relay_topics WHERE relay = ? AND topic = ?', relay, topic);
  }

  private topicsOf(relay: string): string[] {
    return this.ctx.storage.sql
      .exec<{ topic: string }>('SELECT topic FROM relay_topics WHERE relay = ? ORDER BY topic', relay)
      .toArray()
      .map((row) => row.topic);
  }

  // ---------- rebuild ----------

  private ensureRebuilt(): Promise<void> {
    this.rebuild ??= this.rebuildFromCombiners().catch((error: unknown) => {
      // Try again on the next use; live pushes keep flowing meanwhile.
      this.rebuild = null;
      console.warn('Broadcast rebuild from combiners failed:', error instanceof Error ? error.message : error);
    });
    return this.rebuild;
  }

  /**
   * Totals from every combiner, each re-reading its shards (pushes forwarded
   * through this object may have been lost when it went down), then the
   * topics relays had subscribed.
   */
  private async rebuildFromCombiners(): Promise<void> {
    const projectId = this.projectId();
    if (projectId === null) return;
    const sinceMs = Date.now() - LIVE_RETENTION_MS;
    const plan = this.config.combiners;
    const results = await Promise.all(
      Array.from({ length: plan.combiners }, (_, index) => this.combiner(projectId, index).totalsSince({ projectId, index, sinceMs, refresh: true })),
    );
    const now = Date.now();
    results.forEach((groups, index) => this.totals.merge(index, groups, now));
    // Topics relays subscribed before the restart. Changes that arrived while this object was down are
    // already in the rebuilt totals, so no delta would tell the relays: announce each topic once; its
    // seq jumps to this epoch, the relays notice and resync from a snapshot.
    for (const row of this.ctx.storage.sql.exec<{ relay: string; topic: string }>('SELECT relay, topic FROM relay_topics')) {
      const parsed = parseTopic(row.topic);
      if (parsed.ok) this.book.attach(parsed.topic, row.relay, this.totals, { announceAtMs: now });
    }
    this.ticker.request();
  }

  // ---------- query API ----------

  /**
   * Per-minute totals since `sinceMs` for an event type (null = all) and
   * dimension filters: the query API fills minutes not yet in ClickHouse from this.
   */
  async liveSeries(eventType: string | null, filters: Record<string, string>, sinceMs: number): Promise<Array<{ minuteStart: number; events: number; valueSum: number }>> {
    this.inbound.liveSeries++;
    await this.ensureRebuilt();
    if (sinceMs >= Date.now() - READ_THROUGH_LOOKBACK_MS) {
      try {
        await this.readThrough();
      } catch (error) {
        // The pushed totals still answer; only events of the last instants may be missing.
        console.warn('Broadcast read-through failed:', error instanceof Error ? error.message : error);
      }
    }
    return this.totals.series(eventType, filters, sinceMs);
  }

  /**
   * Read-your-writes for the query API: shard pushes are asynchronous (and at
   * most once), so before answering, the combiners re-read their shards'
   * recent totals, in a refresh that starts after this call. Concurrent
   * callers share one queued refresh, so the cost is bounded by the query
   * API's edge cache misses (combiners + shards RPCs each), not by viewers.
   */
  private readThrough(): Promise<void> {
    if (this.refreshQueued !== null) return this.refreshQueued;
    const start = (): Promise<void> => {
      const run = this.refreshFromCombiners().finally(() => {
        if (this.refreshRunning === run) this.refreshRunning = null;
      });
      this.refreshRunning = run;
      return run;
    };
    if (this.refreshRunning === null) return start();
    const queued = this.refreshRunning.catch(() => undefined).then(() => {
      this.refreshQueued = null;
      return start();
    });
    this.refreshQueued = queued;
    return queued;
  }

  private async refreshFromCombiners(): Promise<void> {
    const projectId = this.projectId();
    if (projectId === null) return;
    const sinceMs = Date.now() - READ_THROUGH_LOOKBACK_MS;
    const results = await Promise.all(
      Array.from({ length: this.config.combiners.combiners }, (_, index) => this.combiner(projectId, index).totalsSince({ projectId, index, sinceMs, refresh: true })),
    );
    const now = Date.now();
    results.forEach((groups, index) => this.book.apply(this.totals.merge(index, groups, now)));
    this.ticker.request();
  }

  /** Time of the newest partial pushed in; null if none since this object started. */
  async freshness(): Promise<{ lastPublishAtMs: number | null }> {
    return { lastPublishAtMs: this.lastPublishAtMs };
  }

  /** Event types and dimension names seen in the retained minutes. */
  async catalog(): Promise<{ eventTypes: string[]; dimensions: string[] }> {
    await this.ensureRebuilt();
    return this.totals.catalog();
  }

  // ---------- helpers ----------

  private prune(now: number): void {
    this.totals.prune(now);
    this.book.prune(minuteOf(now - LIVE_RETENTION_MS) + MINUTE_MS);
  }

  private combiner(projectId: string, index: number) {
    return this.env.COMBINER.get(this.env.COMBINER.idFromName(combinerObjectName(projectId, index)));
  }

  private relayStub(name: string) {
    return this.env.LIVE_RELAY.get(this.env.LIVE_RELAY.idFromName(name));
  }

  private storedLimits(): LiveLimits {
    const raw = this.getMeta('limits');
    if (raw === null) return this.config.limits;
    try {
      const parsed = parseLiveLimits(JSON.parse(raw), this.config.limits);
      return parsed.ok ? parsed.limits : this.config.limits;
    } catch {
      return this.config.limits;
    }
  }

  private rememberProject(projectId: string): void {
    if (this.projectId() === null) this.setMeta('project_id', projectId);
  }

  private projectId(): string | null {
    return this.getMeta('project_id');
  }

  private getMeta(key: string): string | null {
    const row = this.ctx.storage.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row?.value ?? null;
  }

  private setMeta(key: string, value: string): void {
    this.ctx.storage.sql.exec('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }
}
