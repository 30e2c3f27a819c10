/** Tumbling-window arithmetic on epoch milliseconds. */

export function windowStartOf(timestampMs: number, windowMs: number): number {
  return timestampMs - (((timestampMs % windowMs) + windowMs) % windowMs);
}

/**
 * A window may be sealed once the clock has passed its end plus the allowed
 * lateness; events for it after that become additive adjustment rows.
 */
export function isWindowClosed(windowStartMs: number, windowMs: number, allowedLatenessMs: number, nowMs: number): boolean {
  return nowMs >= windowStartMs + windowMs + allowedLatenessMs;
}

/** The earliest time at which the given window may be sealed. */
export function windowCloseTime(windowStartMs: number, windowMs: number, allowedLatenessMs: number): number {
  return windowStartMs + windowMs + allowedLatenessMs;
}
