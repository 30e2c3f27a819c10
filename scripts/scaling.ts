/**
 * The 1M events/s plan (docs/scaling.md), recomputed from the measured
 * per-event costs in benchmarks.json and the repository's own settings
 * (wrangler.toml, the SDK, the dashboard, the shard's constants). A figure
 * that was not measured is printed as "ASSUMPTION (not measured): ..." with
 * its reasoning, and listed under `assumptions` in the JSON.
 *
 *   npm run scaling                                   the plan at 1,000,000 events/s, SDK batches
 *   npm run scaling -- --write-doc                    also rewrite the generated tables of docs/scaling.md
 *   npm run scaling -- --rate 250000 --batch 10       another rate or SDK batch size
 *   npm run scaling -- --batching spread              server-side batches of many users
 *   npm run scaling -- --viewers 100000 --regions 9 --benchmarks other/benchmarks.json
 *   npm run scaling -- --shard-cpu-ms 0.01            what-if: the shard's CPU per event
 *   npm run scaling -- --dedup-bytes-per-id 16        what-if: a denser dedup set
 *   npm run scaling -- --checkpoint-rows-per-event 0.1  what-if: fewer SQLite rows per event
 *   npm run scaling -- --relay-max 1500               what-if: fewer viewers per relay
 *
 * Prints the plan as tables; the LAST stdout line is one JSON object.
 *
 * Model (per second; R = events/s, B = events per request, S = shards):
 * - edge invocations = R / B; edge CPU = invocations x CPU per request;
 * - shard calls: one RPC per shard a request touches. A browser SDK batch is
 *   one visitor, so one shard ("visitor"); a server batch of B users touches
 *   S(1 - (1 - 1/S)^B) shards ("spread");
 * - S = the largest of: calls per shard <= soft limit x utilisation; shard CPU
 *   (one thread) <= 1,000 ms/s x utilisation; the in-memory dedup set (every
 *   id of the horizon) <= 128 MB isolate x utilisation; SQLite <= 10 GB x
 *   utilisation;
 * - SQLite rows written = calls x rows per call (the ingest-log row and its
 *   delete) + R x checkpoint rows per event (pane rows, dedup journal,
 *   counters, sealing, pruning; measured by the ingest bench);
 * - live: core/fanout-math.ts (shard pushes per tick, combiners' settling
 *   re-reads, combiners -> root -> relays, one frame per viewer per tick);
 * - ClickHouse: a shard seals each window once it closes, in batches of at
 *   most MAX_PANES_PER_BATCH pane rows, one insert each;
 * - cost: CLOUDFLARE_PRICES below, a 30-day month, every object awake all month.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readAggregationConfig } from '../core/aggregation-config.ts';
import { DO_MAX_WEBSOCKETS, estimateFanout, planCombiners, ROOT_RPC_BUDGET_PER_S, SETTLE_INTERVAL_MS, type FanoutEstimate } from '../core/fanout-math.ts';
import { readLiveConfig } from '../core/live-config.ts';
import { serializeDelta } from '../core/live-protocol.ts';

// ------------------------------------------------------------------ prices and limits

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
  /** developers.cloudflare.com/workers/platform/limits: 128 MB of memory per isolate (a Durable Object included). */
  isolateMemoryBytes: 128 * 2 ** 20,
  doMaxWebSockets: DO_MAX_WEBSOCKETS,
  /** clickhouse.com/docs/optimize/bulk-inserts: keep synchronous inserts "around one insert query per second", batches >= 1,000 rows. */
  clickhouseInsertsPerSec: 1,
  clickhouseMinRowsPerInsert: 1000,
} as const;

export const MONTH_SECONDS = 30 * 86_400;
/** The dedup journal stores 8 bytes per id (core/dedup-set.ts encodeJournal). */
export const DEDUP_JOURNAL_BYTES_PER_ID = 8;
/** Panes stay in a shard's SQLite this long (durable-objects/ShardAggregator.ts PANE_RETENTION_MS). */
export const PANE_RETENTION_SEC = 3600;

// ------------------------------------------------------------------ inputs

/** A number with where it came from: a benchmark, the repository's code, or an assumption. */
export interface Figure {
  value: number;
  source: string;
  kind: 'measured' | 'code' | 'assumed';
}

export const measured = (value: number, source: string): Figure => ({ value, source, kind: 'measured' });
export const fromCode = (value: number, source: string): Figure => ({ value, source, kind: 'code' });
export const assumed = (value: number, source: string): Figure => ({ value, source: `ASSUMPTION (not measured): ${source}`, kind: 'assumed' });

export type Batching = 'visitor' | 'spread';

/** What the repository says: wrangler.toml vars and limits, and constants from the code. */
export interface RepoFacts {
  sdkBatchSize: number;
  shardCountToday: number;
  windowSec: number;
  paneSec: number;
  flushIntervalSec: number;
  allowedLatenessSec: number;
  dedupHorizonSec: number;
  maxBacklogRows: number;
  tickMs: number;
  relayMaxViewers: number;
  combinerFanIn: number;
  tokenTtlSec: number;
  rateLimit: { limit: number; periodSec: number };
  /** durable-objects/ShardAggregator.ts: pane rows per sealed batch (one insert each) and batches per alarm run. */
  maxPanesPerBatch: number;
  maxSealsPerCycle: number;
  /** durable-objects/Combiner.ts: how far back a settling re-read reaches. */
  settleLookbackSec: number;
  /** dashboard/src: heartbeat, acks, token renewal, polling. */
  heartbeatSec: number;
  ackEveryFrames: number;
  tokenRenewShare: number;
  activeUsersRefreshSec: number;
  healthPollSec: number;
  /** Where each came from, for the inputs table. */
  sources: Record<string, string>;
}

export interface PlanInputs {
  eventsPerSec: number;
  eventsPerRequest: number;
  batching: Batching;
  /** Fraction of a Durable Object's request soft limit, CPU, memory and storage the plan fills (headroom for bursts and hot keys). */
  utilisation: number;
  viewers: number;
  regions: number;
  facts: RepoFacts;
  edgeCpuMsPerEvent: Figure;
  shardCpuMsPerEvent: Figure;
  /** The shard's in-memory work only (aggregate bench): what it could approach if storage cost nothing. */
  shardCpuFloorMsPerEvent: Figure;
  rowsWrittenPerCall: Figure;
  checkpointRowsWrittenPerEvent: Figure;
  dedupBytesPerId: Figure;
  paneGroupsPerEvent: Figure;
  paneGroupBytes: Figure;
  eventsPerRollupRow: Figure;
  rollupBytesPerMillion: Figure;
  topicsPerViewer: Figure;
  deltaBytes: Figure;
  relayCpuMsPerFrame: Figure;
  reconnectsPerViewerHour: Figure;
  eventBytes: Figure;
}

/** Vars and the per-key ingest rate limit from wrangler.toml (a small parser for its `KEY = "value"` lines). */
export function readWranglerConfig(text: string): { vars: Record<string, string>; rateLimit: { limit: number; periodSec: number } | null } {
  const vars: Record<string, string> = {};
  let section = '';
  let name = '';
  let rateLimit: { limit: number; periodSec: number } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (header !== null) {
      section = header[1] ?? '';
      name = '';
      continue;
    }
    if (section === 'vars') {
      const m = /^([A-Z0-9_]+)\s*=\s*"([^"]*)"$/.exec(line);
      if (m !== null && m[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
    }
    if (section === 'ratelimits') {
      const n = /^name\s*=\s*"([^"]*)"$/.exec(line);
      if (n !== null) name = n[1] ?? '';
      const m = /^simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}$/.exec(line);
      // The per-key limit; the per-(key, client) one is listed after it and bounds one browser, not the project.
      if (m !== null && rateLimit === null && (name === '' || name === 'INGEST_RATE_LIMITER')) rateLimit = { limit: Number(m[1]), periodSec: Number(m[2]) };
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

/** The value of `const NAME = 5_000;` or `const NAME = 2 * 60_000;` in a source file, or null. */
export function numericConstant(text: string, name: string): number | null {
  const m = new RegExp(`const ${name}\\s*=\\s*([\\d_.]+(?:\\s*\\*\\s*[\\d_.]+)*)\\s*;`).exec(text);
  if (m === null || m[1] === undefined) return null;
  return m[1].split('*').reduce((product, part) => product * Number(part.trim().replaceAll('_', '')), 1);
}

/** The repository's settings and code constants; `read(relativePath)` returns a file's text or null. */
export function readRepoFacts(read: (relativePath: string) => string | null): RepoFacts {
  const wrangler = readWranglerConfig(read('wrangler.toml') ?? '');
  const aggregation = readAggregationConfig(wrangler.vars);
  const live = readLiveConfig(wrangler.vars);
  const sources: Record<string, string> = {};
  const constant = (file: string, name: string, fallback: number, key: string): number => {
    const value = numericConstant(read(file) ?? '', name);
    sources[key] = value === null ? `${file} ${name} not found; ${fallback} assumed` : `${file} ${name}`;
    return value ?? fallback;
  };
  const sdk = readSdkDefaults(read('sdk/src/options.ts') ?? '');
  sources.sdkBatchSize = sdk.maxBatchSize === null ? 'sdk/src/options.ts maxBatchSize not found; 100 assumed' : 'sdk/src/options.ts maxBatchSize default';
  sources.rateLimit = wrangler.rateLimit === null ? 'wrangler.toml INGEST_RATE_LIMITER not found; 1000 / 10 s assumed' : 'wrangler.toml [[ratelimits]] INGEST_RATE_LIMITER';
  const ackWindow = constant('dashboard/src/live-flow.ts', 'DASHBOARD_ACK_WINDOW', 32, 'ackEveryFrames');
  return {
    sdkBatchSize: sdk.maxBatchSize ?? 100,
    shardCountToday: live.combiners.shardCount,
    windowSec: aggregation.windowMs / 1000,
    paneSec: aggregation.paneMs / 1000,
    flushIntervalSec: aggregation.flushIntervalMs / 1000,
    allowedLatenessSec: aggregation.allowedLatenessMs / 1000,
    dedupHorizonSec: aggregation.dedupHorizonMs / 1000,
    maxBacklogRows: aggregation.maxBacklogRows,
    tickMs: live.tickMs,
    relayMaxViewers: live.limits.relayMaxViewers,
    combinerFanIn: numericConfigured(wrangler.vars.COMBINER_FANIN, 16),
    tokenTtlSec: live.tokenTtlSeconds,
    rateLimit: wrangler.rateLimit ?? { limit: 1000, periodSec: 10 },
    maxPanesPerBatch: constant('durable-objects/ShardAggregator.ts', 'MAX_PANES_PER_BATCH', 5000, 'maxPanesPerBatch'),
    maxSealsPerCycle: constant('durable-objects/ShardAggregator.ts', 'MAX_SEALS_PER_CYCLE', 8, 'maxSealsPerCycle'),
    settleLookbackSec: constant('durable-objects/Combiner.ts', 'SETTLE_LOOKBACK_MS', 120_000, 'settleLookbackSec') / 1000,
    heartbeatSec: constant('dashboard/src/live-flow.ts', 'HEARTBEAT_INTERVAL_MS', 25_000, 'heartbeatSec') / 1000,
    // The dashboard acks every half window (dashboard/src/live-flow.ts AckCounter).
    ackEveryFrames: Math.max(1, Math.ceil(ackWindow / 2)),
    tokenRenewShare: constant('dashboard/src/live-token.ts', 'REFRESH_AT_SHARE', 0.8, 'tokenRenewShare'),
    activeUsersRefreshSec: constant('dashboard/src/uniques.ts', 'ACTIVE_REFRESH_MS', 5000, 'activeUsersRefreshSec') / 1000,
    healthPollSec: constant('dashboard/src/dashboard.ts', 'HEALTH_INTERVAL_MS', 10_000, 'healthPollSec') / 1000,
    sources,
  };
}

function numericConfigured(raw: string | undefined, fallback: number): number {
  const x = Number(raw);
  return Number.isInteger(x) && x > 0 ? x : fallback;
}

type BenchRuns = Record<string, { status?: string; finished_at?: string; result?: Record<string, unknown> | null } | undefined>;

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const record = (x: unknown): Record<string, unknown> | null => (typeof x === 'object' && x !== null && !Array.isArray(x) ? Object.fromEntries(Object.entries(x)) : null);

/** The `runs` of a benchmarks.json text, validated field by field (a bad entry is left out, never cast). */
export function parseBenchRuns(text: string): BenchRuns {
  const root = record(JSON.parse(text));
  const runs = record(root?.runs);
  const out: BenchRuns = {};
  for (const [name, raw] of Object.entries(runs ?? {})) {
    const run = record(raw);
    if (run === null) continue;
    out[name] = {
      ...(typeof run.status === 'string' ? { status: run.status } : {}),
      ...(typeof run.finished_at === 'string' ? { finished_at: run.finished_at } : {}),
      result: record(run.result),
    };
  }
  return out;
}

/** Expected distinct shards a request of `users` distinct users touches (uniform hashing). */
export function expectedShardsHit(shards: number, users: number): number {
  if (shards <= 1 || users <= 0) return Math.min(1, Math.max(0, users));
  return shards * (1 - (1 - 1 / shards) ** users);
}

const round = (x: number, digits: number): number => Number(x.toPrecision(digits));

/**
 * The inputs: measured figures from benchmarks.json where they exist,
 * labelled assumptions where not. Edge and shard CPU depend on the batch
 * shape, so they are taken from the ingest bench's phase of that shape.
 */
export function inputsFrom(runs: BenchRuns, facts: RepoFacts, batching: Batching = 'visitor'): PlanInputs {
  const ok = (bench: string): Record<string, unknown> | null => {
    const run = runs[bench];
    return run !== undefined && run.status === 'ok' && run.result !== null && run.result !== undefined ? run.result : null;
  };
  const when = (bench: string): string => (runs[bench]?.finished_at ?? '').slice(0, 10);

  const ingest = ok('ingest');
  const batch = num(ingest?.batch);
  const benchShards = num(ingest?.shard_count) ?? 16;
  const usersPerBatch = num(ingest?.users_per_batch) ?? 0;
  const serverCallsPerRequest = batch === null ? null : expectedShardsHit(benchShards, usersPerBatch > 0 ? usersPerBatch : batch);
  const full = num(ingest?.workerd_cpu_ms_per_request);
  const edgeOnly = num(ingest?.edge_only_workerd_cpu_ms_per_request);
  const edgeLessLimiter = num(ingest?.edge_only_workerd_cpu_ms_per_request_less_local_rate_limiter);
  const sdkFull = num(ingest?.sdk_workerd_cpu_ms_per_request);
  const sdkEdge = num(ingest?.sdk_edge_only_workerd_cpu_ms_per_request);
  const validateEnrich = record(ingest?.validate_enrich);
  const limiterMs = num(validateEnrich?.local_rate_limit_ms_per_call);
  const serverNs = num(ingest?.validate_enrich_ns_per_event);
  const publicNs = num(ingest?.validate_enrich_public_ns_per_event);
  const tag = `ingest bench ${when('ingest')}`;
  const serverShape = serverCallsPerRequest === null || batch === null ? '' : `server-shaped: ${batch}-event requests of ${usersPerBatch > 0 ? `${usersPerBatch} user(s)` : 'one user per event'}, ~${serverCallsPerRequest.toFixed(1)} shard calls of ~${(batch / serverCallsPerRequest).toFixed(1)} events each, ${benchShards} shards`;

  // Edge: the edge-only target (shards stubbed) less Miniflare's simulated rate limiter (native on Cloudflare).
  let edgeCpu: Figure;
  const serverEdge = batch === null ? null : edgeLessLimiter ?? (edgeOnly !== null && limiterMs !== null ? edgeOnly - limiterMs : null);
  const limiterNote = 'less one call of Miniflare\'s simulated rate limiter (native on Cloudflare)';
  if (batching === 'visitor' && batch !== null && sdkEdge !== null) {
    const browserExtra = serverNs !== null && publicNs !== null ? Math.max(0, publicNs - serverNs) : null;
    const perRequest = sdkEdge - (limiterMs ?? 0) + ((browserExtra ?? 0) * batch) / 1e6;
    edgeCpu = measured(
      perRequest / batch,
      `${tag}, SDK-shaped phase (${batch} events of one visitor, one shard call): edge-only workerd CPU ${sdkEdge} ms per request` +
        (limiterMs !== null ? ` ${limiterNote}, ${limiterMs} ms` : ' (includes Miniflare\'s rate limiter simulation: its cost was not measured in this run)') +
        (browserExtra !== null ? `, plus the browser-key enrichment (UA, geo, visitor id) over the server key's, ${browserExtra} ns/event` : '') +
        `, / ${batch}`,
    );
  } else if (batch !== null && (serverEdge !== null || edgeOnly !== null)) {
    const perRequest = serverEdge ?? edgeOnly ?? 0;
    const note = `${tag}, ${serverShape}: edge-only workerd CPU ${round(perRequest, 4)} ms per request${serverEdge !== null ? ` (${limiterNote})` : ' (includes Miniflare\'s rate limiter simulation, not measured in this run)'} / ${batch}`;
    edgeCpu = batching === 'spread'
      ? measured(perRequest / batch, note)
      : assumed(perRequest / batch, `the SDK-shaped phase is not in this ingest run; the ${note}, which serializes ~${(serverCallsPerRequest ?? 1).toFixed(0)} stubbed shard RPCs per request instead of one: an upper bound for SDK requests`);
  } else {
    edgeCpu = assumed(0.05, 'no ingest result in benchmarks.json; 50 µs per event (auth, body parse, validation, enrichment, one RPC\'s serialization). Run `npm run bench -- ingest`');
  }

  // Shard: full Worker minus edge-only in the same phase = what the shards added, per event.
  let shardCpu: Figure;
  if (batching === 'visitor' && batch !== null && sdkFull !== null && sdkEdge !== null) {
    shardCpu = measured((sdkFull - sdkEdge) / batch, `${tag}, SDK-shaped phase: (full ${sdkFull} - edge-only ${sdkEdge}) ms per ${batch}-event request, one shard call per request, / ${batch} (local workerd, SQLite on disk)`);
  } else if (batch !== null && full !== null && edgeOnly !== null) {
    const note = `${tag}, ${serverShape}: (full ${full} - edge-only ${edgeOnly}) ms per request / ${batch} (local workerd, SQLite on disk)`;
    shardCpu = batching === 'spread'
      ? measured((full - edgeOnly) / batch, `${note}; at many more shards a call carries fewer events, so each event costs more than measured here`)
      : assumed((full - edgeOnly) / batch, `the SDK-shaped phase is not in this ingest run; the ${note}: its per-call cost is spread over ~${(batch / (serverCallsPerRequest ?? 1)).toFixed(1)} events instead of ${batch}, an upper bound for SDK calls`);
  } else {
    shardCpu = assumed(0.1, 'no ingest result in benchmarks.json; 100 µs per event (RPC-boundary validation, dedup, pane update, the ingest-log row and its commit). Run `npm run bench -- ingest`');
  }

  // SQLite rows: 2 per call from the code, the rest (checkpoints, seals, prunes) per event from the ingest bench.
  const rowsPerCall = fromCode(2, 'durable-objects/ShardAggregator.ts: each ingest call inserts one ingest_log row (INTEGER PRIMARY KEY, so no index row) and the next checkpoint deletes it (1 row)');
  const aggregate = ok('aggregate');
  const aggEvents = num(aggregate?.do_events);
  const aggGroups = num(aggregate?.do_pane_groups);
  const paneGroupsPerEvent = aggEvents !== null && aggGroups !== null && aggEvents > 0
    ? measured(aggGroups / aggEvents, `aggregate bench ${when('aggregate')}: ${aggGroups} pane groups (pane x event type x dimension set) for ${aggEvents} events in a ${num(aggregate?.do_window_seconds) ?? 60} s window on one shard at 10,000 events/s; a shard seeing fewer events shares groups less`)
    : assumed(1, 'every event its own pane group (no aggregate result in benchmarks.json: the worst case)');
  const rowsPerEvent = num(ingest?.rows_written_per_event);
  let checkpointRows: Figure;
  if (rowsPerEvent !== null && batch !== null && serverCallsPerRequest !== null) {
    // Calls per event in the run, weighting its server-shaped and SDK-shaped timed phases by their events.
    const levels: unknown[] = Array.isArray(ingest?.levels) ? ingest.levels : [];
    const phaseSec = num(ingest?.duration_s_per_phase) ?? 0;
    const serverEvents = levels.reduce((sum: number, level: unknown) => sum + (num(record(record(level)?.worker)?.events_per_s) ?? 0) * phaseSec, 0);
    const sdkEvents = (num(ingest?.sdk_events_per_s) ?? 0) * phaseSec;
    const callsPerEvent = serverEvents + sdkEvents > 0 ? (serverEvents * (serverCallsPerRequest / batch) + sdkEvents * (1 / batch)) / (serverEvents + sdkEvents) : serverCallsPerRequest / batch;
    const phases = levels.length + (sdkEvents > 0 ? 1 : 0);
    const perShardRate = phaseSec > 0 && phases > 0 ? (serverEvents + sdkEvents) / (phaseSec * phases) / benchShards : 0;
    checkpointRows = measured(
      Math.max(0, rowsPerEvent - rowsPerCall.value * callsPerEvent),
      `${tag}: ${rowsPerEvent} SQLite rows written per event (shard stats: every table and index row) less ${rowsPerCall.value} x ${callsPerEvent.toFixed(3)} ingest-log rows per event ` +
        `(its timed phases weighted by events: server-shaped ${Math.round(serverEvents)}, SDK-shaped ${Math.round(sdkEvents)}; warm-ups left out), at ~${fmt(perShardRate)} events/s per shard; ` +
        'a checkpoint writes each changed pane row once, so at a higher rate per shard fewer rows per event: an upper bound for the plan',
    );
  } else {
    const life = 10;
    checkpointRows = assumed(
      life * paneGroupsPerEvent.value,
      `the ingest run in benchmarks.json predates rows_written_per_event. Reasoned from core/pane-store.ts SHARD_SCHEMA: a pane group writes ~${life} rows over its life ` +
        '(insert: table + primary key + unsealed index = 3; a rewrite at its second checkpoint = 1; seal = ~3; prune = 3) x pane groups per event',
    );
  }

  const dedup = ok('dedup');
  const bytesPerId = num(dedup?.bytes_per_id);
  const dedupBytes = bytesPerId !== null
    ? measured(bytesPerId, `dedup bench ${when('dedup')}: bytes of the in-memory DedupSet per id held (${num(dedup?.direct_ids) ?? '?'} ids)`)
    : assumed(48, 'no dedup result in benchmarks.json. Reasoned from core/dedup-set.ts: 12-byte slots, rebuilt at 3/4 load to 3/8 (16-32 B per id, more after rounding to a power of two); a rebuild briefly holds the old table (16 B/id) and the new (32 B/id)');

  const ns = num(aggregate?.ns_per_event);
  const floor = ns !== null
    ? measured(ns / 1e6, `aggregate bench ${when('aggregate')}: ${ns} ns/event for the shard's in-memory path (governance, key, pane row update + HLL add; checkpoint serialization apart)`)
    : assumed(500 / 1e6, 'no aggregate result in benchmarks.json; issue 4\'s target of 500 ns/event for the shard\'s in-memory path');
  const ratio = num(aggregate?.preaggregation_ratio);
  const eventsPerRow = ratio !== null
    ? measured(ratio, `aggregate bench ${when('aggregate')}: events per 1-minute rollup row, one shard at 10,000 events/s (a shard seeing fewer events pre-aggregates less)`)
    : assumed(1, 'no aggregate result in benchmarks.json; one rollup row per event (no pre-aggregation: the worst case)');
  const sqliteBytes = num(aggregate?.do_sqlite_bytes_estimate);
  const groupBytes = sqliteBytes !== null && aggGroups !== null && aggGroups > 0
    ? measured(sqliteBytes / aggGroups, `aggregate bench ${when('aggregate')}: estimated SQLite bytes / pane groups`)
    : assumed(300, 'no aggregate result in benchmarks.json; a pane row with keys, counters and a sparse sketch of a few users');
  const bytesPerMillion = num(aggregate?.clickhouse_rollup_bytes_per_million);
  const rollupBytes = bytesPerMillion !== null
    ? measured(bytesPerMillion, `aggregate bench ${when('aggregate')}: compressed rollup bytes per million events`)
    : assumed(200e6, 'no aggregate result in benchmarks.json; the events\' wire size, 200 B each, uncompressed (an upper bound)');

  // Relay CPU per frame: the fanout bench's whole workerd process over the fewest frames its deltas fit in.
  const fanout = ok('fanout');
  const cores = num(fanout?.workerd_cpu_cores);
  const deltasPerSec = num(fanout?.deltas_per_s);
  const benchTopics = num(fanout?.topics_per_viewer);
  const relayCpu = cores !== null && deltasPerSec !== null && benchTopics !== null && deltasPerSec > 0
    ? measured(
        (cores * 1000 * benchTopics) / deltasPerSec,
        `fanout bench ${when('fanout')}: ${cores} workerd cores x 1,000 ms / (${deltasPerSec} deltas/s / ${benchTopics} topics per frame) with ${num(fanout?.viewers) ?? '?'} viewers: ` +
          'an upper bound (the whole process: ingest, shards, root, Miniflare\'s proxy hop, per-frame deflate); the bench does not report frames or the relay\'s own CPU',
      )
    : assumed(0.01, 'no fanout result in benchmarks.json; 10 µs of relay CPU per WebSocket frame');

  return {
    eventsPerSec: 1_000_000,
    eventsPerRequest: facts.sdkBatchSize,
    batching,
    utilisation: 0.5,
    viewers: 50_000,
    regions: 1,
    facts,
    edgeCpuMsPerEvent: edgeCpu,
    shardCpuMsPerEvent: shardCpu,
    shardCpuFloorMsPerEvent: floor,
    rowsWrittenPerCall: rowsPerCall,
    checkpointRowsWrittenPerEvent: checkpointRows,
    dedupBytesPerId: dedupBytes,
    paneGroupsPerEvent,
    paneGroupBytes: groupBytes,
    eventsPerRollupRow: eventsPerRow,
    rollupBytesPerMillion: rollupBytes,
    topicsPerViewer: assumed(4, 'topics a dashboard subscribes to (metrics:*, metrics:error, value_sum:purchase, the chart\'s topic; docs/fanout.md), all changing every tick at this rate'),
    deltaBytes: fromCode(sampleDeltaBytes(), 'core/live-protocol.ts serializeDelta of a metrics:* delta with a 10-digit value, a seq above 2^32, its anomaly flag and band'),
    relayCpuMsPerFrame: relayCpu,
    reconnectsPerViewerHour: assumed(1, 'one reconnect (token, upgrade, 4 subscribes) per viewer per hour'),
    eventBytes: assumed(200, '200 bytes per event on the wire (seed 003)'),
  };
}

/** Bytes of one delta as relays send it (core/live-protocol.ts). */
export function sampleDeltaBytes(): number {
  return serializeDelta({
    topic: 'metrics:*',
    windowStart: '2026-06-07T11:25:00.000Z',
    windowEnd: '2026-06-07T11:26:00.000Z',
    value: 1_589_012_345,
    timestamp: '2026-06-07T11:25:31.250Z',
    seq: 4_294_967_303,
    anomaly: false,
    lower: 1_201_140_012.35,
    upper: 1_740_290_078.52,
  }).length;
}

// ------------------------------------------------------------------ arithmetic

export function invocationsPerSec(eventsPerSec: number, eventsPerRequest: number): number {
  if (!(eventsPerRequest >= 1)) throw new RangeError('eventsPerRequest must be >= 1');
  return eventsPerSec / eventsPerRequest;
}

/** Share of requests that reach one given shard. */
function hitShare(shards: number, batching: Batching, eventsPerRequest: number): number {
  return batching === 'visitor' ? 1 / shards : 1 - (1 - 1 / shards) ** eventsPerRequest;
}

/** RPCs one shard takes per second. */
export function callsPerShardPerSec(invocations: number, shards: number, batching: Batching, eventsPerRequest: number): number {
  return invocations * hitShare(shards, batching, eventsPerRequest);
}

export type SizingBound = 'requests' | 'cpu' | 'memory' | 'storage';

export interface ShardSizing {
  shards: number;
  byRequests: number;
  byCpu: number;
  byMemory: number;
  byStorage: number;
  /** Which constraint set the count. */
  boundBy: SizingBound;
}

/** Bytes one event keeps in a shard's SQLite: its dedup journal entry for the horizon, its share of pane rows for the retention. */
export function storageBytesPerEventPerSec(i: Pick<PlanInputs, 'facts' | 'paneGroupsPerEvent' | 'paneGroupBytes'>): number {
  return i.facts.dedupHorizonSec * DEDUP_JOURNAL_BYTES_PER_ID + PANE_RETENTION_SEC * i.paneGroupsPerEvent.value * i.paneGroupBytes.value;
}

/** The fewest shards that keep every shard within `utilisation` of its request soft limit, its thread, its isolate's memory and its storage. */
export function shardsNeeded(
  p: Pick<PlanInputs, 'eventsPerSec' | 'eventsPerRequest' | 'batching' | 'utilisation'> & { cpuMsPerEvent: number; dedupBytesPerEvent: number; storageBytesPerEvent: number },
): ShardSizing {
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
  const byMemory = Math.max(1, Math.ceil((p.eventsPerSec * p.dedupBytesPerEvent) / (LIMITS.isolateMemoryBytes * p.utilisation)));
  const byStorage = Math.max(1, Math.ceil((p.eventsPerSec * p.storageBytesPerEvent) / (LIMITS.doStorageBytes * p.utilisation)));
  const shards = Math.max(byRequests, byCpu, byMemory, byStorage);
  const boundBy: SizingBound = shards === byRequests ? 'requests' : shards === byCpu ? 'cpu' : shards === byMemory ? 'memory' : 'storage';
  return { shards, byRequests, byCpu, byMemory, byStorage, boundBy };
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
  /** Rate-independent (at this deployment) and already beyond its limit or guidance. */
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
    eventsPerShardPerSec: number;
    cpuMsPerShardPerSec: number;
    floorShardsByCpu: number;
    /** Shard CPU per event at or below which CPU no longer sets the shard count. */
    cpuMsPerEventForOtherBound: number;
    dedupBytesPerShard: number;
    storageBytesPerShard: number;
    unsealedRowsPerShard: number;
    alarmsPerSec: number;
  };
  clickhouse: { batchesPerShardWindow: number; insertsPerSec: number; rowsPerSec: number; rowsPerInsert: number; bytesPerDay: number };
  live: FanoutEstimate & {
    relayCpuShare: number;
    viewerConnectsPerSec: number;
    viewerMessagesPerSec: number;
    tokenRenewalsPerSec: number;
    dashboardPollsPerSec: number;
  };
  durableObjects: { total: number; requestsPerSec: number; requestsBreakdown: Array<[string, number]> };
  workers: { requestsPerSec: number };
  storage: { rowsWrittenPerSec: number; rowsReadPerSec: number; storedGb: number };
  cost: { lines: CostLine[]; totalUsd: number };
  breaks: BreakPoint[];
  today: BreakPoint[];
}

/** The whole plan for one set of inputs. Pure. */
export function computePlan(inputs: PlanInputs, prices: Prices = CLOUDFLARE_PRICES): Plan {
  const f = inputs.facts;
  const R = inputs.eventsPerSec;
  const B = inputs.eventsPerRequest;
  const inv = invocationsPerSec(R, B);
  const cpuMsPerInvocation = inputs.edgeCpuMsPerEvent.value * B;
  const dedupBytesPerEvent = f.dedupHorizonSec * inputs.dedupBytesPerId.value;
  const storageBytesPerEvent = storageBytesPerEventPerSec(inputs);

  // Shards.
  const sizing = shardsNeeded({ ...inputs, cpuMsPerEvent: inputs.shardCpuMsPerEvent.value, dedupBytesPerEvent, storageBytesPerEvent });
  const S = sizing.shards;
  const perShard = callsPerShardPerSec(inv, S, inputs.batching, B);
  const calls = perShard * S;
  const eventsPerShard = R / S;
  const floor = shardsNeeded({ ...inputs, cpuMsPerEvent: inputs.shardCpuFloorMsPerEvent.value, dedupBytesPerEvent, storageBytesPerEvent });
  const g = inputs.paneGroupsPerEvent.value;

  // ClickHouse: each closed window sealed in batches of <= maxPanesPerBatch pane rows, one insert per batch.
  const batchesPerShardWindow = Math.max(1, Math.ceil((eventsPerShard * f.windowSec * g) / f.maxPanesPerBatch));
  const insertsPerSec = (S * batchesPerShardWindow) / f.windowSec;
  const rowsPerSec = R / inputs.eventsPerRollupRow.value;
  // A busy shard's alarm runs once per closed window, plus a run per maxSealsPerCycle batches beyond the first.
  const alarmsPerSec = (S * Math.ceil(batchesPerShardWindow / f.maxSealsPerCycle)) / f.windowSec;

  // Live fan-out: core/fanout-math.ts, with the dashboard's acks.
  const topics = inputs.topicsPerViewer.value;
  const fan = estimateFanout({
    viewers: inputs.viewers,
    relayMaxViewers: f.relayMaxViewers,
    regions: inputs.regions,
    topicsPerViewer: topics,
    changingTopicsPerTick: topics,
    tickMs: f.tickMs,
    deltaBytes: inputs.deltaBytes.value,
    shardCount: S,
    combinerFanIn: f.combinerFanIn,
    ackEveryFrames: f.ackEveryFrames,
  });
  const viewerConnectsPerSec = (inputs.viewers * inputs.reconnectsPerViewerHour.value) / 3600;
  const acksPerSec = fan.perRelay.ackMessagesPerSecond * fan.relays;
  const viewerMessagesPerSec = inputs.viewers / f.heartbeatSec + acksPerSec + viewerConnectsPerSec * topics;
  const tokenRenewalsPerSec = inputs.viewers / (f.tokenTtlSec * f.tokenRenewShare);
  const dashboardPollsPerSec = inputs.viewers * (1 / f.activeUsersRefreshSec + 1 / f.healthPollSec);

  // Durable Object requests: every RPC, alarm and WebSocket upgrade counts one; incoming WebSocket messages 1/20.
  const rps = fan.requestsPerSecond;
  const requestsBreakdown: Array<[string, number]> = [
    ['ingest calls', calls],
    ['alarms', alarmsPerSec],
    ['shard pushes', rps.shardPushes],
    ['settling digest reads', rps.settleReads],
    ['combiner pushes', rps.combinerPushes],
    ['relay deliveries', rps.relayPushes],
    ['viewer upgrades', viewerConnectsPerSec],
    ['viewer messages / 20', viewerMessagesPerSec / prices.durableObjects.incomingWebSocketMessagesPerRequest],
  ];
  const doRequestsPerSec = requestsBreakdown.reduce((sum, [, n]) => sum + n, 0);
  const objects = S + fan.durableObjects.combiners + fan.durableObjects.root + fan.relays;
  const workersRequestsPerSec = inv + viewerConnectsPerSec + tokenRenewalsPerSec + dashboardPollsPerSec;

  // SQLite.
  const rowsWrittenPerSec = calls * inputs.rowsWrittenPerCall.value + R * inputs.checkpointRowsWrittenPerEvent.value;
  // A settle reads each shard's digest, kept in memory (core/live-digest.ts): no rows. Pane rows are read
  // only to re-read a shard after a lost push, and once per shard instance to build its digest.
  const rowsReadPerSec = 0;
  const storedGb = (R * storageBytesPerEvent) / 1e9;

  const M = MONTH_SECONDS;
  const w = prices.workers;
  const d = prices.durableObjects;
  const q = prices.sqliteStorage;
  const lines: CostLine[] = [
    { item: 'Workers Paid subscription', quantity: 1, unit: 'month', included: 0, usdPerMillion: 0, usd: w.subscriptionUsdPerMonth },
    line('Workers requests (ingest, viewer upgrades and tokens, dashboard polls)', workersRequestsPerSec * M, 'requests', w.includedRequests, w.usdPerMillionRequests),
    line('Workers CPU (ingest)', inv * cpuMsPerInvocation * M, 'CPU ms', w.includedCpuMs, w.usdPerMillionCpuMs),
    line('Durable Objects requests', doRequestsPerSec * M, 'requests', d.includedRequests, d.usdPerMillionRequests),
    line('Durable Objects duration', objects * d.gbPerObject * M, 'GB-s', d.includedGbS, d.usdPerMillionGbS),
    line('SQLite rows written', rowsWrittenPerSec * M, 'rows', q.includedRowsWritten, q.usdPerMillionRowsWritten),
    line('SQLite rows read (settles read in-memory digests; rows only after a lost push)', rowsReadPerSec * M, 'rows', q.includedRowsRead, q.usdPerMillionRowsRead),
    line('SQLite storage', storedGb, 'GB-month', q.includedGbMonth, q.usdPerGbMonth * 1e6),
  ];

  const unsealedRowsPerShard = eventsPerShard * (f.windowSec + f.allowedLatenessSec + f.flushIntervalSec) * g;
  const plan: Plan = {
    inputs,
    edge: { invocationsPerSec: inv, cpuMsPerInvocation, cpuMsPerSec: inv * cpuMsPerInvocation, ingressBytesPerSec: R * inputs.eventBytes.value },
    shards: {
      ...sizing,
      callsPerSec: calls,
      callsPerShardPerSec: perShard,
      eventsPerCall: calls > 0 ? R / calls : 0,
      eventsPerShardPerSec: eventsPerShard,
      cpuMsPerShardPerSec: eventsPerShard * inputs.shardCpuMsPerEvent.value,
      floorShardsByCpu: floor.byCpu,
      cpuMsPerEventForOtherBound: (LIMITS.doCpuMsPerSec * inputs.utilisation * Math.max(sizing.byRequests, sizing.byMemory, sizing.byStorage)) / R,
      dedupBytesPerShard: eventsPerShard * dedupBytesPerEvent,
      storageBytesPerShard: eventsPerShard * storageBytesPerEvent,
      unsealedRowsPerShard,
      alarmsPerSec,
    },
    clickhouse: { batchesPerShardWindow, insertsPerSec, rowsPerSec, rowsPerInsert: rowsPerSec / insertsPerSec, bytesPerDay: (R * 86_400 * inputs.rollupBytesPerMillion.value) / 1e6 },
    live: {
      ...fan,
      relayCpuShare: (fan.perRelay.framesPerSecond * inputs.relayCpuMsPerFrame.value) / LIMITS.doCpuMsPerSec,
      viewerConnectsPerSec,
      viewerMessagesPerSec,
      tokenRenewalsPerSec,
      dashboardPollsPerSec,
    },
    durableObjects: { total: objects, requestsPerSec: doRequestsPerSec, requestsBreakdown },
    workers: { requestsPerSec: workersRequestsPerSec },
    storage: { rowsWrittenPerSec, rowsReadPerSec, storedGb },
    cost: { lines, totalUsd: lines.reduce((s, l) => s + l.usd, 0) },
    breaks: [],
    today: [],
  };
  // The plan assumes a big project gets a per-key rate limit that fits it; today's wrangler.toml limit is listed under "today".
  plan.breaks = breakPoints(inputs, S, false);
  plan.today = breakPoints(inputs, f.shardCountToday, true);
  return plan;
}

/**
 * For a fixed deployment of `shards` shards, the event rate at which each
 * limit is reached, sorted so the first entry is what breaks first: limits
 * already exceeded whatever the rate, then rate-bound ones by rate, then
 * rate-independent ones within their limits.
 */
export function breakPoints(inputs: PlanInputs, shards: number, includeRateLimit: boolean): BreakPoint[] {
  const f = inputs.facts;
  const R = inputs.eventsPerSec;
  const B = inputs.eventsPerRequest;
  const L = LIMITS.doSoftRequestsPerSec;
  const g = inputs.paneGroupsPerEvent.value;
  const out: Array<Omit<BreakPoint, 'exceeded'>> = [];
  const rateBound = (constraint: string, atEventsPerSec: number, arithmetic: string): void => {
    out.push({ constraint, atEventsPerSec, loadAtPlanRate: R / atEventsPerSec, arithmetic });
  };

  if (includeRateLimit) {
    const perKey = (f.rateLimit.limit / f.rateLimit.periodSec) * B;
    rateBound('write-key rate limit (per key, per Cloudflare location)', perKey,
      `${fmt(f.rateLimit.limit)} requests / ${f.rateLimit.periodSec} s x ${B} events/request (wrangler.toml; counted per location, so a public key's browsers spread over many locations get more in total)`);
  }

  const share = hitShare(shards, inputs.batching, B);
  rateBound('shard request soft limit (1,000/s)', (L * B) / share,
    inputs.batching === 'visitor'
      ? `${fmt(L)}/s x ${fmt(shards)} shards x ${B} events/request (one shard per request)`
      : `${fmt(L)}/s x ${B} events/request / ${share.toFixed(4)} (share of requests touching a shard: 1 - (1 - 1/${fmt(shards)})^${B})`);

  const cpu = inputs.shardCpuMsPerEvent.value;
  rateBound('shard CPU (one thread)', (LIMITS.doCpuMsPerSec * shards) / cpu, `1,000 ms/s x ${fmt(shards)} shards / ${fmtMs(cpu)} per event${inputs.shardCpuMsPerEvent.kind === 'assumed' ? ' (assumed CPU)' : ''}`);

  const perId = inputs.dedupBytesPerId.value;
  rateBound('shard memory: dedup set (128 MB isolate)', (LIMITS.isolateMemoryBytes * shards) / (f.dedupHorizonSec * perId),
    `128 MiB x ${fmt(shards)} shards / (${f.dedupHorizonSec} s horizon x ${fmt(perId)} B per id): the set alone fills the isolate`);

  const storagePerEvent = storageBytesPerEventPerSec(inputs);
  rateBound('shard storage (10 GB)', (LIMITS.doStorageBytes * shards) / storagePerEvent,
    `10 GB x ${fmt(shards)} shards / ${fmt(storagePerEvent)} B per event/s (dedup journal ${f.dedupHorizonSec} s x 8 B + panes ${PANE_RETENTION_SEC} s x ${fmt(g)} groups x ${fmt(inputs.paneGroupBytes.value)} B)`);

  const heldSec = f.windowSec + f.allowedLatenessSec + f.flushIntervalSec;
  rateBound('shard backlog bound (MAX_BACKLOG_ROWS, then 503)', (f.maxBacklogRows * shards) / (heldSec * g),
    `${fmt(f.maxBacklogRows)} rows x ${fmt(shards)} shards / (${heldSec} s unsealed (window + lateness + flush) x ${fmt(g)} pane groups per event)`);

  const sealRowsPerSec = (f.maxSealsPerCycle * f.maxPanesPerBatch) / f.flushIntervalSec;
  rateBound('shard flush throughput (sealed pane rows)', (sealRowsPerSec * shards) / g,
    `${f.maxSealsPerCycle} batches x ${fmt(f.maxPanesPerBatch)} pane rows per alarm run, runs >= ${f.flushIntervalSec} s apart = ${fmt(sealRowsPerSec)} rows/s x ${fmt(shards)} shards / ${fmt(g)} pane groups per event`);

  const combiners = planCombiners(shards, f.tickMs, f.combinerFanIn);
  const ticks = 1000 / f.tickMs;
  const settle = 1000 / SETTLE_INTERVAL_MS;
  const rateFree = (constraint: string, load: number, arithmetic: string): void => {
    out.push({ constraint, atEventsPerSec: null, loadAtPlanRate: load, arithmetic });
  };
  // Inserts = S x ceil(R/S x window x g / P) / window: over ~1/s at any rate once S > window, else once the batches per window grow.
  const insertsName = 'ClickHouse synchronous inserts (docs: ~1/s)';
  const batchesAtPlan = Math.max(1, Math.ceil(((R / shards) * f.windowSec * g) / f.maxPanesPerBatch));
  const insertsAtPlan = (shards * batchesAtPlan) / f.windowSec;
  const insertArithmetic = `${fmt(shards)} shards x ${batchesAtPlan} batch(es) of <= ${fmt(f.maxPanesPerBatch)} pane rows per ${f.windowSec} s window = ${fmt(insertsAtPlan)} inserts/s at ${fmt(R)} events/s`;
  const batchesWithinGuidance = Math.floor(f.windowSec / shards);
  if (batchesWithinGuidance < 1) {
    rateFree(insertsName, insertsAtPlan / LIMITS.clickhouseInsertsPerSec, `${insertArithmetic}; over ~1/s at any rate once shards > ${f.windowSec}`);
  } else {
    rateBound(insertsName, (batchesWithinGuidance * shards * f.maxPanesPerBatch) / (f.windowSec * g),
      `${insertArithmetic}; over ~1/s once a shard seals more than ${batchesWithinGuidance} batch(es) per window: ${batchesWithinGuidance} x ${fmt(f.maxPanesPerBatch)} pane rows x ${fmt(shards)} shards / (${f.windowSec} s x ${fmt(g)} pane groups per event)`);
  }
  rateFree('broadcast root requests', combiners.rootRpcPerSecond / L,
    `${combiners.combiners} combiner(s) x ${ticks}/s = ${fmt(combiners.rootRpcPerSecond)} RPC/s at any event rate (fan-in grows so this stays <= ${ROOT_RPC_BUDGET_PER_S}/s), plus 4/s per relay`);
  const combinerLoad = combiners.combinerRpcPerSecond + combiners.fanIn * settle;
  rateFree('combiner requests', combinerLoad / L,
    `${combiners.fanIn} shards x ${ticks} pushes/s in + ${combiners.fanIn} x ${settle} settling digest reads/s out = ${fmt(combinerLoad)} RPC/s`);
  const perRelay = Math.min(f.relayMaxViewers, Math.ceil(inputs.viewers / Math.max(1, inputs.regions)));
  const relayMs = perRelay * ticks * inputs.relayCpuMsPerFrame.value;
  const fits = Math.floor((LIMITS.doCpuMsPerSec * inputs.utilisation) / (ticks * inputs.relayCpuMsPerFrame.value));
  rateFree('relay CPU (frames to viewers)', relayMs / LIMITS.doCpuMsPerSec,
    `${fmt(perRelay)} viewers x ${ticks} frames/s x ${fmtMs(inputs.relayCpuMsPerFrame.value)} = ${fmt(relayMs)} ms/s${inputs.relayCpuMsPerFrame.kind === 'assumed' ? ' (assumed CPU per frame)' : ''}; ${fmt(fits)} viewers per relay fit at ${pct(inputs.utilisation)}`);
  rateFree('relay sockets', perRelay / LIMITS.doMaxWebSockets, `${fmt(perRelay)} of ${fmt(LIMITS.doMaxWebSockets)} per object (RELAY_MAX_VIEWERS)`);

  return out
    .map((b) => ({ ...b, exceeded: b.atEventsPerSec === null && b.loadAtPlanRate > 1 }))
    .sort((a, b) => rank(a) - rank(b) || (a.atEventsPerSec ?? 0) - (b.atEventsPerSec ?? 0));
}

function rank(b: BreakPoint): number {
  return b.exceeded ? 0 : b.atEventsPerSec !== null ? 1 : 2;
}

// ------------------------------------------------------------------ tables

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

const fmt = (x: number): string => formatQuantity(x);
const fmtMs = (ms: number): string => (ms >= 1 ? `${Number(ms.toPrecision(3))} ms` : `${Number((ms * 1000).toPrecision(3))} µs`);
const pct = (x: number): string => `${Math.round(x * 100)}%`;
const usd = (x: number): string => `$${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2)}`;
const bytes = (x: number): string => `${fmt(x)}B`;

/** One table of the plan, printed by the CLI and written into docs/scaling.md under its id. */
export interface Section {
  id: string;
  title: string;
  headers: string[];
  rows: string[][];
  /** Markdown only: a line under the table. */
  note?: string;
  /** Render the rows' first cells as a bulleted list instead of a table. */
  list?: boolean;
}

const SHAPE: Record<Batching, string> = { visitor: 'SDK batches (one visitor per request)', spread: 'server batches (one user per event)' };

function headlineColumn(p: Plan): string[] {
  const s = p.shards;
  const c = p.clickhouse;
  const l = p.live;
  const i = p.inputs;
  const top = [...p.cost.lines].sort((a, b) => b.usd - a.usd)[0];
  const first = p.breaks.find((b) => b.atEventsPerSec !== null);
  const firstToday = p.today.find((b) => b.atEventsPerSec !== null);
  return [
    `**${fmt(p.edge.invocationsPerSec)}/s** (${fmt(i.eventsPerSec)} / ${i.eventsPerRequest})`,
    `${fmtMs(i.edgeCpuMsPerEvent.value)} per event, ${fmtMs(p.edge.cpuMsPerInvocation)} per request, ${fmt(p.edge.cpuMsPerSec)} CPU-ms/s${i.edgeCpuMsPerEvent.kind === 'assumed' ? ' (assumed)' : ''}`,
    `${fmtMs(i.shardCpuMsPerEvent.value)} per event${i.shardCpuMsPerEvent.kind === 'assumed' ? ' (assumed)' : ''}`,
    `**${fmt(s.shards)}**, bound by **${s.boundBy}** (requests ${fmt(s.byRequests)}, CPU ${fmt(s.byCpu)}, memory ${fmt(s.byMemory)}, storage ${fmt(s.byStorage)})`,
    `${fmt(s.callsPerSec)}/s, ${fmt(s.callsPerShardPerSec)}/s per shard of ${fmt(s.eventsPerCall)} events`,
    `**${fmt(c.insertsPerSec)} inserts/s**, **${fmt(c.rowsPerSec)} rows/s** (${fmt(c.rowsPerInsert)} rows per insert), ${bytes(c.bytesPerDay)}/day`,
    `${l.combiners.combiners} combiners, root ${fmt(l.root.rpcInPerSecond)} RPC/s in, **${l.relays} relays**, ${fmt(l.framesPerSecond)} frames/s, ${bytes(l.egressBytesPerSecond)}/s`,
    `${fmt(p.durableObjects.total)} objects, ${fmt(p.durableObjects.requestsPerSec)} requests/s`,
    `${fmt(p.storage.rowsWrittenPerSec)}/s`,
    `**${usd(p.cost.totalUsd)}**${top !== undefined ? `, of which ${top.item} ${usd(top.usd)}` : ''}`,
    p.breaks.filter((b) => b.exceeded).map((b) => `${b.constraint} (${pct(b.loadAtPlanRate)})`).join('; ') || 'none',
    first === undefined ? 'nothing rate-bound' : `${first.constraint} at **${fmt(first.atEventsPerSec ?? 0)} events/s**`,
    firstToday === undefined ? 'nothing rate-bound' : `${firstToday.constraint} at **${fmt(firstToday.atEventsPerSec ?? 0)} events/s**`,
  ];
}

/** The headline: the default plan beside the same rate with server-side batches. */
export function headlineSection(visitor: Plan, spread: Plan): Section {
  const names = [
    'edge invocations',
    'edge CPU',
    'shard CPU',
    'shards per project',
    'shard calls',
    'ClickHouse',
    `live, ${fmt(visitor.inputs.viewers)} viewers`,
    'Durable Objects',
    'SQLite rows written',
    'monthly cost',
    'over a limit already (planned shards)',
    'breaks first (planned shards)',
    `breaks first today (${visitor.inputs.facts.shardCountToday} shards)`,
  ];
  const a = headlineColumn(visitor);
  const b = headlineColumn(spread);
  return {
    id: 'headline',
    title: `Headline: ${fmt(visitor.inputs.eventsPerSec)} events/s, ${visitor.inputs.eventsPerRequest} events per request`,
    headers: ['', SHAPE[visitor.inputs.batching], `${SHAPE[spread.inputs.batching]}, \`--batching ${spread.inputs.batching}\``],
    rows: names.map((name, k) => [name, a[k] ?? '', b[k] ?? '']),
  };
}

export function inputsSection(i: PlanInputs): Section {
  const f = i.facts;
  const src = (x: Figure): string => x.source;
  return {
    id: 'inputs',
    title: `Inputs (${SHAPE[i.batching]})`,
    headers: ['input', 'value', 'source'],
    rows: [
      ['edge CPU per event', fmtMs(i.edgeCpuMsPerEvent.value), src(i.edgeCpuMsPerEvent)],
      ['shard CPU per event', fmtMs(i.shardCpuMsPerEvent.value), src(i.shardCpuMsPerEvent)],
      ['shard CPU floor per event', fmtMs(i.shardCpuFloorMsPerEvent.value), src(i.shardCpuFloorMsPerEvent)],
      ['SQLite rows written per shard call', fmt(i.rowsWrittenPerCall.value), src(i.rowsWrittenPerCall)],
      ['SQLite rows written per event (checkpoints, seals, prunes)', fmt(i.checkpointRowsWrittenPerEvent.value), src(i.checkpointRowsWrittenPerEvent)],
      ['dedup set bytes per id', fmt(i.dedupBytesPerId.value), src(i.dedupBytesPerId)],
      ['pane groups per event', fmt(i.paneGroupsPerEvent.value), src(i.paneGroupsPerEvent)],
      ['pane group bytes (SQLite)', fmt(i.paneGroupBytes.value), src(i.paneGroupBytes)],
      ['events per rollup row', fmt(i.eventsPerRollupRow.value), src(i.eventsPerRollupRow)],
      ['rollup bytes per 1M events', fmt(i.rollupBytesPerMillion.value), src(i.rollupBytesPerMillion)],
      ['relay CPU per frame', fmtMs(i.relayCpuMsPerFrame.value), src(i.relayCpuMsPerFrame)],
      ['bytes per delta', fmt(i.deltaBytes.value), src(i.deltaBytes)],
      ['topics per viewer', fmt(i.topicsPerViewer.value), src(i.topicsPerViewer)],
      ['viewer reconnects', `${fmt(i.reconnectsPerViewerHour.value)}/hour`, src(i.reconnectsPerViewerHour)],
      ['bytes per event', fmt(i.eventBytes.value), src(i.eventBytes)],
      ['events per request', String(i.eventsPerRequest), f.sources.sdkBatchSize ?? ''],
      ['window / pane / flush / lateness / dedup horizon', `${f.windowSec} / ${f.paneSec} / ${f.flushIntervalSec} / ${f.allowedLatenessSec} / ${f.dedupHorizonSec} s`, 'wrangler.toml [vars] (read with core/aggregation-config.ts)'],
      ['backlog bound, shards today', `${fmt(f.maxBacklogRows)} rows, ${f.shardCountToday}`, 'wrangler.toml [vars] MAX_BACKLOG_ROWS, SHARD_COUNT'],
      ['write-key rate limit', `${fmt(f.rateLimit.limit)} / ${f.rateLimit.periodSec} s`, f.sources.rateLimit ?? ''],
      ['tick / viewers per relay / combiner fan-in / token lifetime', `${f.tickMs} ms / ${fmt(f.relayMaxViewers)} / ${f.combinerFanIn} / ${f.tokenTtlSec} s`, 'wrangler.toml [vars] (read with core/live-config.ts)'],
      ['panes per sealed batch, batches per alarm run', `${fmt(f.maxPanesPerBatch)}, ${f.maxSealsPerCycle}`, `${f.sources.maxPanesPerBatch ?? ''}, ${f.sources.maxSealsPerCycle ?? ''}`],
      ['settles (digest reads)', `every ${SETTLE_INTERVAL_MS / 1000} s, last ${f.settleLookbackSec} s`, `core/fanout-math.ts SETTLE_INTERVAL_MS, ${f.sources.settleLookbackSec ?? ''}`],
      ['dashboard: heartbeat, ack, token renewal', `${f.heartbeatSec} s, 1 per ${f.ackEveryFrames} frames, at ${pct(f.tokenRenewShare)} of its lifetime`, `${f.sources.heartbeatSec ?? ''}, ${f.sources.ackEveryFrames ?? ''} / 2, ${f.sources.tokenRenewShare ?? ''}`],
      ['dashboard polls', `active users every ${f.activeUsersRefreshSec} s, health every ${f.healthPollSec} s`, `${f.sources.activeUsersRefreshSec ?? ''}, ${f.sources.healthPollSec ?? ''}`],
      ['utilisation', pct(i.utilisation), 'the share of each Durable Object limit the plan fills (headroom for bursts and hot users)'],
    ],
  };
}

export function planSection(p: Plan, id = 'plan'): Section {
  const i = p.inputs;
  const f = i.facts;
  const s = p.shards;
  const c = p.clickhouse;
  const l = p.live;
  const u = i.utilisation;
  return {
    id,
    title: `Plan: ${fmt(i.eventsPerSec)} events/s, ${SHAPE[i.batching]}, ${fmt(i.viewers)} viewers`,
    headers: ['quantity', 'value', 'arithmetic'],
    rows: [
      ['edge invocations', `${fmt(p.edge.invocationsPerSec)}/s`, `${fmt(i.eventsPerSec)} events/s / ${i.eventsPerRequest} events per request`],
      ['edge CPU', `${fmt(p.edge.cpuMsPerSec)} ms/s`, `${fmt(p.edge.invocationsPerSec)}/s x ${fmtMs(p.edge.cpuMsPerInvocation)} per request (~${fmt(p.edge.cpuMsPerSec / 1000)} cores across the network)`],
      ['ingress', `${bytes(p.edge.ingressBytesPerSec)}/s`, `${fmt(i.eventsPerSec)} x ${i.eventBytes.value} B`],
      ['shards per project', fmt(s.shards), `the largest of the four below: bound by ${s.boundBy}`],
      ['  by requests', fmt(s.byRequests), i.batching === 'visitor' ? `${fmt(p.edge.invocationsPerSec)} calls/s / (1,000/s x ${u})` : `smallest S with ${fmt(p.edge.invocationsPerSec)} x (1 - (1 - 1/S)^${i.eventsPerRequest}) <= ${fmt(1000 * u)}/s`],
      ['  by CPU', fmt(s.byCpu), `${fmt(i.eventsPerSec)} x ${fmtMs(i.shardCpuMsPerEvent.value)} / (1,000 ms/s x ${u}); at the in-memory floor ${fmt(s.floorShardsByCpu)}; CPU stops binding at <= ${fmtMs(s.cpuMsPerEventForOtherBound)} per event`],
      ['  by memory (dedup set)', fmt(s.byMemory), `${fmt(i.eventsPerSec)} x ${f.dedupHorizonSec} s x ${fmt(i.dedupBytesPerId.value)} B per id / (128 MiB x ${u})`],
      ['  by storage', fmt(s.byStorage), `${fmt(i.eventsPerSec)} x ${fmt(storageBytesPerEventPerSec(i))} B per event/s / (10 GB x ${u})`],
      ['shard calls', `${fmt(s.callsPerSec)}/s`, `${fmt(s.callsPerShardPerSec)}/s per shard, ${fmt(s.eventsPerCall)} events per call`],
      ['per shard', `${fmt(s.eventsPerShardPerSec)} events/s`, `CPU ${fmt(s.cpuMsPerShardPerSec)} ms/s, dedup set ${bytes(s.dedupBytesPerShard)}, SQLite ${bytes(s.storageBytesPerShard)}, ~${fmt(s.unsealedRowsPerShard)} unsealed pane rows (bound ${fmt(f.maxBacklogRows)})`],
      ['SQLite rows written', `${fmt(p.storage.rowsWrittenPerSec)}/s`, `${fmt(s.callsPerSec)} calls x ${fmt(i.rowsWrittenPerCall.value)} + ${fmt(i.eventsPerSec)} events x ${fmt(i.checkpointRowsWrittenPerEvent.value)}`],
      ['SQLite rows read', `${fmt(p.storage.rowsReadPerSec)}/s`, `${fmt(l.requestsPerSecond.settleReads)} settles/s read shard digests kept in memory (core/live-digest.ts); pane rows are re-read only for a shard still behind its previous digest (a lost push)`],
      ['ClickHouse inserts', `${fmt(c.insertsPerSec)}/s`, `${fmt(s.shards)} shards x ${c.batchesPerShardWindow} batch(es) of <= ${fmt(f.maxPanesPerBatch)} pane rows per ${f.windowSec} s window (docs: ~1/s)`],
      ['ClickHouse rows', `${fmt(c.rowsPerSec)}/s`, `${fmt(i.eventsPerSec)} / ${fmt(i.eventsPerRollupRow.value)} events per rollup row (a lower bound: shards seeing fewer events pre-aggregate less); ${fmt(c.rowsPerInsert)} rows per insert (docs: >= 1,000)`],
      ['ClickHouse bytes', `${bytes(c.bytesPerDay)}/day`, 'compressed rollups'],
      ['combiners', fmt(l.combiners.combiners), `${fmt(s.shards)} shards / fan-in ${l.combiners.fanIn}; each takes ${fmt(l.combiners.combinerRpcPerSecond)} pushes/s and makes ${fmt(l.combiners.fanIn * (1000 / SETTLE_INTERVAL_MS))} settling digest reads/s`],
      ['broadcast root', `${fmt(l.root.rpcInPerSecond)} RPC/s in`, `${l.combiners.combiners} combiners x ${l.ticksPerSecond}/s; out: ${fmt(l.root.rpcOutPerSecond)}/s to relays`],
      ['relays', fmt(l.relays), `${fmt(i.viewers)} viewers / ${fmt(f.relayMaxViewers)} per relay${i.regions > 1 ? `, in ${i.regions} regions` : ''}`],
      ['frames to viewers', `${fmt(l.framesPerSecond)}/s`, `${fmt(i.viewers)} x ${l.ticksPerSecond}/s; ${fmt(l.perRelay.framesPerSecond)}/s per relay, ~${pct(l.relayCpuShare)} of its thread`],
      ['bytes to viewers', `${bytes(l.egressBytesPerSecond)}/s`, `${fmt(l.framesPerSecond)} frames x ${fmt(l.egressBytesPerSecond / l.framesPerSecond)} B (${fmt((l.egressBytesPerSecond * 8) / 1e9)} Gbit/s; egress is not billed)`],
      ['viewer messages in', `${fmt(l.viewerMessagesPerSec)}/s`, `heartbeats ${fmt(i.viewers / f.heartbeatSec)}/s + acks ${fmt(l.perRelay.ackMessagesPerSecond * l.relays)}/s + resubscribes; billed 1/20`],
      ['Durable Objects', fmt(p.durableObjects.total), `${fmt(s.shards)} shards + ${l.combiners.combiners} combiners + 1 root + ${l.relays} relays`],
      ['Durable Object requests', `${fmt(p.durableObjects.requestsPerSec)}/s`, p.durableObjects.requestsBreakdown.map(([name, n]) => `${name} ${fmt(n)}`).join(', ')],
      ['Workers requests', `${fmt(p.workers.requestsPerSec)}/s`, `ingest ${fmt(p.edge.invocationsPerSec)}, dashboard polls ${fmt(l.dashboardPollsPerSec)}, token renewals ${fmt(l.tokenRenewalsPerSec)}, upgrades ${fmt(l.viewerConnectsPerSec)}`],
    ],
  };
}

export function costSection(p: Plan): Section {
  return {
    id: 'cost',
    title: `Monthly cost (30 days; Cloudflare prices read ${CLOUDFLARE_PRICES.checked}: re-check them before quoting)`,
    headers: ['line', 'USD/month', 'arithmetic'],
    rows: [
      ...p.cost.lines.map((x) => [
        x.item,
        usd(x.usd),
        x.unit === 'month' ? '' : `${fmt(x.quantity)} ${x.unit} - ${fmt(x.included)} included, $${x.unit === 'GB-month' ? (x.usdPerMillion / 1e6).toFixed(2) : x.usdPerMillion} per ${x.unit === 'GB-month' ? 'GB-month' : `million ${x.unit}`}`,
      ]),
      ['**total**', `**${usd(p.cost.totalUsd)}**`, 'ClickHouse is not included (ClickHouse Cloud or self-hosted)'],
    ],
  };
}

export function breaksSection(p: Plan, which: 'breaks' | 'today'): Section {
  const list = which === 'breaks' ? p.breaks : p.today;
  const shards = which === 'breaks' ? p.shards.shards : p.inputs.facts.shardCountToday;
  return {
    id: which === 'breaks' ? 'breaks' : 'breaks-today',
    title: which === 'breaks'
      ? `What breaks first in the planned deployment (${fmt(shards)} shards), as the event rate grows`
      : `What breaks first today (${shards} shards from wrangler.toml, its write-key rate limit)`,
    headers: ['limit', 'breaks at', `load at ${fmt(p.inputs.eventsPerSec)} events/s`, 'arithmetic'],
    rows: list.map((b) => [
      b.constraint,
      b.exceeded ? '**exceeded**' : b.atEventsPerSec === null ? 'rate-independent' : `${fmt(b.atEventsPerSec)} events/s`,
      pct(b.loadAtPlanRate),
      b.arithmetic,
    ]),
  };
}

export function sensitivitySection(plans: Plan[]): Section {
  return {
    id: 'sensitivity',
    title: `Sensitivity to the batch size (${plans[0] === undefined ? '' : fmt(plans[0].inputs.eventsPerSec)} events/s, ${plans[0] === undefined ? '' : SHAPE[plans[0].inputs.batching]}; CPU per event as measured at the bench's batch size)`,
    headers: ['events per request', 'edge invocations', 'shards', 'shard calls', 'USD/month'],
    rows: plans.map((p) => [String(p.inputs.eventsPerRequest), `${fmt(p.edge.invocationsPerSec)}/s`, `${fmt(p.shards.shards)} (${p.shards.boundBy})`, `${fmt(p.shards.callsPerSec)}/s`, usd(p.cost.totalUsd)]),
  };
}

/** The plan in sentences: each built from the same numbers as the tables, so it is regenerated with them. */
export function findingsSection(p: Plan, spread: Plan): Section {
  const i = p.inputs;
  const s = p.shards;
  const c = p.clickhouse;
  const l = p.live;
  const sorted = [...p.cost.lines].sort((a, b) => b.usd - a.usd);
  const top = sorted[0];
  const bound: Record<SizingBound, string> = {
    requests: `the request soft limit (${fmt(s.callsPerShardPerSec)} calls/s per shard at ${pct(i.utilisation)} of 1,000/s)`,
    cpu: `shard CPU (${fmtMs(i.shardCpuMsPerEvent.value)} per event: ${fmt(s.cpuMsPerShardPerSec)} ms/s per shard, within ${pct(i.utilisation)} of one thread)`,
    memory: `the in-memory dedup set (${fmt(i.facts.dedupHorizonSec)} s x ${fmt(s.eventsPerShardPerSec)} events/s x ${fmt(i.dedupBytesPerId.value)} B = ${bytes(s.dedupBytesPerShard)} per shard, within ${pct(i.utilisation)} of the 128 MB isolate)`,
    storage: `SQLite storage (${bytes(s.storageBytesPerShard)} per shard, within ${pct(i.utilisation)} of 10 GB)`,
  };
  const first = p.breaks.find((b) => b.atEventsPerSec !== null);
  const over = p.breaks.filter((b) => b.exceeded);
  const todayList = p.today.filter((b) => b.atEventsPerSec !== null).slice(0, 3);
  const assumedInputs = assumptionNames(i);
  return {
    id: 'findings',
    title: 'The plan in brief',
    headers: [''],
    list: true,
    rows: [
      [`**Edge:** ${fmt(p.edge.invocationsPerSec)} invocations/s at the SDK's batch of ${i.eventsPerRequest} events, ${fmtMs(p.edge.cpuMsPerInvocation)} of CPU each (${fmtMs(i.edgeCpuMsPerEvent.value)} per event). Workers have no request limit that this reaches; the edge only costs (Workers requests and CPU: ${usd(p.cost.lines.filter((x) => x.item.startsWith('Workers ') && x.unit !== 'month').reduce((sum, x) => sum + x.usd, 0))}/month, the dashboards' polls included).`],
      [`**Shards:** ${fmt(s.shards)} per project, set by ${bound[s.boundBy]}. The other limits would need ${fmt(s.byRequests)} (requests), ${fmt(s.byCpu)} (CPU), ${fmt(s.byMemory)} (memory) and ${fmt(s.byStorage)} (storage). Shard CPU is ${fmtMs(i.shardCpuMsPerEvent.value)} per event against an in-memory floor of ${fmtMs(i.shardCpuFloorMsPerEvent.value)}.`],
      [`**Server-side batches** (\`--batching spread\`, one user per event) touch ~1 shard per event once shards outnumber the batch: ${fmt(spread.shards.shards)} shards (bound by ${spread.shards.boundBy}), ${fmt(spread.shards.callsPerSec)} shard calls/s, ${usd(spread.cost.totalUsd)}/month.`],
      [`**Cost:** ${usd(p.cost.totalUsd)}/month on Cloudflare's published prices${top === undefined ? '' : `, of which ${top.item} ${usd(top.usd)} (${pct(top.usd / p.cost.totalUsd)})`}: ${fmt(p.storage.rowsWrittenPerSec)} rows/s = ${fmt(s.callsPerSec)} calls x ${fmt(i.rowsWrittenPerCall.value)} + ${fmt(i.eventsPerSec)} events x ${fmt(i.checkpointRowsWrittenPerEvent.value)} checkpoint rows. ClickHouse is not included.`],
      [`**ClickHouse:** ${fmt(c.insertsPerSec)} inserts/s (${c.batchesPerShardWindow} batch(es) per shard per window) of ${fmt(c.rowsPerInsert)} rows, ${fmt(c.rowsPerSec)} rows/s after pre-aggregation (${fmt(i.eventsPerRollupRow.value)} events per rollup row), ${bytes(c.bytesPerDay)}/day. ClickHouse's guidance is ~1 insert/s of >= 1,000 rows.`],
      [`**Live, ${fmt(i.viewers)} viewers:** ${l.combiners.combiners} combiners (fan-in ${l.combiners.fanIn}), the root takes ${fmt(l.root.rpcInPerSecond)} RPC/s whatever the event rate, ${l.relays} relays of ${fmt(i.facts.relayMaxViewers)}, ${fmt(l.framesPerSecond)} frames/s (${bytes(l.egressBytesPerSecond)}/s). A relay's ${fmt(l.perRelay.framesPerSecond)} frames/s take ~${pct(l.relayCpuShare)} of its thread by ${i.relayCpuMsPerFrame.kind === 'assumed' ? 'an assumed' : 'the fanout bench\'s upper-bound'} ${fmtMs(i.relayCpuMsPerFrame.value)} per frame.`],
      [`**Breaks first (planned ${fmt(s.shards)} shards):** ${first === undefined ? 'nothing rate-bound' : `${first.constraint} at ${fmt(first.atEventsPerSec ?? 0)} events/s (${pct(first.loadAtPlanRate)} loaded now)`}. Over a limit already, at any rate: ${over.map((b) => `${b.constraint} (${pct(b.loadAtPlanRate)})`).join('; ') || 'none'}.`],
      [`**Breaks first today (${i.facts.shardCountToday} shards):** ${todayList.map((b) => `${b.constraint} at ${fmt(b.atEventsPerSec ?? 0)} events/s`).join(', then ')}.`],
      [assumedInputs.length === 0 ? 'Every input is measured or read from the code.' : `**Not measured:** ${assumedInputs.map((key) => FIGURE_LABELS[key]).join('; ')} (each labelled ASSUMPTION in the inputs table, with its reasoning).`],
    ],
  };
}

export interface WhatIf {
  name: string;
  /** The CLI flags that reproduce it. */
  flags: string;
  plan: Plan;
}

/** The levers: the plan again with one input changed each, as the CLI flags would change it. */
export function whatIfs(base: PlanInputs): WhatIf[] {
  const ticks = 1000 / base.facts.tickMs;
  const fitViewers = Math.max(1, Math.floor((LIMITS.doCpuMsPerSec * base.utilisation) / (ticks * base.relayCpuMsPerFrame.value)));
  const variants: Array<{ name: string; flags: string; inputs: PlanInputs }> = [
    { name: 'as planned', flags: '', inputs: base },
    { name: 'dedup set of 16 B per id (e.g. 12-byte slots kept >= 3/4 full)', flags: '--dedup-bytes-per-id 16', inputs: withFigure(base, 'dedupBytesPerId', 16) },
    { name: 'a tenth of the checkpoint rows per event', flags: `--checkpoint-rows-per-event ${round(base.checkpointRowsWrittenPerEvent.value / 10, 3)}`, inputs: withFigure(base, 'checkpointRowsWrittenPerEvent', round(base.checkpointRowsWrittenPerEvent.value / 10, 3)) },
    { name: 'both of the above', flags: `--dedup-bytes-per-id 16 --checkpoint-rows-per-event ${round(base.checkpointRowsWrittenPerEvent.value / 10, 3)}`, inputs: withFigure(withFigure(base, 'dedupBytesPerId', 16), 'checkpointRowsWrittenPerEvent', round(base.checkpointRowsWrittenPerEvent.value / 10, 3)) },
    { name: `relays sized by CPU (${fmt(fitViewers)} viewers each)`, flags: `--relay-max ${fitViewers}`, inputs: { ...base, facts: { ...base.facts, relayMaxViewers: Math.min(base.facts.relayMaxViewers, fitViewers) } } },
  ];
  return variants.map((v) => ({ name: v.name, flags: v.flags, plan: computePlan(v.inputs) }));
}

type FigureKey = { [K in keyof PlanInputs]: PlanInputs[K] extends Figure ? K : never }[keyof PlanInputs];

/** The inputs with one figure replaced by a what-if value (labelled as such, with what was measured). */
export function withFigure(inputs: PlanInputs, key: FigureKey, value: number): PlanInputs {
  const was = inputs[key];
  return { ...inputs, [key]: { value, source: `what-if: ${value} (instead of ${fmt(was.value)}: ${was.source})`, kind: 'assumed' } };
}

export function whatIfSection(list: WhatIf[]): Section {
  return {
    id: 'what-if',
    title: 'What the levers buy (the same plan with one input changed)',
    headers: ['what-if', 'flags', 'shards (bound)', 'SQLite rows written', 'USD/month', 'exceeded at the plan rate'],
    rows: list.map(({ name, flags, plan }) => [
      name,
      flags === '' ? '' : `\`${flags}\``,
      `${fmt(plan.shards.shards)} (${plan.shards.boundBy})`,
      `${fmt(plan.storage.rowsWrittenPerSec)}/s`,
      usd(plan.cost.totalUsd),
      plan.breaks.filter((b) => b.exceeded).map((b) => b.constraint).join('; ') || 'none',
    ]),
  };
}

export function pricesSection(): Section {
  const w = CLOUDFLARE_PRICES.workers;
  const d = CLOUDFLARE_PRICES.durableObjects;
  const q = CLOUDFLARE_PRICES.sqliteStorage;
  return {
    id: 'prices',
    title: `Prices (CLOUDFLARE_PRICES in scripts/scaling.ts, read ${CLOUDFLARE_PRICES.checked}; ${CLOUDFLARE_PRICES.note})`,
    headers: ['item', 'included per month', 'price beyond'],
    rows: [
      ['Workers Paid subscription', '', `$${w.subscriptionUsdPerMonth} / month`],
      ['Workers requests', fmt(w.includedRequests), `$${w.usdPerMillionRequests} / million`],
      ['Workers CPU time', `${fmt(w.includedCpuMs)} CPU-ms`, `$${w.usdPerMillionCpuMs} / million CPU-ms`],
      [`DO requests (HTTP, RPC calls, alarms; incoming WebSocket messages billed ${d.incomingWebSocketMessagesPerRequest}:1; outgoing free)`, fmt(d.includedRequests), `$${d.usdPerMillionRequests} / million`],
      [`DO duration (wall-clock while active, at ${d.gbPerObject * 1000} MB per object)`, `${fmt(d.includedGbS)} GB-s`, `$${d.usdPerMillionGbS} / million GB-s`],
      ['DO SQLite rows read', fmt(q.includedRowsRead), `$${q.usdPerMillionRowsRead} / million`],
      ['DO SQLite rows written (index writes count; deletes count)', fmt(q.includedRowsWritten), `$${q.usdPerMillionRowsWritten.toFixed(2)} / million`],
      ['DO SQLite stored data', `${q.includedGbMonth} GB-month`, `$${q.usdPerGbMonth} / GB-month`],
    ],
    note: `Sources: ${CLOUDFLARE_PRICES.sources.map((s) => `<${s.split(' ')[0]}>${s.includes(' ') ? s.slice(s.indexOf(' ')) : ''}`).join('; ')}.`,
  };
}

export function statusSection(runs: BenchRuns, visitor: Plan, spread: Plan): Section {
  const benches = ['ingest', 'dedup', 'aggregate', 'fanout'];
  const assumptions = [...new Set([...assumptionNames(visitor.inputs), ...assumptionNames(spread.inputs)])];
  return {
    id: 'status',
    title: 'Status of the inputs',
    headers: ['bench', 'in benchmarks.json', 'quick run'],
    rows: benches.map((name) => {
      const run = runs[name];
      return [name, run === undefined ? 'not run' : `${run.status ?? '?'} ${(run.finished_at ?? '').slice(0, 10)}`, run?.result?.quick === true ? 'yes' : run === undefined ? '' : 'no'];
    }),
    note: assumptions.length === 0 ? 'Every input is measured or read from the code.' : `Not measured (labelled ASSUMPTION in the inputs table): ${assumptions.map((key) => FIGURE_LABELS[key]).join('; ')}.`,
  };
}

/** How the inputs table names each figure. */
const FIGURE_LABELS: Record<FigureKey, string> = {
  edgeCpuMsPerEvent: 'edge CPU per event',
  shardCpuMsPerEvent: 'shard CPU per event',
  shardCpuFloorMsPerEvent: 'shard CPU floor per event',
  rowsWrittenPerCall: 'SQLite rows written per shard call',
  checkpointRowsWrittenPerEvent: 'SQLite rows written per event (checkpoints, seals, prunes)',
  dedupBytesPerId: 'dedup set bytes per id',
  paneGroupsPerEvent: 'pane groups per event',
  paneGroupBytes: 'pane group bytes (SQLite)',
  eventsPerRollupRow: 'events per rollup row',
  rollupBytesPerMillion: 'rollup bytes per 1M events',
  topicsPerViewer: 'topics per viewer',
  deltaBytes: 'bytes per delta',
  relayCpuMsPerFrame: 'relay CPU per frame',
  reconnectsPerViewerHour: 'viewer reconnects',
  eventBytes: 'bytes per event',
};

const isFigureKey = (key: string): key is FigureKey => key in FIGURE_LABELS;

/** The figures of `i` that are assumptions, by their key in PlanInputs. */
function assumptionNames(i: PlanInputs): FigureKey[] {
  return Object.keys(FIGURE_LABELS).filter(isFigureKey).filter((key) => i[key].kind === 'assumed');
}

// ------------------------------------------------------------------ rendering

const cell = (s: string): string => s.replaceAll('|', '\\|');

export function renderMarkdown(section: Section): string {
  if (section.list === true) return section.rows.map((r) => `- ${r[0] ?? ''}`).join('\n');
  const lines = [
    `| ${section.headers.map(cell).join(' | ')} |`,
    `|${section.headers.map(() => '---').join('|')}|`,
    ...section.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  if (section.note !== undefined) lines.push('', section.note);
  return lines.join('\n');
}

/** Aligned plain-text table for the terminal (markdown emphasis dropped). */
export function renderText(section: Section): string {
  const plain = (s: string): string => s.replaceAll('**', '').replaceAll('`', '');
  if (section.list === true) return [plain(section.title), ...section.rows.map((r) => `  - ${plain(r[0] ?? '')}`)].join('\n');
  const all = [section.headers, ...section.rows].map((r) => r.map(plain));
  const widths = section.headers.map((_, k) => (k === section.headers.length - 1 ? 0 : Math.max(...all.map((r) => (r[k] ?? '').length))));
  const row = (r: string[]): string => `  ${r.map((c, k) => (k === r.length - 1 ? c : c.padEnd(widths[k] ?? 0))).join('  ')}`.trimEnd();
  const out = [plain(section.title), row(all[0] ?? []), row(widths.map((w) => '-'.repeat(Math.max(w, 3)))), ...all.slice(1).map(row)];
  if (section.note !== undefined) out.push(`  ${plain(section.note)}`);
  return out.join('\n');
}

const BEGIN = (id: string): string => `<!-- generated:${id} (npm run scaling -- --write-doc) -->`;
const END = (id: string): string => `<!-- /generated:${id} -->`;

/** The text between a section's markers in the doc, or null when the markers are missing. */
export function generatedBlock(doc: string, id: string): string | null {
  const start = doc.indexOf(BEGIN(id));
  const end = doc.indexOf(END(id));
  if (start < 0 || end < start) return null;
  return doc.slice(start + BEGIN(id).length, end).trim();
}

/** The doc with every section's block replaced; a missing marker is an error (the doc's layout is written by hand). */
export function writeGeneratedBlocks(doc: string, sections: Section[]): string {
  let out = doc;
  for (const section of sections) {
    const start = out.indexOf(BEGIN(section.id));
    const end = out.indexOf(END(section.id));
    if (start < 0 || end < start) throw new Error(`docs/scaling.md has no ${BEGIN(section.id)} ... ${END(section.id)} markers`);
    out = `${out.slice(0, start + BEGIN(section.id).length)}\n${renderMarkdown(section)}\n${out.slice(end)}`;
  }
  return out;
}

// ------------------------------------------------------------------ the whole report

export interface Report {
  plan: Plan;
  spread: Plan;
  sensitivity: Plan[];
  whatIfs: WhatIf[];
  sections: Section[];
  json: Record<string, unknown>;
}

/** Everything the CLI prints (and the doc holds) for one set of inputs per batch shape. */
export function buildReport(runs: BenchRuns, visitorInputs: PlanInputs, spreadInputs: PlanInputs): Report {
  const plan = computePlan(visitorInputs);
  const spread = computePlan(spreadInputs);
  const sensitivity = [1, 10, 100, 1000].map((b) => computePlan({ ...visitorInputs, eventsPerRequest: b }));
  const levers = whatIfs(visitorInputs);
  const sections = [
    statusSection(runs, plan, spread),
    findingsSection(plan, spread),
    headlineSection(plan, spread),
    inputsSection(visitorInputs),
    planSection(plan),
    costSection(plan),
    breaksSection(plan, 'breaks'),
    breaksSection(plan, 'today'),
    whatIfSection(levers),
    sensitivitySection(sensitivity),
    planSection(spread, `plan-${spread.inputs.batching}`),
    pricesSection(),
  ];
  return { plan, spread, sensitivity, whatIfs: levers, sections, json: summary(plan, spread, sensitivity) };
}

/** The JSON summary (the last stdout line). */
export function summary(plan: Plan, spread: Plan, sensitivity: Plan[]): Record<string, unknown> {
  const firstRateBound = (list: BreakPoint[]) => {
    const b = list.find((x) => x.atEventsPerSec !== null);
    return b === undefined ? null : { constraint: b.constraint, at_events_per_s: Math.round(b.atEventsPerSec ?? 0) };
  };
  const overLimit = (list: BreakPoint[]): string[] => list.filter((b) => b.exceeded || (b.atEventsPerSec !== null && b.atEventsPerSec < plan.inputs.eventsPerSec)).map((b) => b.constraint);
  const breaks = (list: BreakPoint[]) => list.map((b) => ({ constraint: b.constraint, at_events_per_s: b.atEventsPerSec === null ? null : Math.round(b.atEventsPerSec), load_at_plan_rate: Math.round(b.loadAtPlanRate * 1000) / 1000 }));
  return {
    scaling: 'edgepulse',
    events_per_s: plan.inputs.eventsPerSec,
    events_per_request: plan.inputs.eventsPerRequest,
    batching: plan.inputs.batching,
    viewers: plan.inputs.viewers,
    edge_invocations_per_s: plan.edge.invocationsPerSec,
    edge_cpu_ms_per_event: plan.inputs.edgeCpuMsPerEvent.value,
    edge_cpu_ms_per_request: plan.edge.cpuMsPerInvocation,
    shard_cpu_ms_per_event: plan.inputs.shardCpuMsPerEvent.value,
    shards: plan.shards.shards,
    shards_bound_by: plan.shards.boundBy,
    shards_by_requests: plan.shards.byRequests,
    shards_by_cpu: plan.shards.byCpu,
    shards_by_memory: plan.shards.byMemory,
    shards_by_storage: plan.shards.byStorage,
    shards_by_cpu_at_floor: plan.shards.floorShardsByCpu,
    shard_calls_per_s: plan.shards.callsPerSec,
    clickhouse_inserts_per_s: plan.clickhouse.insertsPerSec,
    clickhouse_rows_per_s: plan.clickhouse.rowsPerSec,
    clickhouse_rows_per_insert: plan.clickhouse.rowsPerInsert,
    combiners: plan.live.combiners.combiners,
    root_rpc_per_s: plan.live.root.rpcInPerSecond,
    relays: plan.live.relays,
    viewer_frames_per_s: plan.live.framesPerSecond,
    viewer_bytes_per_s: plan.live.egressBytesPerSecond,
    relay_cpu_share: plan.live.relayCpuShare,
    durable_objects: plan.durableObjects.total,
    do_requests_per_s: plan.durableObjects.requestsPerSec,
    sqlite_rows_written_per_s: plan.storage.rowsWrittenPerSec,
    sqlite_rows_read_per_s: plan.storage.rowsReadPerSec,
    monthly_usd: Math.round(plan.cost.totalUsd),
    cost_lines_usd: Object.fromEntries(plan.cost.lines.map((l) => [l.item, Math.round(l.usd * 100) / 100])),
    breaks_first: firstRateBound(plan.breaks),
    breaks_first_today: firstRateBound(plan.today),
    over_limit_in_plan: overLimit(plan.breaks),
    over_limit_today: overLimit(plan.today),
    breaks: breaks(plan.breaks),
    breaks_today: breaks(plan.today),
    spread: {
      shards: spread.shards.shards,
      shards_bound_by: spread.shards.boundBy,
      shard_calls_per_s: spread.shards.callsPerSec,
      edge_cpu_ms_per_event: spread.inputs.edgeCpuMsPerEvent.value,
      shard_cpu_ms_per_event: spread.inputs.shardCpuMsPerEvent.value,
      monthly_usd: Math.round(spread.cost.totalUsd),
      breaks_first: firstRateBound(spread.breaks),
    },
    sensitivity: sensitivity.map((p) => ({ events_per_request: p.inputs.eventsPerRequest, invocations_per_s: p.edge.invocationsPerSec, shards: p.shards.shards, monthly_usd: Math.round(p.cost.totalUsd) })),
    assumptions: assumptionNames(plan.inputs),
    prices_checked: CLOUDFLARE_PRICES.checked,
  };
}

// ------------------------------------------------------------------ CLI

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DOC_FILE = path.join(ROOT, 'docs', 'scaling.md');

export function readRepoFile(relativePath: string): string | null {
  const file = path.join(ROOT, relativePath);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

export interface CliOptions {
  rate?: number;
  batch?: number;
  batching?: Batching;
  viewers?: number;
  regions?: number;
  utilisation?: number;
  shardCpuMs?: number;
  dedupBytesPerId?: number;
  checkpointRowsPerEvent?: number;
  relayMax?: number;
}

/** Inputs for one batch shape with the CLI's overrides applied. */
export function inputsWithOptions(runs: BenchRuns, facts: RepoFacts, batching: Batching, o: CliOptions): PlanInputs {
  let inputs = inputsFrom(runs, { ...facts, relayMaxViewers: o.relayMax ?? facts.relayMaxViewers }, batching);
  inputs = {
    ...inputs,
    eventsPerSec: o.rate ?? inputs.eventsPerSec,
    eventsPerRequest: o.batch ?? inputs.eventsPerRequest,
    viewers: o.viewers ?? inputs.viewers,
    regions: o.regions ?? inputs.regions,
    utilisation: o.utilisation ?? inputs.utilisation,
  };
  if (o.shardCpuMs !== undefined) inputs = withFigure(inputs, 'shardCpuMsPerEvent', o.shardCpuMs);
  if (o.dedupBytesPerId !== undefined) inputs = withFigure(inputs, 'dedupBytesPerId', o.dedupBytesPerId);
  if (o.checkpointRowsPerEvent !== undefined) inputs = withFigure(inputs, 'checkpointRowsWrittenPerEvent', o.checkpointRowsPerEvent);
  return inputs;
}

/** The report the doc is generated from: the committed benchmarks.json and the repository's settings, no flags. */
export function defaultReport(benchmarksText: string | null = readRepoFile('benchmarks.json')): Report {
  const runs = benchmarksText === null ? {} : parseBenchRuns(benchmarksText);
  const facts = readRepoFacts(readRepoFile);
  return buildReport(runs, inputsWithOptions(runs, facts, 'visitor', {}), inputsWithOptions(runs, facts, 'spread', {}));
}

function main(): void {
  const { values: flags } = parseArgs({
    options: {
      rate: { type: 'string' },
      batch: { type: 'string' },
      batching: { type: 'string' },
      viewers: { type: 'string' },
      regions: { type: 'string' },
      utilisation: { type: 'string' },
      benchmarks: { type: 'string' },
      'shard-cpu-ms': { type: 'string' },
      'dedup-bytes-per-id': { type: 'string' },
      'checkpoint-rows-per-event': { type: 'string' },
      'relay-max': { type: 'string' },
      'write-doc': { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const x = Number(raw);
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--${name} must be a positive number`);
    return x;
  };
  const whole = (name: string, raw: string | undefined): number | undefined => {
    const x = positive(name, raw);
    if (x !== undefined && !Number.isInteger(x)) throw new Error(`--${name} must be a whole number`);
    return x;
  };
  if (flags.batching !== undefined && flags.batching !== 'visitor' && flags.batching !== 'spread') throw new Error('--batching must be visitor or spread');
  const batching: Batching = flags.batching === 'spread' ? 'spread' : 'visitor';
  const options: CliOptions = {
    rate: positive('rate', flags.rate),
    batch: whole('batch', flags.batch),
    viewers: whole('viewers', flags.viewers),
    regions: whole('regions', flags.regions),
    utilisation: positive('utilisation', flags.utilisation),
    shardCpuMs: positive('shard-cpu-ms', flags['shard-cpu-ms']),
    dedupBytesPerId: positive('dedup-bytes-per-id', flags['dedup-bytes-per-id']),
    checkpointRowsPerEvent: positive('checkpoint-rows-per-event', flags['checkpoint-rows-per-event']),
    relayMax: whole('relay-max', flags['relay-max']),
  };
  const custom = Object.values(options).some((x) => x !== undefined) || batching !== 'visitor' || flags.benchmarks !== undefined;
  if (flags['write-doc'] === true && custom) throw new Error('--write-doc writes the default plan only: run it without other flags');

  const benchFile = path.resolve(flags.benchmarks ?? path.join(ROOT, 'benchmarks.json'));
  const text = existsSync(benchFile) ? readFileSync(benchFile, 'utf8') : null;
  if (text === null) process.stderr.write(`scaling: ${path.relative(process.cwd(), benchFile)} not found; every cost figure is an assumption\n`);
  const runs = text === null ? {} : parseBenchRuns(text);
  const facts = readRepoFacts(readRepoFile);
  const main = inputsWithOptions(runs, facts, batching, options);
  const other = inputsWithOptions(runs, facts, batching === 'visitor' ? 'spread' : 'visitor', options);
  const report = buildReport(runs, main, other);

  console.log(`edgepulse scaling plan: ${fmt(main.eventsPerSec)} events/s, ${main.eventsPerRequest} events/request, ${SHAPE[batching]}, ${fmt(main.viewers)} viewers, Durable Objects planned at ${pct(main.utilisation)} of their limits\n`);
  for (const section of report.sections) console.log(`${renderText(section)}\n`);
  if (flags['write-doc'] === true) {
    const doc = readFileSync(DOC_FILE, 'utf8');
    writeFileSync(DOC_FILE, writeGeneratedBlocks(doc, report.sections));
    process.stderr.write(`scaling: rewrote the generated tables of ${path.relative(process.cwd(), DOC_FILE)}\n`);
  }
  console.log(JSON.stringify(report.json));
}

if (import.meta.main) {
  try {
    main();
  } catch (error) {
    // Bad flags or a doc without its markers: say so, without a stack trace.
    process.stderr.write(`scaling: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
