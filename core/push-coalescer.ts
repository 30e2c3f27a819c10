/**
 * Coalesces a shard's live pushes to its combiner. Groups carry absolute
 * running totals, so only the latest value per (window, event type, dims)
 * matters and merging pushes loses nothing. The first push after a quiet
 * interval goes out at once; later ones within `intervalMs` wait for one
 * trailing push. A push that failed comes back through `retry` (unless newer
 * totals of the same group are already waiting) and goes out with the next
 * one, so a combiner that was briefly away misses nothing. What dies with the
 * instance is re-announced by the restarted shard (ShardAggregator).
 *
 * Most groups come from `fresh`, called once per push: the shard's pane
 * cache marks the groups a batch changed and builds their totals only then
 * (as columns), so a group changed by many batches between two pushes costs
 * one entry, not one object per batch. `changed` says that fresh groups are
 * waiting.
 */
import { paneGroupKey } from './live-totals.ts';
import { columnsLength, emptyColumns } from './partial-columns.ts';
import type { PartialAggregate, PartialColumns } from './protocol.ts';

/** One push: groups handed over as objects, and the fresh ones as columns (together, one group at most once). */
export interface LivePush {
  groups: PartialAggregate[];
  columns: PartialColumns;
}

export type PushSender = (projectId: string, shard: number, push: LivePush) => void;

function groupKey(group: PartialAggregate): string {
  return paneGroupKey(group.windowStart, group.eventType, group.dimsKey);
}

export class PushCoalescer {
  /** Groups handed over as objects (announced, or retried after a failed push). */
  private readonly pending = new Map<string, PartialAggregate>();
  private freshWaiting = false;
  private target: { projectId: string; shard: number } | null = null;
  private lastPushMs = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly intervalMs: number;
  private readonly send: PushSender;
  private readonly fresh: () => PartialColumns;

  constructor(intervalMs: number, send: PushSender, fresh: () => PartialColumns = emptyColumns) {
    this.intervalMs = intervalMs;
    this.send = send;
    this.fresh = fresh;
  }

  /** Groups handed over and waiting for the next push (fresh ones are not counted: they are built at the push). */
  get pendingCount(): number {
    return this.pending.size;
  }

  add(projectId: string, shard: number, groups: readonly PartialAggregate[]): void {
    this.aim(projectId, shard);
    for (const group of groups) this.pending.set(groupKey(group), group);
    this.schedule();
  }

  /** `fresh` has groups for the next push. */
  changed(projectId: string, shard: number): void {
    this.aim(projectId, shard);
    this.freshWaiting = true;
    this.schedule();
  }

  /** A push that failed: its groups go out again, except where newer totals are already waiting (they win). */
  retry(projectId: string, shard: number, groups: readonly PartialAggregate[]): void {
    if (this.target !== null && (this.target.projectId !== projectId || this.target.shard !== shard)) return;
    this.target = { projectId, shard };
    for (const group of groups) {
      // More events is newer (counts only grow): a push may carry a group twice (dropped from the cache, then reloaded).
      const key = groupKey(group);
      const waiting = this.pending.get(key);
      if (waiting === undefined || waiting.events < group.events) this.pending.set(key, group);
    }
    // Fresh totals of these groups, if any, win at the push (they are built then).
    this.schedule();
  }

  private aim(projectId: string, shard: number): void {
    // A shard serves one (project, shard); a different one would only be a misuse, so push what is waiting first.
    if (this.target !== null && (this.target.projectId !== projectId || this.target.shard !== shard)) this.flush();
    this.target = { projectId, shard };
  }

  private schedule(): void {
    if (this.timer !== null || (this.pending.size === 0 && !this.freshWaiting)) return;
    const wait = this.lastPushMs + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.target === null) return;
    const columns = this.freshWaiting ? this.fresh() : emptyColumns();
    this.freshWaiting = false;
    let groups: PartialAggregate[] = [];
    if (this.pending.size > 0) {
      // The fresh totals are the newest of their groups: a handed-over one they also carry stays behind.
      for (let i = 0; i < columnsLength(columns); i++) {
        const key = paneGroupKey(columns.windowStarts[i] ?? 0, columns.eventTypes[i] ?? '', columns.dimsKeys[i] ?? '');
        if ((this.pending.get(key)?.events ?? Infinity) <= (columns.events[i] ?? 0)) this.pending.delete(key);
      }
      groups = [...this.pending.values()];
      this.pending.clear();
    }
    if (groups.length === 0 && columnsLength(columns) === 0) return;
    this.lastPushMs = Date.now();
    this.send(this.target.projectId, this.target.shard, { groups, columns });
  }
}
