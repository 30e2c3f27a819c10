/**
 * The benchmark report: which figures each bench must show and against what
 * target (one declarative map, KNOWN_BENCHES), how a bench's result line is
 * parsed, how runs are merged into benchmarks.json, and how BENCHMARKS.md is
 * rendered from it. Everything here is pure except the small I/O helpers at
 * the bottom (machine, git, atomic file write); scripts/bench.ts drives it.
 *
 * Rules the report keeps:
 * - a figure whose field a bench did not report shows "n/a", never a number
 *   made up here; derived numbers are only ratios/maxima of reported fields;
 * - every row says what machine and when; a machine with <= 2 cores is
 *   labelled "N-core shared machine" (load generator, workerd and ClickHouse
 *   share those cores, and so do other people's processes);
 * - pass/fail only where a target exists; "—" where none does;
 * - a bench without a result (declared or just present in bench/) says
 *   "not run", never disappears;
 * - every row names its commit; when the file merges runs from several
 *   commits the page says so, and rows not from the newest run's commit are
 *   marked "(older commit)".
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------- the map

/** A path into a bench's JSON (`a.b.c`); with several, the first one present wins (old and new field names). */
export type FieldRef = string | readonly string[];

/** What a figure's value is: a field, or the max/min over the numbers of an object or array field. */
export type ValueRef = FieldRef | { readonly maxOf: FieldRef } | { readonly minOf: FieldRef };

/** A target's threshold: a constant, another field of the same result (times a factor), or the HLL RMSE bound 1.1 × 1.04/√(2^p). */
export type TargetValue = number | boolean | { readonly field: FieldRef; readonly times?: number } | { readonly hllBoundFromPrecision: FieldRef };

export interface Target {
  /** The column the target applies to. */
  readonly on: 'value' | 'ratio';
  readonly op: '>=' | '<=' | '==';
  readonly value: TargetValue;
  /** Where the target comes from (issue, brief, seed). */
  readonly source: string;
}

export interface FigureSpec {
  readonly figure: string;
  readonly value: ValueRef;
  readonly unit?: string;
  /** `pct`: a fraction shown as a percentage; `bool`: yes/no. */
  readonly format?: 'pct' | 'bool';
  /** The same quantity for the in-run baseline. */
  readonly baseline?: FieldRef;
  /** What the baseline is, shown next to its value. */
  readonly baselineLabel?: string;
  /** A reported ratio field, or computed from the two reported values. */
  readonly ratio?: FieldRef | 'value/baseline' | 'baseline/value';
  readonly target?: Target;
}

export interface BenchSpec {
  readonly bench: string;
  readonly title: string;
  /** Where the bench is specified. */
  readonly source: string;
  readonly figures: readonly FigureSpec[];
}

/**
 * Known benches, their figures and targets. Field names are the ones each
 * bench prints on its last stdout line; alternatives in arrays cover both the
 * names the issues ask for and the ones a bench prints today.
 */
export const KNOWN_BENCHES: readonly BenchSpec[] = [
  {
    bench: 'ingest',
    title: 'Edge ingest on workerd (real Worker + shard DOs + ClickHouse dev server)',
    source: 'issue 3',
    figures: [
      {
        figure: 'events/s, full Worker (100-event batches)',
        value: 'events_per_s',
        unit: 'events/s',
        baseline: 'baseline_events_per_s',
        baselineLabel: 'hello-world Worker parsing the same body',
        ratio: 'ratio',
        target: { on: 'ratio', op: '>=', value: 0.5, source: 'issue 3' },
      },
      {
        figure: 'workerd CPU per 100-event request, full Worker',
        value: 'workerd_cpu_ms_per_request',
        unit: 'ms',
        baseline: 'baseline_workerd_cpu_ms_per_request',
        baselineLabel: 'hello-world Worker',
        ratio: 'cpu_ratio',
      },
      {
        figure: 'events/s, edge only (shards stubbed)',
        value: 'edge_only_events_per_s',
        unit: 'events/s',
        baseline: 'baseline_events_per_s',
        baselineLabel: 'hello-world Worker',
        ratio: 'edge_only_ratio',
      },
      {
        figure: 'workerd CPU per 100-event request, edge only',
        value: 'edge_only_workerd_cpu_ms_per_request',
        unit: 'ms',
        baseline: 'baseline_workerd_cpu_ms_per_request',
        baselineLabel: 'hello-world Worker',
        ratio: 'edge_only_cpu_ratio',
      },
      { figure: 'request latency p99, full Worker', value: 'p99_ms', unit: 'ms', baseline: 'baseline_p99_ms', baselineLabel: 'hello-world Worker', ratio: 'baseline/value' },
      {
        figure: 'events/s, full Worker, SDK-shaped batches (one visitor: one shard per request)',
        value: 'sdk_events_per_s',
        unit: 'events/s',
        baseline: 'sdk_baseline_events_per_s',
        baselineLabel: 'hello-world Worker parsing the same body',
        ratio: 'sdk_ratio',
      },
      {
        figure: 'workerd CPU per 100-event request, full Worker, SDK-shaped batches',
        value: 'sdk_workerd_cpu_ms_per_request',
        unit: 'ms',
        baseline: 'sdk_baseline_workerd_cpu_ms_per_request',
        baselineLabel: 'hello-world Worker',
        ratio: 'sdk_cpu_ratio',
      },
      { figure: 'validation + enrichment in workerd, server key', value: 'validate_enrich_ns_per_event', unit: 'ns/event' },
      { figure: 'validation + enrichment in workerd, browser key (UA, geo, visitor id)', value: 'validate_enrich_public_ns_per_event', unit: 'ns/event' },
      { figure: 'shard SQLite rows written per event (tables + indexes, write-behind)', value: 'rows_written_per_event', unit: 'rows' },
    ],
  },
  {
    bench: 'enrich',
    title: 'Validation and enrichment cost per event (pure modules in Node)',
    source: 'issue 3',
    figures: [
      { figure: 'validateEvent', value: 'validate_ns_per_event', unit: 'ns/event' },
      { figure: 'enrichment, 1 event/request (worst case)', value: 'enrich_ns_per_event', unit: 'ns/event' },
      { figure: 'enrichment, 10 events/request', value: 'enrich_batch10_ns_per_event', unit: 'ns/event' },
      { figure: 'visitor id (HMAC-SHA256) per request', value: 'visitor_id_us', unit: 'µs' },
    ],
  },
  {
    bench: 'aggregate',
    title: 'Shard aggregation core (pure module in Node) and ClickHouse footprint',
    source: 'issue 4',
    figures: [
      {
        figure: "the shard's in-memory path: governance, key, pane row update + HLL add (collectBatch + PaneCache.applyBatch; checkpoint serialization and live partials apart)",
        value: 'ns_per_event',
        unit: 'ns/event',
        baseline: 'baseline_ns_per_event',
        baselineLabel: 'the straightforward version (key string per event)',
        ratio: 'baseline/value',
        target: { on: 'value', op: '<=', value: 500, source: 'issue 4' },
      },
      { figure: 'checkpoint sketch serialization (amortized)', value: 'checkpoint_ns_per_event', unit: 'ns/event' },
      { figure: 'live partials built at the live pushes (one per changed group per tick, amortized)', value: 'live_partials_ns_per_event', unit: 'ns/event' },
      { figure: "all of the shard's in-memory work per event (the path above, checkpoint serialization, live partials)", value: 'all_in_memory_ns_per_event', unit: 'ns/event' },
      {
        figure: "the shard's in-memory path, wide dimensions",
        value: 'ns_per_event_wide_dims',
        unit: 'ns/event',
        baseline: 'baseline_ns_per_event_wide_dims',
        baselineLabel: 'the straightforward version',
        ratio: 'baseline/value',
      },
      { figure: 'seconds of 10,000 events/s traffic behind the DO memory figures', value: 'do_window_seconds', unit: 's', target: { on: 'value', op: '>=', value: 300, source: 'issue 4: 5 minutes of panes' } },
      { figure: 'DO memory (JS heap + array buffers) if all those panes were in memory', value: 'do_memory_bytes_if_panes_in_memory', unit: 'bytes' },
      { figure: 'DO SQLite bytes for those panes (estimate)', value: 'do_sqlite_bytes_estimate', unit: 'bytes' },
      { figure: 'DO in-memory caches (admitted values, governed-key cache; heap + array buffers)', value: 'do_cache_memory_bytes', unit: 'bytes' },
      { figure: 'ClickHouse rollup rows per million events', value: 'clickhouse_rollup_rows_per_million', unit: 'rows', baseline: 'clickhouse_raw_rows_per_million', baselineLabel: 'raw events table', ratio: 'baseline/value' },
      { figure: 'ClickHouse rollup bytes per million events (compressed)', value: 'clickhouse_rollup_bytes_per_million', unit: 'bytes', baseline: 'clickhouse_raw_bytes_per_million', baselineLabel: 'raw events table', ratio: 'baseline/value' },
      { figure: 'pre-aggregation ratio (events per rollup row)', value: 'preaggregation_ratio' },
    ],
  },
  {
    bench: 'hll',
    title: 'HyperLogLog speed and accuracy, p = 14 (pure module in Node), and against ClickHouse uniqExact / uniqCombined on the same strings',
    source: 'issue 4',
    figures: [
      {
        figure: 'add(string)',
        value: ['adds_per_s', 'addsPerSec'],
        unit: 'adds/s',
        baseline: ['baseline_set_adds_per_s', 'baselineSetAddsPerSec'],
        baselineLabel: 'Set<string>.add on the same strings',
        ratio: 'ratio',
        target: { on: 'value', op: '>=', value: 5e6, source: 'issue 4' },
      },
      { figure: 'addHash (prehashed)', value: ['add_hash_per_s', 'addHashPerSec'], unit: 'adds/s', baseline: ['baseline_set_adds_per_s', 'baselineSetAddsPerSec'], baselineLabel: 'Set<string>.add', ratio: 'ratioPrehashed' },
      {
        figure: 'RMSE, worst over n = 1 … 10^7',
        value: { maxOf: 'rmse' },
        format: 'pct',
        target: { on: 'value', op: '<=', value: { hllBoundFromPrecision: 'precision' }, source: 'issue 4: 1.1 × 1.04/√m' },
      },
      { figure: 'RMSE at n = 10^6', value: 'rmse.1000000', format: 'pct', target: { on: 'value', op: '<=', value: { hllBoundFromPrecision: 'precision' }, source: 'issue 4' } },
      { figure: 'RMSE at n = 10^7', value: 'rmse.10000000', format: 'pct', target: { on: 'value', op: '<=', value: { hllBoundFromPrecision: 'precision' }, source: 'issue 4' } },
      { figure: 'worst single estimate, in standard errors', value: 'maxAbsErrorInSE', unit: 'SE', target: { on: 'value', op: '<=', value: 4, source: 'issue 4' } },
      { figure: 'mean error statistically zero (no bias)', value: 'accuracyOk.bias', format: 'bool', target: { on: 'value', op: '==', value: true, source: 'issue 4' } },
      { figure: 'sets of <= 100 counted exactly or within 1', value: ['small_sets_within_1', 'accuracyOk.small'], format: 'bool', target: { on: 'value', op: '==', value: true, source: 'issue 4' } },
      {
        figure: 'RMS relative error vs uniqExact, same strings as ClickHouse, worst over n = 10 … 10^7, ours p = 14',
        value: 'rms_rel_error',
        format: 'pct',
        baseline: 'clickhouse_uniqCombined_rms_rel_error',
        baselineLabel: 'ClickHouse uniqCombined (default, 2^17 cells)',
        ratio: 'baseline/value',
      },
      {
        figure: 'RMS relative error vs uniqExact, same strings, worst over n, ours p = 12 (rollup precision)',
        value: 'rms_rel_error_p12',
        format: 'pct',
        baseline: 'clickhouse_uniqCombined12_rms_rel_error',
        baselineLabel: 'ClickHouse uniqCombined(12)',
        ratio: 'baseline/value',
      },
      { figure: 'sketch registers merged with maxMap in SQL estimate exactly like the sketch', value: 'maxmap_roundtrip_exact', format: 'bool', target: { on: 'value', op: '==', value: true, source: 'issue 4' } },
    ],
  },
  {
    bench: 'validation',
    title: 'Event validation: the hand-written validator vs zod 4 and valibot 1 on the same events (pure modules in Node)',
    source: 'issue 3, validation choice',
    figures: [
      {
        figure: 'validateEvent (vs valibot)',
        value: 'ns_per_event',
        unit: 'ns/event',
        baseline: 'baseline_valibot_ns_per_event',
        baselineLabel: 'valibot 1 schema',
        ratio: 'ratio',
      },
      { figure: 'validateEvent (vs zod)', value: 'ns_per_event', unit: 'ns/event', baseline: 'zod_ns_per_event', baselineLabel: 'zod 4 schema', ratio: 'baseline/value' },
      { figure: 'validator bundle, min + gzip (vs valibot)', value: 'bundle_gzip_bytes', unit: 'bytes', baseline: 'valibot_bundle_gzip_bytes', baselineLabel: 'valibot 1 schema', ratio: 'baseline/value' },
      { figure: 'validator bundle, min + gzip (vs zod)', value: 'bundle_gzip_bytes', unit: 'bytes', baseline: 'zod_bundle_gzip_bytes', baselineLabel: 'zod 4 schema', ratio: 'baseline/value' },
    ],
  },
  {
    bench: 'rpc',
    title: 'Durable Object call: native RPC vs itty-durable vs fetch (workerd)',
    source: 'issue 3 and the brief',
    figures: [
      {
        figure: 'ms per call, 100-event batch, native RPC (vs itty-durable)',
        value: 'native_rpc_ms_per_call_100',
        unit: 'ms',
        baseline: 'itty_durable_ms_per_call_100',
        baselineLabel: 'itty-durable',
        ratio: 'ratio_itty_100',
        target: { on: 'ratio', op: '>=', value: 1, source: 'brief: native RPC unless a measurement says otherwise (ratio = itty / native, > 1: native faster)' },
      },
      { figure: 'ms per call, 1,000-event batch, native RPC (vs itty-durable)', value: 'native_rpc_ms_per_call_1000', unit: 'ms', baseline: 'itty_durable_ms_per_call_1000', baselineLabel: 'itty-durable', ratio: 'ratio_itty_1000' },
      { figure: 'ms per call, 100-event batch, native RPC (vs stub.fetch)', value: 'native_rpc_ms_per_call_100', unit: 'ms', baseline: 'fetch_json_ms_per_call_100', baselineLabel: 'stub.fetch with a JSON body', ratio: 'ratio_fetch_100' },
      { figure: 'calls/s, 100-event batch, 16 in flight, native RPC (vs itty-durable)', value: 'native_rpc_calls_per_s_100_c16', unit: 'calls/s', baseline: 'itty_durable_calls_per_s_100_c16', baselineLabel: 'itty-durable', ratio: 'value/baseline' },
    ],
  },
  {
    bench: 'query',
    title: 'Query API: 24 h × 1-minute series and a breakdown over 30 days of rollups',
    source: 'issue 6',
    figures: [
      { figure: 'series p50', value: 'p50_ms', unit: 'ms' },
      { figure: 'series p99', value: 'p99_ms', unit: 'ms', target: { on: 'value', op: '<=', value: 100, source: 'issue 6 (seed bar: 500 ms)' } },
      { figure: 'series p99 vs the pre-0002 SQL sent straight to ClickHouse', value: 'direct_p99_ms', unit: 'ms', baseline: 'legacy_p99_ms', baselineLabel: 'pre-0002 SQL, same server, same rounds', ratio: 'baseline/value' },
      { figure: 'breakdown p99', value: 'breakdown_p99_ms', unit: 'ms', target: { on: 'value', op: '<=', value: 100, source: 'issue 6' } },
      { figure: 'breakdown p99 vs the pre-0002 SQL sent straight to ClickHouse', value: 'direct_breakdown_p99_ms', unit: 'ms', baseline: 'legacy_breakdown_p99_ms', baselineLabel: 'pre-0002 SQL', ratio: 'baseline/value' },
      { figure: 'unique users over 24 h (merged sketches) p99', value: 'uniques_p99_ms', unit: 'ms', target: { on: 'value', op: '<=', value: 500, source: 'seed bar' } },
    ],
  },
  {
    bench: 'dedup',
    title: 'Dedup by event id: false drops of the 64-bit hash set, measured and modelled',
    source: 'issue 3.6',
    figures: [
      { figure: 'false drops among distinct ids (64-bit hashes)', value: 'direct_false_drops', unit: 'events', target: { on: 'value', op: '<=', value: 0, source: 'issue 3.6' } },
      { figure: 'false-drop rate at 10^7 ids in the horizon (model checked at 16-24 bits)', value: 'false_drop_rate_64bit_at_1e7', target: { on: 'value', op: '<=', value: 0.0001, source: 'issue 3.6' } },
      { figure: 'memory per id in the horizon', value: 'bytes_per_id', unit: 'bytes' },
      { figure: 'hash + add', value: 'ns_per_add', unit: 'ns' },
    ],
  },
  {
    bench: 'fanout',
    title: 'Live fan-out: event → viewer latency through broadcast and relays',
    source: 'issue 5',
    figures: [
      { figure: 'concurrent viewers', value: 'viewers', target: { on: 'value', op: '>=', value: 1000, source: 'issue 5' } },
      { figure: 'tick', value: 'tick_ms', unit: 'ms' },
      { figure: 'event → viewer latency p50', value: 'p50_ms', unit: 'ms' },
      { figure: 'event → viewer latency p99', value: 'p99_ms', unit: 'ms', target: { on: 'value', op: '<=', value: 1000, source: 'issue 5 (seed: on the dashboard in under a second)' } },
      { figure: 'deltas delivered', value: 'deltas_per_s', unit: 'deltas/s' },
      { figure: 'hop: edge → root emit, p99', value: 'hops.edge_to_root_emit.p99_ms', unit: 'ms' },
      { figure: 'hop: root emit → viewer, p99', value: 'hops.root_emit_to_viewer.p99_ms', unit: 'ms' },
      { figure: 'DO isolate heap per viewer', value: 'isolate_heap_per_viewer_bytes', unit: 'bytes' },
      { figure: 'workerd RSS per viewer (sockets, permessage-deflate contexts)', value: 'memory_per_viewer_kib', unit: 'KiB' },
    ],
  },
];

export function specFor(bench: string): BenchSpec | undefined {
  return KNOWN_BENCHES.find((s) => s.bench === bench);
}

// ------------------------------------------------------------ file format

export interface MachineInfo {
  cpus: number;
  model: string;
  mem_gib: number;
  node: string;
  platform: string;
  /** "2-core shared machine" and the like. */
  label: string;
  loadavg_1m: number;
}

export interface GitInfo {
  commit: string | null;
  /** Files with uncommitted changes when the bench ran. */
  dirty_files: number | null;
}

export interface RunRecord {
  bench: string;
  status: 'ok' | 'failed';
  /** Why it failed: exit code, signal, or a result line that was not a JSON object. */
  error: string | null;
  exit_code: number | null;
  signal: string | null;
  args: string[];
  started_at: string;
  finished_at: string;
  duration_s: number;
  machine: MachineInfo;
  git: GitInfo;
  /** The bench's last stdout line, parsed; null when there was none. */
  result: Record<string, unknown> | null;
}

export interface BenchFile {
  schema: 1;
  generator: string;
  updated_at: string;
  /** One entry per bench, its latest run; a subset run replaces only its own entries. */
  runs: Record<string, RunRecord>;
}

export function emptyBenchFile(now: string): BenchFile {
  return { schema: 1, generator: 'scripts/bench.ts', updated_at: now, runs: {} };
}

/** Validates the shape of a parsed benchmarks.json (throws with a reason). */
export function parseBenchFile(text: string): BenchFile {
  const parsed = JSON.parse(text) as unknown;
  if (!isObject(parsed) || parsed.schema !== 1 || !isObject(parsed.runs)) throw new Error('not a benchmarks.json of schema 1 (expected { schema: 1, runs: {...} })');
  for (const [name, run] of Object.entries(parsed.runs)) {
    if (!isObject(run) || run.bench !== name || (run.status !== 'ok' && run.status !== 'failed')) throw new Error(`runs.${name} is malformed`);
  }
  return parsed as unknown as BenchFile;
}

/**
 * A subset run replaces its benches' entries and keeps the others; a full
 * run (`replaceAll`) keeps only what it ran, so a deleted bench disappears.
 */
export function mergeRuns(existing: BenchFile | null, runs: readonly RunRecord[], now: string, replaceAll: boolean): BenchFile {
  const base = replaceAll || existing === null ? emptyBenchFile(now) : existing;
  const merged: Record<string, RunRecord> = { ...base.runs };
  for (const run of runs) merged[run.bench] = run;
  return { schema: 1, generator: 'scripts/bench.ts', updated_at: now, runs: merged };
}

/** The JSON object on the last non-empty line of a bench's stdout. */
export function parseResultLine(stdout: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  if (last === undefined) return { ok: false, error: 'no output on stdout' };
  let value: unknown;
  try {
    value = JSON.parse(last);
  } catch {
    return { ok: false, error: `last stdout line is not JSON: ${last.slice(0, 120)}` };
  }
  if (!isObject(value)) return { ok: false, error: 'last stdout line is JSON but not an object' };
  return { ok: true, value };
}

export interface Invocation {
  names: string[];
  benchArgs: string[];
  reportOnly: boolean;
  save: boolean;
}

/**
 * The runner's command line. Names first, then options: runner flags
 * (`--report-only`, `--no-save`) are recognised before a literal `--`;
 * everything after `--` goes to the benches, and so does everything from the
 * first other option on (`bench -- ingest --concurrency 8,32` passes `8,32`).
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  const inv: Invocation = { names: [], benchArgs: [], reportOnly: false, save: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      inv.benchArgs.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--report-only') inv.reportOnly = true;
    else if (arg === '--no-save') inv.save = false;
    else if (arg.startsWith('-')) {
      inv.benchArgs.push(...argv.slice(i));
      break;
    } else inv.names.push(arg.endsWith('.ts') ? arg.slice(0, -3) : arg);
  }
  return inv;
}

export function machineLabel(cpus: number): string {
  return cpus <= 2 ? `${cpus}-core shared machine` : `${cpus}-core machine`;
}

// ------------------------------------------------------------- evaluation

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The value at a dotted path, or undefined. */
export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!isObject(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** The first of the fields that is present (null counts as absent: benches write null for "not measured"). */
export function resolveField(obj: unknown, ref: FieldRef): { field: string; value: unknown } | null {
  for (const field of typeof ref === 'string' ? [ref] : ref) {
    const value = getPath(obj, field);
    if (value !== undefined && value !== null) return { field, value };
  }
  return null;
}

function fieldNames(ref: FieldRef): string {
  return (typeof ref === 'string' ? [ref] : [...ref]).join(' | ');
}

export function describeValueRef(ref: ValueRef): string {
  if (typeof ref === 'object' && 'maxOf' in ref) return `max of ${fieldNames(ref.maxOf)}`;
  if (typeof ref === 'object' && 'minOf' in ref) return `min of ${fieldNames(ref.minOf)}`;
  return fieldNames(ref);
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** A figure's value: a finite number, a boolean, or null when the bench did not report it. */
export function resolveValue(obj: unknown, ref: ValueRef): number | boolean | null {
  if (typeof ref === 'object' && ('maxOf' in ref || 'minOf' in ref)) {
    const inner = 'maxOf' in ref ? ref.maxOf : ref.minOf;
    const found = resolveField(obj, inner);
    if (found === null) return null;
    const values = (Array.isArray(found.value) ? found.value : isObject(found.value) ? Object.values(found.value) : []).filter(finite);
    if (values.length === 0) return null;
    return 'maxOf' in ref ? Math.max(...values) : Math.min(...values);
  }
  const found = resolveField(obj, ref as FieldRef);
  if (found === null) return null;
  return finite(found.value) || typeof found.value === 'boolean' ? found.value : null;
}

export function resolveTarget(obj: unknown, value: TargetValue): number | boolean | null {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if ('hllBoundFromPrecision' in value) {
    const p = resolveValue(obj, value.hllBoundFromPrecision);
    return typeof p === 'number' && p >= 4 && p <= 18 ? (1.1 * 1.04) / Math.sqrt(2 ** p) : null;
  }
  const v = resolveValue(obj, value.field);
  return typeof v === 'number' ? v * (value.times ?? 1) : null;
}

export type Verdict = 'pass' | 'FAIL' | 'n/a' | '—';

export interface EvaluatedFigure {
  figure: string;
  value: number | boolean | null;
  baseline: number | boolean | null;
  ratio: number | null;
  target: number | boolean | null;
  verdict: Verdict;
}

export function evaluateFigure(spec: FigureSpec, result: Record<string, unknown> | null): EvaluatedFigure {
  const value = result === null ? null : resolveValue(result, spec.value);
  const baseline = result === null || spec.baseline === undefined ? null : resolveValue(result, spec.baseline);
  let ratio: number | null = null;
  if (spec.ratio === 'value/baseline' || spec.ratio === 'baseline/value') {
    const [a, b] = spec.ratio === 'value/baseline' ? [value, baseline] : [baseline, value];
    ratio = typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null;
  } else if (spec.ratio !== undefined && result !== null) {
    const r = resolveValue(result, spec.ratio);
    ratio = typeof r === 'number' ? r : null;
  }
  let target: number | boolean | null = null;
  let verdict: Verdict = '—';
  if (spec.target !== undefined) {
    target = result === null ? null : resolveTarget(result, spec.target.value);
    const subject = spec.target.on === 'ratio' ? ratio : value;
    verdict = subject === null || target === null ? 'n/a' : compare(subject, spec.target.op, target) ? 'pass' : 'FAIL';
  }
  return { figure: spec.figure, value, baseline, ratio, target, verdict };
}

function compare(a: number | boolean, op: Target['op'], b: number | boolean): boolean {
  if (op === '==') return a === b;
  if (typeof a !== 'number' || typeof b !== 'number') return false;
  return op === '>=' ? a >= b : a <= b;
}

// ------------------------------------------------------------- formatting

/** 4 significant digits, thousands separators from 1,000 up; never exponent notation below 1e15. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs === 0) return '0';
  return String(Number(x.toPrecision(4)));
}

export function formatValue(x: number | boolean | null, spec: Pick<FigureSpec, 'unit' | 'format'>): string {
  if (x === null) return 'n/a';
  if (typeof x === 'boolean' || spec.format === 'bool') return x === true ? 'yes' : x === false ? 'no' : String(x);
  if (spec.format === 'pct') return `${formatNumber(x * 100)}%`;
  return spec.unit !== undefined ? `${formatNumber(x)} ${spec.unit}` : formatNumber(x);
}

function formatTarget(spec: FigureSpec, target: number | boolean | null): string {
  if (spec.target === undefined) return '—';
  const t = spec.target;
  const subject = t.on === 'ratio' ? 'ratio ' : '';
  const sym = t.op === '>=' ? '≥' : t.op === '<=' ? '≤' : '=';
  let shown: string;
  if (target === null) shown = typeof t.value === 'object' && 'hllBoundFromPrecision' in t.value ? '1.1 × 1.04/√m (n/a: no precision)' : 'n/a';
  else if (t.on === 'ratio') shown = typeof target === 'number' ? formatNumber(target) : String(target);
  else shown = formatValue(target, spec);
  return `${subject}${sym} ${shown}`;
}

function formatRatio(r: number | null): string {
  return r === null ? '—' : `${formatNumber(r)}×`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function formatMachine(m: MachineInfo | undefined): string {
  if (m === undefined) return 'n/a';
  return `${m.cpus} × ${m.model}, ${m.label}`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

// ---------------------------------------------------------------- report

export interface ReportRow {
  bench: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict | 'failed' | 'not run';
  machine: string;
  date: string;
  /** The commit the row was measured at, flagged when it is not the newest run's commit. */
  commit: string;
}

/** Short commit of a run, with its uncommitted-file count. */
function formatCommit(git: GitInfo): string {
  if (git.commit === null) return 'n/a';
  return `${git.commit.slice(0, 7)}${git.dirty_files !== null && git.dirty_files > 0 ? ` + ${git.dirty_files} uncommitted files` : ''}`;
}

/** The commit of the most recently finished run: rows from any other commit are not part of "this run". */
export function newestCommit(file: BenchFile): string | null {
  let newest: RunRecord | null = null;
  for (const run of Object.values(file.runs)) {
    if (run.git.commit === null) continue;
    if (newest === null || run.finished_at > newest.finished_at) newest = run;
  }
  return newest?.git.commit ?? null;
}

/** Distinct commits the file's runs were measured at (unknown commits count as one). */
export function commitsOf(file: BenchFile): string[] {
  return [...new Set(Object.values(file.runs).map((run) => run.git.commit ?? 'unknown'))];
}

function commitCell(run: RunRecord, newest: string | null): string {
  const shown = formatCommit(run.git);
  return newest !== null && run.git.commit !== newest ? `${shown} (older commit)` : shown;
}

/**
 * One row per declared figure of each known bench (in map order), then one
 * row per bench that ran but declares no figures. `available` lists the bench
 * files that exist, to tell "not run yet" from "no bench file yet".
 */
export function reportRows(file: BenchFile, available: readonly string[]): ReportRow[] {
  const rows: ReportRow[] = [];
  const newest = newestCommit(file);
  const notRun = (bench: string, why: string): ReportRow => ({
    bench, figure: `(${why})`, value: 'not run', baseline: '—', ratio: '—', target: '—', verdict: 'not run', machine: '—', date: '—', commit: '—',
  });
  for (const spec of KNOWN_BENCHES) {
    const run = file.runs[spec.bench];
    if (run === undefined) {
      rows.push(notRun(spec.bench, available.includes(spec.bench) ? 'not run yet' : `no bench/${spec.bench}.ts yet`));
      continue;
    }
    const machine = formatMachine(run.machine);
    const date = formatDate(run.finished_at);
    const commit = commitCell(run, newest);
    const quick = run.result?.quick === true ? ' *(quick run)*' : '';
    for (const fig of spec.figures) {
      const e = evaluateFigure(fig, run.status === 'ok' ? run.result : null);
      const baseline = fig.baseline === undefined ? '—' : `${formatValue(e.baseline, fig)}${fig.baselineLabel !== undefined ? ` (${fig.baselineLabel})` : ''}`;
      rows.push({
        bench: spec.bench,
        figure: `${fig.figure}${quick}`,
        value: formatValue(e.value, fig),
        baseline,
        ratio: formatRatio(e.ratio),
        target: formatTarget(fig, e.target),
        verdict: run.status === 'failed' ? 'failed' : e.verdict,
        machine,
        date,
        commit,
      });
    }
  }
  for (const [name, run] of Object.entries(file.runs).sort(([a], [b]) => a.localeCompare(b))) {
    if (specFor(name) !== undefined) continue;
    rows.push({
      bench: name,
      figure: '(no figures declared in scripts/bench-report.ts; raw result in benchmarks.json)',
      value: '—',
      baseline: '—',
      ratio: '—',
      target: '—',
      verdict: run.status === 'failed' ? 'failed' : '—',
      machine: formatMachine(run.machine),
      date: formatDate(run.finished_at),
      commit: commitCell(run, newest),
    });
  }
  // Bench files nobody declared and nobody ran still get a row: absent is not the same as fine.
  for (const name of [...available].sort()) {
    if (specFor(name) === undefined && file.runs[name] === undefined) rows.push(notRun(name, 'not run yet; no figures declared'));
  }
  return rows;
}

export function renderMarkdown(file: BenchFile, available: readonly string[]): string {
  const rows = reportRows(file, available);
  const runs = Object.values(file.runs).sort((a, b) => a.bench.localeCompare(b.bench));
  const machines = [...new Set(runs.map((r) => formatMachine(r.machine)))];
  const counts = { pass: 0, FAIL: 0, 'n/a': 0 };
  for (const r of rows) if (r.verdict === 'pass' || r.verdict === 'FAIL' || r.verdict === 'n/a') counts[r.verdict]++;
  const notRun = [...new Set([...KNOWN_BENCHES.map((s) => s.bench), ...available])].filter((bench) => file.runs[bench] === undefined);
  const commits = commitsOf(file);
  const newest = newestCommit(file);
  const failedRuns = runs.filter((r) => r.status === 'failed').map((r) => r.bench);
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push('<!-- Generated by scripts/bench.ts from benchmarks.json; do not edit by hand. -->');
  out.push('');
  out.push(
    '`npm run bench` runs every benchmark and rewrites this file and [`benchmarks.json`](benchmarks.json) (every raw result plus metadata); ' +
      '`npm run bench -- ingest hll` runs a subset and merges it in; `npm run bench -- --report-only` regenerates this page from `benchmarks.json`. ' +
      'Targets come from the issues; a figure a bench did not report reads "n/a", never an estimate. ' +
      'Baselines are measured in the same run as the figure they are compared with; the ratio is oriented so that > 1 means better than the baseline ' +
      '(throughput: value / baseline; time, CPU, error and size: baseline / value), and where a bench prints its own ratio field that field is used.',
  );
  out.push('');
  out.push(
    `Targets met: **${counts.pass}**, missed: **${counts.FAIL}**, not measurable (field missing): **${counts['n/a']}**` +
      `; benches failed: ${failedRuns.length > 0 ? `**${failedRuns.join(', ')}**` : 'none'}` +
      `; not run: ${notRun.length > 0 ? notRun.join(', ') : 'none'}; last update ${formatDate(file.updated_at)}.`,
  );
  out.push('');
  if (runs.some((r) => r.machine.cpus <= 2)) {
    out.push(
      '> **Measured on a small shared machine.** On a 2-core machine the load generator, workerd and the ClickHouse dev server share the two cores with each other ' +
        'and with whatever else runs there (the load average at each bench\'s start is listed below). Local workerd applies no CPU limits and runs every ' +
        'Worker and Durable Object in one process, so workerd figures are relative measurements on this machine, not production capacity. ' +
        'Pure-Node figures (HLL, aggregation, enrichment) are single-core figures and travel better.',
    );
    out.push('');
  }
  if (commits.length > 1) {
    const olderBenches = runs.filter((r) => r.git.commit !== newest).map((r) => r.bench);
    out.push(
      `> **Not one run.** These rows merge runs measured at ${commits.length} different commits; the newest run's commit is ` +
        `${newest === null ? 'unknown' : newest.slice(0, 7)}. Rows marked *(older commit)* (${olderBenches.join(', ')}) were measured on older code ` +
        'and are not comparable with the rest as one run; `npm run bench` (every bench, one commit) rewrites the page from a single run.',
    );
    out.push('');
  }
  out.push(`Machines: ${machines.length > 0 ? machines.join('; ') : 'none yet'}.`);
  out.push('');
  out.push('| bench | figure | value | baseline (same run) | ratio | target | result | machine | date | commit |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const verdict = r.verdict === 'FAIL' ? '**FAIL**' : r.verdict === 'failed' ? '**bench failed**' : r.verdict;
    out.push(`| ${[r.bench, r.figure, r.value, r.baseline, r.ratio, r.target, verdict, r.machine, r.date, r.commit].map(cell).join(' | ')} |`);
  }
  out.push('');
  out.push('## Runs');
  out.push('');
  out.push('| bench | status | duration | arguments | commit | load avg at start | Node | date |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const run of runs) {
    const status = run.status === 'ok' ? 'ok' : `failed: ${run.error ?? 'unknown'}`;
    const commit = commitCell(run, newest);
    out.push(
      `| ${[run.bench, status, `${formatNumber(run.duration_s)} s`, run.args.length > 0 ? `\`${run.args.join(' ')}\`` : '—', commit, formatNumber(run.machine.loadavg_1m), run.machine.node, formatDate(run.finished_at)].map(cell).join(' | ')} |`,
    );
  }
  out.push('');
  out.push('## Where each figure comes from');
  out.push('');
  out.push('Fields of each bench\'s last stdout line (alternatives separated by `|`: the first present is used).');
  out.push('');
  for (const spec of KNOWN_BENCHES) {
    out.push(`- **${spec.bench}** (${spec.source}): ${spec.title}.`);
    for (const fig of spec.figures) {
      const parts = [`value \`${describeValueRef(fig.value)}\``];
      if (fig.baseline !== undefined) parts.push(`baseline \`${fieldNames(fig.baseline)}\``);
      if (fig.ratio !== undefined) parts.push(`ratio \`${typeof fig.ratio === 'string' && fig.ratio.includes('/') ? fig.ratio : fieldNames(fig.ratio)}\``);
      if (fig.target !== undefined) parts.push(`target from ${fig.target.source}`);
      out.push(`  - ${fig.figure}: ${parts.join(', ')}`);
    }
  }
  out.push('');
  return out.join('\n');
}

// --------------------------------------------------------- I/O helpers

export function currentMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    mem_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    label: machineLabel(cpus.length),
    loadavg_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function currentGit(root: string): GitInfo {
  const run = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
    return r.status === 0 ? r.stdout : null;
  };
  const commit = run(['rev-parse', 'HEAD'])?.trim() ?? null;
  const status = run(['status', '--porcelain', '--untracked-files=no']);
  return { commit: commit === '' ? null : commit, dirty_files: status === null ? null : status.split('\n').filter((l) => l.trim() !== '').length };
}

/** Reads benchmarks.json; null when it does not exist. Throws on a malformed file. */
export function readBenchFile(file: string): BenchFile | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseBenchFile(text);
}

/** Write to a temp file and rename, so a reader never sees half a file. */
export function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
