/**
 * Aggregation benchmark (pure modules in Node, no Durable Object storage):
 *
 * 1. ns per event for the shard's in-memory work, through the shard's own
 *    code: collectBatch (cardinality governance, dimension key, each event
 *    to its cached pane row) and PaneCache.applyBatch (user hash, counts and
 *    users into the rows, rows marked dirty and live), on a PaneCache
 *    bounded and checkpointed as ShardAggregator's is. Batches of 1,000
 *    events, as requests; the events are JSON-parsed, as the shard's are
 *    (the edge sends eventsJson). Not included: dedup of event ids (its own
 *    bench), the ingest-log write, serializing sketches at checkpoints and
 *    building live partials at each live tick (both reported apart, per
 *    event: checkpoint_ns_per_event, live_partials_ns_per_event).
 *    Baseline in the same run: the straightforward version of the same work
 *    (governance per event, a sorted key string per event and one map keyed
 *    by "pane|type|dims"), so the ratio survives a busy machine.
 * 2. DO memory for 5 minutes of panes at 10,000 events/s with realistic
 *    dimensions (event type, country, device, campaign), 10 s panes (also
 *    with --quick): pane groups, sketch bytes in memory, serialized bytes
 *    (SQLite), and memory (JS heap + array buffers).
 * 3. ClickHouse rows and bytes stored per million events: the same events
 *    folded into 1-minute rollup rows, inserted into a chdb dev server and
 *    measured from system.parts (compressed), vs. the raw events table.
 *
 *   npm run bench -- aggregate            (a minute or so)
 *   node bench/aggregate.ts --quick       (smoke run)
 *
 * The LAST stdout line is one JSON object with every figure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createClient } from '@clickhouse/client-web';
import { readAggregationConfig } from '../core/aggregation-config.ts';
import { readLiveConfig } from '../core/live-config.ts';
import { compilePolicy, governDimensions, GovernedKeyCache, MemoryAdmittedValues } from '../core/cardinality.ts';
import { dimensionsKey } from '../core/dimensions.ts';
import { fastDimensionsKey } from '../core/dims-key.ts';
import { HyperLogLog } from '../core/hll.ts';
import { collectBatch } from '../core/ingest-batch.ts';
import { PaneCache, unsealedPart } from '../core/pane-store.ts';
import { columnsLength } from '../core/partial-columns.ts';
import { parseShardEvents, type ShardEvent } from '../core/shard-events.ts';
import { minuteStartOf, USER_SKETCH_PRECISION } from '../core/panes.ts';
import { clickHouseDateTime64, FLUSH_INSERT_SETTINGS, TABLES, toRollupRow, type RawLandingRow } from '../core/rollup-rows.ts';
import { foldIntoMinutes } from '../core/sealing.ts';
import { windowStartOf } from '../core/windows.ts';
import { applyMigrations } from '../scripts/migrate.ts';
import { spawnClickHouseDevServer } from '../scripts/lib/spawn-clickhouse.ts';

const quick = process.argv.includes('--quick');
const RATE = 10_000;
/** Issue 4: DO memory for 5 minutes of panes at RATE. */
const SECONDS = 300;
const BATCH = 1000;
/** The shard's defaults: 10 s panes, 1 min windows, 60 s lateness, no raw events. */
const config = readAggregationConfig({});
const timing = config;
/** As ShardAggregator's MAX_CACHED_PANE_GROUPS and CHECKPOINT_MAX_DIRTY_PANES (a DO module cannot load in Node). */
const MAX_CACHED_PANE_GROUPS = 50_000;
const CHECKPOINT_MAX_DIRTY_PANES = 20_000;

/** xorshift32: reproducible synthetic traffic. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Zipf-like pick: a few values dominate, as countries and campaigns do. */
function zipf(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(n * random() ** 2.5));
}

interface BenchEvent {
  eventId: string;
  eventType: string;
  timestampMs: number;
  value: number;
  userId: string;
  dimensions: Record<string, string>;
}

const EVENT_TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'add_to_cart', 'purchase', 'error'];
const COUNTRIES = Array.from({ length: 60 }, (_, i) => `C${i}`);
const DEVICES = ['MOBILE', 'DESKTOP', 'TABLET'];

/**
 * seed: the dimensions of seed 003 (campaignId 40, country 60, deviceType 3; 8 event types).
 * wide: the same plus an 80-value page path: every extra dimension multiplies
 * the combinations, which K (per dimension) does not bound.
 * narrow: country (10) x deviceType (3), 3 event types: few groups per pane.
 */
type Shape = 'seed' | 'wide' | 'narrow';

/** Events as a shard has them: parsed and checked from the JSON the edge sends (short strings come out interned, as there). */
function received(events: readonly BenchEvent[]): ShardEvent[] {
  const parsed = parseShardEvents(JSON.stringify(events));
  if (!parsed.ok) throw new Error(`bench events: ${parsed.message}`);
  return parsed.events;
}

function generate(count: number, startMs: number, seed: number, shape: Shape = 'seed'): BenchEvent[] {
  const random = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const eventType = EVENT_TYPES[Math.floor(random() * (shape === 'narrow' ? 4 : EVENT_TYPES.length))] ?? 'page_view';
    const dimensions: Record<string, string> =
      shape === 'narrow'
        ? { country: COUNTRIES[zipf(random, 10)] ?? 'C0', deviceType: DEVICES[zipf(random, DEVICES.length)] ?? 'MOBILE' }
        : { campaignId: `camp_${zipf(random, 40)}`, country: COUNTRIES[zipf(random, COUNTRIES.length)] ?? 'C0', deviceType: DEVICES[zipf(random, DEVICES.length)] ?? 'MOBILE' };
    if (shape === 'wide') dimensions.path = `/p/${zipf(random, 80)}`;
    return {
      eventId: `e${seed}-${i}`,
      eventType,
      timestampMs: startMs + Math.floor((i * 1000) / RATE),
      value: eventType === 'purchase' ? Math.round(random() * 10_000) / 100 : 0,
      userId: `u${zipf(random, 200_000)}`,
      dimensions,
    };
  });
}

interface PaneState {
  paneStart: number;
  eventType: string;
  dimsKey: string;
  events: number;
  valueSum: number;
  lateEvents: number;
  users: HyperLogLog;
}

const policy = compilePolicy(undefined, 100);
const identity = { projectId: 'bench', shard: 0 };
const writeNothing = (): void => {};
/** Dedup is the dedup bench's: here every event id is new. */
const acceptAll = (): boolean => true;

/** The live view's tick (LIVE_TICK_MS): a shard's pushes build the partials of the groups changed since the last one. */
const LIVE_TICK_MS = readLiveConfig({}).tickMs;

/** Time spent apart from the counting: serializing sketches at checkpoints, building live partials at pushes. */
interface ApartNs {
  checkpoint: number;
  live: number;
}

/**
 * The shard's per-batch work (ShardAggregator.apply without dedup and the
 * log): collectBatch, then applyBatch. With `checkpoint`, dirty rows are
 * checkpointed as the shard does (sketches serialized, then the cache
 * trimmed), and live partials are taken once per live tick at RATE (as the
 * shard's pushes take them); returns the ns those took.
 */
function aggregate(events: readonly ShardEvent[], panes: PaneCache, admitted: MemoryAdmittedValues, keys: GovernedKeyCache, nowMs: number, checkpoint: boolean): ApartNs {
  const apart: ApartNs = { checkpoint: 0, live: 0 };
  for (let offset = 0; offset < events.length; offset += BATCH) {
    collectBatch(events.slice(offset, offset + BATCH), undefined, { config, nowMs, identity, policy, admitted, keys, markSeen: acceptAll, panes });
    panes.applyBatch();
    if (!checkpoint) continue;
    // Traffic time at RATE: a push whenever a tick boundary passed during this batch.
    if (Math.floor(((offset + BATCH) * 1000) / RATE / LIVE_TICK_MS) !== Math.floor((offset * 1000) / RATE / LIVE_TICK_MS)) {
      const started = process.hrtime.bigint();
      if (columnsLength(panes.takeLivePartials()) < 0) throw new Error('unreachable');
      apart.live += Number(process.hrtime.bigint() - started);
    }
    if (panes.dirtyCount >= CHECKPOINT_MAX_DIRTY_PANES) {
      const started = process.hrtime.bigint();
      // As ShardAggregator.checkpoint, less the SQLite writes.
      panes.forEachDirtyRow(writeNothing);
      apart.checkpoint += Number(process.hrtime.bigint() - started);
      panes.markClean();
      panes.trim();
    }
  }
  return apart;
}

interface NaiveGroup {
  events: number;
  valueSum: number;
  users: string[];
}

/**
 * The in-run baseline: the same work written the obvious way. Governance per
 * event, the generic sorted key (core/dimensions.ts), one composite string
 * key per event for the batch's groups and for the pane table, users added
 * as strings (hashed inside the sketch).
 */
function aggregateNaive(events: readonly ShardEvent[], panes: Map<string, PaneState>, admitted: MemoryAdmittedValues): void {
  for (let offset = 0; offset < events.length; offset += BATCH) {
    const groups = new Map<string, NaiveGroup>();
    const end = Math.min(events.length, offset + BATCH);
    for (let i = offset; i < end; i++) {
      const event = events[i];
      if (event === undefined) continue;
      const governed = governDimensions(minuteStartOf(event.timestampMs), event.dimensions, policy, admitted);
      const key = `${windowStartOf(event.timestampMs, timing.paneMs)}|${event.eventType}|${dimensionsKey(governed.dimensions)}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { events: 0, valueSum: 0, users: [] };
        groups.set(key, group);
      }
      group.events++;
      group.valueSum += event.value;
      group.users.push(event.userId ?? event.eventId);
    }
    for (const [key, group] of groups) {
      let pane = panes.get(key);
      if (pane === undefined) {
        const [paneStart = '0', eventType = '', dimsKey = ''] = key.split('|');
        pane = { paneStart: Number(paneStart), eventType, dimsKey, events: 0, valueSum: 0, lateEvents: 0, users: new HyperLogLog({ precision: USER_SKETCH_PRECISION }) };
        panes.set(key, pane);
      }
      pane.events += group.events;
      pane.valueSum += group.valueSum;
      for (const user of group.users) pane.users.add(user);
    }
  }
}

/**
 * Median ns per event of ours (checkpoint serialization and live partials
 * apart) and of the baseline, runs interleaved so both see the same machine.
 * Ours keeps one PaneCache for every run, cleared before each, as a shard
 * keeps one across requests: its arrays grow once in a shard's life, not per
 * 200k events. Key cache and admitted values are new per run, as they are
 * per minute window in a shard.
 */
function measureNsPerEvent(events: readonly ShardEvent[], reps: number): { ours: number; checkpoint: number; live: number; all: number; baseline: number } {
  const ours: number[] = [];
  const all: number[] = [];
  const checkpoint: number[] = [];
  const live: number[] = [];
  const baseline: number[] = [];
  const nowMs = events[0]?.timestampMs ?? 0;
  const panes = new PaneCache(MAX_CACHED_PANE_GROUPS);
  for (let r = 0; r < reps; r++) {
    panes.clear();
    let started = process.hrtime.bigint();
    const apart = aggregate(events, panes, new MemoryAdmittedValues(), new GovernedKeyCache(fastDimensionsKey), nowMs, true);
    const elapsed = Number(process.hrtime.bigint() - started);
    ours.push((elapsed - apart.checkpoint - apart.live) / events.length);
    checkpoint.push(apart.checkpoint / events.length);
    live.push(apart.live / events.length);
    all.push(elapsed / events.length);
    started = process.hrtime.bigint();
    aggregateNaive(events, new Map(), new MemoryAdmittedValues());
    baseline.push(Number(process.hrtime.bigint() - started) / events.length);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  return { ours: median(ours), checkpoint: median(checkpoint), live: median(live), all: median(all), baseline: median(baseline) };
}

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');
/** JS heap and array buffers (pane rows and the user pool are typed arrays, outside the heap). */
function memoryUsed(): number {
  if (typeof collect === 'function') {
    collect();
    collect();
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function clickHouseFootprint(minuteRows: ReturnType<typeof toRollupRow>[], rawSample: RawLandingRow[], events: number) {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-bench-aggregate-'));
  const server = await spawnClickHouseDevServer({ dataDir, label: 'bench-clickhouse' });
  try {
    await applyMigrations({ url: server.url });
    const client = createClient({ url: server.url, database: 'edgepulse', request_timeout: 300_000 });
    for (let i = 0; i < minuteRows.length; i += 20_000) {
      await client.insert({ table: TABLES.landing, values: minuteRows.slice(i, i + 20_000), format: 'JSONEachRow', clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, insert_deduplication_token: `bench-r-${i}` } });
    }
    for (let i = 0; i < rawSample.length; i += 50_000) {
      await client.insert({ table: TABLES.landing, values: rawSample.slice(i, i + 50_000), format: 'JSONEachRow', clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, insert_deduplication_token: `bench-raw-${i}` } });
    }
    for (const table of ['events_1m', 'events_raw']) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    const rs = await client.query({
      query: `SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
              FROM system.parts WHERE database = 'edgepulse' AND active AND table IN ('events_1m', 'events_raw') GROUP BY table`,
      format: 'JSONEachRow',
    });
    const parts = new Map((await rs.json<{ table: string; rows: string | number; compressed: string | number; uncompressed: string | number }>()).map((row) => [row.table, row]));
    await client.close();
    const perMillion = (value: string | number | undefined, sampleEvents: number): number => Math.round((Number(value ?? 0) * 1_000_000) / sampleEvents);
    const rollup = parts.get('events_1m');
    const raw = parts.get('events_raw');
    return {
      rollupRowsPerMillion: perMillion(rollup?.rows, events),
      rollupBytesPerMillion: perMillion(rollup?.compressed, events),
      rollupUncompressedBytesPerMillion: perMillion(rollup?.uncompressed, events),
      rawRowsPerMillion: perMillion(raw?.rows, rawSample.length),
      rawBytesPerMillion: perMillion(raw?.compressed, rawSample.length),
    };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface DoFootprint {
  groups: number;
  minuteRows: ReturnType<typeof toRollupRow>[];
  /** Memory growth with every pane (counts + sketch) in memory, as if the shard kept them there. */
  memoryBytes: number;
  /** What a shard really keeps in memory: admitted values and the governed-key cache (panes live in SQLite). */
  cacheMemoryBytes: number;
  sketchBytes: number;
  sqliteBytes: number;
}

/** `seconds` of traffic at RATE, generated in one-second slices to keep the input out of the memory figure. */
function traffic(start: number, shape: Shape, seconds: number): DoFootprint {
  // Unbounded and never checkpointed: every pane row of the run stays in memory.
  const panes = new PaneCache(Infinity);
  const admitted = new MemoryAdmittedValues();
  const keys = new GovernedKeyCache(fastDimensionsKey);
  const before = memoryUsed();
  for (let second = 0; second < seconds; second++) {
    aggregate(received(generate(RATE, start + second * 1000, 100 + second, shape)), panes, admitted, keys, start + second * 1000, false);
  }
  const memoryBytes = memoryUsed() - before;
  let groups = 0;
  let sqliteBytes = 0;
  // Sketch objects only: a row's few inline users are among its numbers (in the memory figure).
  const sketchBytes = panes.sketchBytes();
  const rows = panes.dirtyRows();
  for (const row of rows) {
    groups++;
    // A panes row: the sketch, the keys and 15 numeric columns.
    sqliteBytes += (row.users?.byteLength ?? 0) + row.event_type.length + row.dims_key.length + 15 * 8;
  }
  // Nothing was sealed, so each row's unsealed part is all of it.
  const minuteRows = foldIntoMinutes(rows.map(unsealedPart)).map((minute) => toRollupRow('bench', 0, minute));
  return { groups, minuteRows, memoryBytes, cacheMemoryBytes: cacheFootprint(start, shape, seconds), sketchBytes, sqliteBytes };
}

/** The same traffic with panes dropped every second (they go to SQLite in a shard): the memory left is the caches'. */
function cacheFootprint(start: number, shape: Shape, seconds: number): number {
  const admitted = new MemoryAdmittedValues();
  const keys = new GovernedKeyCache(fastDimensionsKey);
  const before = memoryUsed();
  for (let second = 0; second < seconds; second++) {
    aggregate(received(generate(RATE, start + second * 1000, 100 + second, shape)), new PaneCache(MAX_CACHED_PANE_GROUPS), admitted, keys, start + second * 1000, false);
  }
  const bytes = memoryUsed() - before;
  // Keeps both caches reachable until after the measurement.
  if (keys.govern(start, { k: 'v' }, policy, admitted).dimsKey === '') console.log('');
  return bytes;
}

async function main(): Promise<void> {
  const start = minuteStartOf(Date.now()) - SECONDS * 1000;
  const events = SECONDS * RATE;
  // 1. Throughput on 200k events (warmed up), median of several interleaved runs of ours and the baseline, three shapes.
  const shapes = (['seed', 'wide', 'narrow'] as const).map((shape) => {
    const sample = received(generate(200_000, start, 1, shape));
    measureNsPerEvent(sample, 2);
    return { shape, ...measureNsPerEvent(sample, quick ? 5 : 9) };
  });
  const [seedNs, wideNs, narrowNs] = shapes;
  if (seedNs === undefined || wideNs === undefined || narrowNs === undefined) throw new Error('unreachable');
  const nsPerEvent = seedNs.ours;
  const nsPerEventWide = wideNs.ours;
  const nsPerEventNarrow = narrowNs.ours;
  console.log('governance + key + pane update + HLL add (the shard\'s collectBatch + applyBatch), ns/event (median), against the straightforward version in the same run; target <= 500 (seed dims):');
  for (const r of shapes) {
    console.log(`  ${r.shape.padEnd(7)} ${r.ours.toFixed(0).padStart(6)}   baseline ${r.baseline.toFixed(0).padStart(6)}   ${(r.baseline / r.ours).toFixed(2)}x faster` +
      `   (+ ${r.checkpoint.toFixed(0)} serializing sketches at checkpoints, + ${r.live.toFixed(1)} building live partials at ${LIVE_TICK_MS} ms pushes; all of it ${r.all.toFixed(0)})`);
  }

  // 2. Five minutes at 10,000 events/s in one shard.
  const seed = traffic(start, 'seed', SECONDS);
  console.log(`seed dims, ${SECONDS} s at ${RATE}/s: ${seed.groups} pane groups in ${SECONDS / 10} panes; sketches ${(seed.sketchBytes / 1e6).toFixed(1)} MB in memory, ` +
    `~${(seed.sqliteBytes / 1e6).toFixed(1)} MB as SQLite rows; memory (heap + array buffers) if held in memory ${(seed.memoryBytes / 1e6).toFixed(1)} MB; shard caches ${(seed.cacheMemoryBytes / 1e6).toFixed(1)} MB`);
  const seedRows = seed.minuteRows;
  const seedGroups = seed.groups;
  // 60 s only: five minutes of the wide shape in memory would need gigabytes.
  const wide = traffic(start, 'wide', 60);
  const wideRowsPerMillion = Math.round((wide.minuteRows.length * 1e6) / (60 * RATE));
  console.log(`wide dims, 60 s: ${wide.groups} pane groups; memory growth ${(wide.memoryBytes / 1e6).toFixed(1)} MB`);
  const wideGroups = wide.groups;

  // 3. The same events as ClickHouse rows (seed dims), against raw events.
  const rawSample: RawLandingRow[] = generate(quick ? 20_000 : 200_000, start, 7).map((event) => ({
    kind: 'raw', project_id: 'bench', shard: 0, event_type: event.eventType, event_id: event.eventId, event_time: clickHouseDateTime64(event.timestampMs),
    received_at: clickHouseDateTime64(event.timestampMs + 40), user_id: event.userId, dims: event.dimensions, dims_key: fastDimensionsKey(event.dimensions),
    value: event.value, bot: 0, late: 0, city: '', colo: '', timezone: '', asn: 0,
  }));
  const footprint = await clickHouseFootprint(seedRows, rawSample, events);
  console.log(`ClickHouse per 1M events: rollup ${footprint.rollupRowsPerMillion} rows / ${(footprint.rollupBytesPerMillion / 1e3).toFixed(0)} kB compressed ` +
    `(wide dims: ${wideRowsPerMillion} rows); raw ${footprint.rawRowsPerMillion} rows / ${(footprint.rawBytesPerMillion / 1e6).toFixed(1)} MB compressed`);

  console.log(JSON.stringify({
    bench: 'aggregate',
    ns_per_event: Math.round(nsPerEvent),
    baseline_ns_per_event: Math.round(seedNs.baseline),
    ratio: Math.round((seedNs.baseline / seedNs.ours) * 100) / 100,
    checkpoint_ns_per_event: Math.round(seedNs.checkpoint),
    live_partials_ns_per_event: Math.round(seedNs.live * 10) / 10,
    live_tick_ms: LIVE_TICK_MS,
    all_in_memory_ns_per_event: Math.round(seedNs.all),
    ns_per_event_wide_dims: Math.round(nsPerEventWide),
    baseline_ns_per_event_wide_dims: Math.round(wideNs.baseline),
    ns_per_event_narrow_dims: Math.round(nsPerEventNarrow),
    baseline_ns_per_event_narrow_dims: Math.round(narrowNs.baseline),
    target_ns_per_event: 500,
    events_per_s_one_core: Math.round(1e9 / nsPerEvent),
    do_window_seconds: SECONDS,
    do_events: events,
    do_pane_groups: seedGroups,
    do_pane_groups_wide_dims_60s: wideGroups,
    do_sketch_bytes: seed.sketchBytes,
    do_sqlite_bytes_estimate: seed.sqliteBytes,
    do_memory_bytes_if_panes_in_memory: seed.memoryBytes,
    do_cache_memory_bytes: seed.cacheMemoryBytes,
    do_memory_bytes_wide_dims_60s: wide.memoryBytes,
    hll_precision: USER_SKETCH_PRECISION,
    clickhouse_rollup_rows_per_million: footprint.rollupRowsPerMillion,
    clickhouse_rollup_rows_per_million_wide_dims: wideRowsPerMillion,
    clickhouse_rollup_bytes_per_million: footprint.rollupBytesPerMillion,
    clickhouse_rollup_uncompressed_bytes_per_million: footprint.rollupUncompressedBytesPerMillion,
    clickhouse_raw_rows_per_million: footprint.rawRowsPerMillion,
    clickhouse_raw_bytes_per_million: footprint.rawBytesPerMillion,
    preaggregation_ratio: Math.round(1_000_000 / Math.max(1, footprint.rollupRowsPerMillion)),
    bytes_ratio_raw_to_rollup: Math.round((footprint.rawBytesPerMillion / Math.max(1, footprint.rollupBytesPerMillion)) * 10) / 10,
    quick,
  }));
}

await main();
