/**
 * The 1M events/s plan (docs/scaling.md), recomputed from the measured
 * per-event costs in benchmarks.json. Where a figure has not been measured,
 * the plan uses a stated assumption and says so on every line that depends
 * on it ("ASSUMPTION: ...").
 *
 *   npm run scaling                                   the plan at 1,000,000 events/s
 *   npm run scaling -- --rate 250000 --batch 10       another rate or SDK batch size
 *   npm run scaling -- --batching spread              server-side batches of many users
 *   npm run scaling -- --viewers 100000 --benchmarks other/benchmarks.json
 *   npm run scaling -- --live-push tick              "today" with shards pushing per tick (issue 5 landed)
 *   npm run scaling -- --shard-cpu-ms 0.01           what-if: the shard's CPU per event after optimisation
 *
 * Prints the plan as tables; the LAST stdout line is one JSON object.
 *
 * Model (all per second unless noted; R = events/s, B = events per request, S = shards):
 * - edge invocations = R / B; edge CPU = invocations x edge CPU per request;
 * - shard calls: one RPC per shard a request touches. A browser SDK batch is
 *   one visitor, so one shard ("visitor"); a server batch of B users touches
 *   S(1 - (1 - 1/S)^B) shards ("spread");
 * - S = the largest of: calls per shard <= soft limit x utilisation, shard CPU
 *   (one thread: 1,000 ms per s) <= 1,000 ms x utilisation, dedup storage <=
 *   10 GB x utilisation;
 * - live: every shard pushes once per tick to a combiner, combiners push to
 *   the root, the root to relays of <= 5,000 viewers, one frame per viewer
 *   per tick (the same rules as core/fanout-math.ts);
 * - ClickHouse: one insert per shard per window (steady state; at most one per
 *   flush interval), rows = R / events per rollup row (the aggregate bench);
 * - cost: CLOUDFLARE_PRICES below, a 30-day month, every object awake all month.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

// ------------------------------------------------------------------ prices

/**
 * Cloudflare's published prices (Workers Paid, Standard usage model). Read on
 * 2026-11-23 from the pages below; prices change, so re-check them before
 * quoting any cost from this script.
 */
export const CLOUDFLARE_PRICES = {
  checked: '2026-11-23',
  sources: [
    'https://developers.cloudflare.com/workers/platform/pricing/',
    'https://developers.cloudflare.com/durable-objects/platform/pricing/',
    'https://developers.cloudflare.com/d1/platform/pricing/ (rows read/written are counted as in D1; an index write is an extra row)',
  ],
  note: 'Re-check before use: Cloudflare changes prices and included amounts.',
  workers: {
    subscriptionUsdPerMonth: 5,
    includedRequests: 10_000_000,
    usdPerMillionRequests: 0.3,
    includedCpuMs: 30_000_000,
    usdPerMillionCpuMs: 0.02,
  },
  durableObjects: {
    includedRequests: 1_000_000,
    usdPerMillionRequests: 0.15,
    /** Incoming WebSocket messages are billed 20:1; outgoing ones are free. */
    incomingWebSocketMessagesPerRequest: 20,
    includedGbS: 400_000,
    usdPerMillionGbS: 12.5,
    /** Duration is billed at 128 MB per object, as Cloudflare's examples compute it (128 MB / 1 GB). */
    gbPerObject: 0.128,
  },
  sqliteStorage: {
    includedRowsRead: 25_000_000_000,
    usdPerMillionRowsRead: 0.001,
    includedRowsWritten: 50_000_000,
    usdPerMillionRowsWritten: 1.0,
    includedGbMonth: 5,
    usdPerGbMonth: 0.2,
  },
} as const;

export type Prices = typeof CLOUDFLARE_PRICES;

/** Platform limits the plan is held to, with their sources. */
export const LIMITS = {
  /** developers.cloudflare.com/durable-objects/platform/limits (FAQ): "an individual Object has a soft limit of 1,000 requests per second". */
  doSoftRequestsPerSec: 1000,
  /** A Durable Object is single-threaded: at most 1,000 ms of CPU per second. */
  doCpuMsPerSec: 1000,
  /** developers.cloudflare.com/durable-objects/platform/limits: 10 GB per SQLite-backed object. */
  doStorageBytes: 10e9,
  /** Sockets per object (issue 5; core/fanout-math.ts DO_MAX_WEBSOCKETS). */
  doMaxWebSockets: 32_768,
  /** clickhouse.com/docs/optimize/bulk-inserts: keep synchronous inserts "around one insert query per second", batches >= 1,000 rows. */
  clickhouseInsertsPerSec: 1,
  clickhouseMinRowsPerInsert: 1000,
} as const;

export const MONTH_SECONDS = 30 * 86_400;
/** Memory the journal variant lets one shard spend on its in-memory dedup set (an isolate has 128 MB). */
export const DEDUP_MEMORY_BUDGET_BYTES = 64 * 2 ** 20;
/** A 64-bit hash per id: among ~10^7 ids per shard a false drop has probability ~n^2 / 2^65 (well under issue 3's 1e-4). */
export const DEDUP_HASH_BYTES = 8;
/** developers.cloudflare.com/durable-objects/platform/limits: maximum string, BLOB or table row size. */
export const MAX_ROW_BYTES = 2_000_000;

// ------------------------------------------------------------------ inputs

/** A number with where it came from; `measured: false` marks an assumption. */
export interface Figure {
  value: number;
  source: string;
  measured: boolean;
}

export const measured = (value: number, source: string): Figure => ({ value, source, measured: true });
export const assumed = (value: number, source: string): Figure => ({ value, source: `ASSUMPTION: ${source}`, measured: false });

export type Batching = 'visitor' | 'spread';
export type LivePush = 'per-call' | 'tick';

export interface PlanInputs {
  eventsPerSec: number;
  eventsPerRequest: number;
  batching: Batching;
  /** Fraction of a Durable Object's request soft limit, CPU and storage the plan fills (headroom for bursts and hot keys). */
  utilisation: number;
  viewers: number;
  viewersPerRelay: number;
  relayRegions: number;
  tickMs: number;
  rootRpcBudgetPerSec: number;
  combinerFanIn: number;
  flushIntervalSec: number;
  windowSec: number;
  paneSec: number;
  dedupHorizonSec: number;
  rateLimit: { limit: number; periodSec: number };
  /** Today's deployment, for "what breaks first". */
  current: { shardCount: number; livePush: LivePush; livePushSource: string };
  edgeCpuMsPerEvent: Figure;
  shardCpuMsPerEvent: Figure;
  /** The shard's in-memory work only (aggregate bench): what the shard could approach once storage is coalesced. */
  shardCpuFloorMsPerEvent: Figure;
  rowsWrittenPerEvent: Figure;
  rowsWrittenPerGroup: Figure;
  groupsPerCall: Figure;
  seenRowBytes: Figure;
  /** Bytes of one pane group as a SQLite row (sketch + keys + counters), for the journal variant's checkpoints. */
  paneGroupBytes: Figure;
  eventsPerRollupRow: Figure;
  rollupBytesPerMillion: Figure;
  topicsPerViewer: Figure;
  deltaBytes: Figure;
  relayCpuMsPerFrame: Figure;
  heartbeatSec: Figure;
  reconnectsPerViewerHour: Figure;
  eventBytes: Figure;
}

/** Vars and the ingest rate limit from wrangler.toml (a small parser for its `KEY = "value"` lines). */
export function readWranglerConfig(text: string): { vars: Record<string, string>; rateLimit: { limit: number; periodSec: number } | null } {
  const vars: Record<string, string> = {};
  let section = '';
  let rateLimit: { limit: number; periodSec: number } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (header !== null) {
      section = header[1] ?? '';
      continue;
    }
    if (section === 'vars') {
      const m = /^([A-Z0-9_]+)\s*=\s*"([^"]*)"$/.exec(line);
      if (m !== null && m[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
    }
    if (section === 'ratelimits') {
      const m = /^simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}$/.exec(line);
      if (m !== null && rateLimit === null) rateLimit = { limit: Number(m[1]), periodSec: Number(m[2]) };
    }
  }
  return { vars, rateLimit };
}

/** The SDK's default batch size and flush interval, read from sdk/src/options.ts. */
export function readSdkDefaults(text: string): { maxBatchSize: number | null; flushIntervalMs: number | null } {
  const batch = /'maxBatchSize',\s*options\.maxBatchSize,\s*(\d+)/.exec(text);
  const flush = /'flushIntervalMs',\s*options\.flushIntervalMs,\s*(\d+)/.exec(text);
  return { maxBatchSize: batch !== null ? Number(batch[1]) : null, flushIntervalMs: flush !== null ? Number(flush[1]) : null };
}

/** Where the aggregate fallbacks come from. */
const QUICK_AGGREGATE = 'a --quick run of the work-in-progress aggregate bench on this 2-core machine (2026-11-23, 60 s of traffic, not in benchmarks.json)';

type BenchRuns = Record<string, { status?: string; finished_at?: string; result?: Record<string, unknown> | null } | undefined>;

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Expected distinct shards a request of `users` distinct users touches (uniform hashing). */
export function expectedShardsHit(shards: number, users: number): number {
  if (shards <= 1 || users <= 0) return Math.min(1, Math.max(0, users));
  return shards * (1 - (1 - 1 / shards) ** users);
}

/**
 * The inputs: measured figures from benchmarks.json where they exist,
 * labelled assumptions where not. `defaults` carries what the repository's
 * config says (wrangler.toml, the SDK).
 */
export function inputsFrom(
  runs: BenchRuns,
  defaults: Pick<PlanInputs, 'eventsPerRequest' | 'flushIntervalSec' | 'windowSec' | 'paneSec' | 'dedupHorizonSec' | 'rateLimit' | 'current'> &
    Partial<Pick<PlanInputs, 'tickMs' | 'viewersPerRelay' | 'combinerFanIn'>>,
): PlanInputs {
  const ok = (bench: string): Record<string, unknown> | null => {
    const run = runs[bench];
    return run !== undefined && run.status === 'ok' && run.result !== null && run.result !== undefined ? run.result : null;
  };
  const when = (bench: string): string => (runs[bench]?.finished_at ?? '').slice(0, 10);

  // Edge and shard CPU from the ingest bench: full Worker minus edge-only (shards stubbed) = the shards' share.
  const ingest = ok('ingest');
  const batch = num(ingest?.batch);
  const full = num(ingest?.workerd_cpu_ms_per_request);
  const edge = num(ingest?.edge_only_workerd_cpu_ms_per_request);
  let edgeCpu: Figure;
  let shardCpu: Figure;
  if (ingest !== null && batch !== null && full !== null && edge !== null && batch > 0) {
    const shards = num(ingest.shard_count) ?? 16;
    const usersPerBatch = num(ingest.users_per_batch) ?? 0;
    const calls = expectedShardsHit(shards, usersPerBatch > 0 ? usersPerBatch : batch);
    edgeCpu = measured(edge / batch, `ingest bench ${when('ingest')}: edge-only workerd CPU ${edge} ms per ${batch}-event request / ${batch} (local workerd, includes the stubbed RPCs' serialization)`);
    shardCpu = measured(
      (full - edge) / batch,
      `ingest bench ${when('ingest')}: (full ${full} - edge-only ${edge}) ms per ${batch}-event request / ${batch}; ` +
        `${usersPerBatch > 0 ? `${usersPerBatch} user(s) per batch` : 'one user per event'}, ~${calls.toFixed(1)} shard calls per request of ~${(batch / calls).toFixed(1)} events ` +
        '(per-call overhead is spread over those events; local workerd with SQLite on disk)',
    );
  } else {
    edgeCpu = assumed(
      4.907 / 100,
      'no ingest result in benchmarks.json; the last ingest run seen on this 2-core machine (2026-11-23, not in benchmarks.json) measured 4.907 ms edge-only workerd CPU per 100-event request. Run `npm run bench -- ingest`',
    );
    shardCpu = assumed(
      (27.35 - 4.907) / 100,
      'no ingest result in benchmarks.json; the same unrecorded run measured 27.35 ms full-Worker CPU per 100-event request (one user per event, 16 shards). Run `npm run bench -- ingest`',
    );
  }

  const aggregate = ok('aggregate');
  const ns = num(aggregate?.ns_per_event);
  const floor = ns !== null
    ? measured(ns / 1e6, `aggregate bench ${when('aggregate')}: ${ns} ns/event for window update + HLL add (in memory)`)
    : assumed(1824 / 1e6, `aggregate bench not in benchmarks.json; ${QUICK_AGGREGATE} measured 1,824 ns/event for window update + HLL add (issue 4 target: 500)`);
  const ratio = num(aggregate?.preaggregation_ratio);
  const eventsPerRow = ratio !== null
    ? measured(ratio, `aggregate bench ${when('aggregate')}: events per 1-minute rollup row, one shard at 10,000 events/s, seed-003 dimensions`)
    : assumed(18, `aggregate bench not in benchmarks.json; ${QUICK_AGGREGATE} measured 18 events per 1-minute rollup row (56,795 rows per million events, one shard at 10,000 events/s)`);
  const sqliteBytes = num(aggregate?.do_sqlite_bytes_estimate);
  const paneGroups = num(aggregate?.do_pane_groups);
  const groupBytes = sqliteBytes !== null && paneGroups !== null && paneGroups > 0
    ? measured(sqliteBytes / paneGroups, `aggregate bench ${when('aggregate')}: estimated SQLite bytes / pane groups`)
    : assumed(203, `aggregate bench not in benchmarks.json; ${QUICK_AGGREGATE} estimated 27.0 MB of SQLite rows for 133,208 pane groups`);
  const bytesPerMillion = num(aggregate?.clickhouse_rollup_bytes_per_million);
  const rollupBytes = bytesPerMillion !== null
    ? measured(bytesPerMillion, `aggregate bench ${when('aggregate')}: compressed rollup bytes per million events`)
    : assumed(3_785_767, `aggregate bench not in benchmarks.json; ${QUICK_AGGREGATE} measured 3.79 MB of compressed rollups per million events`);

  return {
    eventsPerSec: 1_000_000,
    eventsPerRequest: defaults.eventsPerRequest,
    batching: 'visitor',
    utilisation: 0.5,
    viewers: 50_000,
    viewersPerRelay: defaults.viewersPerRelay ?? 5000,
    relayRegions: 1,
    tickMs: defaults.tickMs ?? 250,
    rootRpcBudgetPerSec: 256,
    combinerFanIn: defaults.combinerFanIn ?? 16,
    flushIntervalSec: defaults.flushIntervalSec,
    windowSec: defaults.windowSec,
    paneSec: defaults.paneSec,
    dedupHorizonSec: defaults.dedupHorizonSec,
    rateLimit: defaults.rateLimit,
    current: defaults.current,
    edgeCpuMsPerEvent: edgeCpu,
    shardCpuMsPerEvent: shardCpu,
    shardCpuFloorMsPerEvent: floor,
    rowsWrittenPerEvent: assumed(
      4,
      'rows written per accepted event by the exact dedup table: INSERT into seen_events = 3 rows (table + primary-key index + seen_at index) and its expiry DELETE = 1, as counted by workerd\'s cursor.rowsWritten on core/pane-store.ts SHARD_SCHEMA (probe, 2026-11-23). The ingest bench could report this',
    ),
    rowsWrittenPerGroup: assumed(3, 'rows written per pane upsert (INSERT OR REPLACE into panes: table + primary-key index + unsealed index), same probe'),
    groupsPerCall: assumed(10, 'pane groups (pane x event type x dimension set) one shard call touches; at most the events in the call'),
    paneGroupBytes: groupBytes,
    seenRowBytes: assumed(120, 'bytes per dedup row: a ~40-byte event id stored in the table and again in its primary-key index, plus seen_at and its index'),
    eventsPerRollupRow: eventsPerRow,
    rollupBytesPerMillion: rollupBytes,
    topicsPerViewer: assumed(4, 'topics a dashboard subscribes to (KPI tiles and the chart: 3-4, as core/fanout-math.ts assumes), all changing every tick at this rate'),
    deltaBytes: measured(sampleDeltaBytes(), 'length of the README\'s delta example (JSON, one topic)'),
    relayCpuMsPerFrame: assumed(0.01, '10 µs of relay CPU per WebSocket frame sent (the fanout bench should measure it)'),
    heartbeatSec: assumed(30, 'one heartbeat message per viewer every 30 s (answered by the runtime\'s auto-response, still billed as an incoming message)'),
    reconnectsPerViewerHour: assumed(1, 'one reconnect per viewer per hour'),
    eventBytes: assumed(200, '200 bytes per event on the wire (seed 003)'),
  };
}

/** Bytes of one delta as the README documents it. */
export function sampleDeltaBytes(): number {
  return JSON.stringify({
    topic: 'metrics:ad_click:campaignId:camp_5541',
    windowStart: '2026-06-07T11:25:00.000Z',
    windowEnd: '2026-06-07T11:26:00.000Z',
    value: 15890,
    timestamp: '2026-06-07T11:25:31.250Z',
    seq: 7,
  }).length;
}

// ------------------------------------------------------------------ arithmetic

export function invocationsPerSec(eventsPerSec: number, eventsPerRequest: number): number {
  if (!(eventsPerRequest >= 1)) throw new RangeError('eventsPerRequest must be >= 1');
  return eventsPerSec / eventsPerRequest;
}

/** RPCs one shard takes per second. */
export function callsPerShardPerSec(invocations: number, shards: number, batching: Batching, eventsPerRequest: number): number {
  return batching === 'visitor' ? invocations / shards : invocations * (1 - (1 - 1 / shards) ** eventsPerRequest);
}

/** RPCs all shards take per second (= Durable Object requests from ingest). */
export function shardCallsPerSec(invocations: number, shards: number, batching: Batching, eventsPerRequest: number): number {
  return callsPerShardPerSec(invocations, shards, batching, eventsPerRequest) * shards;
}

export interface ShardSizing {
  shards: number;
  byRequests: number;
  byCpu: number;
  byStorage: number;
  /** Which constraint set the count. */
  boundBy: 'requests' | 'cpu' | 'storage';
}

/** The fewest shards that keep every shard within `utilisation` of its request soft limit, its one thread and its storage. */
export function shardsNeeded(p: Pick<PlanInputs, 'eventsPerSec' | 'eventsPerRequest' | 'batching' | 'utilisation' | 'dedupHorizonSec'> & { cpuMsPerEvent: number; seenRowBytes: number }): ShardSizing {
  if (!(p.utilisation > 0 && p.utilisation <= 1)) throw new RangeError('utilisation must be in (0, 1]');
  const inv = invocationsPerSec(p.eventsPerSec, p.eventsPerRequest);
  const budget = LIMITS.doSoftRequestsPerSec * p.utilisation;
  let byRequests: number;
  if (p.batching === 'visitor') byRequests = Math.max(1, Math.ceil(inv / budget));
  else if (inv <= budget) byRequests = 1;
  else {
    // calls per shard = inv (1 - (1 - 1/S)^B) falls with S; find the first S within budget.
    let lo = 1;
    let hi = 2;
    while (callsPerShardPerSec(inv, hi, 'spread', p.eventsPerRequest) > budget) hi *= 2;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (callsPerShardPerSec(inv, mid, 'spread', p.eventsPerRequest) > budget) lo = mid;
      else hi = mid;
    }
    byRequests = hi;
  }
  const byCpu = Math.max(1, Math.ceil((p.eventsPerSec * p.cpuMsPerEvent) / (LIMITS.doCpuMsPerSec * p.utilisation)));
  const byStorage = Math.max(1, Math.ceil((p.eventsPerSec * p.dedupHorizonSec * p.seenRowBytes) / (LIMITS.doStorageBytes * p.utilisation)));
  const shards = Math.max(byRequests, byCpu, byStorage);
  return { shards, byRequests, byCpu, byStorage, boundBy: shards === byRequests ? 'requests' : shards === byCpu ? 'cpu' : 'storage' };
}

export interface CombinerPlan {
  fanIn: number;
  combiners: number;
  pushesPerSec: number;
  rootRpcPerSec: number;
  combinerRpcPerSec: number;
}

/** Mirrors core/fanout-math.ts planCombiners: the fan-in grows so the root stays within its budget. */
export function planCombiners(shards: number, tickMs: number, configuredFanIn: number, rootBudgetPerSec: number): CombinerPlan {
  const pushesPerSec = 1000 / tickMs;
  const maxCombiners = Math.max(1, Math.floor(rootBudgetPerSec / pushesPerSec));
  const fanIn = Math.min(shards, Math.max(configuredFanIn, Math.ceil(shards / maxCombiners)));
  const combiners = Math.ceil(shards / fanIn);
  return { fanIn, combiners, pushesPerSec, rootRpcPerSec: combiners * pushesPerSec, combinerRpcPerSec: fanIn * pushesPerSec };
}

export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  included: number;
  usdPerMillion: number;
  usd: number;
}

function line(item: string, quantity: number, unit: string, included: number, usdPerMillion: number): CostLine {
  return { item, quantity, unit, included, usdPerMillion, usd: (Math.max(0, quantity - included) / 1e6) * usdPerMillion };
}

export interface BreakPoint {
  constraint: string;
  /** Rate-independent and already beyond its limit (or guidance) at the plan's configuration. */
  exceeded: boolean;
  /** Events/s at which it is reached, or null when it does not depend on the event rate. */
  atEventsPerSec: number | null;
  /** Load on the constraint at the plan's rate, as a fraction of its limit. */
  loadAtPlanRate: number;
  arithmetic: string;
}

export interface Plan {
  inputs: PlanInputs;
  edge: { invocationsPerSec: number; cpuMsPerInvocation: number; cpuMsPerSec: number; ingressBytesPerSec: number };
  shards: ShardSizing & {
    callsPerSec: number;
    callsPerShardPerSec: number;
    eventsPerCall: number;
    cpuMsPerShardPerSec: number;
    cpuMsPerCall: number;
    floorShardsByCpu: number;
    /** Shard CPU per event at or below which CPU no longer sets the shard count (the request limit does). */
    cpuMsPerEventForRequestBound: number;
    dedupBytesPerShard: number;
    alarmsPerSec: number;
  };
  clickhouse: { insertsPerSec: number; insertsPerSecMax: number; rowsPerSec: number; rowsPerInsert: number; bytesPerDay: number };
  live: CombinerPlan & {
    relays: number;
    viewersPerRelay: number;
    framesPerSec: number;
    framesPerRelayPerSec: number;
    frameBytes: number;
    bytesPerSec: number;
    relayCpuShare: number;
    rootToRelaysRpcPerSec: number;
    viewerConnectsPerSec: number;
    viewerMessagesPerSec: number;
  };
  durableObjects: { shards: number; combiners: number; root: number; relays: number; total: number; requestsPerSec: number };
  storage: { rowsWrittenPerSec: number; rowsReadPerSec: number; storedGb: number; rowsWrittenPerSecWithJournal: number; shardsForInMemoryDedup: number };
  cost: { lines: CostLine[]; totalUsd: number; totalUsdWithJournal: number; journalDelta: CostLine };
  breaks: BreakPoint[];
  current: BreakPoint[];
}

/** The whole plan for one set of inputs. Pure. */
export function computePlan(inputs: PlanInputs, prices: Prices = CLOUDFLARE_PRICES): Plan {
  const R = inputs.eventsPerSec;
  const B = inputs.eventsPerRequest;
  const inv = invocationsPerSec(R, B);
  const cpuMsPerInvocation = inputs.edgeCpuMsPerEvent.value * B;

  // Shards.
  const sizing = shardsNeeded({ ...inputs, cpuMsPerEvent: inputs.shardCpuMsPerEvent.value, seenRowBytes: inputs.seenRowBytes.value });
  const S = sizing.shards;
  const perShard = callsPerShardPerSec(inv, S, inputs.batching, B);
  const calls = perShard * S;
  const eventsPerCall = calls > 0 ? R / calls : 0;
  const floor = shardsNeeded({ ...inputs, cpuMsPerEvent: inputs.shardCpuFloorMsPerEvent.value, seenRowBytes: inputs.seenRowBytes.value });
  const alarmsPerSec = S / inputs.flushIntervalSec;

  // ClickHouse: a shard seals a window once it closes (steady state), at most once per flush interval.
  const insertsPerSec = S / Math.max(inputs.windowSec, inputs.flushIntervalSec);
  const insertsPerSecMax = S / inputs.flushIntervalSec;
  const rowsPerSec = R / inputs.eventsPerRollupRow.value;

  // Live fan-out.
  const combiners = planCombiners(S, inputs.tickMs, inputs.combinerFanIn, inputs.rootRpcBudgetPerSec);
  const perRegion = Math.ceil(inputs.viewers / inputs.relayRegions);
  const relays = inputs.relayRegions * Math.ceil(perRegion / inputs.viewersPerRelay);
  const viewersPerRelay = Math.ceil(inputs.viewers / relays);
  const topics = inputs.topicsPerViewer.value;
  const frameBytes = topics * inputs.deltaBytes.value + Math.max(0, topics - 1) + 2 + 4;
  const framesPerSec = inputs.viewers * combiners.pushesPerSec;
  const framesPerRelayPerSec = viewersPerRelay * combiners.pushesPerSec;
  const viewerConnectsPerSec = (inputs.viewers * inputs.reconnectsPerViewerHour.value) / 3600;
  const viewerMessagesPerSec = inputs.viewers / inputs.heartbeatSec.value + viewerConnectsPerSec * topics;

  // Durable Object requests: ingest calls, alarms, live pushes, viewer connects, incoming viewer messages (20:1).
  const rootToRelays = relays * combiners.pushesPerSec;
  const doRequestsPerSec =
    calls + alarmsPerSec + S * combiners.pushesPerSec + combiners.rootRpcPerSec + rootToRelays + viewerConnectsPerSec +
    viewerMessagesPerSec / prices.durableObjects.incomingWebSocketMessagesPerRequest;
  const objects = { shards: S, combiners: combiners.combiners, root: 1, relays, total: S + combiners.combiners + 1 + relays };

  // SQLite storage: the dedup table per event, pane upserts per call. The journal variant (sketch of the fix,
  // docs/scaling.md) appends one row per call (id hashes + group deltas) and deletes it after the next checkpoint;
  // a checkpoint packs a shard's pane groups into blobs of at most 2 MB (the row size limit) once per pane.
  const rowsWrittenPerSec = R * inputs.rowsWrittenPerEvent.value + calls * Math.min(inputs.groupsPerCall.value, eventsPerCall) * inputs.rowsWrittenPerGroup.value;
  const checkpointRowsPerShard = Math.max(1, Math.ceil(((R / S) * inputs.paneSec * inputs.paneGroupBytes.value) / MAX_ROW_BYTES));
  const rowsWrittenPerSecWithJournal = 2 * calls + (S * checkpointRowsPerShard) / inputs.paneSec;
  const rowsReadPerSec = calls * Math.min(inputs.groupsPerCall.value, eventsPerCall);
  const storedGb = (R * inputs.dedupHorizonSec * inputs.seenRowBytes.value) / 1e9;

  const M = MONTH_SECONDS;
  const w = prices.workers;
  const d = prices.durableObjects;
  const q = prices.sqliteStorage;
  const lines: CostLine[] = [
    { item: 'Workers Paid subscription', quantity: 1, unit: 'month', included: 0, usdPerMillion: 0, usd: w.subscriptionUsdPerMonth },
    line('Workers requests (ingest + viewer upgrades)', (inv + viewerConnectsPerSec) * M, 'requests', w.includedRequests, w.usdPerMillionRequests),
    line('Workers CPU (edge)', inv * cpuMsPerInvocation * M, 'CPU ms', w.includedCpuMs, w.usdPerMillionCpuMs),
    line('Durable Objects requests', doRequestsPerSec * M, 'requests', d.includedRequests, d.usdPerMillionRequests),
    line('Durable Objects duration', objects.total * d.gbPerObject * M, 'GB-s', d.includedGbS, d.usdPerMillionGbS),
    line('SQLite rows written', rowsWrittenPerSec * M, 'rows', q.includedRowsWritten, q.usdPerMillionRowsWritten),
    line('SQLite rows read', rowsReadPerSec * M, 'rows', q.includedRowsRead, q.usdPerMillionRowsRead),
    line('SQLite storage', storedGb, 'GB-month', q.includedGbMonth, q.usdPerGbMonth * 1e6),
  ];
  const totalUsd = lines.reduce((s, l) => s + l.usd, 0);
  const journalDelta = line('SQLite rows written, per-call journal', rowsWrittenPerSecWithJournal * M, 'rows', q.includedRowsWritten, q.usdPerMillionRowsWritten);
  const rowsWrittenLine = lines.find((l) => l.item === 'SQLite rows written');
  const totalUsdWithJournal = totalUsd - (rowsWrittenLine?.usd ?? 0) + journalDelta.usd;

  const plan: Plan = {
    inputs,
    edge: { invocationsPerSec: inv, cpuMsPerInvocation, cpuMsPerSec: inv * cpuMsPerInvocation, ingressBytesPerSec: R * inputs.eventBytes.value },
    shards: {
      ...sizing,
      callsPerSec: calls,
      callsPerShardPerSec: perShard,
      eventsPerCall,
      cpuMsPerShardPerSec: (R / S) * inputs.shardCpuMsPerEvent.value,
      cpuMsPerCall: eventsPerCall * inputs.shardCpuMsPerEvent.value,
      floorShardsByCpu: floor.byCpu,
      cpuMsPerEventForRequestBound: (LIMITS.doCpuMsPerSec * inputs.utilisation * Math.max(sizing.byRequests, sizing.byStorage)) / R,
      dedupBytesPerShard: (R / S) * inputs.dedupHorizonSec * inputs.seenRowBytes.value,
      alarmsPerSec,
    },
    clickhouse: { insertsPerSec, insertsPerSecMax, rowsPerSec, rowsPerInsert: insertsPerSec > 0 ? rowsPerSec / insertsPerSec : 0, bytesPerDay: (R * 86_400 * inputs.rollupBytesPerMillion.value) / 1e6 },
    live: {
      ...combiners,
      relays,
      viewersPerRelay,
      framesPerSec,
      framesPerRelayPerSec,
      frameBytes,
      bytesPerSec: framesPerSec * frameBytes,
      relayCpuShare: (framesPerRelayPerSec * inputs.relayCpuMsPerFrame.value) / LIMITS.doCpuMsPerSec,
      rootToRelaysRpcPerSec: rootToRelays,
      viewerConnectsPerSec,
      viewerMessagesPerSec,
    },
    durableObjects: { ...objects, requestsPerSec: doRequestsPerSec },
    storage: {
      rowsWrittenPerSec,
      rowsReadPerSec,
      storedGb,
      rowsWrittenPerSecWithJournal,
      shardsForInMemoryDedup: Math.ceil((R * inputs.dedupHorizonSec * DEDUP_HASH_BYTES) / DEDUP_MEMORY_BUDGET_BYTES),
    },
    cost: { lines, totalUsd, totalUsdWithJournal, journalDelta },
    breaks: [],
    current: [],
  };
  // The plan assumes big projects get a per-key rate limit that fits them; today's wrangler.toml limit is listed under "today".
  plan.breaks = breakPoints(inputs, S, 'tick', combiners, false);
  plan.current = breakPoints(inputs, inputs.current.shardCount, inputs.current.livePush, planCombiners(inputs.current.shardCount, inputs.tickMs, inputs.combinerFanIn, inputs.rootRpcBudgetPerSec), true);
  return plan;
}

const fmt = (x: number): string => formatQuantity(x);

/**
 * For a fixed deployment (S shards, a live-push mode), the event rate at which
 * each limit is reached, sorted so the first entry is what breaks first.
 * Limits that do not depend on the event rate come last with atEventsPerSec null.
 */
export function breakPoints(inputs: PlanInputs, shards: number, livePush: LivePush, combiners: CombinerPlan, includeRateLimit: boolean): BreakPoint[] {
  const R = inputs.eventsPerSec;
  const B = inputs.eventsPerRequest;
  const L = LIMITS.doSoftRequestsPerSec;
  const out: Array<Omit<BreakPoint, 'exceeded'>> = [];
  const hitShare = inputs.batching === 'visitor' ? 1 / shards : 1 - (1 - 1 / shards) ** B; // share of requests that reach one given shard

  const perKey = (inputs.rateLimit.limit / inputs.rateLimit.periodSec) * B;
  if (includeRateLimit) out.push({
    constraint: 'write-key rate limit (per key, per Cloudflare location)',
    atEventsPerSec: perKey,
    loadAtPlanRate: R / perKey,
    arithmetic: `${inputs.rateLimit.limit} requests / ${inputs.rateLimit.periodSec} s x ${B} events/request = ${fmt(perKey)} events/s per key in one location (wrangler.toml [[ratelimits]]; counted per location, so a public key's browsers spread over locations get more in total)`,
  });

  const shardReq = (L * B) / hitShare;
  out.push({
    constraint: 'shard DO request soft limit (1,000/s)',
    atEventsPerSec: shardReq,
    loadAtPlanRate: R / shardReq,
    arithmetic:
      inputs.batching === 'visitor'
        ? `${L}/s x ${shards} shards x ${B} events/request = ${fmt(shardReq)} events/s (one shard per request)`
        : `${L}/s x ${B} events/request / ${hitShare.toFixed(4)} (share of requests touching a shard = 1 - (1 - 1/${shards})^${B}) = ${fmt(shardReq)} events/s`,
  });

  const cpu = inputs.shardCpuMsPerEvent.value;
  const shardCpu = (LIMITS.doCpuMsPerSec * shards) / cpu;
  out.push({
    constraint: 'shard DO CPU (one thread)',
    atEventsPerSec: shardCpu,
    loadAtPlanRate: R / shardCpu,
    arithmetic: `1,000 ms/s x ${shards} shards / ${cpu.toPrecision(3)} ms per event = ${fmt(shardCpu)} events/s${inputs.shardCpuMsPerEvent.measured ? '' : ' (assumed CPU)'}`,
  });

  const storage = (LIMITS.doStorageBytes * shards) / (inputs.dedupHorizonSec * inputs.seenRowBytes.value);
  out.push({
    constraint: 'shard DO storage (10 GB, dedup ids)',
    atEventsPerSec: storage,
    loadAtPlanRate: R / storage,
    arithmetic: `10 GB x ${shards} shards / (${inputs.dedupHorizonSec} s x ${inputs.seenRowBytes.value} B per id) = ${fmt(storage)} events/s`,
  });

  if (livePush === 'per-call') {
    // Today: every shard call publishes to the one Broadcast object of the project.
    const root = (L * B) / (hitShare * shards);
    out.push({
      constraint: 'broadcast root request soft limit (one publish per shard call)',
      atEventsPerSec: root,
      loadAtPlanRate: R / root,
      arithmetic: `${L}/s x ${B} events/request / ${(hitShare * shards).toFixed(2)} shard calls per request = ${fmt(root)} events/s (${inputs.current.livePushSource})`,
    });
  } else {
    out.push({
      constraint: 'broadcast root requests (combiners x pushes per tick)',
      atEventsPerSec: null,
      loadAtPlanRate: combiners.rootRpcPerSec / L,
      arithmetic: `${combiners.combiners} combiners x ${combiners.pushesPerSec}/s = ${fmt(combiners.rootRpcPerSec)}/s at any event rate (budget ${inputs.rootRpcBudgetPerSec}/s); each combiner takes ${combiners.fanIn} shards x ${combiners.pushesPerSec}/s = ${fmt(combiners.combinerRpcPerSec)}/s`,
    });
  }

  const inserts = shards / Math.max(inputs.windowSec, inputs.flushIntervalSec);
  out.push({
    constraint: 'ClickHouse synchronous inserts (docs: ~1 insert/s)',
    atEventsPerSec: null,
    loadAtPlanRate: inserts / LIMITS.clickhouseInsertsPerSec,
    arithmetic: `${shards} shards / ${Math.max(inputs.windowSec, inputs.flushIntervalSec)} s window = ${fmt(inserts)} inserts/s in steady state (up to ${shards} / ${inputs.flushIntervalSec} s = ${fmt(shards / inputs.flushIntervalSec)}/s), whatever the event rate; above ~1/s once shards > ${Math.max(inputs.windowSec, inputs.flushIntervalSec)}`,
  });

  const perRelay = Math.min(inputs.viewersPerRelay, Math.ceil(inputs.viewers / Math.max(1, inputs.relayRegions)));
  const relayFrames = perRelay * (1000 / inputs.tickMs);
  out.push({
    constraint: 'relay DO CPU (frames to viewers)',
    atEventsPerSec: null,
    loadAtPlanRate: (relayFrames * inputs.relayCpuMsPerFrame.value) / LIMITS.doCpuMsPerSec,
    arithmetic: `${fmt(perRelay)} viewers x ${1000 / inputs.tickMs} frames/s x ${inputs.relayCpuMsPerFrame.value} ms = ${fmt(relayFrames * inputs.relayCpuMsPerFrame.value)} ms CPU per s per relay${inputs.relayCpuMsPerFrame.measured ? '' : ' (assumed CPU per frame)'}; sockets ${fmt(perRelay)} of ${fmt(LIMITS.doMaxWebSockets)}`,
  });

  return out
    .map((b) => ({ ...b, exceeded: b.atEventsPerSec === null && b.loadAtPlanRate > 1 }))
    .sort((a, b) => rank(a) - rank(b) || (a.atEventsPerSec ?? 0) - (b.atEventsPerSec ?? 0));
}

/** Exceeded rate-independent limits first, then rate-bound ones by rate, then the rest. */
function rank(b: BreakPoint): number {
  return b.exceeded ? 0 : b.atEventsPerSec !== null ? 1 : 2;
}

// ------------------------------------------------------------------ printing

/** 3 significant digits with k/M/G/T suffixes, for rates and counts. */
export function formatQuantity(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, suffix] of units) if (abs >= scale) return `${Number((x / scale).toPrecision(3))}${suffix}`;
  if (abs === 0) return '0';
  return String(Number(x.toPrecision(3)));
}

const usd = (x: number): string => `$${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2)}`;

function table(rows: Array<[string, string, string]>, headers: [string, string, string]): string {
  const all = [headers, ...rows];
  const w0 = Math.max(...all.map((r) => r[0].length));
  const w1 = Math.max(...all.map((r) => r[1].length));
  return all.map((r, i) => `  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}${i === 0 ? `\n  ${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(20)}` : ''}`).join('\n');
}

export function renderPlan(plan: Plan, sensitivity: Plan[]): string {
  const i = plan.inputs;
  const out: string[] = [];
  const src = (f: Figure): string => f.source;
  out.push(`edgepulse scaling plan: ${fmt(i.eventsPerSec)} events/s, ${i.eventsPerRequest} events/request (${i.batching === 'visitor' ? 'SDK batches: one visitor per request' : 'server batches: one user per event'}), ${fmt(i.viewers)} viewers, DOs planned at ${Math.round(i.utilisation * 100)}% of their limits`);
  out.push('');
  out.push('Inputs');
  out.push(
    table(
      [
        ['edge CPU per event', `${i.edgeCpuMsPerEvent.value.toPrecision(3)} ms`, src(i.edgeCpuMsPerEvent)],
        ['shard CPU per event', `${i.shardCpuMsPerEvent.value.toPrecision(3)} ms`, src(i.shardCpuMsPerEvent)],
        ['shard CPU floor per event', `${i.shardCpuFloorMsPerEvent.value.toPrecision(3)} ms`, src(i.shardCpuFloorMsPerEvent)],
        ['events per rollup row', fmt(i.eventsPerRollupRow.value), src(i.eventsPerRollupRow)],
        ['rollup bytes per 1M events', fmt(i.rollupBytesPerMillion.value), src(i.rollupBytesPerMillion)],
        ['SQLite rows written per event', fmt(i.rowsWrittenPerEvent.value), src(i.rowsWrittenPerEvent)],
        ['SQLite rows written per pane upsert', fmt(i.rowsWrittenPerGroup.value), src(i.rowsWrittenPerGroup)],
        ['pane groups per shard call', fmt(i.groupsPerCall.value), src(i.groupsPerCall)],
        ['dedup row bytes', fmt(i.seenRowBytes.value), src(i.seenRowBytes)],
        ['pane group bytes (SQLite)', fmt(i.paneGroupBytes.value), src(i.paneGroupBytes)],
        ['topics per viewer', fmt(i.topicsPerViewer.value), src(i.topicsPerViewer)],
        ['bytes per delta', fmt(i.deltaBytes.value), src(i.deltaBytes)],
        ['relay CPU per frame', `${i.relayCpuMsPerFrame.value} ms`, src(i.relayCpuMsPerFrame)],
        ['viewer heartbeat', `${i.heartbeatSec.value} s`, src(i.heartbeatSec)],
        ['bytes per event', fmt(i.eventBytes.value), src(i.eventBytes)],
        ['window / pane / flush / dedup', `${i.windowSec}/${i.paneSec}/${i.flushIntervalSec}/${i.dedupHorizonSec} s`, 'wrangler.toml [vars]'],
        ['tick / relay size / combiner fan-in', `${i.tickMs} ms / ${fmt(i.viewersPerRelay)} / ${i.combinerFanIn}`, 'wrangler.toml [vars] LIVE_TICK_MS, RELAY_MAX_VIEWERS, COMBINER_FANIN (defaults 250, 5000, 16)'],
      ],
      ['input', 'value', 'source'],
    ),
  );
  out.push('');
  const s = plan.shards;
  const c = plan.clickhouse;
  const l = plan.live;
  out.push('Plan');
  out.push(
    table(
      [
        ['edge invocations', `${fmt(plan.edge.invocationsPerSec)}/s`, `${fmt(i.eventsPerSec)} events/s / ${i.eventsPerRequest} events per request`],
        ['edge CPU', `${fmt(plan.edge.cpuMsPerSec)} ms/s`, `${fmt(plan.edge.invocationsPerSec)}/s x ${plan.edge.cpuMsPerInvocation.toPrecision(3)} ms per request (~${fmt(plan.edge.cpuMsPerSec / 1000)} cores across the network)`],
        ['ingress', `${fmt(plan.edge.ingressBytesPerSec)} B/s`, `${fmt(i.eventsPerSec)} x ${i.eventBytes.value} B`],
        ['shards per project', fmt(s.shards), `max(requests ${fmt(s.byRequests)}, CPU ${fmt(s.byCpu)}, storage ${fmt(s.byStorage)}): bound by ${s.boundBy}`],
        ['  by requests', fmt(s.byRequests), i.batching === 'visitor' ? `${fmt(plan.edge.invocationsPerSec)} calls/s / (1,000/s x ${i.utilisation})` : `smallest S with ${fmt(plan.edge.invocationsPerSec)} x (1 - (1 - 1/S)^${i.eventsPerRequest}) <= ${1000 * i.utilisation}/s`],
        ['  by CPU', fmt(s.byCpu), `${fmt(i.eventsPerSec)} x ${i.shardCpuMsPerEvent.value.toPrecision(3)} ms / (1,000 ms/s x ${i.utilisation}); at the in-memory floor: ${fmt(s.floorShardsByCpu)}; CPU stops binding at <= ${(s.cpuMsPerEventForRequestBound * 1000).toPrecision(3)} µs/event`],
        ['  by storage', fmt(s.byStorage), `${fmt(i.eventsPerSec)} x ${i.dedupHorizonSec} s x ${i.seenRowBytes.value} B / (10 GB x ${i.utilisation})`],
        ['shard calls', `${fmt(s.callsPerSec)}/s`, `${fmt(s.callsPerShardPerSec)}/s per shard, ${fmt(s.eventsPerCall)} events per call`],
        ['shard CPU per shard', `${fmt(s.cpuMsPerShardPerSec)} ms/s`, `${fmt(i.eventsPerSec / s.shards)} events/s per shard x ${i.shardCpuMsPerEvent.value.toPrecision(3)} ms (${fmt(s.cpuMsPerCall)} ms per call)`],
        ['dedup storage per shard', `${fmt(s.dedupBytesPerShard)} B`, `of 10 GB`],
        ['ClickHouse inserts', `${fmt(c.insertsPerSec)}/s`, `${fmt(s.shards)} shards / ${Math.max(i.windowSec, i.flushIntervalSec)} s window (at most ${fmt(c.insertsPerSecMax)}/s: one per shard per ${i.flushIntervalSec} s flush interval); docs: ~1/s`],
        ['ClickHouse rows', `${fmt(c.rowsPerSec)}/s`, `${fmt(i.eventsPerSec)} / ${fmt(i.eventsPerRollupRow.value)} events per rollup row (a lower bound: shards with fewer events per minute pre-aggregate less)`],
        ['rows per insert', fmt(c.rowsPerInsert), 'docs: >= 1,000, ideally 10,000-100,000'],
        ['ClickHouse bytes/day', `${fmt(c.bytesPerDay)} B`, `compressed rollups`],
        ['combiners', fmt(l.combiners), `${fmt(s.shards)} shards / fan-in ${l.fanIn}; each takes ${fmt(l.combinerRpcPerSec)} RPC/s`],
        ['root broadcast RPC', `${fmt(l.rootRpcPerSec)}/s in`, `${l.combiners} combiners x ${l.pushesPerSec}/s; out: ${fmt(l.rootToRelaysRpcPerSec)}/s to relays`],
        ['relays', fmt(l.relays), `${fmt(i.viewers)} viewers / ${fmt(i.viewersPerRelay)} per relay`],
        ['frames to viewers', `${fmt(l.framesPerSec)}/s`, `${fmt(i.viewers)} x ${l.pushesPerSec}/s; ${fmt(l.framesPerRelayPerSec)}/s per relay, ~${Math.round(l.relayCpuShare * 100)}% of its thread`],
        ['bytes to viewers', `${fmt(l.bytesPerSec)} B/s`, `${fmt(l.framesPerSec)} frames x ${l.frameBytes} B (${fmt((l.bytesPerSec * 8) / 1e9)} Gbit/s; egress is not billed)`],
        ['Durable Objects', fmt(plan.durableObjects.total), `${fmt(s.shards)} shards + ${l.combiners} combiners + 1 root + ${l.relays} relays, ${fmt(plan.durableObjects.requestsPerSec)} requests/s`],
        ['SQLite rows written', `${fmt(plan.storage.rowsWrittenPerSec)}/s`, `${fmt(i.eventsPerSec)} x ${i.rowsWrittenPerEvent.value} (dedup) + ${fmt(s.callsPerSec)} calls x ${fmt(Math.min(i.groupsPerCall.value, s.eventsPerCall))} groups x ${i.rowsWrittenPerGroup.value}`],
      ],
      ['quantity', 'value', 'arithmetic'],
    ),
  );
  out.push('');
  out.push(`Monthly cost (30 days; Cloudflare prices read ${CLOUDFLARE_PRICES.checked}, re-check them: ${CLOUDFLARE_PRICES.sources.slice(0, 2).join(', ')})`);
  out.push(
    table(
      [
        ...plan.cost.lines.map((x): [string, string, string] => [x.item, usd(x.usd), x.unit === 'month' ? '' : `${fmt(x.quantity)} ${x.unit} - ${fmt(x.included)} included, $${x.unit === 'GB-month' ? (x.usdPerMillion / 1e6).toFixed(2) : x.usdPerMillion} per ${x.unit === 'GB-month' ? 'GB-month' : `million ${x.unit}`}`]),
        ['total', usd(plan.cost.totalUsd), 'ClickHouse is not included (ClickHouse Cloud or self-hosted)'],
        ['total with a per-call journal', usd(plan.cost.totalUsdWithJournal), `rows written ${fmt(plan.storage.rowsWrittenPerSecWithJournal)}/s instead of ${fmt(plan.storage.rowsWrittenPerSec)}/s (docs/scaling.md); its in-memory dedup needs >= ${fmt(plan.storage.shardsForInMemoryDedup)} shards`],
      ],
      ['line', 'USD/month', 'arithmetic'],
    ),
  );
  out.push('');
  const breaks = (title: string, list: BreakPoint[]): void => {
    out.push(title);
    out.push(
      table(
        list.map((b): [string, string, string] => [b.constraint, b.exceeded ? 'EXCEEDED' : b.atEventsPerSec === null ? 'rate-independent' : `${fmt(b.atEventsPerSec)} ev/s`, `${b.arithmetic}; at ${fmt(i.eventsPerSec)} ev/s: ${Math.round(b.loadAtPlanRate * 100)}% of the limit`]),
        ['limit', 'breaks at', 'arithmetic'],
      ),
    );
    out.push('');
  };
  breaks(`What breaks first in the planned deployment (${fmt(s.shards)} shards, combiners, ${i.tickMs} ms ticks), as the event rate grows`, plan.breaks);
  breaks(`What breaks first today (${i.current.shardCount} shards from wrangler.toml, live push ${i.current.livePush})`, plan.current);
  out.push(`Sensitivity to the batch size (${fmt(i.eventsPerSec)} events/s)`);
  out.push(
    table(
      sensitivity.map((p): [string, string, string] => [
        `${p.inputs.eventsPerRequest} events/request`,
        `${fmt(p.edge.invocationsPerSec)}/s`,
        `${fmt(p.shards.shards)} shards (${p.shards.boundBy}), ${fmt(p.shards.callsPerSec)} shard calls/s, ${usd(p.cost.totalUsd)}/month (${usd(p.cost.totalUsdWithJournal)} with a journal)`,
      ]),
      ['batch', 'invocations', 'plan'],
    ),
  );
  return out.join('\n');
}

/** The JSON summary (the last stdout line). */
export function summary(plan: Plan, sensitivity: Plan[]): Record<string, unknown> {
  const first = plan.breaks.find((b) => b.atEventsPerSec !== null);
  const firstToday = plan.current.find((b) => b.atEventsPerSec !== null);
  const exceeded = (list: BreakPoint[]): string[] => list.filter((b) => b.exceeded || (b.atEventsPerSec !== null && b.atEventsPerSec < plan.inputs.eventsPerSec)).map((b) => b.constraint);
  return {
    scaling: 'edgepulse',
    events_per_s: plan.inputs.eventsPerSec,
    events_per_request: plan.inputs.eventsPerRequest,
    batching: plan.inputs.batching,
    edge_invocations_per_s: plan.edge.invocationsPerSec,
    edge_cpu_ms_per_event: plan.inputs.edgeCpuMsPerEvent.value,
    shard_cpu_ms_per_event: plan.inputs.shardCpuMsPerEvent.value,
    shards: plan.shards.shards,
    shards_bound_by: plan.shards.boundBy,
    shards_by_requests: plan.shards.byRequests,
    shards_by_cpu: plan.shards.byCpu,
    shards_by_cpu_at_floor: plan.shards.floorShardsByCpu,
    shard_cpu_ms_per_event_for_request_bound: plan.shards.cpuMsPerEventForRequestBound,
    shard_calls_per_s: plan.shards.callsPerSec,
    clickhouse_inserts_per_s: plan.clickhouse.insertsPerSec,
    clickhouse_inserts_per_s_max: plan.clickhouse.insertsPerSecMax,
    clickhouse_rows_per_s: plan.clickhouse.rowsPerSec,
    combiners: plan.live.combiners,
    root_rpc_per_s: plan.live.rootRpcPerSec,
    relays: plan.live.relays,
    viewer_frames_per_s: plan.live.framesPerSec,
    viewer_bytes_per_s: plan.live.bytesPerSec,
    durable_objects: plan.durableObjects.total,
    do_requests_per_s: plan.durableObjects.requestsPerSec,
    sqlite_rows_written_per_s: plan.storage.rowsWrittenPerSec,
    monthly_usd: Math.round(plan.cost.totalUsd),
    monthly_usd_with_journal: Math.round(plan.cost.totalUsdWithJournal),
    journal_min_shards_for_in_memory_dedup: plan.storage.shardsForInMemoryDedup,
    cost_lines_usd: Object.fromEntries(plan.cost.lines.map((l) => [l.item, Math.round(l.usd * 100) / 100])),
    breaks_first: first === undefined ? null : { constraint: first.constraint, at_events_per_s: Math.round(first.atEventsPerSec ?? 0) },
    breaks_first_today: firstToday === undefined ? null : { constraint: firstToday.constraint, at_events_per_s: Math.round(firstToday.atEventsPerSec ?? 0) },
    over_limit_in_plan: exceeded(plan.breaks),
    over_limit_today: exceeded(plan.current),
    breaks: plan.breaks.map((b) => ({ constraint: b.constraint, at_events_per_s: b.atEventsPerSec === null ? null : Math.round(b.atEventsPerSec), load_at_plan_rate: Math.round(b.loadAtPlanRate * 1000) / 1000 })),
    breaks_today: plan.current.map((b) => ({ constraint: b.constraint, at_events_per_s: b.atEventsPerSec === null ? null : Math.round(b.atEventsPerSec), load_at_plan_rate: Math.round(b.loadAtPlanRate * 1000) / 1000 })),
    sensitivity: sensitivity.map((p) => ({ events_per_request: p.inputs.eventsPerRequest, invocations_per_s: p.edge.invocationsPerSec, shards: p.shards.shards, monthly_usd: Math.round(p.cost.totalUsd), monthly_usd_with_journal: Math.round(p.cost.totalUsdWithJournal) })),
    assumptions: Object.entries(plan.inputs)
      .filter(([, v]) => typeof v === 'object' && v !== null && 'measured' in v && (v as Figure).measured === false)
      .map(([k]) => k),
    prices_checked: CLOUDFLARE_PRICES.checked,
  };
}

// ------------------------------------------------------------------ CLI

const ROOT = path.resolve(import.meta.dirname, '..');

function readIf(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

function main(): void {
  const { values: flags } = parseArgs({
    options: {
      rate: { type: 'string' },
      batch: { type: 'string' },
      batching: { type: 'string' },
      viewers: { type: 'string' },
      utilisation: { type: 'string' },
      benchmarks: { type: 'string' },
      'live-push': { type: 'string' },
      'shard-cpu-ms': { type: 'string' },
    },
  });
  const wrangler = readWranglerConfig(readIf(path.join(ROOT, 'wrangler.toml')) ?? '');
  const sdk = readSdkDefaults(readIf(path.join(ROOT, 'sdk', 'src', 'options.ts')) ?? '');
  const v = (name: string, fallback: number): number => {
    const x = Number(wrangler.vars[name]);
    return Number.isFinite(x) && x > 0 ? x : fallback;
  };
  const benchFile = path.resolve(flags.benchmarks ?? path.join(ROOT, 'benchmarks.json'));
  const text = readIf(benchFile);
  const runs = text === null ? {} : ((JSON.parse(text) as { runs?: BenchRuns }).runs ?? {});
  if (text === null) process.stderr.write(`scaling: ${path.relative(process.cwd(), benchFile)} not found; every cost figure is an assumption\n`);
  const inputs = inputsFrom(runs, {
    eventsPerRequest: sdk.maxBatchSize ?? 100,
    flushIntervalSec: v('FLUSH_INTERVAL_SECONDS', 5),
    windowSec: v('WINDOW_SECONDS', 60),
    paneSec: v('PANE_SECONDS', 10),
    dedupHorizonSec: v('DEDUP_HORIZON_SECONDS', 600),
    rateLimit: wrangler.rateLimit ?? { limit: 1000, periodSec: 10 },
    tickMs: v('LIVE_TICK_MS', 250),
    viewersPerRelay: v('RELAY_MAX_VIEWERS', 5000),
    combinerFanIn: v('COMBINER_FANIN', 16),
    current: {
      shardCount: v('SHARD_COUNT', 16),
      livePush: 'per-call',
      // Code, not config: update (or pass --live-push tick) once shards push to combiners per tick.
      livePushSource: 'durable-objects/ShardAggregator.ts pushToBroadcast publishes on every ingest call (2026-11-23)',
    },
  });
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const x = Number(raw);
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--${name} must be a positive number`);
    return x;
  };
  inputs.eventsPerSec = positive('rate', flags.rate, inputs.eventsPerSec);
  inputs.eventsPerRequest = positive('batch', flags.batch, inputs.eventsPerRequest);
  inputs.viewers = positive('viewers', flags.viewers, inputs.viewers);
  inputs.utilisation = positive('utilisation', flags.utilisation, inputs.utilisation);
  if (flags['shard-cpu-ms'] !== undefined) {
    inputs.shardCpuMsPerEvent = assumed(positive('shard-cpu-ms', flags['shard-cpu-ms'], 1), `what-if: --shard-cpu-ms ${flags['shard-cpu-ms']} (measured: ${inputs.shardCpuMsPerEvent.value.toPrecision(3)} ms, ${inputs.shardCpuMsPerEvent.source})`);
  }
  if (flags['live-push'] !== undefined) {
    if (flags['live-push'] !== 'per-call' && flags['live-push'] !== 'tick') throw new Error('--live-push must be per-call or tick');
    inputs.current.livePush = flags['live-push'];
    inputs.current.livePushSource = '--live-push';
  }
  if (flags.batching !== undefined) {
    if (flags.batching !== 'visitor' && flags.batching !== 'spread') throw new Error('--batching must be visitor or spread');
    inputs.batching = flags.batching;
  }
  const plan = computePlan(inputs);
  const sensitivity = [1, 10, 100, 1000].map((b) => computePlan({ ...inputs, eventsPerRequest: b }));
  console.log(renderPlan(plan, sensitivity));
  console.log(JSON.stringify(summary(plan, sensitivity)));
}

if (import.meta.main) main();
