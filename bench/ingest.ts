/**
 * Ingest throughput of the real edge Worker on workerd, against a hello-world
 * baseline in the same run.
 *
 *   npm run bench -- ingest                       (~2 minutes)
 *   npm run bench -- ingest -- --quick            (smoke run, ~30 s)
 *   npm run bench -- ingest -- --concurrency 8,32 --duration 15 --shards 16
 *   npm run bench -- ingest -- --worker-root <dir>   (another checkout, e.g. a `git archive` of a commit)
 *   npm run bench -- ingest -- --profile          (adds a CPU profile of the Worker's isolate; diagnosis only)
 *   npm run bench -- ingest -- --profile --profile-target edge_only   (profile the edge-only copy instead)
 *   npm run bench -- ingest -- --storage tmpfs    (Durable Object SQLite on tmpfs instead of disk)
 *   npm run bench -- ingest -- --clickhouse-url http://127.0.0.1:8123   (an existing, migrated ClickHouse)
 *   npm run bench -- ingest -- --lateness toml    (keep wrangler.toml's ALLOWED_LATENESS_SECONDS; default 10 s)
 *   npm run bench -- ingest -- --users-per-batch 1   (browser-SDK-like batches: one visitor, so one shard;
 *                                                 default 0: each event its own user, a server-side batch)
 *
 * Setup (all torn down at the end, also on failure, timeout or Ctrl-C):
 * - the Worker bundled exactly as deployed (`wrangler deploy --dry-run`);
 * - workerd driven through Miniflare's API, no `wrangler dev` proxy in front,
 *   with wrangler.toml's bindings (read by wrangler itself): SQLite-backed
 *   ShardAggregator, Broadcast and ProjectRegistry, the vars, ADMIN_TOKEN,
 *   and the rate limiter raised so it never limits (its call still runs);
 *   static assets are left out: only /v1/* is driven, which never reaches
 *   the asset server; request.cf is a fixed, realistic object;
 * - a ClickHouse dev server child process on a temp data dir, migrated, so
 *   shard alarms really flush to ClickHouse while the load runs (with
 *   ALLOWED_LATENESS_SECONDS lowered to 10 s so windows close within a run,
 *   as they continuously do in steady state);
 * - the baseline (bench/fixtures/baseline-worker.js) in the same workerd,
 *   behind the same socket and entry worker: it reads and JSON.parses the
 *   same body and answers 202 with the same shape;
 * - "edge only": the same Worker bundle once more, with SHARD_AGGREGATOR
 *   bound to a no-op stub (bench/fixtures/stub-shard-worker.js). Locally the
 *   edge and every Durable Object share one workerd (one thread), while on
 *   Cloudflare the shards run elsewhere; this target separates the edge's own
 *   cost (auth, body, validation, enrichment, sharding, the RPCs' argument
 *   serialization) from the shards'.
 * - "validate + enrich": bench/fixtures/validate-enrich-worker.ts in the same
 *   workerd runs the edge's validation and enrichment calls over the same
 *   bodies many times per request; workerd's CPU time around those requests,
 *   minus requests that only parse, divided by the events, is the
 *   validation + enrichment cost per event (for the bench's server-key
 *   batches and for browser-key batches with UA, cf geo and a visitor id).
 *
 * Load: `concurrency` closed client loops in this Node process (undici, keep-
 * alive), each POSTing 100-event batches (several event types, dimensions and
 * users; unique eventIds so dedup never short-circuits) for a fixed time after
 * a warm-up; the targets take turns at each concurrency level, in rotating
 * order. Reported per level and target: events/s and requests/s (accepted
 * events only), latency percentiles, workerd CPU per request, and how much CPU
 * other processes on the machine used meanwhile (a shared machine skews
 * throughput; CPU per request is the steadier figure). The headline is the
 * level where the full Worker did best; `ratio` = its events/s over the
 * baseline's best events/s (target >= 0.5).
 *
 * The last stdout line is one JSON object.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyMigrations } from '../scripts/migrate.ts';
import { spawnClickHouseDevServer } from '../scripts/lib/spawn-clickhouse.ts';
import { bundleFixture, bundleRealWorker, ROOT } from './lib/bundle.ts';
import { onCleanup, runBench, tempDir } from './lib/cleanup.ts';
import { makeBatchFactory } from './lib/events.ts';
import { runLoad, type LoadResult, type Target } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { startMiniflare } from './lib/miniflare.ts';
import { startCpuProfile, type ProfileSummary } from './lib/profile.ts';
import { cpuSeconds } from './lib/proc.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    batch: { type: 'string', default: '100' },
    shards: { type: 'string' },
    lateness: { type: 'string', default: '10' },
    'users-per-batch': { type: 'string', default: '0' },
    'clickhouse-url': { type: 'string' },
    'worker-root': { type: 'string' },
    storage: { type: 'string', default: 'disk' },
    profile: { type: 'boolean', default: false },
    'profile-target': { type: 'string', default: 'worker' },
  },
});
const quick = flags.quick === true;
const DURATION_MS = Number(flags.duration ?? (quick ? '4' : '8')) * 1000;
const WARMUP_MS = Number(flags.warmup ?? (quick ? '1.5' : '2')) * 1000;
const LEVELS = (flags.concurrency ?? (quick ? '16' : '4,16,48')).split(',').map(Number);
const BATCH = Number(flags.batch);
const TARGET_RATIO = 0.5;
/** The project whose Worker is measured: its wrangler.toml, sources and migrations. */
const WORKER_ROOT = path.resolve(flags['worker-root'] ?? ROOT);
if (!LEVELS.every((c) => Number.isInteger(c) && c > 0 && c <= 256) || !(DURATION_MS > 0) || !(WARMUP_MS >= 0) || !(BATCH > 0 && BATCH <= 1000)) {
  throw new Error('bad arguments: --concurrency 1..256[,..] --duration > 0 --warmup >= 0 --batch 1..1000');
}
if (flags.storage !== 'disk' && flags.storage !== 'tmpfs') throw new Error('--storage must be disk or tmpfs');
if (flags['profile-target'] !== 'worker' && flags['profile-target'] !== 'edge_only') throw new Error('--profile-target must be worker or edge_only');
const PROFILE_TARGET: 'worker' | 'edge_only' = flags['profile-target'] === 'edge_only' ? 'edge_only' : 'worker';

/**
 * request.cf as an edge would attach it (Miniflare would otherwise try to
 * download one from the internet); the Worker's geo enrichment reads it.
 */
const REQUEST_CF = {
  asn: 3320,
  asOrganization: 'Deutsche Telekom AG',
  colo: 'FRA',
  country: 'DE',
  isEUCountry: '1',
  city: 'Frankfurt am Main',
  continent: 'EU',
  region: 'Hesse',
  regionCode: 'HE',
  timezone: 'Europe/Berlin',
  latitude: '50.11090',
  longitude: '8.68213',
  postalCode: '60313',
  httpProtocol: 'HTTP/1.1',
  tlsVersion: 'TLSv1.3',
  tlsCipher: 'AEAD-AES128-GCM-SHA256',
  clientTcpRtt: 12,
  edgeRequestKeepAliveStatus: 1,
};

const TARGETS = ['baseline', 'edge_only', 'worker'] as const;
type TargetName = (typeof TARGETS)[number];

const log = (message: string): void => void process.stderr.write(`[ingest] ${message}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  const tmp = await tempDir('ingest');

  // 1. The Worker exactly as deployed.
  let t = performance.now();
  const bundle = await bundleRealWorker(path.join(tmp, 'bundle'), WORKER_ROOT);
  log(`bundled the Worker with wrangler in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 2. ClickHouse: a dev server child process on a temp dir, migrated (or an external one).
  t = performance.now();
  let clickhouseUrl = flags['clickhouse-url'];
  let clickhouseSource = 'external (--clickhouse-url)';
  const helperPids: number[] = [];
  if (clickhouseUrl === undefined) {
    const server = await spawnClickHouseDevServer({ dataDir: path.join(tmp, 'clickhouse') });
    const pid = server.process.child.pid;
    onCleanup('stop the ClickHouse dev server', () => server.stop(), () => {
      // Its own process group (spawned detached).
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    });
    clickhouseUrl = server.url;
    if (server.process.child.pid !== undefined) helperPids.push(server.process.child.pid);
    clickhouseSource = 'scripts/clickhouse-dev-server.ts child process (chdb), temp data dir';
  }
  const migrations = await applyMigrations({ url: clickhouseUrl, migrationsDir: path.join(WORKER_ROOT, 'migrations', 'clickhouse') });
  log(`ClickHouse at ${clickhouseUrl} ready, ${migrations.applied.length} migrations applied, in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 3. workerd with wrangler.toml's bindings. Quiet wrangler's logger: stdout is for results.
  process.env.WRANGLER_LOG = 'error';
  const wrangler = await import('wrangler');
  const config = wrangler.unstable_readConfig({ config: path.join(WORKER_ROOT, 'wrangler.toml') }, { hideWarnings: true });
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(config);
  // No assets (only /v1/* is driven) and no module rules (one bundled module; Miniflare 5 rejects them).
  const { assets: _assets, modulesRules: _rules, ratelimits, durableObjects, ...options } = workerOptions as Record<string, unknown> & {
    assets?: unknown;
    ratelimits?: Record<string, { namespace_id: string }>;
    durableObjects?: Record<string, { className: string; useSQLite?: boolean }>;
  };
  const adminToken = randomBytes(24).toString('base64url');
  // Vars from wrangler.toml only (not .dev.vars), plus the bench's own secrets.
  const vars = Object.fromEntries(Object.entries(config.vars).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const bindings: Record<string, string> = {
    ...vars,
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_PASSWORD: '',
    ADMIN_TOKEN: adminToken,
    ...(flags.shards !== undefined ? { SHARD_COUNT: flags.shards } : {}),
    // Short enough that windows close and shard alarms flush to ClickHouse during the run, as in steady state.
    ...(flags.lateness !== 'toml' ? { ALLOWED_LATENESS_SECONDS: flags.lateness } : {}),
  };
  // Raised far above the load: the bench measures the Worker, not the limiter (the limiter call itself still runs).
  const unlimited = Object.fromEntries(
    Object.entries(ratelimits ?? {}).map(([name, rl]) => [name, { namespace_id: rl.namespace_id, simple: { limit: 1_000_000_000, period: 10 as const } }]),
  );
  // The edge-only copy shares the real Worker's Durable Objects (projects and keys, broadcast) except the shards.
  const sharedObjects = Object.fromEntries(
    Object.entries(durableObjects ?? {}).map(([name, d]) => [name, name === 'SHARD_AGGREGATOR' ? { className: 'ShardAggregator', scriptName: 'stub-shards' } : { ...d, scriptName: 'edgepulse' }]),
  );
  if (durableObjects?.SHARD_AGGREGATOR === undefined) throw new Error('wrangler.toml has no SHARD_AGGREGATOR binding');
  // Durable Object SQLite files: on disk by default (commits pay the disk's sync cost), or tmpfs to take that out.
  const persist = flags.storage === 'tmpfs' ? await tempDir('ingest-do', '/dev/shm') : path.join(tmp, 'miniflare');
  await mkdir(persist, { recursive: true });
  const fixture = (name: string): string => path.join(ROOT, 'bench', 'fixtures', name);
  const validateEnrichScript = await bundleFixture(fixture('validate-enrich-worker.ts'), path.join(tmp, 'validate-enrich-worker.js'));
  const compat = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags };
  t = performance.now();
  const { mf, origin, workerdPids, dispose } = await startMiniflare({
    ...(flags.profile === true ? { inspectorPort: 0 } : {}),
    resourcePersistencePath: persist,
    cf: REQUEST_CF,
    workers: [
      { ...options, name: 'edgepulse', modules: true, scriptPath: bundle, modulesRoot: path.dirname(bundle), bindings, ratelimits: unlimited, durableObjects },
      { ...options, name: 'edge-only', modules: true, scriptPath: bundle, modulesRoot: path.dirname(bundle), bindings, ratelimits: unlimited, durableObjects: sharedObjects },
      { name: 'stub-shards', modules: true, scriptPath: fixture('stub-shard-worker.js'), ...compat, durableObjects: { SHARD_AGGREGATOR: { className: 'ShardAggregator', useSQLite: true } } },
      { name: 'baseline', modules: true, scriptPath: fixture('baseline-worker.js'), ...compat },
      {
        name: 'validate-enrich',
        modules: true,
        scriptPath: validateEnrichScript,
        modulesRoot: path.dirname(validateEnrichScript),
        ...compat,
        ratelimits: { RATE_LIMITER: { namespace_id: '9999', simple: { limit: 1_000_000_000, period: 10 } } },
      },
    ],
  } as never);
  log(`workerd up at ${origin} (pids ${workerdPids.join(',') || 'unknown'}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 4. A project and its server write key, through the admin API.
  const created = await fetch(`${origin}/v1/admin/projects`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ projectId: 'bench', name: 'Ingest bench', allowedOrigins: ['*'] }),
  });
  if (created.status !== 201) throw new Error(`POST /v1/admin/projects answered ${created.status}: ${await created.text()}`);
  const { keys } = (await created.json()) as { keys: { server: string; read: string } };

  // Same socket and entry worker for all; Miniflare's entry worker routes on MF-Route-Override.
  const headers = { Authorization: `Bearer ${keys.server}`, 'Content-Type': 'application/json' };
  const targets: Record<TargetName, Target> = {
    worker: { origin, path: '/v1/events', headers },
    edge_only: { origin, path: '/v1/events', headers: { ...headers, 'MF-Route-Override': 'edge-only' } },
    baseline: { origin, path: '/v1/events', headers: { ...headers, 'MF-Route-Override': 'baseline' } },
  };
  const usersPerBatch = Number(flags['users-per-batch']);
  const makeBody = makeBatchFactory({ batchSize: BATCH, runId: `b${randomBytes(4).toString('hex')}`, usersPerBatch });
  const countItems = (status: number, body: string): number | null => {
    if (status !== 202) return null;
    try {
      const parsed = JSON.parse(body) as { accepted?: unknown };
      return typeof parsed.accepted === 'number' ? parsed.accepted : null;
    } catch {
      return null;
    }
  };

  // Sanity: every target answers 202 for all events before anything is timed.
  for (const name of TARGETS) {
    const target = targets[name];
    const response = await fetch(`${target.origin}${target.path}`, { method: 'POST', headers: target.headers, body: makeBody() });
    const text = await response.text();
    if (countItems(response.status, text) !== BATCH) throw new Error(`${name}: sanity batch answered ${response.status}: ${text.slice(0, 500)}`);
  }

  // Validation + enrichment per event, before any load (nothing else runs in workerd then).
  const validateEnrich = await measureValidateEnrich(origin, makeBody, workerdPids, quick);
  log(
    `validate + enrich: ${validateEnrich?.server_ns_per_event ?? '?'} ns/event (server key), ` +
      `${validateEnrich?.public_ns_per_event ?? '?'} ns/event (browser key: UA, geo, visitor id); ` +
      `local rate limiter: ${validateEnrich?.local_rate_limit_ms_per_call ?? '?'} ms CPU per call`,
  );

  // 5. Load: at each level every target runs once, in an order that rotates from level to level.
  const phases: Array<{ concurrency: number } & Record<TargetName, LoadResult>> = [];
  const warmedUp = new Set<TargetName>();
  for (const [i, concurrency] of LEVELS.entries()) {
    const order = TARGETS.map((_, k) => TARGETS[(k + i) % TARGETS.length] as TargetName);
    const level: Partial<Record<TargetName, LoadResult>> = {};
    for (const name of order) {
      const target = targets[name];
      // Warm-up at every level (new connections, JIT, Durable Object instances), then the timed run.
      await runLoad(target, { concurrency, durationMs: warmedUp.has(name) ? WARMUP_MS / 2 : WARMUP_MS, makeBody, countItems });
      warmedUp.add(name);
      const result = await runLoad(target, { concurrency, durationMs: DURATION_MS, makeBody, countItems, serverPids: workerdPids, helperPids });
      level[name] = result;
      log(
        `c=${String(concurrency).padStart(3)} ${name.padEnd(9)} ${String(result.items_per_s).padStart(8)} events/s ` +
          `${String(result.requests_per_s).padStart(6)} req/s  p50 ${result.latency.p50_ms} ms  p99 ${result.latency.p99_ms} ms  ` +
          `workerd ${result.server_cpu_ms_per_request ?? '?'} ms CPU/req (${result.server_cpu_cores ?? '?'} cores), client ${result.client_cpu_cores}, ` +
          `ClickHouse ${result.helper_cpu_cores ?? '?'}, others ${result.others_cpu_cores ?? '?'} cores` +
          (result.failed > 0 ? `  FAILED ${result.failed}: ${result.failures[0] ?? ''}` : ''),
      );
    }
    const { worker, edge_only, baseline } = level;
    if (worker === undefined || edge_only === undefined || baseline === undefined) throw new Error('unreachable');
    phases.push({ concurrency, worker, edge_only, baseline });
  }

  // 5b. The same targets with browser-SDK-shaped batches (one visitor per batch: one shard per request), at the
  // level where the default shape did best; only when the default shape is the server-side one.
  let sdkPhase: Record<TargetName, LoadResult> | null = null;
  if (usersPerBatch === 0) {
    const sdkBody = makeBatchFactory({ batchSize: BATCH, runId: `s${randomBytes(4).toString('hex')}`, usersPerBatch: 1 });
    const concurrency = phases.map((p) => ({ c: p.concurrency, n: p.worker.items_per_s })).sort((a, b) => b.n - a.n)[0]?.c ?? LEVELS[0] ?? 16;
    const sdk: Partial<Record<TargetName, LoadResult>> = {};
    for (const name of TARGETS) {
      await runLoad(targets[name], { concurrency, durationMs: WARMUP_MS / 2, makeBody: sdkBody, countItems });
      const result = await runLoad(targets[name], { concurrency, durationMs: DURATION_MS, makeBody: sdkBody, countItems, serverPids: workerdPids, helperPids });
      sdk[name] = result;
      log(`sdk-shaped c=${concurrency} ${name.padEnd(9)} ${result.items_per_s} events/s, workerd ${result.server_cpu_ms_per_request ?? '?'} ms CPU/req`);
    }
    if (sdk.worker !== undefined && sdk.edge_only !== undefined && sdk.baseline !== undefined) sdkPhase = { worker: sdk.worker, edge_only: sdk.edge_only, baseline: sdk.baseline };
  }

  // Diagnosis: where the Worker's isolate spends its time at the full Worker's best level.
  const bestOf = (name: TargetName): { concurrency: number; result: LoadResult } => {
    const top = phases.map((p) => ({ concurrency: p.concurrency, result: p[name] })).sort((a, b) => b.result.items_per_s - a.result.items_per_s)[0];
    if (top === undefined) throw new Error('no phases');
    return top;
  };
  let profile: ProfileSummary | null = null;
  if (flags.profile === true) {
    const level = bestOf(PROFILE_TARGET).concurrency;
    const profiler = await startCpuProfile(await mf.getInspectorURL(), PROFILE_TARGET === 'worker' ? 'core:user:edgepulse' : 'core:user:edge-only');
    const profiled = await runLoad(targets[PROFILE_TARGET], { concurrency: level, durationMs: DURATION_MS, makeBody, countItems, serverPids: workerdPids });
    profile = await profiler.stop(30);
    log(`profiled ${PROFILE_TARGET} at c=${level}: ${profiled.items_per_s} events/s with the profiler attached`);
  }

  // 6. Evidence that shard alarms flushed to ClickHouse while the load ran.
  const flushed = await flushedEvents(clickhouseUrl, 'bench');
  const storage = await shardStorageWrites(origin, keys.read);
  const totalFailed = phases.reduce((s, p) => s + p.worker.failed + p.edge_only.failed + p.baseline.failed, 0);
  await dispose();

  const worker = bestOf('worker');
  const edge = bestOf('edge_only');
  const baseline = bestOf('baseline');
  const sameLevel = phases.find((p) => p.concurrency === worker.concurrency);
  const ratio = worker.result.items_per_s / baseline.result.items_per_s;
  const edgeRatio = edge.result.items_per_s / baseline.result.items_per_s;
  const cpuRatio = (a: LoadResult, b: LoadResult): number | null =>
    a.server_cpu_ms_per_request !== null && b.server_cpu_ms_per_request !== null && a.server_cpu_ms_per_request > 0
      ? round(b.server_cpu_ms_per_request / a.server_cpu_ms_per_request, 4)
      : null;

  console.log('');
  console.log(`Ingest, ${BATCH}-event batches, ${DURATION_MS / 1000} s per phase after warm-up (${machine.cpus} x ${machine.model})`);
  console.log('  conc  target      events/s    req/s   p50 ms   p99 ms  workerd CPU ms/req  workerd cores  client cores  others cores  failed');
  for (const p of phases) {
    for (const name of TARGETS) {
      const r = p[name];
      console.log(
        `  ${String(p.concurrency).padStart(4)}  ${name.padEnd(9)} ${String(r.items_per_s).padStart(10)} ${String(r.requests_per_s).padStart(8)} ${String(r.latency.p50_ms).padStart(8)} ${String(r.latency.p99_ms).padStart(8)} ${String(r.server_cpu_ms_per_request ?? '?').padStart(19)} ${String(r.server_cpu_cores ?? '?').padStart(14)} ${String(r.client_cpu_cores).padStart(13)} ${String(r.others_cpu_cores ?? '?').padStart(13)} ${String(r.failed).padStart(7)}`,
      );
    }
  }
  console.log(`  ratio = Worker best ${worker.result.items_per_s} / baseline best ${baseline.result.items_per_s} events/s = ${ratio.toFixed(3)} (target >= ${TARGET_RATIO})`);
  console.log(`  edge only (shards stubbed): ${edge.result.items_per_s} events/s, ratio ${edgeRatio.toFixed(3)}`);
  if (sdkPhase !== null) {
    console.log(
      `  SDK-shaped batches (one visitor per batch): Worker ${sdkPhase.worker.items_per_s} / baseline ${sdkPhase.baseline.items_per_s} events/s = ${(sdkPhase.worker.items_per_s / sdkPhase.baseline.items_per_s).toFixed(3)}; ` +
        `workerd CPU ${sdkPhase.worker.server_cpu_ms_per_request ?? '?'} ms/req (edge only ${sdkPhase.edge_only.server_cpu_ms_per_request ?? '?'}, baseline ${sdkPhase.baseline.server_cpu_ms_per_request ?? '?'})`,
    );
  }
  console.log(`  ClickHouse: ${flushed ?? '?'} events flushed by shard alarms by the end of the run`);
  if (validateEnrich !== null) {
    console.log(
      `  validate + enrich in workerd: ${validateEnrich.server_ns_per_event} ns/event (server key), ${validateEnrich.public_ns_per_event} ns/event (browser key); ` +
        `local rate limiter simulation: ${validateEnrich.local_rate_limit_ms_per_call} ms CPU per call (native on Cloudflare)`,
    );
  }
  if (profile !== null) {
    console.log(`\nCPU profile of ${profile.target} (${profile.samples} samples, ${profile.idle_pct}% idle; % of busy time)`);
    console.log('   self%  total%  function (bundle line)');
    for (const e of profile.top_total) console.log(`  ${String(e.self_pct).padStart(6)}  ${String(e.total_pct).padStart(6)}  ${e.function}`);
    console.log('  top self time:');
    for (const e of profile.top_self.slice(0, 15)) console.log(`  ${String(e.self_pct).padStart(6)}  ${String(e.total_pct).padStart(6)}  ${e.function}`);
  }

  const levelJson = (r: LoadResult) => ({
    events_per_s: r.items_per_s,
    requests_per_s: r.requests_per_s,
    p50_ms: r.latency.p50_ms,
    p90_ms: r.latency.p90_ms,
    p99_ms: r.latency.p99_ms,
    max_ms: r.latency.max_ms,
    requests: r.requests,
    failed: r.failed,
    workerd_cpu_ms_per_request: r.server_cpu_ms_per_request,
    workerd_cpu_cores: r.server_cpu_cores,
    client_cpu_cores: r.client_cpu_cores,
    clickhouse_cpu_cores: r.helper_cpu_cores,
    others_cpu_cores: r.others_cpu_cores,
    ...(r.failures.length > 0 ? { failures: r.failures } : {}),
  });
  const result = {
    bench: 'ingest',
    events_per_s: worker.result.items_per_s,
    baseline_events_per_s: baseline.result.items_per_s,
    ratio: round(ratio, 4),
    target_ratio: TARGET_RATIO,
    meets_target: ratio >= TARGET_RATIO,
    p50_ms: worker.result.latency.p50_ms,
    p99_ms: worker.result.latency.p99_ms,
    requests_per_s: worker.result.requests_per_s,
    baseline_requests_per_s: baseline.result.requests_per_s,
    baseline_p50_ms: baseline.result.latency.p50_ms,
    baseline_p99_ms: baseline.result.latency.p99_ms,
    workerd_cpu_ms_per_request: worker.result.server_cpu_ms_per_request,
    baseline_workerd_cpu_ms_per_request: baseline.result.server_cpu_ms_per_request,
    /** Baseline CPU per request / Worker CPU per request: the ratio with CPU contention taken out. */
    cpu_ratio: cpuRatio(worker.result, baseline.result),
    edge_only_events_per_s: edge.result.items_per_s,
    edge_only_ratio: round(edgeRatio, 4),
    edge_only_p50_ms: edge.result.latency.p50_ms,
    edge_only_p99_ms: edge.result.latency.p99_ms,
    edge_only_workerd_cpu_ms_per_request: edge.result.server_cpu_ms_per_request,
    edge_only_cpu_ratio: cpuRatio(edge.result, baseline.result),
    /**
     * Edge-only CPU less the local Rate Limiting simulation (one call per
     * request for the bench's server key): Miniflare answers each limit() with
     * a Durable Object request, the platform natively; what is left is the
     * edge's own work plus the shard RPCs.
     */
    edge_only_workerd_cpu_ms_per_request_less_local_rate_limiter:
      edge.result.server_cpu_ms_per_request !== null && validateEnrich !== null
        ? round(edge.result.server_cpu_ms_per_request - validateEnrich.local_rate_limit_ms_per_call, 3)
        : null,
    /** The edge's validation + enrichment per event in workerd (server-key batches, as loaded here). */
    validate_enrich_ns_per_event: validateEnrich?.server_ns_per_event ?? null,
    /** The same for browser-key batches: UA parse, cf geo, bot check, visitor-id HMAC once per request. */
    validate_enrich_public_ns_per_event: validateEnrich?.public_ns_per_event ?? null,
    validate_enrich: validateEnrich,
    batch: BATCH,
    concurrency: worker.concurrency,
    baseline_concurrency: baseline.concurrency,
    edge_only_concurrency: edge.concurrency,
    ratio_same_concurrency: sameLevel !== undefined ? round(sameLevel.worker.items_per_s / sameLevel.baseline.items_per_s, 4) : null,
    shard_count: Number(bindings.SHARD_COUNT ?? 16),
    allowed_lateness_s: Number(bindings.ALLOWED_LATENESS_SECONDS ?? NaN),
    users_per_batch: usersPerBatch,
    ...(sdkPhase === null
      ? {}
      : {
          // Browser-SDK-shaped batches (one visitor, one shard per request), same level, same run.
          sdk_events_per_s: sdkPhase.worker.items_per_s,
          sdk_baseline_events_per_s: sdkPhase.baseline.items_per_s,
          sdk_ratio: round(sdkPhase.worker.items_per_s / sdkPhase.baseline.items_per_s, 4),
          sdk_workerd_cpu_ms_per_request: sdkPhase.worker.server_cpu_ms_per_request,
          sdk_edge_only_workerd_cpu_ms_per_request: sdkPhase.edge_only.server_cpu_ms_per_request,
          sdk_baseline_workerd_cpu_ms_per_request: sdkPhase.baseline.server_cpu_ms_per_request,
          sdk_cpu_ratio: cpuRatio(sdkPhase.worker, sdkPhase.baseline),
          sdk_p99_ms: sdkPhase.worker.latency.p99_ms,
        }),
    duration_s_per_phase: DURATION_MS / 1000,
    failed_requests: totalFailed,
    levels: phases.map((p) => ({ concurrency: p.concurrency, worker: levelJson(p.worker), edge_only: levelJson(p.edge_only), baseline: levelJson(p.baseline) })),
    clickhouse: { source: clickhouseSource, flushed_events_at_end: flushed },
    // What SQLite-backed Durable Objects are billed by (docs/scaling.md): every row the shards wrote, tables and indexes.
    ...(storage === null ? {} : { shard_rows_written: storage.rowsWritten, shard_events_recorded: storage.events, rows_written_per_event: round(storage.rowsWritten / Math.max(1, storage.events), 4) }),
    storage: flags.storage,
    ...(profile !== null ? { profile } : {}),
    setup:
      'wrangler deploy --dry-run bundle on workerd via the miniflare API (no wrangler dev proxy); wrangler.toml bindings and vars; rate limiter raised; no static assets; edge_only = same bundle with SHARD_AGGREGATOR bound to a no-op stub',
    quick,
    machine,
    date: new Date().toISOString(),
    duration_s: round((performance.now() - started) / 1000, 4),
  };
  console.log(JSON.stringify(result));
}

interface ValidateEnrichResult {
  server_ns_per_event: number;
  public_ns_per_event: number;
  /** One call of the locally simulated Rate Limiting binding (a Durable Object request in Miniflare; native on Cloudflare). */
  local_rate_limit_ms_per_call: number;
  /** Parse-only CPU per request (subtracted), in ms. */
  parse_ms_per_request: number;
  events_per_request: number;
  reps_per_request: number;
  requests_per_sample: number;
  samples: number;
  method: string;
}

/**
 * workerd CPU seconds for `requests` sequential POSTs to the validate-enrich
 * fixture; /proc counts in 10 ms ticks, so each sample spans about a second.
 */
async function measureValidateEnrich(origin: string, makeBody: () => string, pids: number[], quick: boolean): Promise<ValidateEnrichResult | null> {
  // ~600k events per sample: a 10 ms tick is then ~17 ns/event.
  const reps = 300;
  const requests = quick ? 20 : 40;
  const samples = quick ? 3 : 5;
  const bodies = Array.from({ length: requests }, () => makeBody());
  const events = (JSON.parse(bodies[0] ?? '[]') as unknown[]).length;
  const limitCalls = 50;
  const repsOf = (kind: 'parse' | 'server' | 'public' | 'limit'): number => (kind === 'parse' ? 0 : kind === 'limit' ? limitCalls : reps);
  const cpuFor = async (kind: 'parse' | 'server' | 'public' | 'limit'): Promise<number | null> => {
    const before = cpuSeconds(pids);
    for (const body of bodies) {
      const response = await fetch(`${origin}/?kind=${kind}&reps=${repsOf(kind)}`, {
        method: 'POST',
        headers: { 'MF-Route-Override': 'validate-enrich', 'Content-Type': 'application/json' },
        body,
      });
      const answer = (await response.json()) as { events?: unknown };
      const expected = kind === 'parse' ? 0 : kind === 'limit' ? limitCalls : reps * events;
      if (answer.events !== expected) throw new Error(`validate-enrich ${kind}: expected ${expected}, got ${String(answer.events)}`);
    }
    const after = cpuSeconds(pids);
    return before === null || after === null ? null : after - before;
  };
  // One warm-up round (JIT, UA cache, HMAC key import), then interleaved samples.
  for (const kind of ['parse', 'server', 'public', 'limit'] as const) await cpuFor(kind);
  const perEvent: Record<'server' | 'public', number[]> = { server: [], public: [] };
  const parse: number[] = [];
  const limitMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const base = await cpuFor('parse');
    if (base === null) return null;
    parse.push(base);
    for (const kind of ['server', 'public'] as const) {
      const total = await cpuFor(kind);
      if (total === null) return null;
      perEvent[kind].push(((total - base) * 1e9) / (requests * reps * events));
    }
    const limited = await cpuFor('limit');
    if (limited === null) return null;
    limitMs.push(((limited - base) * 1000) / (requests * limitCalls));
  }
  return {
    server_ns_per_event: Math.round(median(perEvent.server)),
    public_ns_per_event: Math.round(median(perEvent.public)),
    local_rate_limit_ms_per_call: round(median(limitMs), 3),
    parse_ms_per_request: round((median(parse) * 1000) / requests, 3),
    events_per_request: events,
    reps_per_request: reps,
    requests_per_sample: requests,
    samples,
    method: 'workerd process CPU (/proc, 10 ms ticks) for validate+enrich x reps per request, minus parse-only requests; median of samples',
  };
}

/** SQLite rows the project's shards wrote and the events they recorded (accepted + duplicates), from /v1/health; null if unavailable. */
async function shardStorageWrites(origin: string, readKey: string): Promise<{ rowsWritten: number; events: number } | null> {
  try {
    const response = await fetch(`${origin}/v1/health`, { headers: { Authorization: `Bearer ${readKey}` } });
    if (!response.ok) return null;
    const body: unknown = await response.json();
    const shards = typeof body === 'object' && body !== null && 'shards' in body && Array.isArray(body.shards) ? body.shards : [];
    let rowsWritten = 0;
    let events = 0;
    for (const shard of shards) {
      const written: unknown = typeof shard === 'object' && shard !== null ? Reflect.get(shard, 'rowsWrittenSinceStart') : undefined;
      const counters: unknown = typeof shard === 'object' && shard !== null ? Reflect.get(shard, 'counters') : undefined;
      if (typeof written === 'number') rowsWritten += written;
      if (typeof counters === 'object' && counters !== null) {
        for (const name of ['accepted', 'duplicates']) {
          const n: unknown = Reflect.get(counters, name);
          if (typeof n === 'number') events += n;
        }
      }
    }
    return events > 0 ? { rowsWritten, events } : null;
  } catch {
    return null;
  }
}

/** Events of `projectId` already in ClickHouse's rollups; null if the query fails (e.g. a schema change). */
async function flushedEvents(url: string, projectId: string): Promise<number | null> {
  try {
    const query = 'SELECT sum(events) AS n FROM edgepulse.events_1m WHERE project_id = {p:String} FORMAT JSONEachRow';
    const response = await fetch(`${url}/?param_p=${encodeURIComponent(projectId)}`, { method: 'POST', body: query });
    if (!response.ok) return null;
    const row = JSON.parse((await response.text()).trim() || '{}') as { n?: unknown };
    return row.n === undefined ? null : Number(row.n);
  } catch {
    return null;
  }
}

runBench('ingest', main, { timeLimitMs: 175_000 });
