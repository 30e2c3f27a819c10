import { DurableObject } from 'cloudflare:workers';
import { combinerIndexOf, combinerObjectName, combinerShards, SETTLE_INTERVAL_MS } from '../core/fanout-math.ts';
import { readLiveConfig, type LiveConfig } from '../core/live-config.ts';
import type { CombinerStats } from '../core/live-rpc.ts';
import { earliestMinuteBehind, type MinuteEvents } from '../core/live-digest.ts';
import { LIVE_RETENTION_MS, LiveTotals, paneGroupKey, toPartial, type PaneChange, type PaneTotal } from '../core/live-totals.ts';
import { isPartialColumns } from '../core/partial-columns.ts';
import type { PartialAggregate, ShardPartials } from '../core/protocol.ts';
import { shardObjectName } from '../core/shard.ts';
import { Ticker } from '../core/ticker.ts';

/**
 * Anti-entropy, a backstop (SETTLE_INTERVAL_MS): pushes are the fast path, and
 * the losses they can have are covered where they happen (a failed push is
 * retried by its shard; a shard that died with pushes waiting re-announces its
 * recent totals when it starts again; a restarted combiner rebuilds from its
 * shards). For whatever else goes missing, within this long after any push the
 * combiner settles: it asks each shard for its events per minute (a digest,
 * no rows read) and re-reads, from that minute, a shard whose events it still
 * lacks one settle later (core/live-digest.ts), then passes up what moved;
 * while a digest is ahead, settles continue (push or no push), so a lost push
 * shows up on viewers within two settles instead of never. The settle (and a
 * shard's announce) looks this far back: the current and previous minutes.
 */
export const SETTLE_LOOKBACK_MS = 2 * 60_000;

/**
 * The combiner that merges `shard`'s partials. Shards push here (at most once
 * per tick while their panes change) instead of to the root, so the root takes
 * ceil(shards / fanIn) pushes per tick at any shard count (core/fanout-math.ts).
 */
export function combinerFor(env: Env, projectId: string, shard: number): DurableObjectStub<Combiner> {
  const { combiners } = readLiveConfig(env);
  return env.COMBINER.get(env.COMBINER.idFromName(combinerObjectName(projectId, combinerIndexOf(shard, combiners))));
}

/**
 * One per (project, group of `fanIn` shards). Keeps each shard's latest
 * partials (absolute running totals, merged by "more events is newer", see
 * core/live-totals.ts), and once per tick sends the root one RPC with the
 * summed totals of every pane that changed. Memory only: after an eviction it
 * rebuilds from its shards' liveTotals before merging anything, so it never
 * passes up a sum that misses a shard.
 */
export class Combiner extends DurableObject<Env> {
  private readonly config: LiveConfig;
  private readonly totals = new LiveTotals();
  /** Panes changed since the last push, by key; their totals are read at push time (latest wins). */
  private readonly changed = new Map<string, PaneTotal>();
  private identity: { projectId: string; index: number } | null = null;
  private rebuild: Promise<void> | null = null;
  private readonly ticker: Ticker;
  private readonly settler: Ticker;
  private readonly counters: CombinerStats = { publishes: 0, pushesToRoot: 0, settles: 0, settleRereads: 0 };
  /** Each shard's digest at the previous settle: what this combiner must hold by the next one. */
  private readonly lastDigests = new Map<number, MinuteEvents[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = readLiveConfig(env);
    this.ticker = new Ticker(this.config.tickMs, () => this.pushToRoot(), undefined, (error) => {
      console.warn('Combiner push to root failed (retried next tick):', error instanceof Error ? error.message : error);
    });
    this.settler = new Ticker(
      SETTLE_INTERVAL_MS,
      async () => {
        await this.settle();
      },
      undefined,
      (error) => console.warn('Combiner settling re-read failed:', error instanceof Error ? error.message : error),
      { leading: false },
    );
  }

  /**
   * Shard -> combiner (the shard's live tick): absolute running totals of the
   * panes that changed. What moved goes to the root at the next tick, summed
   * over this combiner's shards. A push that only repeats what a rebuild just
   * read moves nothing, and needs not: the rebuild marked all of it changed.
   */
  async publish(partials: ShardPartials): Promise<void> {
    if (typeof partials.projectId !== 'string' || !Number.isInteger(partials.shard) || !Array.isArray(partials.groups)) {
      throw new TypeError('publish expects { projectId, shard, windowMs, groups: PartialAggregate[], columns?: PartialColumns }');
    }
    if (partials.columns !== undefined && !isPartialColumns(partials.columns)) {
      throw new TypeError('publish expects columns of one length: Float64Array windowStarts, events, valueSums, string[] eventTypes, dimsKeys');
    }
    this.counters.publishes++;
    const index = combinerIndexOf(partials.shard, this.config.combiners);
    this.remember(partials.projectId, index);
    await this.ensureRebuilt();
    const now = Date.now();
    this.mergeFrom(partials.shard, partials.groups, now);
    if (partials.columns !== undefined) this.markChanged(this.totals.mergeColumns(partials.shard, partials.columns, now));
    this.totals.prune(now);
    if (this.changed.size > 0) this.ticker.request();
    this.settler.request();
  }

  /**
   * The settling check (run by the settle ticker; callable to settle now):
   * each shard's digest against what this combiner holds from it, and a
   * re-read of the shards still behind their previous digest. While any
   * shard's digest is ahead of this combiner, another settle follows (a lost
   * push is repaired even if no push comes after it). Returns the shards it
   * re-read.
   */
  async settle(): Promise<{ reread: number[] }> {
    const identity = this.identity;
    if (identity === null) return { reread: [] };
    await this.ensureRebuilt();
    const since = Date.now() - SETTLE_LOOKBACK_MS;
    const shards = combinerShards(identity.index, this.config.combiners);
    const digests = await Promise.all(shards.map((shard) => this.shard(identity.projectId, shard).liveDigest(since)));
    const held = this.totals.sourceEventsByMinute(since);
    const behind: Array<{ shard: number; fromMinute: number }> = [];
    let ahead = false;
    shards.forEach((shard, i) => {
      const digest = digests[i] ?? [];
      const previous = this.lastDigests.get(shard);
      this.lastDigests.set(shard, digest);
      const fromMinute = previous === undefined ? null : earliestMinuteBehind(previous, held.get(shard), since);
      if (fromMinute !== null) behind.push({ shard, fromMinute });
      else if (earliestMinuteBehind(digest, held.get(shard), since) !== null) ahead = true;
    });
    this.counters.settles++;
    this.counters.settleRereads += behind.length;
    await this.readShards(behind.map(({ shard, fromMinute }) => ({ shard, since: fromMinute })));
    // Pushes on their way, or one lost: either way the next settle tells.
    if (ahead) this.settler.request();
    return { reread: behind.map(({ shard }) => shard) };
  }

  async stats(): Promise<CombinerStats> {
    return { ...this.counters };
  }

  /**
   * Summed totals since `sinceMs`: what a restarted root rebuilds from, and
   * what the root's liveSeries reads through. With `refresh`, first re-reads
   * the shards: a push that was lost (or is still on its way) must not be
   * missing from the answer.
   */
  async totalsSince(request: { projectId: string; index: number; sinceMs: number; refresh?: boolean }): Promise<PartialAggregate[]> {
    this.remember(request.projectId, request.index);
    const fresh = this.rebuild === null;
    await this.ensureRebuilt();
    if (request.refresh === true && !fresh) await this.readAllShards(request.sinceMs);
    // The caller (the root) applies these totals itself: no need to push them back to it.
    for (const [key, pane] of this.changed) if (pane.paneStart >= request.sinceMs) this.changed.delete(key);
    return this.totals.totals(request.sinceMs);
  }

  private async pushToRoot(): Promise<void> {
    const identity = this.identity;
    if (identity === null || this.changed.size === 0) return;
    const panes = [...this.changed.values()];
    this.changed.clear();
    const root = this.env.BROADCAST.get(this.env.BROADCAST.idFromName(identity.projectId));
    this.counters.pushesToRoot++;
    try {
      await root.combined({ projectId: identity.projectId, combiner: identity.index, groups: panes.map(toPartial) });
    } catch (error) {
      // Totals are absolute, so re-sending them next tick is harmless; newer changes already queued win.
      for (const pane of panes) if (!this.changed.has(paneKey(pane))) this.changed.set(paneKey(pane), pane);
      this.ticker.request();
      throw error;
    }
  }

  private shard(projectId: string, shard: number) {
    return this.env.SHARD_AGGREGATOR.get(this.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard)));
  }

  private remember(projectId: string, index: number): void {
    if (this.identity === null) this.identity = { projectId, index };
    else if (this.identity.projectId !== projectId || this.identity.index !== index) {
      throw new RangeError(`combiner ${this.identity.projectId}/${this.identity.index} got a call for ${projectId}/${index}`);
    }
  }

  private ensureRebuilt(): Promise<void> {
    this.rebuild ??= this.rebuildFromShards().catch((error: unknown) => {
      // Try again on the next use; the root keeps the larger of old and new sums meanwhile.
      this.rebuild = null;
      console.warn('Combiner rebuild from shards failed:', error instanceof Error ? error.message : error);
    });
    return this.rebuild;
  }

  /** After a start: everything read goes up once, since the root may have missed pushes while this object was gone. */
  private rebuildFromShards(): Promise<void> {
    return this.readAllShards(Date.now() - LIVE_RETENTION_MS);
  }

  private readAllShards(since: number): Promise<void> {
    const identity = this.identity;
    if (identity === null) return Promise.resolve();
    return this.readShards(combinerShards(identity.index, this.config.combiners).map((shard) => ({ shard, since })));
  }

  /** Merges shards' stored totals (each from its `since`); what moved goes to the root next tick. */
  private async readShards(reads: ReadonlyArray<{ shard: number; since: number }>): Promise<void> {
    const identity = this.identity;
    if (identity === null || reads.length === 0) return;
    const results = await Promise.all(reads.map(({ shard, since }) => this.shard(identity.projectId, shard).liveTotals(since)));
    const now = Date.now();
    results.forEach((groups, i) => {
      const shard = reads[i]?.shard;
      if (shard !== undefined) this.mergeFrom(shard, groups, now);
    });
    if (this.changed.size > 0) this.ticker.request();
  }

  /** One source's partials into the totals; the panes that moved are marked for the next push to the root. */
  private mergeFrom(shard: number, groups: readonly PartialAggregate[], now: number): void {
    this.markChanged(this.totals.merge(shard, groups, now));
  }

  private markChanged(changes: readonly PaneChange[]): void {
    for (const { pane } of changes) this.changed.set(paneKey(pane), pane);
  }
}

function paneKey(pane: PaneTotal): string {
  return paneGroupKey(pane.paneStart, pane.eventType, pane.dimsKey);
}
