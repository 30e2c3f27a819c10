/**
 * The combiners' settling check, cheap: instead of re-reading every pane row
 * of the last minutes from every shard (SQLite rows, an RPC of thousands of
 * groups, a merge), a combiner asks each shard for its human event count per
 * minute and compares it with what it holds from that shard. Totals only
 * grow, so the combiner holding fewer events of a minute than the shard had
 * one settle ago means a push went missing: only then does it re-read that
 * shard, from that minute. Comparing with the previous answer, not the
 * current one, leaves room for pushes still on their way (a busy shard always
 * has one waiting for its tick).
 */
import { LIVE_RETENTION_MS, minuteOf } from './live-totals.ts';

export interface MinuteEvents {
  minuteStart: number;
  events: number;
}

/** A shard's human events per minute, kept from `fromMinute` on as batches are counted. */
export class LiveDigest {
  private readonly byMinute = new Map<number, number>();
  private from: number;

  /** Starts from the shard's running pane totals (each group's events) of `fromMinute` on. */
  constructor(fromMinute: number, totals: Iterable<{ windowStart: number; events: number }>) {
    this.from = minuteOf(fromMinute);
    for (const total of totals) this.add(total.windowStart, total.events);
  }

  get fromMinute(): number {
    return this.from;
  }

  /** Human events counted into a pane (a batch's delta); panes before `fromMinute` are not tracked. */
  add(paneStart: number, events: number): void {
    const minute = minuteOf(paneStart);
    if (minute < this.from || events === 0) return;
    const known = this.byMinute.get(minute);
    if (known === undefined) this.forgetBefore(minute - LIVE_RETENTION_MS);
    this.byMinute.set(minute, (known ?? 0) + events);
  }

  /** Bounds memory when nobody asks: minutes older than the live layer keeps are dropped, and no longer tracked. */
  private forgetBefore(minute: number): void {
    if (minute <= this.from) return;
    for (const known of this.byMinute.keys()) if (known < minute) this.byMinute.delete(known);
    this.from = minute;
  }

  /** Minutes from `sinceMs`'s minute on, oldest first; older ones are forgotten (asking is what moves the start). */
  since(sinceMs: number): MinuteEvents[] {
    const since = minuteOf(sinceMs);
    this.forgetBefore(since);
    return [...this.byMinute].filter(([minute]) => minute >= since).map(([minuteStart, events]) => ({ minuteStart, events })).sort((a, b) => a.minuteStart - b.minuteStart);
  }
}

/**
 * The earliest minute (from `sinceMs`'s on) where the combiner holds fewer of
 * a shard's events than the shard reported at the previous settle: re-read the
 * shard from there. Null when the combiner has caught up with all of it.
 */
export function earliestMinuteBehind(previous: readonly MinuteEvents[], held: ReadonlyMap<number, number> | undefined, sinceMs: number): number | null {
  const since = minuteOf(sinceMs);
  for (const { minuteStart, events } of previous) {
    if (minuteStart >= since && (held?.get(minuteStart) ?? 0) < events) return minuteStart;
  }
  return null;
}
