/** Health of one ShardAggregator, as `stats()` reports it (the edge serves it; the dashboard shows it). */

export type FlushOutcome =
  | { status: 'idle' }
  | { status: 'flushed'; batches: number; rows: number }
  | { status: 'error'; attempts: number; message: string; retryAtMs?: number };

/** Running totals since the shard's storage was created. */
export interface ShardCounters {
  accepted: number;
  duplicates: number;
  /** Arrived after their window closed: written as adjustment rows. */
  late: number;
  bots: number;
  /** Events with at least one dimension value folded into `__other__`. */
  foldedEvents: number;
  /** Events with at least one undeclared dimension dropped. */
  droppedDimensionEvents: number;
  /** Reported by the edge (`rejectedTooOld` on the request). */
  rejectedTooOld: number;
}

export interface ShardStats {
  projectId: string | null;
  shard: number | null;
  incarnation: string;
  nowMs: number;
  /** Pane rows holding changes not yet sealed into a batch (open and closed windows). */
  pendingGroups: number;
  sealedBatches: number;
  sealedRows: number;
  /** Raw event rows (RAW_EVENTS=1) waiting to be sealed. */
  pendingRawRows: number;
  /** SQLite rows written since this instance started (every write, indexes included, as the runtime counts them). */
  rowsWrittenSinceStart: number;
  /** pendingGroups + pendingRawRows + sealedRows: what the backpressure bound counts. */
  backlogRows: number;
  maxBacklogRows: number;
  /** true while ingest refuses batches (backlog at its bound). */
  backpressure: boolean;
  nextSequence: number;
  /** Windows ending at or before this are closed: wall clock minus allowed lateness, floored to a window. */
  watermarkMs: number;
  /** The watermark the last alarm acted on (sealed through); null before the first seal. */
  appliedWatermarkMs: number | null;
  /** now - appliedWatermarkMs: about lateness + window + flush interval when healthy, growing when alarms stall. */
  watermarkLagMs: number | null;
  /** Largest event time accepted; now - it is how far behind real time the input is. */
  maxEventTimeMs: number | null;
  eventTimeLagMs: number | null;
  /** End of the oldest closed window that ClickHouse has not acknowledged yet. */
  oldestUnflushedWindowEndMs: number | null;
  /** now - oldestUnflushedWindowEndMs, 0 when every closed window is in ClickHouse. */
  flushLagMs: number;
  lastFlush: FlushOutcome | null;
  lastFlushAtMs: number | null;
  nextAlarmMs: number | null;
  /** Event ids held for dedup (exact; storage ~ horizon x accepted rate). */
  dedupEntries: number;
  dedupHorizonSeconds: number;
  counters: ShardCounters;
}

export function emptyCounters(): ShardCounters {
  return { accepted: 0, duplicates: 0, late: 0, bots: 0, foldedEvents: 0, droppedDimensionEvents: 0, rejectedTooOld: 0 };
}

export function flushLagMs(nowMs: number, oldestUnflushedWindowEndMs: number | null): number {
  return oldestUnflushedWindowEndMs === null ? 0 : Math.max(0, nowMs - oldestUnflushedWindowEndMs);
}

/** FlushOutcome from a stored JSON value; null when it is not one. */
export function parseFlushOutcome(value: unknown): FlushOutcome | null {
  if (typeof value !== 'object' || value === null || !('status' in value)) return null;
  if (value.status === 'idle') return { status: 'idle' };
  if (value.status === 'flushed' && 'batches' in value && 'rows' in value && typeof value.batches === 'number' && typeof value.rows === 'number') {
    return { status: 'flushed', batches: value.batches, rows: value.rows };
  }
  if (value.status === 'error' && 'attempts' in value && 'message' in value && typeof value.attempts === 'number' && typeof value.message === 'string') {
    const retryAtMs = 'retryAtMs' in value && typeof value.retryAtMs === 'number' ? value.retryAtMs : undefined;
    return retryAtMs === undefined
      ? { status: 'error', attempts: value.attempts, message: value.message }
      : { status: 'error', attempts: value.attempts, message: value.message, retryAtMs };
  }
  return null;
}

export const COUNTER_NAMES = ['accepted', 'duplicates', 'late', 'bots', 'foldedEvents', 'droppedDimensionEvents', 'rejectedTooOld'] as const;

export function isCounterName(name: string): name is keyof ShardCounters {
  return (COUNTER_NAMES as readonly string[]).includes(name);
}

/** One alarm run may send several batches: their outcomes add up; an error wins. */
export function combineOutcomes(a: FlushOutcome, b: FlushOutcome): FlushOutcome {
  if (b.status === 'error') return b;
  if (b.status === 'idle') return a;
  if (a.status !== 'flushed') return b;
  return { status: 'flushed', batches: a.batches + b.batches, rows: a.rows + b.rows };
}

/** What stats() reads from storage, before any arithmetic. */
export interface ShardState {
  nowMs: number;
  projectId: string | null;
  shard: number | null;
  incarnation: string;
  windowMs: number;
  watermarkMs: number;
  unsealedRows: number;
  pendingRawRows: number;
  rowsWrittenSinceStart: number;
  sealedBatches: number;
  sealedRows: number;
  maxBacklogRows: number;
  nextSequence: number;
  sealedThroughMs: number | null;
  maxEventTimeMs: number | null;
  /** Seal-window starts of the oldest sealed batch and of the oldest closed pane still unsealed. */
  oldestSealedWindowMs: number | null;
  oldestClosedUnsealedWindowMs: number | null;
  lastFlushJson: string | null;
  nextAlarmMs: number | null;
  dedupEntries: number;
  dedupHorizonMs: number;
  counters: ShardCounters;
}

export function buildShardStats(state: ShardState): ShardStats {
  const { nowMs } = state;
  const oldest = [state.oldestSealedWindowMs, state.oldestClosedUnsealedWindowMs].filter((t): t is number => t !== null);
  const oldestEnd = oldest.length > 0 ? Math.min(...oldest) + state.windowMs : null;
  const backlogRows = state.unsealedRows + state.pendingRawRows + state.sealedRows;
  const last = parseLastFlush(state.lastFlushJson);
  return {
    projectId: state.projectId,
    shard: state.shard,
    incarnation: state.incarnation,
    nowMs,
    pendingGroups: state.unsealedRows,
    sealedBatches: state.sealedBatches,
    sealedRows: state.sealedRows,
    pendingRawRows: state.pendingRawRows,
    rowsWrittenSinceStart: state.rowsWrittenSinceStart,
    backlogRows,
    maxBacklogRows: state.maxBacklogRows,
    backpressure: backlogRows >= state.maxBacklogRows,
    nextSequence: state.nextSequence,
    watermarkMs: state.watermarkMs,
    appliedWatermarkMs: state.sealedThroughMs,
    watermarkLagMs: state.sealedThroughMs === null ? null : nowMs - state.sealedThroughMs,
    maxEventTimeMs: state.maxEventTimeMs,
    eventTimeLagMs: state.maxEventTimeMs === null ? null : nowMs - state.maxEventTimeMs,
    oldestUnflushedWindowEndMs: oldestEnd,
    flushLagMs: flushLagMs(nowMs, oldestEnd),
    lastFlush: last?.outcome ?? null,
    lastFlushAtMs: last?.atMs ?? null,
    nextAlarmMs: state.nextAlarmMs,
    dedupEntries: state.dedupEntries,
    dedupHorizonSeconds: state.dedupHorizonMs / 1000,
    counters: state.counters,
  };
}

export function serializeLastFlush(outcome: FlushOutcome, atMs: number): string {
  return JSON.stringify({ outcome, atMs });
}

function parseLastFlush(json: string | null): { outcome: FlushOutcome; atMs: number } | null {
  if (json === null) return null;
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null || !('outcome' in parsed) || !('atMs' in parsed) || typeof parsed.atMs !== 'number') return null;
  const outcome = parseFlushOutcome(parsed.outcome);
  return outcome === null ? null : { outcome, atMs: parsed.atMs };
}
