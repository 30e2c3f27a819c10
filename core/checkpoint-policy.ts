/**
 * When a shard's write-behind checkpoint runs (ShardAggregator). SQLite rows
 * written are billed and are most of a shard's CPU, and a checkpoint writes
 * every pane row changed since the last one: rows of the current pane that
 * keep changing would be written at every checkpoint. Timed just after a pane
 * ends, a checkpoint writes that pane's rows once they stopped changing (late
 * events aside). Pure, so the schedule is unit-tested.
 */

/** After a pane's end: room for calls already in flight at the boundary. */
export const CHECKPOINT_AFTER_PANE_MS = 1000;
/** Never sooner (a burst of calls at a boundary shares one checkpoint). */
export const CHECKPOINT_MIN_DELAY_MS = 250;
/** Never later, whatever the pane size: bounds the log a restart replays. */
export const CHECKPOINT_MAX_DELAY_MS = 15_000;

/**
 * Milliseconds from `nowMs` to the next checkpoint: CHECKPOINT_AFTER_PANE_MS
 * past the next pane boundary, within the bounds above (panes longer than the
 * maximum get checkpoints inside them too).
 */
export function checkpointDelayMs(nowMs: number, paneMs: number): number {
  if (!(paneMs > 0) || !Number.isFinite(paneMs) || !Number.isFinite(nowMs)) return CHECKPOINT_MIN_DELAY_MS;
  const intoPane = ((nowMs % paneMs) + paneMs) % paneMs;
  let delay = CHECKPOINT_AFTER_PANE_MS - intoPane;
  if (delay < CHECKPOINT_MIN_DELAY_MS) delay += paneMs;
  return Math.min(CHECKPOINT_MAX_DELAY_MS, Math.max(CHECKPOINT_MIN_DELAY_MS, delay));
}
