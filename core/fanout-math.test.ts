import { describe, expect, it } from 'vitest';
import { combinerIndexOf, combinerShards, DO_SOFT_LIMIT_RPS, estimateFanout, planCombiners, ROOT_RPC_BUDGET_PER_S } from './fanout-math.ts';

describe('combiner plan', () => {
  it('256 shards at a 250 ms tick: 16 combiners, the root takes 64 RPC/s instead of 1,024', () => {
    const plan = planCombiners(256, 250, 16);
    expect(plan).toMatchObject({ fanIn: 16, combiners: 16, pushesPerSecond: 4, rootRpcPerSecond: 64, combinerRpcPerSecond: 64 });
  });

  it('keeps the root within its budget at any shard count by widening the fan-in', () => {
    for (const shards of [1, 4, 16, 100, 256, 1000, 4096]) {
      for (const tickMs of [50, 100, 250, 1000]) {
        const plan = planCombiners(shards, tickMs, 16);
        expect(plan.rootRpcPerSecond).toBeLessThanOrEqual(ROOT_RPC_BUDGET_PER_S);
        expect(plan.combiners * plan.fanIn).toBeGreaterThanOrEqual(shards);
        if (tickMs >= 250) expect(plan.combinerRpcPerSecond).toBeLessThanOrEqual(DO_SOFT_LIMIT_RPS);
      }
    }
    expect(planCombiners(4096, 250, 16)).toMatchObject({ fanIn: 64, combiners: 64, rootRpcPerSecond: 256, combinerRpcPerSecond: 256 });
  });

  it('maps every shard to exactly one combiner, in contiguous groups', () => {
    const plan = planCombiners(10, 250, 4);
    const seen = Array.from({ length: plan.combiners }, (_, i) => combinerShards(i, plan)).flat();
    expect(seen).toEqual([...Array(10).keys()]);
    expect([0, 3, 4, 9].map((s) => combinerIndexOf(s, plan))).toEqual([0, 0, 1, 2]);
    expect(() => combinerIndexOf(10, plan)).toThrow(RangeError);
  });
});

describe('50,000 viewers of one dashboard (the figures in docs/fanout.md)', () => {
  const scenario = {
    viewers: 50_000,
    relayMaxViewers: 5000,
    regions: 9,
    topicsPerViewer: 4,
    changingTopicsPerTick: 4,
    tickMs: 250,
    // Measured: a `metrics:*` delta with a 10-digit value and seq, its anomaly flag and band: 236 B.
    deltaBytes: 236,
    shardCount: 256,
    combinerFanIn: 16,
    ackEveryFrames: null,
  };
  const estimate = estimateFanout(scenario);

  it('relays, frames, deltas and bytes', () => {
    expect(estimate.relays).toBe(18);
    expect(estimate.framesPerSecond).toBe(200_000);
    expect(estimate.deltasPerSecond).toBe(800_000);
    // 4 x 236 B + 3 commas + 2 brackets + 4 B WebSocket header = 953 B per frame.
    expect(estimate.egressBytesPerSecond).toBe(200_000 * 953);
    expect(estimate.perRelay.framesPerSecond).toBe(Math.ceil(50_000 / 18) * 4);
    expect(estimate.root).toEqual({ rpcInPerSecond: 64, rpcOutPerSecond: 72 });
    expect(estimate.durableObjects).toEqual({ shards: 256, combiners: 16, root: 1, relays: 18, total: 291 });
  });

  it('costs about $590 a month at 256 shards busy every tick all month; about $130 at the default 16 shards', () => {
    expect(estimate.requestsPerSecond).toEqual({ shardPushes: 1024, settleReads: 256 / 30, combinerPushes: 64, relayPushes: 72, acks: 0 });
    expect(Math.round(estimate.monthly.requestsUsd)).toBe(454);
    expect(Math.round(estimate.monthly.durationUsd)).toBe(140);
    expect(Math.round(estimate.monthly.totalUsd)).toBe(594);
    const sixteen = estimateFanout({ ...scenario, shardCount: 16 });
    expect(Math.round(sixteen.monthly.totalUsd)).toBe(132);
    // The dashboard (flow control, window 32, an ack every 16 frames): 12,500 messages/s, billed 1/20 each.
    const dashboard = estimateFanout({ ...scenario, ackEveryFrames: 16 });
    expect(Math.round(dashboard.requestsPerSecond.acks)).toBe(625);
    expect(Math.round(dashboard.monthly.totalUsd)).toBe(837);
    expect(Math.round(estimateFanout({ ...scenario, ackEveryFrames: 16, shardCount: 16 }).monthly.totalUsd)).toBe(375);
    // Outgoing WebSocket messages are not billed: the viewer count only moves the relay count.
    const doubled = estimateFanout({ ...scenario, viewers: 100_000 });
    expect(doubled.relays).toBe(27);
  });
});
