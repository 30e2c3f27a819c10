/**
 * Coalesces a shard's live pushes to its combiner. Groups carry absolute
 * running totals, so only the latest value per (window, event type, dims)
 * matters and merging pushes loses nothing. The first push after a quiet
 * interval goes out at once; later ones within `intervalMs` wait for one
 * trailing push. A push that failed comes back through `retry` (unless newer
 * totals of the same group are already waiting) and goes out with the next
 * one, so a combiner that was briefly away misses nothing. What dies with the
 * instance is re-announced by the restarted shard (ShardAggregator).
 */
import { paneGroupKey } from './live-totals.ts';
import type { PartialAggregate } from './protocol.ts';

export type PushSender = (projectId: string, shard: number, groups: PartialAggregate[]) => void;

function groupKey(group: PartialAggregate): string {
  return paneGroupKey(group.windowStart, group.eventType, group.dimsKey);
}

export class PushCoalescer {
  private readonly pending = new Map<string, PartialAggregate>();
  private target: { projectId: string; shard: number } | null = null;
  private lastPushMs = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly intervalMs: number;
  private readonly send: PushSender;

  constructor(intervalMs: number, send: PushSender) {
    this.intervalMs = intervalMs;
    this.send = send;
  }

  /** Groups waiting for the next push. */
  get pendingCount(): number {
    return this.pending.size;
  }

  add(projectId: string, shard: number, groups: readonly PartialAggregate[]): void {
    // A shard serves one (project, shard); a different one would only be a misuse, so push what is pending first.
    if (this.target !== null && (this.target.projectId !== projectId || this.target.shard !== shard)) this.flush();
    this.target = { projectId, shard };
    for (const group of groups) this.pending.set(groupKey(group), group);
    this.schedule();
  }

  /** A push that failed: its groups go out again, except where newer totals are already waiting (they win). */
  retry(projectId: string, shard: number, groups: readonly PartialAggregate[]): void {
    if (this.target !== null && (this.target.projectId !== projectId || this.target.shard !== shard)) return;
    this.target = { projectId, shard };
    for (const group of groups) {
      const key = groupKey(group);
      if (!this.pending.has(key)) this.pending.set(key, group);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.pending.size === 0) return;
    const wait = this.lastPushMs + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.target === null || this.pending.size === 0) return;
    const groups = [...this.pending.values()];
    this.pending.clear();
    this.lastPushMs = Date.now();
    this.send(this.target.projectId, this.target.shard, groups);
  }
}
