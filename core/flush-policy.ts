/** When a shard's alarm runs next. Pure, so the schedule is unit-tested. */

export const MAX_BACKOFF_MS = 60_000;
/** Never arm an alarm for "now" from inside alarm(): workerd may drop it (workerd#6866). */
export const MIN_ALARM_DELAY_MS = 1000;

/**
 * Exponential backoff with equal jitter: half fixed, half random, so shards
 * that failed together do not retry together. 1 s, 2 s, ... capped at 60 s.
 */
export function backoffDelayMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(Math.max(attempts - 1, 0), 6));
  return Math.max(MIN_ALARM_DELAY_MS / 2, base / 2 + random() * (base / 2));
}

export interface ScheduleInput {
  nowMs: number;
  flushIntervalMs: number;
  /** The last flush failed: wait this long. */
  backoffMs: number | null;
  /** Sealed batches remain, or closed panes are waiting to be sealed. */
  workReady: boolean;
  /** Close time of the oldest pane that still has unsealed changes. */
  nextCloseMs: number | null;
  /** When stored dedup ids or retained panes next expire. */
  nextExpiryMs: number | null;
}

/** The next alarm time, or null when the shard holds nothing that needs one. */
export function nextAlarmAt(input: ScheduleInput): number | null {
  const soonest = input.nowMs + MIN_ALARM_DELAY_MS;
  if (input.backoffMs !== null) return Math.max(soonest, input.nowMs + input.backoffMs);
  const paced = input.nowMs + input.flushIntervalMs;
  if (input.workReady) return Math.max(soonest, paced);
  if (input.nextCloseMs !== null) return Math.max(soonest, paced, input.nextCloseMs);
  if (input.nextExpiryMs !== null) return Math.max(soonest, paced, input.nextExpiryMs);
  return null;
}
