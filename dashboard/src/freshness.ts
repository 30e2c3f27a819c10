/**
 * Is the dashboard live? Pure, so the rule is unit-tested: data freshness is
 * now minus the newest delta's arrival; past the threshold (default 10 s,
 * `?staleAfter=`) the dashboard says plainly that it is stale, whatever the
 * connection state claims. A dashboard can only look live when the socket is
 * open and the newest data is younger than the threshold.
 */
import type { LiveState } from './live.ts';

export type HealthState = 'live' | 'waiting' | 'stale' | 'reconnecting' | 'connecting';

export interface FreshnessInput {
  connection: LiveState;
  /** Local arrival time of the newest delta (or heartbeat); null if none yet. */
  newestDataAt: number | null;
  /** Local time the current socket opened, null when not open. */
  openedAt: number | null;
  /** Local time the page started. */
  startedAt: number;
  now: number;
  staleAfterMs: number;
}

export interface Freshness {
  state: HealthState;
  /** now - newest data; null when nothing has arrived yet. */
  freshnessMs: number | null;
  /** True when the stale alarm must be shown. */
  alarm: boolean;
}

export function assessFreshness(input: FreshnessInput): Freshness {
  const freshnessMs = input.newestDataAt === null ? null : Math.max(0, input.now - input.newestDataAt);
  // With no data at all, the age is counted from when we started waiting for it.
  const waitedMs = input.now - (input.openedAt ?? input.startedAt);
  const age = freshnessMs ?? waitedMs;
  const alarm = age > input.staleAfterMs;
  let state: HealthState;
  if (input.connection === 'open') {
    if (alarm) state = 'stale';
    else state = freshnessMs === null || (input.openedAt !== null && input.newestDataAt !== null && input.newestDataAt < input.openedAt) ? 'waiting' : 'live';
  } else if (alarm) {
    state = 'stale';
  } else {
    state = input.connection;
  }
  return { state, freshnessMs, alarm };
}
