/**
 * The arithmetic of the live fan-out (docs/fanout.md), as code so the doc's
 * numbers are tested and the runtime uses the same rules.
 *
 * Shards -> combiners -> root: a Durable Object handles about 1,000 requests/s
 * (soft limit), and every shard pushes once per tick while its panes change.
 * 256 shards x 4 pushes/s = 1,024 RPC/s would drown a single root, so shards
 * push to combiners, each merging a fixed group of `fanIn` shards, and only
 * the combiners push to the root: root RPC/s = ceil(shards / fanIn) x pushes/s.
 * The fan-in grows with the shard count so that this stays <= ROOT_RPC_BUDGET_PER_S
 * at any shard count, and a combiner takes fanIn x pushes/s.
 */

/** Requests/s a single Durable Object is expected to sustain (Cloudflare's documented soft limit). */
export const DO_SOFT_LIMIT_RPS = 1000;
/** What we let combiners spend of the root's budget; the rest is relays' reports, attaches and viewer routing. */
export const ROOT_RPC_BUDGET_PER_S = 256;
/** Sockets one Durable Object may hold (runtime hard cap). */
export const DO_MAX_WEBSOCKETS = 32_768;
/**
 * Anti-entropy backstop: within this long after any push, a combiner settles,
 * i.e. each busy shard serves one liveDigest read per interval (events per
 * minute, from memory) and a liveTotals re-read only when the combiner is
 * still behind its previous digest. Not the repair path for known losses
 * (retried pushes, a restarted shard's announce), so it can be slow: at 2 s
 * the full re-reads it used to do were a fifth of a busy shard's CPU.
 */
export const SETTLE_INTERVAL_MS = 30_000;

export interface CombinerPlan {
  shardCount: number;
  /** Shards per combiner. */
  fanIn: number;
  combiners: number;
  /** Pushes per second of one busy shard (and of one busy combiner). */
  pushesPerSecond: number;
  /** RPCs/s the root takes from combiners when every shard is busy. */
  rootRpcPerSecond: number;
  /** RPCs/s one combiner takes from its shards when all are busy. */
  combinerRpcPerSecond: number;
}

export function planCombiners(shardCount: number, tickMs: number, configuredFanIn: number): CombinerPlan {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError('shardCount must be a positive integer');
  if (!(tickMs > 0)) throw new RangeError('tickMs must be positive');
  if (!Number.isInteger(configuredFanIn) || configuredFanIn < 1) throw new RangeError('fan-in must be a positive integer');
  const pushesPerSecond = 1000 / tickMs;
  const maxCombiners = Math.max(1, Math.floor(ROOT_RPC_BUDGET_PER_S / pushesPerSecond));
  const fanIn = Math.min(shardCount, Math.max(configuredFanIn, Math.ceil(shardCount / maxCombiners)));
  const combiners = Math.ceil(shardCount / fanIn);
  return {
    shardCount,
    fanIn,
    combiners,
    pushesPerSecond,
    rootRpcPerSecond: combiners * pushesPerSecond,
    combinerRpcPerSecond: fanIn * pushesPerSecond,
  };
}

/** Which combiner merges a shard: contiguous groups, so a combiner's shards are known without a lookup. */
export function combinerIndexOf(shard: number, plan: CombinerPlan): number {
  if (!Number.isInteger(shard) || shard < 0 || shard >= plan.shardCount) throw new RangeError(`shard ${shard} is outside [0, ${plan.shardCount})`);
  return Math.floor(shard / plan.fanIn);
}

export function combinerShards(index: number, plan: CombinerPlan): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= plan.combiners) throw new RangeError(`combiner ${index} is outside [0, ${plan.combiners})`);
  const first = index * plan.fanIn;
  const last = Math.min(plan.shardCount, first + plan.fanIn);
  return Array.from({ length: last - first }, (_, i) => first + i);
}

export function combinerObjectName(projectId: string, index: number): string {
  return `combiner:${projectId}:${index}`;
}

// ---------- viewers ----------

/**
 * Cloudflare Workers Paid pricing for Durable Objects (developers.cloudflare.com/
 * durable-objects/platform/pricing): requests $0.15/million beyond 1 million
 * included (RPC calls and HTTP requests each count one; incoming WebSocket
 * messages count 1/20); duration $12.50/million GB-s beyond 400,000 GB-s,
 * billed at 128 MB per object while it is awake and cannot hibernate.
 */
export const PRICING = {
  requestUsdPerMillion: 0.15,
  includedRequests: 1_000_000,
  durationUsdPerMillionGbS: 12.5,
  includedGbS: 400_000,
  objectGb: 0.128,
  incomingWebSocketMessageRatio: 1 / 20,
} as const;

export const SECONDS_PER_MONTH = 30 * 86_400;

export interface FanoutScenario {
  viewers: number;
  relayMaxViewers: number;
  /** Relay regions the viewers spread over evenly (each region fills its own relays). */
  regions: number;
  /** Topics each viewer subscribes to (the dashboard uses 3-4). */
  topicsPerViewer: number;
  /** Of those, how many change in a busy tick. */
  changingTopicsPerTick: number;
  tickMs: number;
  /** Serialized delta, bytes. */
  deltaBytes: number;
  shardCount: number;
  combinerFanIn: number;
  /** Flow-controlled viewers ack every this many frames; null when viewers do not ack. */
  ackEveryFrames: number | null;
}

export interface FanoutEstimate {
  relays: number;
  viewersPerRelay: number;
  ticksPerSecond: number;
  /** Delta frames sent to viewers per second (one per viewer per busy tick). */
  framesPerSecond: number;
  deltasPerSecond: number;
  egressBytesPerSecond: number;
  perRelay: { framesPerSecond: number; egressBytesPerSecond: number; rpcInPerSecond: number; ackMessagesPerSecond: number };
  root: { rpcInPerSecond: number; rpcOutPerSecond: number };
  combiners: CombinerPlan;
  durableObjects: { shards: number; combiners: number; root: number; relays: number; total: number };
  /** A month in which the dashboard is busy every tick (the worst case; idle relays hibernate and cost nothing). */
  monthly: { requests: number; requestsUsd: number; gbSeconds: number; durationUsd: number; totalUsd: number };
  /** Billed requests per second by kind, in the busy steady state. */
  requestsPerSecond: { shardPushes: number; settleReads: number; combinerPushes: number; relayPushes: number; acks: number };
}

/** Frame = `[` + deltas joined by `,` + `]`, plus a 4-byte WebSocket header (payloads 126..65535 bytes). */
const FRAME_OVERHEAD_BYTES = 2 + 4;

export function estimateFanout(s: FanoutScenario): FanoutEstimate {
  const perRegion = Math.ceil(s.viewers / s.regions);
  const relays = s.regions * Math.ceil(perRegion / s.relayMaxViewers);
  const ticksPerSecond = 1000 / s.tickMs;
  const framesPerSecond = s.viewers * ticksPerSecond;
  const deltasPerFrame = Math.min(s.changingTopicsPerTick, s.topicsPerViewer);
  const frameBytes = deltasPerFrame * s.deltaBytes + Math.max(0, deltasPerFrame - 1) + FRAME_OVERHEAD_BYTES;
  const viewersPerRelay = Math.ceil(s.viewers / relays);
  const combiners = planCombiners(s.shardCount, s.tickMs, s.combinerFanIn);
  const ackMessagesPerSecond = s.ackEveryFrames === null ? 0 : (viewersPerRelay * ticksPerSecond) / s.ackEveryFrames;

  const shardRpc = s.shardCount * ticksPerSecond;
  const settleRpc = s.shardCount * (1000 / SETTLE_INTERVAL_MS);
  const combinerRpc = combiners.combiners * ticksPerSecond;
  const relayRpc = relays * ticksPerSecond;
  const acks = ackMessagesPerSecond * relays * PRICING.incomingWebSocketMessageRatio;
  const requests = (shardRpc + settleRpc + combinerRpc + relayRpc + acks) * SECONDS_PER_MONTH;
  // Shards are awake anyway (they ingest); the live layer adds the combiners, the root and the relays.
  const liveObjects = combiners.combiners + 1 + relays;
  const gbSeconds = liveObjects * PRICING.objectGb * SECONDS_PER_MONTH;
  const requestsUsd = (Math.max(0, requests - PRICING.includedRequests) / 1e6) * PRICING.requestUsdPerMillion;
  const durationUsd = (Math.max(0, gbSeconds - PRICING.includedGbS) / 1e6) * PRICING.durationUsdPerMillionGbS;
  return {
    relays,
    viewersPerRelay,
    ticksPerSecond,
    framesPerSecond,
    deltasPerSecond: framesPerSecond * deltasPerFrame,
    egressBytesPerSecond: framesPerSecond * frameBytes,
    perRelay: {
      framesPerSecond: viewersPerRelay * ticksPerSecond,
      egressBytesPerSecond: viewersPerRelay * ticksPerSecond * frameBytes,
      rpcInPerSecond: ticksPerSecond,
      ackMessagesPerSecond,
    },
    root: { rpcInPerSecond: combinerRpc, rpcOutPerSecond: relayRpc },
    combiners,
    durableObjects: { shards: s.shardCount, combiners: combiners.combiners, root: 1, relays, total: s.shardCount + liveObjects },
    monthly: { requests, requestsUsd, gbSeconds, durationUsd, totalUsd: requestsUsd + durationUsd },
    requestsPerSecond: { shardPushes: shardRpc, settleReads: settleRpc, combinerPushes: combinerRpc, relayPushes: relayRpc, acks },
  };
}
