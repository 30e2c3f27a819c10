// The arithmetic of the 1M events/s plan (scripts/scaling.ts), and docs/scaling.md against the script's output.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCombiners } from '../core/fanout-math.ts';
import {
  assumed,
  breakPoints,
  callsPerShardPerSec,
  CLOUDFLARE_PRICES,
  computePlan,
  defaultReport,
  DOC_FILE,
  expectedShardsHit,
  formatQuantity,
  fromCode,
  generatedBlock,
  inputsFrom,
  invocationsPerSec,
  LIMITS,
  measured,
  MONTH_SECONDS,
  numericConstant,
  parseBenchRuns,
  readRepoFacts,
  readRepoFile,
  readSdkDefaults,
  readWranglerConfig,
  renderMarkdown,
  sampleDeltaBytes,
  shardsNeeded,
  summary,
  withFigure,
  writeGeneratedBlocks,
  type PlanInputs,
  type RepoFacts,
} from './scaling.ts';

/** The repository's defaults as of this test, written out so every expected number below can be worked by hand. */
const FACTS: RepoFacts = {
  sdkBatchSize: 100,
  shardCountToday: 16,
  windowSec: 60,
  paneSec: 10,
  flushIntervalSec: 5,
  allowedLatenessSec: 60,
  dedupHorizonSec: 600,
  maxBacklogRows: 250_000,
  tickMs: 250,
  relayMaxViewers: 5000,
  combinerFanIn: 16,
  tokenTtlSec: 300,
  rateLimit: { limit: 1000, periodSec: 10 },
  maxPanesPerBatch: 5000,
  maxSealsPerCycle: 8,
  settleLookbackSec: 120,
  heartbeatSec: 25,
  ackEveryFrames: 16,
  tokenRenewShare: 0.8,
  activeUsersRefreshSec: 5,
  healthPollSec: 10,
  sources: {},
};

/** Inputs with round, known figures. */
function inputs(over: Partial<PlanInputs> = {}): PlanInputs {
  return {
    ...inputsFrom({}, FACTS),
    edgeCpuMsPerEvent: measured(0.01, 'test'),
    shardCpuMsPerEvent: measured(0.02, 'test'),
    shardCpuFloorMsPerEvent: measured(0.002, 'test'),
    checkpointRowsWrittenPerEvent: measured(1, 'test'),
    dedupBytesPerId: measured(50, 'test'),
    paneGroupsPerEvent: measured(0.2, 'test'),
    paneGroupBytes: measured(200, 'test'),
    eventsPerRollupRow: measured(20, 'test'),
    rollupBytesPerMillion: measured(4e6, 'test'),
    relayCpuMsPerFrame: measured(0.01, 'test'),
    ...over,
  };
}

const HALF_ISOLATE = LIMITS.isolateMemoryBytes * 0.5;
/** 1M events/s x 600 s x 50 B per id over half of a 128 MiB isolate. */
const MEMORY_SHARDS = Math.ceil((1e6 * 600 * 50) / HALF_ISOLATE);

describe('edge invocations', () => {
  it('are events / batch size, and double when the rate doubles', () => {
    expect(invocationsPerSec(1_000_000, 100)).toBe(10_000);
    expect(computePlan(inputs({ eventsPerSec: 2_000_000 })).edge.invocationsPerSec).toBe(2 * computePlan(inputs()).edge.invocationsPerSec);
    expect(computePlan(inputs()).edge.cpuMsPerInvocation).toBeCloseTo(1, 12); // 0.01 ms x 100 events
    expect(() => invocationsPerSec(1000, 0)).toThrow(RangeError);
  });
});

describe('shard sizing', () => {
  const base = { eventsPerSec: 1e6, eventsPerRequest: 100, batching: 'visitor' as const, utilisation: 0.5, cpuMsPerEvent: 0, dedupBytesPerEvent: 0, storageBytesPerEvent: 0 };
  it('respects the DO soft limit at the chosen utilisation (one shard per SDK request)', () => {
    const sizing = shardsNeeded(base);
    expect(sizing).toMatchObject({ byRequests: 20, shards: 20, boundBy: 'requests' }); // 10,000 calls/s / 500 per shard
    expect(callsPerShardPerSec(10_000, 20, 'visitor', 100)).toBeLessThanOrEqual(500);
    expect(callsPerShardPerSec(10_000, 19, 'visitor', 100)).toBeGreaterThan(500);
  });
  it('server batches touch most shards: the count to respect the limit approaches events/s / budget', () => {
    const sizing = shardsNeeded({ ...base, batching: 'spread' });
    expect(callsPerShardPerSec(10_000, sizing.byRequests, 'spread', 100)).toBeLessThanOrEqual(500);
    expect(callsPerShardPerSec(10_000, sizing.byRequests - 1, 'spread', 100)).toBeGreaterThan(500);
    expect(sizing.byRequests).toBeGreaterThan(1900);
    expect(sizing.byRequests).toBeLessThan(2000);
  });
  it('one thread per shard: CPU sets the count when the per-event cost is high', () => {
    expect(shardsNeeded({ ...base, cpuMsPerEvent: 0.2 })).toMatchObject({ byCpu: 400, shards: 400, boundBy: 'cpu' }); // 200,000 ms/s over 500 ms/s
  });
  it('the dedup set: every id of the horizon in a 128 MB isolate', () => {
    const sizing = shardsNeeded({ ...base, dedupBytesPerEvent: 600 * 50 });
    expect(sizing).toMatchObject({ byMemory: MEMORY_SHARDS, shards: MEMORY_SHARDS, boundBy: 'memory' });
    expect((1e6 / MEMORY_SHARDS) * 600 * 50).toBeLessThanOrEqual(HALF_ISOLATE);
    expect((1e6 / (MEMORY_SHARDS - 1)) * 600 * 50).toBeGreaterThan(HALF_ISOLATE);
  });
  it('storage: 10 GB per object', () => {
    expect(shardsNeeded({ ...base, utilisation: 1, storageBytesPerEvent: 600_000 })).toMatchObject({ byStorage: 60, boundBy: 'storage' }); // 600 GB / 10 GB
  });
  it('rejects a utilisation outside (0, 1]', () => {
    expect(() => shardsNeeded({ ...base, utilisation: 0 })).toThrow(RangeError);
  });
  it('expected shards touched by a request', () => {
    expect(expectedShardsHit(16, 1)).toBeCloseTo(1, 12);
    expect(expectedShardsHit(16, 100)).toBeCloseTo(16 * (1 - (15 / 16) ** 100), 12);
    expect(expectedShardsHit(1, 100)).toBe(1);
  });
  it('the plan takes the largest count and says which limit set it', () => {
    const plan = computePlan(inputs());
    expect(plan.shards).toMatchObject({ byRequests: 20, byCpu: 40, byMemory: MEMORY_SHARDS, byStorage: 30, shards: MEMORY_SHARDS, boundBy: 'memory' });
    // Storage per event/s: 600 s x 8 B of journal + 3,600 s x 0.2 groups x 200 B of panes = 148,800 B; x 1M / 5 GB = 29.8.
    expect(plan.shards.storageBytesPerShard).toBeCloseTo((1e6 / MEMORY_SHARDS) * 148_800, 3);
  });
});

describe('SQLite rows', () => {
  it('written: 2 per shard call (ingest log + its delete) plus the checkpoint rows per event', () => {
    const visitor = computePlan(inputs());
    expect(visitor.storage.rowsWrittenPerSec).toBeCloseTo(10_000 * 2 + 1e6 * 1, 6);
    // Server batches make ~1 call per event, so the log rows grow with the shape, the checkpoint rows do not.
    const spread = computePlan(inputs({ batching: 'spread' }));
    expect(spread.storage.rowsWrittenPerSec).toBeCloseTo(spread.shards.callsPerSec * 2 + 1e6, 6);
    expect(spread.storage.rowsWrittenPerSec).toBeGreaterThan(visitor.storage.rowsWrittenPerSec);
  });
  it('read: one settling digest read per shard every 30 s (SETTLE_INTERVAL_MS), from memory: no rows read in steady state', () => {
    const plan = computePlan(inputs());
    const S = plan.shards.shards;
    expect(plan.live.requestsPerSecond.settleReads).toBeCloseTo(S / 30, 9);
    expect(plan.storage.rowsReadPerSec).toBe(0);
  });
});

describe('live fan-out', () => {
  it('50,000 viewers: 10 relays of 5,000, one frame per viewer per 250 ms tick, combiners as core/fanout-math.ts plans them', () => {
    const plan = computePlan(inputs());
    const S = plan.shards.shards;
    expect(plan.live.relays).toBe(10);
    expect(plan.live.framesPerSecond).toBe(200_000);
    expect(plan.live.perRelay.framesPerSecond).toBe(20_000);
    expect(plan.live.egressBytesPerSecond).toBe(200_000 * (4 * sampleDeltaBytes() + 3 + 6));
    expect(plan.live.combiners).toEqual(planCombiners(S, 250, 16));
    expect(plan.live.root.rpcInPerSecond).toBe(Math.ceil(S / 16) * 4);
    expect(plan.live.requestsPerSecond.shardPushes).toBe(S * 4);
    expect(plan.live.relayCpuShare).toBeCloseTo((20_000 * 0.01) / 1000, 12);
  });
  it('viewer messages: heartbeats, the dashboard\'s acks and resubscribes, billed 1/20', () => {
    const plan = computePlan(inputs());
    const connects = 50_000 / 3600;
    expect(plan.live.viewerMessagesPerSec).toBeCloseTo(50_000 / 25 + (50_000 * 4) / 16 + connects * 4, 6);
    const billed = plan.durableObjects.requestsBreakdown.find(([name]) => name === 'viewer messages / 20')?.[1];
    expect(billed).toBeCloseTo(plan.live.viewerMessagesPerSec / 20, 9);
  });
  it('a delta as relays serialize it is about 236 bytes', () => {
    expect(sampleDeltaBytes()).toBeGreaterThan(200);
    expect(sampleDeltaBytes()).toBeLessThan(260);
  });
});

describe('ClickHouse', () => {
  it('one insert per sealed batch of <= 5,000 pane rows per shard per window; rows from the pre-aggregation ratio', () => {
    const plan = computePlan(inputs({ dedupBytesPerId: measured(1, 'test') }));
    expect(plan.shards.shards).toBe(40); // CPU-bound now
    // 25,000 events/s per shard x 60 s x 0.2 groups = 300,000 pane rows per window: 60 batches.
    expect(plan.clickhouse.batchesPerShardWindow).toBe(60);
    expect(plan.clickhouse.insertsPerSec).toBeCloseTo((40 * 60) / 60, 12);
    expect(plan.clickhouse.rowsPerSec).toBe(50_000);
    expect(plan.clickhouse.rowsPerInsert).toBeCloseTo(50_000 / 40, 9);
  });
});

describe('cost', () => {
  it('bills only beyond the included amounts, at the constant\'s prices', () => {
    const tiny = computePlan(inputs({ eventsPerSec: 1, viewers: 1 }));
    expect(tiny.cost.lines.find((l) => l.item.startsWith('Workers requests'))?.usd).toBe(0);
    const plan = computePlan(inputs());
    const req = plan.cost.lines.find((l) => l.item.startsWith('Workers requests'));
    // Ingest, viewer upgrades (1/hour), token renewals (every 240 s), dashboard polls (every 5 s and 10 s).
    expect(req?.quantity).toBeCloseTo((10_000 + 50_000 / 3600 + 50_000 / 240 + 50_000 * (1 / 5 + 1 / 10)) * MONTH_SECONDS, 1);
    expect(req?.usd).toBeCloseTo((((req?.quantity ?? 0) - CLOUDFLARE_PRICES.workers.includedRequests) / 1e6) * 0.3, 6);
    const duration = plan.cost.lines.find((l) => l.item === 'Durable Objects duration');
    expect(duration?.quantity).toBeCloseTo(plan.durableObjects.total * 0.128 * MONTH_SECONDS, 3);
    const written = plan.cost.lines.find((l) => l.item === 'SQLite rows written');
    expect(written?.usd).toBeCloseTo((plan.storage.rowsWrittenPerSec * MONTH_SECONDS - 50e6) / 1e6, 3);
    expect(plan.cost.totalUsd).toBeCloseTo(plan.cost.lines.reduce((s, l) => s + l.usd, 0), 6);
  });
  it('doubling the rate doubles the rows written', () => {
    const rows = (p: ReturnType<typeof computePlan>) => p.cost.lines.find((l) => l.item === 'SQLite rows written')?.quantity ?? 0;
    expect(rows(computePlan(inputs({ eventsPerSec: 2e6 }))) / rows(computePlan(inputs()))).toBeCloseTo(2, 6);
  });
  it('Durable Object requests add up every kind', () => {
    const plan = computePlan(inputs());
    const sum = plan.durableObjects.requestsBreakdown.reduce((s, [, n]) => s + n, 0);
    expect(plan.durableObjects.requestsPerSec).toBeCloseTo(sum, 9);
    expect(plan.durableObjects.requestsBreakdown.map(([name]) => name)).toContain('settling digest reads');
  });
});

describe('what breaks first', () => {
  it('today (16 shards): the arithmetic of each limit, in the order the rate reaches them', () => {
    const list = breakPoints(inputs(), 16, true);
    const at = (name: string) => list.find((b) => b.constraint.startsWith(name))?.atEventsPerSec;
    expect(at('write-key rate limit')).toBe(10_000); // 100 requests/s x 100 events
    expect(at('ClickHouse')).toBeCloseTo((3 * 16 * 5000) / (60 * 0.2), 6); // > 1 insert/s once a shard seals a 4th batch per window
    expect(at('shard memory')).toBeCloseTo((LIMITS.isolateMemoryBytes * 16) / (600 * 50), 6);
    expect(at('shard backlog')).toBeCloseTo((250_000 * 16) / (125 * 0.2), 6);
    expect(at('shard flush throughput')).toBeCloseTo((8000 * 16) / 0.2, 6);
    expect(at('shard CPU')).toBeCloseTo(800_000, 6); // 16 x 1,000 ms / 0.02 ms
    expect(at('shard storage')).toBeCloseTo((10e9 * 16) / 148_800, 6);
    expect(at('shard request soft limit')).toBe(1_600_000);
    const rates = list.map((b) => b.atEventsPerSec).filter((x): x is number => x !== null);
    expect(rates).toEqual([...rates].sort((a, b) => a - b));
    expect(list[0]?.constraint).toMatch(/^write-key rate limit/);
  });
  it('server batches: each request reaches nearly every shard, so the request limit comes far sooner', () => {
    const list = breakPoints(inputs({ batching: 'spread' }), 16, false);
    expect(list.find((b) => b.constraint.startsWith('shard request'))?.atEventsPerSec).toBeCloseTo((1000 * 100) / (1 - (15 / 16) ** 100), 6);
  });
  it('rate-independent limits already beyond their guidance come first', () => {
    const plan = computePlan(inputs());
    expect(plan.breaks[0]).toMatchObject({ constraint: expect.stringMatching(/^ClickHouse/), exceeded: true, atEventsPerSec: null });
    expect(plan.breaks.some((b) => b.constraint.startsWith('write-key'))).toBe(false);
    const slowRelay = computePlan(inputs({ relayCpuMsPerFrame: measured(0.1, 'test') }));
    expect(slowRelay.breaks.find((b) => b.constraint.startsWith('relay CPU'))).toMatchObject({ exceeded: true, loadAtPlanRate: 2 }); // 20,000 frames/s x 0.1 ms
  });
  it('the plan: the binding limit, sized at 50%, breaks at twice the planned rate', () => {
    const plan = computePlan(inputs());
    const memory = plan.breaks.find((b) => b.constraint.startsWith('shard memory'));
    expect(memory?.loadAtPlanRate).toBeCloseTo(((1e6 / MEMORY_SHARDS) * 600 * 50) / LIMITS.isolateMemoryBytes, 9);
    expect(memory?.loadAtPlanRate).toBeLessThanOrEqual(0.5);
    expect(plan.breaks.find((b) => b.atEventsPerSec !== null)?.constraint).toMatch(/^shard memory/);
  });
});

/** Fields of a real ingest + dedup + fanout run (2-core machine, --quick), enough for every derivation. */
const RUNS_WITH_SDK = {
  ingest: {
    status: 'ok',
    finished_at: '2026-12-03T09:30:24.992Z',
    result: {
      batch: 100, shard_count: 16, users_per_batch: 0, events_per_s: 4817, duration_s_per_phase: 4,
      levels: [{ concurrency: 16, worker: { events_per_s: 4817 } }],
      workerd_cpu_ms_per_request: 14.729, edge_only_workerd_cpu_ms_per_request: 4.167, edge_only_workerd_cpu_ms_per_request_less_local_rate_limiter: 3.32,
      sdk_events_per_s: 18575, sdk_workerd_cpu_ms_per_request: 5.172, sdk_edge_only_workerd_cpu_ms_per_request: 2.136,
      validate_enrich_ns_per_event: 617, validate_enrich_public_ns_per_event: 1167, validate_enrich: { local_rate_limit_ms_per_call: 0.85 },
      rows_written_per_event: 1.235,
    },
  },
  dedup: { status: 'ok', finished_at: '2026-12-03T09:30:34.730Z', result: { bytes_per_id: 50.3, direct_ids: 1_000_000 } },
  fanout: { status: 'ok', finished_at: '2026-11-23T11:03:26.906Z', result: { viewers: 5000, workerd_cpu_cores: 0.667, deltas_per_s: 18200, topics_per_viewer: 2 } },
  aggregate: { status: 'ok', result: { ns_per_event: 1600, preaggregation_ratio: 18, do_events: 600_000, do_pane_groups: 120_000, do_sqlite_bytes_estimate: 24_000_000, clickhouse_rollup_bytes_per_million: 3.8e6 } },
};

describe('inputs', () => {
  it('SDK batching takes the SDK-shaped phase: edge less the local rate limiter plus the browser-key enrichment; shard = full - edge', () => {
    const i = inputsFrom(RUNS_WITH_SDK, FACTS, 'visitor');
    expect(i.edgeCpuMsPerEvent.kind).toBe('measured');
    expect(i.edgeCpuMsPerEvent.value).toBeCloseTo((2.136 - 0.85 + (1167 - 617) * 100 / 1e6) / 100, 12);
    expect(i.shardCpuMsPerEvent).toMatchObject({ kind: 'measured' });
    expect(i.shardCpuMsPerEvent.value).toBeCloseTo((5.172 - 2.136) / 100, 12);
  });
  it('server batching takes the server-shaped phase', () => {
    const i = inputsFrom(RUNS_WITH_SDK, FACTS, 'spread');
    expect(i.edgeCpuMsPerEvent.value).toBeCloseTo(3.32 / 100, 12);
    expect(i.shardCpuMsPerEvent.value).toBeCloseTo((14.729 - 4.167) / 100, 12);
    expect(i.shardCpuMsPerEvent.kind).toBe('measured');
  });
  it('checkpoint rows per event: the measured rows less 2 per call, calls weighted by each phase\'s events', () => {
    const i = inputsFrom(RUNS_WITH_SDK, FACTS);
    const serverEvents = 4817 * 4;
    const sdkEvents = 18575 * 4;
    const callsPerEvent = (serverEvents * (expectedShardsHit(16, 100) / 100) + sdkEvents * 0.01) / (serverEvents + sdkEvents);
    expect(i.checkpointRowsWrittenPerEvent).toMatchObject({ kind: 'measured' });
    expect(i.checkpointRowsWrittenPerEvent.value).toBeCloseTo(1.235 - 2 * callsPerEvent, 12);
    expect(i.rowsWrittenPerCall).toMatchObject({ value: 2, kind: 'code' });
  });
  it('dedup bytes, pane groups, relay CPU from their benches', () => {
    const i = inputsFrom(RUNS_WITH_SDK, FACTS);
    expect(i.dedupBytesPerId).toMatchObject({ value: 50.3, kind: 'measured' });
    expect(i.paneGroupsPerEvent).toMatchObject({ value: 0.2, kind: 'measured' });
    expect(i.paneGroupBytes).toMatchObject({ value: 200, kind: 'measured' });
    expect(i.relayCpuMsPerFrame.value).toBeCloseTo((0.667 * 1000 * 2) / 18200, 12);
    expect(i.shardCpuFloorMsPerEvent.value).toBeCloseTo(0.0016, 12);
  });
  it('an ingest run without the SDK phase: the server-shaped figures stand in for SDK batches, as labelled assumptions', () => {
    const { sdk_workerd_cpu_ms_per_request: _a, sdk_edge_only_workerd_cpu_ms_per_request: _b, ...older } = RUNS_WITH_SDK.ingest.result;
    const i = inputsFrom({ ingest: { status: 'ok', result: older } }, FACTS, 'visitor');
    expect(i.edgeCpuMsPerEvent).toMatchObject({ kind: 'assumed' });
    expect(i.edgeCpuMsPerEvent.value).toBeCloseTo(3.32 / 100, 12);
    expect(i.edgeCpuMsPerEvent.source).toMatch(/^ASSUMPTION \(not measured\): the SDK-shaped phase is not in this ingest run/);
    expect(i.shardCpuMsPerEvent).toMatchObject({ kind: 'assumed' });
    expect(i.shardCpuMsPerEvent.value).toBeCloseTo((14.729 - 4.167) / 100, 12);
  });
  it('no benchmarks at all: every cost figure is a labelled assumption, none quotes a run', () => {
    const none = inputsFrom({}, FACTS);
    for (const figure of [none.edgeCpuMsPerEvent, none.shardCpuMsPerEvent, none.checkpointRowsWrittenPerEvent, none.dedupBytesPerId, none.paneGroupsPerEvent, none.eventsPerRollupRow, none.relayCpuMsPerFrame]) {
      expect(figure.kind).toBe('assumed');
      expect(figure.source).toMatch(/^ASSUMPTION \(not measured\): /);
    }
    // Without the ingest bench's rows: ~10 rows per pane group over its life x groups per event.
    expect(none.checkpointRowsWrittenPerEvent.value).toBe(10 * none.paneGroupsPerEvent.value);
  });
  it('a failed run is not a measurement', () => {
    const failed = inputsFrom({ ingest: { status: 'failed', result: RUNS_WITH_SDK.ingest.result } }, FACTS);
    expect(failed.shardCpuMsPerEvent.kind).toBe('assumed');
  });
  it('parses benchmarks.json without trusting its shape', () => {
    const runs = parseBenchRuns(JSON.stringify({ runs: { ingest: { status: 'ok', result: { batch: 100 } }, bad: 7, odd: { status: 3, result: [1] } } }));
    expect(runs.ingest).toEqual({ status: 'ok', result: { batch: 100 } });
    expect(runs.bad).toBeUndefined();
    expect(runs.odd).toEqual({ result: null });
    expect(parseBenchRuns('{}')).toEqual({});
  });
  it('what-ifs replace one figure and say what was measured', () => {
    const base = inputsFrom(RUNS_WITH_SDK, FACTS);
    const what = withFigure(base, 'dedupBytesPerId', 16);
    expect(what.dedupBytesPerId).toMatchObject({ value: 16, kind: 'assumed' });
    expect(what.dedupBytesPerId.source).toContain('50.3');
    expect(computePlan(what).shards.byMemory).toBeLessThan(computePlan(base).shards.byMemory);
  });
});

describe('reading the repository', () => {
  it('wrangler.toml vars and the per-key rate limit (not the per-client one), the SDK defaults, numeric constants', () => {
    const toml = [
      '[vars]', 'SHARD_COUNT = "16" # comment', 'WINDOW_SECONDS = "60"', '',
      '[[ratelimits]]', 'name = "INGEST_RATE_LIMITER"', 'simple = { limit = 1000, period = 10 }',
      '[[ratelimits]]', 'name = "INGEST_VISITOR_RATE_LIMITER"', 'simple = { limit = 200, period = 10 }',
    ].join('\n');
    expect(readWranglerConfig(toml)).toEqual({ vars: { SHARD_COUNT: '16', WINDOW_SECONDS: '60' }, rateLimit: { limit: 1000, periodSec: 10 } });
    expect(readSdkDefaults("flushIntervalMs: number('flushIntervalMs', options.flushIntervalMs, 50, 0),\nmaxBatchSize: integer('maxBatchSize', options.maxBatchSize, 100, 1, X),")).toEqual({ maxBatchSize: 100, flushIntervalMs: 50 });
    expect(numericConstant('const SETTLE_LOOKBACK_MS = 2 * 60_000;', 'SETTLE_LOOKBACK_MS')).toBe(120_000);
    expect(numericConstant('export const REFRESH_AT_SHARE = 0.8;', 'REFRESH_AT_SHARE')).toBe(0.8);
    expect(numericConstant('const X = y;', 'X')).toBeNull();
  });
  it('finds every constant the plan reads from the code (a rename would leave the plan on a stale default)', () => {
    const facts = readRepoFacts(readRepoFile);
    for (const [key, source] of Object.entries(facts.sources)) expect(source, key).not.toMatch(/not found/);
    expect(facts.shardCountToday).toBeGreaterThan(0);
  });
});

describe('summary and rendering', () => {
  it('the JSON summary lists every assumption by name and survives JSON', () => {
    const plan = computePlan(inputs({ relayCpuMsPerFrame: assumed(0.01, 'x'), deltaBytes: fromCode(236, 'x') }));
    const json = summary(plan, plan, [plan]);
    expect(json.assumptions).toContain('relayCpuMsPerFrame');
    expect(json.assumptions).not.toContain('shardCpuMsPerEvent');
    expect(json.assumptions).not.toContain('deltaBytes');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
  it('formats quantities', () => {
    expect(formatQuantity(1_000_000)).toBe('1M');
    expect(formatQuantity(44_900_000)).toBe('44.9M');
    expect(formatQuantity(0.333333)).toBe('0.333');
  });
  it('writes generated blocks between their markers and refuses a doc without them', () => {
    const section = { id: 'x', title: 't', headers: ['a', 'b'], rows: [['1', 'p|q']] };
    const doc = 'intro\n<!-- generated:x (npm run scaling -- --write-doc) -->\nold\n<!-- /generated:x -->\noutro\n';
    const written = writeGeneratedBlocks(doc, [section]);
    expect(generatedBlock(written, 'x')).toBe('| a | b |\n|---|---|\n| 1 | p\\|q |');
    expect(written.startsWith('intro\n')).toBe(true);
    expect(written.endsWith('\noutro\n')).toBe(true);
    expect(writeGeneratedBlocks(written, [section])).toBe(written);
    expect(() => writeGeneratedBlocks('no markers', [section])).toThrow(/markers/);
  });
});

describe('docs/scaling.md', () => {
  const report = defaultReport();
  const doc = readFileSync(DOC_FILE, 'utf8');
  const stale = `is stale: run \`npm run scaling -- --write-doc\` (${path.relative(process.cwd(), DOC_FILE)})`;

  it('every generated table equals what `npm run scaling` prints for the committed benchmarks.json', () => {
    for (const section of report.sections) expect(generatedBlock(doc, section.id), `${section.id} ${stale}`).toBe(renderMarkdown(section));
  });
  it('its headline figures are the script\'s JSON', () => {
    const headline = generatedBlock(doc, 'headline') ?? '';
    const json = report.json;
    const row = (name: string): string => headline.split('\n').find((l) => l.startsWith(`| ${name} |`)) ?? '';
    expect(row('edge invocations')).toContain(`**${formatQuantity(Number(json.edge_invocations_per_s))}/s**`);
    expect(row('shards per project')).toContain(`**${formatQuantity(Number(json.shards))}**, bound by **${String(json.shards_bound_by)}**`);
    expect(row('ClickHouse')).toContain(`**${formatQuantity(Number(json.clickhouse_inserts_per_s))} inserts/s**`);
    expect(row('ClickHouse')).toContain(`**${formatQuantity(Number(json.clickhouse_rows_per_s))} rows/s**`);
    expect(row('monthly cost')).toContain(`**$${Number(json.monthly_usd).toLocaleString('en-US')}**`);
    const first = json.breaks_first;
    if (typeof first === 'object' && first !== null && 'constraint' in first && 'at_events_per_s' in first) {
      expect(row('breaks first (planned shards)')).toContain(`${String(first.constraint)} at **${formatQuantity(Number(first.at_events_per_s))} events/s**`);
    } else expect(row('breaks first (planned shards)')).toContain('nothing rate-bound');
    expect(headline).toContain(`${formatQuantity(Number(json.relays))} relays`);
    expect(doc).toContain(CLOUDFLARE_PRICES.checked);
  });
});
