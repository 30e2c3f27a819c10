// The arithmetic of the 1M events/s plan (scripts/scaling.ts): pure functions, no benches.
import { describe, expect, it } from 'vitest';
import {
  assumed,
  breakPoints,
  callsPerShardPerSec,
  CLOUDFLARE_PRICES,
  computePlan,
  expectedShardsHit,
  formatQuantity,
  inputsFrom,
  invocationsPerSec,
  LIMITS,
  measured,
  MONTH_SECONDS,
  planCombiners,
  readSdkDefaults,
  readWranglerConfig,
  sampleDeltaBytes,
  shardsNeeded,
  summary,
  type PlanInputs,
} from './scaling.ts';

const defaults = {
  eventsPerRequest: 100,
  flushIntervalSec: 5,
  windowSec: 60,
  paneSec: 10,
  dedupHorizonSec: 600,
  rateLimit: { limit: 1000, periodSec: 10 },
  current: { shardCount: 16, livePush: 'per-call' as const, livePushSource: 'test' },
};

/** Inputs with round, known figures so the expected numbers can be worked out by hand. */
function inputs(over: Partial<PlanInputs> = {}): PlanInputs {
  return {
    ...inputsFrom({}, defaults),
    edgeCpuMsPerEvent: measured(0.05, 'test'),
    shardCpuMsPerEvent: measured(0.2, 'test'),
    shardCpuFloorMsPerEvent: measured(0.002, 'test'),
    eventsPerRollupRow: measured(20, 'test'),
    ...over,
  };
}

describe('edge invocations', () => {
  it('are events / batch size, and double when the rate doubles', () => {
    expect(invocationsPerSec(1_000_000, 100)).toBe(10_000);
    expect(invocationsPerSec(2_000_000, 100)).toBe(2 * invocationsPerSec(1_000_000, 100));
    expect(computePlan(inputs({ eventsPerSec: 2_000_000 })).edge.invocationsPerSec).toBe(2 * computePlan(inputs()).edge.invocationsPerSec);
    expect(() => invocationsPerSec(1000, 0)).toThrow(RangeError);
  });
});

describe('shard sizing', () => {
  it('respects the DO soft limit at the chosen utilisation (one shard per SDK request)', () => {
    const sizing = shardsNeeded({ eventsPerSec: 1e6, eventsPerRequest: 100, batching: 'visitor', utilisation: 0.5, dedupHorizonSec: 600, cpuMsPerEvent: 0, seenRowBytes: 1 });
    expect(sizing.byRequests).toBe(20); // 10,000 calls/s / 500 per shard
    expect(callsPerShardPerSec(10_000, sizing.shards, 'visitor', 100)).toBeLessThanOrEqual(LIMITS.doSoftRequestsPerSec * 0.5);
    expect(callsPerShardPerSec(10_000, sizing.shards - 1, 'visitor', 100)).toBeGreaterThan(LIMITS.doSoftRequestsPerSec * 0.5);
  });
  it('server batches touch most shards: the count to respect the limit approaches events/s / budget', () => {
    const sizing = shardsNeeded({ eventsPerSec: 1e6, eventsPerRequest: 100, batching: 'spread', utilisation: 0.5, dedupHorizonSec: 600, cpuMsPerEvent: 0, seenRowBytes: 1 });
    const inv = 10_000;
    expect(callsPerShardPerSec(inv, sizing.byRequests, 'spread', 100)).toBeLessThanOrEqual(500);
    expect(callsPerShardPerSec(inv, sizing.byRequests - 1, 'spread', 100)).toBeGreaterThan(500);
    expect(sizing.byRequests).toBeGreaterThan(1900);
    expect(sizing.byRequests).toBeLessThan(2000);
  });
  it('one thread per shard: CPU sets the count when the per-event cost is high', () => {
    const sizing = shardsNeeded({ eventsPerSec: 1e6, eventsPerRequest: 100, batching: 'visitor', utilisation: 0.5, dedupHorizonSec: 600, cpuMsPerEvent: 0.2, seenRowBytes: 1 });
    expect(sizing).toMatchObject({ byCpu: 400, shards: 400, boundBy: 'cpu' }); // 1e6 x 0.2 ms = 200,000 ms/s over 500 ms/s per shard
  });
  it('storage: 10 GB per object', () => {
    const sizing = shardsNeeded({ eventsPerSec: 1e6, eventsPerRequest: 1000, batching: 'visitor', utilisation: 1, dedupHorizonSec: 600, cpuMsPerEvent: 0, seenRowBytes: 1000 });
    expect(sizing).toMatchObject({ byStorage: 60, boundBy: 'storage' }); // 600 GB / 10 GB
  });
  it('rejects a utilisation outside (0, 1]', () => {
    expect(() => shardsNeeded({ eventsPerSec: 1, eventsPerRequest: 1, batching: 'visitor', utilisation: 0, dedupHorizonSec: 1, cpuMsPerEvent: 0, seenRowBytes: 1 })).toThrow(RangeError);
  });
  it('expected shards touched by a request', () => {
    expect(expectedShardsHit(16, 1)).toBeCloseTo(1, 12);
    expect(expectedShardsHit(16, 100)).toBeCloseTo(16 * (1 - (15 / 16) ** 100), 12);
    expect(expectedShardsHit(1, 100)).toBe(1);
  });
});

describe('live fan-out', () => {
  it('combiners keep the root within its budget at any shard count (as core/fanout-math.ts)', () => {
    for (const shards of [1, 16, 256, 449, 2000, 10_000]) {
      const plan = planCombiners(shards, 250, 16, 256);
      expect(plan.rootRpcPerSec).toBeLessThanOrEqual(256);
      expect(plan.combiners * plan.fanIn).toBeGreaterThanOrEqual(shards);
    }
    expect(planCombiners(449, 250, 16, 256)).toMatchObject({ fanIn: 16, combiners: 29, rootRpcPerSec: 116, combinerRpcPerSec: 64 });
  });
  it('50,000 viewers: 10 relays of 5,000, one frame per viewer per 250 ms tick', () => {
    const plan = computePlan(inputs());
    expect(plan.live.relays).toBe(10);
    expect(plan.live.framesPerSec).toBe(200_000);
    expect(plan.live.framesPerRelayPerSec).toBe(20_000);
    expect(plan.live.bytesPerSec).toBe(200_000 * plan.live.frameBytes);
    expect(plan.live.frameBytes).toBe(4 * sampleDeltaBytes() + 3 + 6);
  });
});

describe('ClickHouse', () => {
  it('one insert per shard per window, rows from the pre-aggregation ratio', () => {
    const plan = computePlan(inputs({ shardCpuMsPerEvent: measured(0.01, 'test') }));
    expect(plan.shards.shards).toBe(20);
    expect(plan.clickhouse.insertsPerSec).toBeCloseTo(20 / 60, 12);
    expect(plan.clickhouse.insertsPerSecMax).toBe(4);
    expect(plan.clickhouse.rowsPerSec).toBe(50_000);
    expect(plan.clickhouse.rowsPerInsert).toBeCloseTo(150_000, 6);
  });
});

describe('cost', () => {
  it('bills only beyond the included amounts, at the constant\'s prices', () => {
    const tiny = computePlan(inputs({ eventsPerSec: 1, viewers: 1 }));
    const workersRequests = tiny.cost.lines.find((l) => l.item.startsWith('Workers requests'));
    expect(workersRequests?.usd).toBe(0);
    const plan = computePlan(inputs());
    const req = plan.cost.lines.find((l) => l.item.startsWith('Workers requests'));
    const expected = ((req?.quantity ?? 0) - CLOUDFLARE_PRICES.workers.includedRequests) / 1e6 * 0.3;
    expect(req?.usd).toBeCloseTo(expected, 6);
    expect(req?.quantity).toBeCloseTo((10_000 + 50_000 / 3600) * MONTH_SECONDS, 3);
    const duration = plan.cost.lines.find((l) => l.item === 'Durable Objects duration');
    expect(duration?.quantity).toBeCloseTo(plan.durableObjects.total * 0.128 * MONTH_SECONDS, 3);
    expect(plan.cost.totalUsd).toBeCloseTo(plan.cost.lines.reduce((s, l) => s + l.usd, 0), 6);
  });
  it('doubling the rate roughly doubles the usage-billed lines', () => {
    const one = computePlan(inputs());
    const two = computePlan(inputs({ eventsPerSec: 2e6 }));
    const rows = (p: typeof one) => p.cost.lines.find((l) => l.item === 'SQLite rows written')?.quantity ?? 0;
    expect(rows(two) / rows(one)).toBeCloseTo(2, 6);
  });
  it('the per-call journal writes far fewer rows than one dedup row set per event', () => {
    const plan = computePlan(inputs());
    expect(plan.storage.rowsWrittenPerSec).toBe(1e6 * 4 + 10_000 * 10 * 3);
    expect(plan.storage.rowsWrittenPerSecWithJournal).toBeLessThan(plan.storage.rowsWrittenPerSec / 50);
    expect(plan.cost.totalUsdWithJournal).toBeLessThan(plan.cost.totalUsd);
  });
});

describe('what breaks first', () => {
  it('today (16 shards, a publish per shard call): the arithmetic of each limit', () => {
    const i = inputs();
    const list = breakPoints(i, 16, 'per-call', planCombiners(16, 250, 16, 256), true);
    const at = (name: string) => list.find((b) => b.constraint.startsWith(name))?.atEventsPerSec;
    expect(at('write-key rate limit')).toBe(10_000); // 100 requests/s x 100 events
    expect(at('shard DO CPU')).toBeCloseTo(80_000, 6); // 16 x 1,000 ms / 0.2 ms
    expect(at('broadcast root request soft limit')).toBe(100_000); // 1,000 publishes/s x 100 events
    expect(at('shard DO request soft limit')).toBe(1_600_000);
    expect(list[0]?.constraint).toMatch(/^write-key rate limit/);
  });
  it('server batches: every request publishes once per shard it touches, so the root breaks 16x sooner', () => {
    const list = breakPoints(inputs({ batching: 'spread' }), 16, 'per-call', planCombiners(16, 250, 16, 256), true);
    expect(list[0]?.constraint).toMatch(/^broadcast root/);
    expect(list[0]?.atEventsPerSec).toBeCloseTo(100_000 / expectedShardsHit(16, 100), 6);
  });
  it('rate-independent limits already beyond their guidance come first', () => {
    const list = breakPoints(inputs(), 449, 'tick', planCombiners(449, 250, 16, 256), false);
    expect(list[0]).toMatchObject({ constraint: expect.stringMatching(/^ClickHouse/), exceeded: true, atEventsPerSec: null });
    expect(list.some((b) => b.constraint.startsWith('write-key'))).toBe(false);
  });
  it('the plan: CPU sized at 50% breaks at twice the planned rate', () => {
    const plan = computePlan(inputs());
    const cpu = plan.breaks.find((b) => b.constraint.startsWith('shard DO CPU'));
    expect(cpu?.atEventsPerSec).toBeCloseTo(2e6, 6);
    expect(cpu?.loadAtPlanRate).toBeCloseTo(0.5, 6);
  });
});

describe('inputs', () => {
  it('uses measured figures from benchmarks.json and labels every fallback', () => {
    const none = inputsFrom({}, defaults);
    expect(none.shardCpuMsPerEvent.measured).toBe(false);
    expect(none.shardCpuMsPerEvent.source).toMatch(/^ASSUMPTION: /);
    const withIngest = inputsFrom(
      {
        ingest: {
          status: 'ok',
          finished_at: '2026-11-24T10:00:00.000Z',
          result: { batch: 100, workerd_cpu_ms_per_request: 12, edge_only_workerd_cpu_ms_per_request: 2, shard_count: 16, users_per_batch: 0 },
        },
        aggregate: { status: 'ok', result: { ns_per_event: 400, preaggregation_ratio: 25, clickhouse_rollup_bytes_per_million: 1e6, do_sqlite_bytes_estimate: 2000, do_pane_groups: 10 } },
      },
      defaults,
    );
    expect(withIngest.edgeCpuMsPerEvent).toMatchObject({ value: 0.02, measured: true });
    expect(withIngest.shardCpuMsPerEvent).toMatchObject({ value: 0.1, measured: true });
    expect(withIngest.shardCpuFloorMsPerEvent).toMatchObject({ value: 0.0004, measured: true });
    expect(withIngest.eventsPerRollupRow).toMatchObject({ value: 25, measured: true });
    expect(withIngest.paneGroupBytes).toMatchObject({ value: 200, measured: true });
  });
  it('a failed ingest run is not a measurement', () => {
    const failed = inputsFrom({ ingest: { status: 'failed', result: { batch: 100, workerd_cpu_ms_per_request: 1, edge_only_workerd_cpu_ms_per_request: 0.5 } } }, defaults);
    expect(failed.shardCpuMsPerEvent.measured).toBe(false);
  });
  it('reads wrangler.toml vars and the rate limit, and the SDK defaults', () => {
    const toml = `[vars]\nSHARD_COUNT = "16" # comment\nWINDOW_SECONDS = "60"\n\n[[ratelimits]]\nname = "X"\nsimple = { limit = 1000, period = 10 }\n`;
    expect(readWranglerConfig(toml)).toEqual({ vars: { SHARD_COUNT: '16', WINDOW_SECONDS: '60' }, rateLimit: { limit: 1000, periodSec: 10 } });
    expect(readSdkDefaults("flushIntervalMs: number('flushIntervalMs', options.flushIntervalMs, 50, 0),\nmaxBatchSize: integer('maxBatchSize', options.maxBatchSize, 100, 1, X),")).toEqual({ maxBatchSize: 100, flushIntervalMs: 50 });
  });
  it('the JSON summary lists every assumption by name', () => {
    const plan = computePlan(inputs({ relayCpuMsPerFrame: assumed(0.01, 'x') }));
    const json = summary(plan, [plan]);
    expect(json.assumptions).toContain('relayCpuMsPerFrame');
    expect(json.assumptions).not.toContain('shardCpuMsPerEvent');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
  it('formats quantities', () => {
    expect(formatQuantity(1_000_000)).toBe('1M');
    expect(formatQuantity(44_900_000)).toBe('44.9M');
    expect(formatQuantity(0.333333)).toBe('0.333');
  });
});
