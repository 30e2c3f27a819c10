import { describe, expect, it } from 'vitest';
import { buildShardStats, combineOutcomes, emptyCounters, flushLagMs, parseFlushOutcome, serializeLastFlush, type ShardState } from './shard-health.ts';

function state(overrides: Partial<ShardState> = {}): ShardState {
  return {
    nowMs: 1_000_000, projectId: 'p', shard: 0, incarnation: 'i', windowMs: 60_000, watermarkMs: 900_000,
    unsealedRows: 2, pendingRawRows: 1, rowsWrittenSinceStart: 42, sealedBatches: 1, sealedRows: 7, maxBacklogRows: 10, nextSequence: 4,
    sealedThroughMs: 840_000, maxEventTimeMs: 990_000, oldestSealedWindowMs: 780_000, oldestClosedUnsealedWindowMs: 840_000,
    lastFlushJson: serializeLastFlush({ status: 'error', attempts: 2, message: 'down' }, 999_000), nextAlarmMs: 1_002_000,
    dedupEntries: 5, dedupHorizonMs: 600_000, counters: emptyCounters(), ...overrides,
  };
}

describe('buildShardStats', () => {
  it('derives lags and backlog (pane rows, raw rows and sealed rows) from the stored state', () => {
    const stats = buildShardStats(state());
    expect(stats).toMatchObject({
      pendingGroups: 2, pendingRawRows: 1, backlogRows: 10, backpressure: true, watermarkLagMs: 160_000, eventTimeLagMs: 10_000,
      oldestUnflushedWindowEndMs: 840_000, flushLagMs: 160_000, lastFlush: { status: 'error', attempts: 2, message: 'down' },
      lastFlushAtMs: 999_000, dedupHorizonSeconds: 600,
    });
  });

  it('reports zero flush lag and nulls when nothing is waiting or known', () => {
    const stats = buildShardStats(state({ oldestSealedWindowMs: null, oldestClosedUnsealedWindowMs: null, sealedThroughMs: null, maxEventTimeMs: null, lastFlushJson: null }));
    expect(stats).toMatchObject({ flushLagMs: 0, oldestUnflushedWindowEndMs: null, watermarkLagMs: null, eventTimeLagMs: null, lastFlush: null });
    expect(flushLagMs(10, 20)).toBe(0);
  });
});

describe('flush outcomes', () => {
  it('combine per cycle: counts add up, an error wins', () => {
    expect(combineOutcomes({ status: 'flushed', batches: 1, rows: 2 }, { status: 'flushed', batches: 2, rows: 3 })).toEqual({ status: 'flushed', batches: 3, rows: 5 });
    expect(combineOutcomes({ status: 'flushed', batches: 1, rows: 2 }, { status: 'idle' })).toEqual({ status: 'flushed', batches: 1, rows: 2 });
    expect(combineOutcomes({ status: 'idle' }, { status: 'error', attempts: 1, message: 'x' }).status).toBe('error');
  });

  it('parse back only well-formed stored values', () => {
    expect(parseFlushOutcome({ status: 'flushed', batches: 1, rows: 2 })).toEqual({ status: 'flushed', batches: 1, rows: 2 });
    expect(parseFlushOutcome({ status: 'error', attempts: 1, message: 'm', retryAtMs: 5 })).toEqual({ status: 'error', attempts: 1, message: 'm', retryAtMs: 5 });
    expect(parseFlushOutcome({ status: 'flushed' })).toBeNull();
    expect(parseFlushOutcome('idle')).toBeNull();
  });
});
