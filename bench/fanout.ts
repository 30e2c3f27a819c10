/**
 * Live fan-out: N real WebSocket viewers on the real Worker, events posted at
 * a steady rate, latency from each event's `receivedAt` (the edge's clock,
 * the same machine as ours) to its arrival at every viewer.
 *
 *   npm run bench -- fanout                           (1,000 viewers, 20 s)
 *   npm run bench -- fanout -- --viewers 5000 --duration 30
 *   npm run bench -- fanout -- --quick                (200 viewers, 8 s)
 *   npm run bench -- fanout -- --relay-max 250        (force several relays: 1,000 viewers -> 4 relays)
 *   npm run bench -- fanout -- --tick 100 --rate 20 --batch 10 --topics 2
 *   npm run bench -- fanout -- --clickhouse none      (shard flushes fail and retry; less CPU taken from workerd)
 *
 * Setup: the Worker bundled as deployed (`wrangler deploy --dry-run`) on
 * workerd through Miniflare's API (no `wrangler dev` proxy), with
 * wrangler.toml's bindings and vars (Broadcast root, Combiner, LiveRelay,
 * shards) and a ClickHouse dev server child process so shard alarms flush as
 * in steady state. request.cf is a fixed European object, so relays get the
 * `weur` location hint. A project and its keys come from the admin API;
 * viewers authenticate with a viewer token from POST /v1/live/token.
 *
 * Viewers: Node 24's WebSocket client (undici), each subscribed to `--topics`
 * topics of the bench's event type. Load: one closed loop posting a batch of
 * `--batch` events every 1000/`--rate` ms; per minute window the bench knows
 * the running count after each batch, so a delta with value v completes every
 * batch whose running count is <= v, and each completed (batch, viewer) pair
 * is one latency sample: arrival time - the batch's receivedAt. Each delta
 * also carries the root's emit time (`timestamp`), which splits a sample into
 * edge -> shard -> combiner -> root (receivedAt -> timestamp; three batching levels) and root ->
 * relay -> viewer (timestamp -> arrival). Memory per viewer: workerd's RSS
 * after connecting and subscribing all viewers, minus before, over N.
 *
 * The last stdout line is one JSON object.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { applyMigrations } from '../scripts/migrate.ts';
import { spawnClickHouseDevServer } from '../scripts/lib/spawn-clickhouse.ts';
import { bundleRealWorker, ROOT } from './lib/bundle.ts';
import { onCleanup, runBench, tempDir } from './lib/cleanup.ts';
import { machineInfo } from './lib/machine.ts';
import { startMiniflare } from './lib/miniflare.ts';
import { cpuSeconds } from './lib/proc.ts';
import { round, summarizeLatencies } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    viewers: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string', default: '20' },
    batch: { type: 'string', default: '10' },
    topics: { type: 'string', default: '2' },
    tick: { type: 'string' },
    'relay-max': { type: 'string' },
    'connect-concurrency': { type: 'string', default: '100' },
    clickhouse: { type: 'string', default: 'spawn' },
  },
});
const quick = flags.quick === true;
const VIEWERS = Number(flags.viewers ?? (quick ? '200' : '1000'));
const DURATION_MS = Number(flags.duration ?? (quick ? '8' : '20')) * 1000;
const WARMUP_MS = 2000;
const RATE = Number(flags.rate);
const BATCH = Number(flags.batch);
const TOPICS = Number(flags.topics);
const CONNECT_CONCURRENCY = Number(flags['connect-concurrency']);
if (!(VIEWERS >= 1 && VIEWERS <= 20_000) || !(DURATION_MS > 0) || !(RATE > 0 && RATE <= 200) || !(BATCH >= 1 && BATCH <= 1000) || !(TOPICS >= 1 && TOPICS <= 2)) {
  throw new Error('bad arguments: --viewers 1..20000 --duration > 0 --rate 1..200 --batch 1..1000 --topics 1|2');
}
const EVENT_TYPE = 'bench_view';
const TOPIC_NAMES = [`metrics:${EVENT_TYPE}`, `value_sum:${EVENT_TYPE}`].slice(0, TOPICS);
const MINUTE_MS = 60_000;

/** request.cf as a Frankfurt edge would attach it (Miniflare would otherwise try to download one). */
const REQUEST_CF = { continent: 'EU', country: 'DE', colo: 'FRA', city: 'Frankfurt am Main', longitude: '8.68213', latitude: '50.11090', timezone: 'Europe/Berlin', asn: 3320, httpProtocol: 'HTTP/1.1' };

const log = (message: string): void => void process.stderr.write(`[fanout] ${message}\n`);

interface Batch {
  minute: number;
  /** Running count of the minute after this batch. */
  cumulative: number;
  receivedAtMs: number;
}

interface ViewerState {
  socket: WebSocket;
  relay: string | null;
  subscribed: number;
  /** Per minute: index of the next batch this viewer has not yet seen. */
  next: Map<number, number>;
  deltas: number;
  frames: number;
  /** Per minute: the newest delta (value, arrival, root emit time), for batches recorded after their delta arrived. */
  last: Map<number, { value: number; arrival: number; emitted: number }>;
}

interface Samples {
  total: number[];
  toRoot: number[];
  rootToViewer: number[];
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  const tmp = await tempDir('fanout');

  let t = performance.now();
  const bundle = await bundleRealWorker(path.join(tmp, 'bundle'));
  log(`bundled the Worker in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  let clickhouseUrl = 'http://127.0.0.1:9';
  let clickhouseSource = 'none (shard flushes fail and back off)';
  if (flags.clickhouse === 'spawn') {
    t = performance.now();
    const server = await spawnClickHouseDevServer({ dataDir: path.join(tmp, 'clickhouse') });
    const pid = server.process.child.pid;
    onCleanup('stop the ClickHouse dev server', () => server.stop(), () => {
      if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    });
    await applyMigrations({ url: server.url, migrationsDir: path.join(ROOT, 'migrations', 'clickhouse') });
    clickhouseUrl = server.url;
    clickhouseSource = 'scripts/clickhouse-dev-server.ts child process (chdb), temp data dir';
    log(`ClickHouse ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } else if (flags.clickhouse !== 'none') {
    clickhouseUrl = flags.clickhouse ?? clickhouseUrl;
    clickhouseSource = 'external';
  }

  process.env.WRANGLER_LOG = 'error';
  const wrangler = await import('wrangler');
  const config = wrangler.unstable_readConfig({ config: path.join(ROOT, 'wrangler.toml') }, { hideWarnings: true });
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(config);
  // wrangler's option types (v4) and Miniflare 5's differ; the shapes are the same at runtime (as in bench/ingest.ts).
  const { assets: _assets, modulesRules: _rules, ratelimits, ...options } = workerOptions as Record<string, unknown> & {
    assets?: unknown;
    ratelimits?: Record<string, { namespace_id: string }>;
  };
  const adminToken = randomBytes(24).toString('base64url');
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.vars)) if (typeof value === 'string') vars[name] = value;
  const bindings: Record<string, string> = {
    ...vars,
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_PASSWORD: '',
    ADMIN_TOKEN: adminToken,
    VIEWER_TOKEN_SECRET: randomBytes(24).toString('base64url'),
    ...(flags.tick !== undefined ? { LIVE_TICK_MS: flags.tick } : {}),
    ...(flags['relay-max'] !== undefined ? { RELAY_MAX_VIEWERS: flags['relay-max'] } : {}),
  };
  const unlimited = Object.fromEntries(
    Object.entries(ratelimits ?? {}).map(([name, rl]) => [name, { namespace_id: rl.namespace_id, simple: { limit: 1_000_000_000, period: 10 as const } }]),
  );
  t = performance.now();
  const { mf, origin, workerdPids, dispose } = await startMiniflare({
    // The inspector lets us read the isolate's heap (Runtime.getHeapUsage); no session is attached while measuring latency.
    inspectorPort: 0,
    resourcePersistencePath: path.join(tmp, 'miniflare'),
    cf: REQUEST_CF,
    workers: [{ ...options, name: 'edgepulse', modules: true, scriptPath: bundle, modulesRoot: path.dirname(bundle), bindings, ratelimits: unlimited }],
  } as never);
  log(`workerd up at ${origin} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const created = await fetch(`${origin}/v1/admin/projects`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ projectId: 'fanout', name: 'Fan-out bench', allowedOrigins: ['*'] }),
  });
  if (created.status !== 201) throw new Error(`POST /v1/admin/projects: ${created.status} ${await created.text()}`);
  const createdBody: unknown = await created.json();
  const keys = { server: stringAt(createdBody, 'keys', 'server'), read: stringAt(createdBody, 'keys', 'read') };
  const minted = await fetch(`${origin}/v1/live/token`, { method: 'POST', headers: { Authorization: `Bearer ${keys.read}` }, body: JSON.stringify({ ttlSeconds: 3600 }) });
  if (minted.status !== 201) throw new Error(`POST /v1/live/token: ${minted.status} ${await minted.text()}`);
  const token = stringAt(await minted.json(), 'token');
  const wsUrl = `${origin.replace(/^http/, 'ws')}/v1/live?token=${encodeURIComponent(token)}&project=fanout`;

  // ---------- viewers ----------
  const batches = new Map<number, Batch[]>();
  const samples: Samples = { total: [], toRoot: [], rootToViewer: [] };
  let measuring = false;
  let deltasInWindow = 0;
  const inspector = await mf.getInspectorURL();
  const heapBefore = await isolateHeapBytes(inspector);
  const rssBefore = rssKib(workerdPids);
  const viewers: ViewerState[] = [];
  t = performance.now();
  for (let i = 0; i < VIEWERS; i += CONNECT_CONCURRENCY) {
    const group = await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, VIEWERS - i) }, () => connectViewer(wsUrl, batches, samples, () => measuring, () => deltasInWindow++)));
    viewers.push(...group);
  }
  await waitUntil(() => viewers.every((v) => v.subscribed === TOPICS), 60_000, 'every viewer subscribed');
  const connectS = (performance.now() - t) / 1000;
  await sleep(1500);
  const rssAfter = rssKib(workerdPids);
  const heapAfter = await isolateHeapBytes(inspector);
  const relays = new Set(viewers.map((v) => v.relay));
  const extensions = viewers[0]?.socket.extensions ?? '';
  log(`${VIEWERS} viewers connected and subscribed in ${connectS.toFixed(1)} s on ${relays.size} relay(s); isolate heap ${heapBefore} -> ${heapAfter} B; workerd RSS ${rssBefore} -> ${rssAfter} KiB; extensions "${extensions}"`);

  // ---------- load ----------
  const intervalMs = 1000 / RATE;
  let sent = 0;
  let failedPosts = 0;
  let running = true;
  const poster = (async () => {
    let next = performance.now();
    let n = 0;
    while (running) {
      const now = Date.now();
      const minute = now - (now % MINUTE_MS);
      const events = Array.from({ length: BATCH }, (_, i) => ({ eventId: `f-${n}-${i}`, eventType: EVENT_TYPE, timestamp: now, value: 1, userId: `u-${n}-${i}` }));
      n++;
      try {
        const response = await fetch(`${origin}/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${keys.server}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ events }) });
        const body: unknown = await response.json();
        if (response.status !== 202 || valueAt(body, 'accepted') !== BATCH) throw new Error(`status ${response.status}`);
        const receivedAt = stringAt(body, 'receivedAt');
        const list = batches.get(minute) ?? [];
        const batch: Batch = { minute, cumulative: (list.at(-1)?.cumulative ?? 0) + BATCH, receivedAtMs: Date.parse(receivedAt) };
        list.push(batch);
        batches.set(minute, list);
        // The delta may have beaten the 202 to this process: credit viewers that already have it.
        for (const viewer of viewers) {
          const last = viewer.last.get(minute);
          if (last === undefined || last.value < batch.cumulative || (viewer.next.get(minute) ?? 0) !== list.length - 1) continue;
          if (measuring) {
            samples.total.push(last.arrival - batch.receivedAtMs);
            samples.toRoot.push(last.emitted - batch.receivedAtMs);
            samples.rootToViewer.push(last.arrival - last.emitted);
          }
          viewer.next.set(minute, list.length);
        }
        sent += BATCH;
      } catch {
        failedPosts++;
      }
      next += intervalMs;
      await sleep(Math.max(0, next - performance.now()));
    }
  })();
  await sleep(WARMUP_MS);
  const cpuStart = cpuSeconds(workerdPids);
  measuring = true;
  deltasInWindow = 0;
  const windowStart = performance.now();
  const sentAtStart = sent;
  await sleep(DURATION_MS);
  measuring = false;
  const windowS = (performance.now() - windowStart) / 1000;
  const deltasMeasured = deltasInWindow;
  const cpuEnd = cpuSeconds(workerdPids);
  const eventsMeasured = sent - sentAtStart;
  running = false;
  await poster;
  // Let the last batches arrive (or time out) before counting what never did.
  const expected = (): number => [...batches.values()].reduce((sum, list) => sum + list.length, 0);
  await waitUntil(() => viewers.every((v) => seenBatches(v, batches) === expected()), 5000, 'the last batches').catch(() => undefined);
  const expectedPerViewer = expected();
  const missing = viewers.reduce((sum, v) => sum + (expectedPerViewer - seenBatches(v, batches)), 0);
  for (const viewer of viewers) viewer.socket.close(1000, 'bench done');
  await dispose();

  const total = summarizeLatencies(samples.total);
  const toRoot = summarizeLatencies(samples.toRoot);
  const rootToViewer = summarizeLatencies(samples.rootToViewer);
  const tickMs = Number(bindings.LIVE_TICK_MS ?? 250);
  const memoryPerViewerKib = rssBefore !== null && rssAfter !== null ? round((rssAfter - rssBefore) / VIEWERS, 4) : null;
  const heapPerViewerBytes = heapBefore !== null && heapAfter !== null ? round((heapAfter - heapBefore) / VIEWERS, 4) : null;
  const workerdCores = cpuStart !== null && cpuEnd !== null ? round((cpuEnd - cpuStart) / windowS, 3) : null;

  console.log('');
  console.log(`Live fan-out: ${VIEWERS} viewers x ${TOPICS} topic(s) on ${relays.size} relay(s), ${RATE} batches/s of ${BATCH} events, tick ${tickMs} ms, ${windowS.toFixed(1)} s measured (${machine.cpus} x ${machine.model})`);
  console.log(`  event -> viewer      p50 ${total.p50_ms} ms  p90 ${total.p90_ms} ms  p99 ${total.p99_ms} ms  max ${total.max_ms} ms  (${total.count} samples)`);
  console.log(`  edge -> root emit    p50 ${toRoot.p50_ms} ms  p99 ${toRoot.p99_ms} ms   (ingest, shard write, shard tick -> combiner, combiner tick -> root, root tick)`);
  console.log(`  root -> viewer       p50 ${rootToViewer.p50_ms} ms  p99 ${rootToViewer.p99_ms} ms   (root -> relay RPC, relay fan-out to ${VIEWERS} sockets, client event loop)`);
  console.log(`  deltas delivered     ${round(deltasMeasured / windowS, 4)} /s (${deltasMeasured} in the window), missing (batch, viewer) pairs: ${missing}`);
  console.log(`  isolate heap         ${heapPerViewerBytes ?? '?'} B/viewer (V8 + embedder heap of the isolate holding the relays, uncollected garbage included: an upper bound of what counts against the 128 MB isolate limit)`);
  console.log(`  workerd              ${workerdCores ?? '?'} cores, RSS +${rssAfter !== null && rssBefore !== null ? rssAfter - rssBefore : '?'} KiB for ${VIEWERS} viewers = ${memoryPerViewerKib ?? '?'} KiB/viewer (whole process: sockets, ${extensions || 'no'} compression contexts, the local proxy hops)`);

  const result = {
    bench: 'fanout',
    viewers: VIEWERS,
    tick_ms: tickMs,
    p50_ms: total.p50_ms,
    p99_ms: total.p99_ms,
    deltas_per_s: round(deltasMeasured / windowS, 4),
    p90_ms: total.p90_ms,
    max_ms: total.max_ms,
    samples: total.count,
    meets_target: total.p99_ms <= 1000,
    target_p99_ms: 1000,
    hops: {
      edge_to_root_emit: { p50_ms: toRoot.p50_ms, p99_ms: toRoot.p99_ms },
      root_emit_to_viewer: { p50_ms: rootToViewer.p50_ms, p99_ms: rootToViewer.p99_ms },
    },
    relays: relays.size,
    topics_per_viewer: TOPICS,
    events_per_s: round(eventsMeasured / windowS, 4),
    batches_per_s: RATE,
    batch: BATCH,
    missing_batch_viewer_pairs: missing,
    failed_posts: failedPosts,
    connect_s: round(connectS, 4),
    workerd_rss_kib_before: rssBefore,
    workerd_rss_kib_after_connect: rssAfter,
    memory_per_viewer_kib: memoryPerViewerKib,
    isolate_heap_per_viewer_bytes: heapPerViewerBytes,
    isolate_heap_bytes_before: heapBefore,
    isolate_heap_bytes_after_connect: heapAfter,
    websocket_extensions: extensions,
    workerd_cpu_cores: workerdCores,
    relay_max_viewers: Number(bindings.RELAY_MAX_VIEWERS ?? 5000),
    shard_count: Number(bindings.SHARD_COUNT ?? 16),
    clickhouse: clickhouseSource,
    setup: 'wrangler deploy --dry-run bundle on workerd via the miniflare API; viewers = Node WebSocket clients with a viewer token; latency = arrival - event receivedAt',
    quick,
    machine,
    date: new Date().toISOString(),
    duration_s: round((performance.now() - started) / 1000, 4),
  };
  console.log(JSON.stringify(result));
}

function connectViewer(url: string, batches: Map<number, Batch[]>, samples: Samples, measuring: () => boolean, countDelta: () => void): Promise<ViewerState> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const state: ViewerState = { socket, relay: null, subscribed: 0, next: new Map(), deltas: 0, frames: 0, last: new Map() };
    const timer = setTimeout(() => reject(new Error('WebSocket connect timed out')), 30_000);
    socket.addEventListener('open', () => {
      clearTimeout(timer);
      for (const topic of TOPIC_NAMES) socket.send(JSON.stringify({ action: 'subscribe', topic, snapshotMinutes: 0 }));
      resolve(state);
    });
    socket.addEventListener('error', () => reject(new Error('WebSocket error while connecting')));
    socket.addEventListener('message', (event: MessageEvent) => {
      const arrival = Date.now();
      const parsed: unknown = JSON.parse(String(event.data));
      if (!Array.isArray(parsed)) {
        const type = valueAt(parsed, 'type');
        const relay = valueAt(parsed, 'relay');
        if (type === 'hello' && typeof relay === 'string') state.relay = relay;
        if (type === 'subscribed') state.subscribed++;
        return;
      }
      state.frames++;
      for (const raw of parsed) {
        const item = { topic: valueAt(raw, 'topic'), windowStart: valueAt(raw, 'windowStart'), value: valueAt(raw, 'value'), timestamp: valueAt(raw, 'timestamp') };
        if (typeof item.topic !== 'string' || typeof item.windowStart !== 'string' || typeof item.value !== 'number' || typeof item.timestamp !== 'string') continue;
        state.deltas++;
        if (measuring()) countDelta();
        // Latency is measured on the count topic; the value_sum topic is extra fan-out load.
        if (item.topic !== TOPIC_NAMES[0]) continue;
        const minute = Date.parse(item.windowStart);
        const emitted = Date.parse(item.timestamp);
        state.last.set(minute, { value: item.value, arrival, emitted });
        const list = batches.get(minute);
        if (list === undefined) continue;
        let index = state.next.get(minute) ?? 0;
        while (index < list.length && (list[index]?.cumulative ?? Infinity) <= item.value) {
          const batch = list[index];
          if (batch !== undefined && measuring()) {
            samples.total.push(arrival - batch.receivedAtMs);
            samples.toRoot.push(emitted - batch.receivedAtMs);
            samples.rootToViewer.push(arrival - emitted);
          }
          index++;
        }
        state.next.set(minute, index);
      }
    });
  });
}

/** A nested field of parsed JSON, or undefined. */
function valueAt(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !(key in current)) return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}

function stringAt(value: unknown, ...path: string[]): string {
  const found = valueAt(value, ...path);
  if (typeof found !== 'string') throw new Error(`expected a string at ${path.join('.')} in ${JSON.stringify(value).slice(0, 300)}`);
  return found;
}

function seenBatches(viewer: ViewerState, batches: Map<number, Batch[]>): number {
  let seen = 0;
  for (const minute of batches.keys()) seen += viewer.next.get(minute) ?? 0;
  return seen;
}

/**
 * Used heap of the Worker's isolate (where the relays and the root live
 * locally: V8 heap plus embedder-owned objects such as WebSocket wrappers),
 * through workerd's inspector (Chrome DevTools protocol); null if the
 * inspector does not answer. workerd's inspector does not answer
 * HeapProfiler.collectGarbage, so this includes garbage not yet collected:
 * an upper bound, amortized over many viewers.
 */
async function isolateHeapBytes(inspector: URL): Promise<number | null> {
  try {
    const list: unknown = await (await fetch(`http://${inspector.host}/json/list`)).json();
    const targets = Array.isArray(list) ? list.filter((t): t is { title?: unknown; webSocketDebuggerUrl: string } => typeof t === 'object' && t !== null && typeof Reflect.get(t, 'webSocketDebuggerUrl') === 'string') : [];
    const target = targets.find((t) => String(t.title ?? '').includes('edgepulse')) ?? targets[0];
    if (target === undefined) return null;
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
    });
    let id = 0;
    const call = (method: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const mine = ++id;
        const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 5000);
        const onMessage = (event: MessageEvent): void => {
          const message: unknown = JSON.parse(String(event.data));
          if (typeof message === 'object' && message !== null && Reflect.get(message, 'id') === mine) {
            ws.removeEventListener('message', onMessage);
            clearTimeout(timer);
            resolve(Reflect.get(message, 'result'));
          }
        };
        ws.addEventListener('message', onMessage);
        ws.send(JSON.stringify({ id: mine, method, params: {} }));
      });
    const usage = await call('Runtime.getHeapUsage').finally(() => ws.close());
    if (typeof usage !== 'object' || usage === null) return null;
    const used = Reflect.get(usage, 'usedSize');
    const embedder = Reflect.get(usage, 'embedderHeapUsedSize');
    return typeof used === 'number' ? used + (typeof embedder === 'number' ? embedder : 0) : null;
  } catch {
    return null;
  }
}

function rssKib(pids: readonly number[]): number | null {
  if (pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(match?.[1] ?? 0);
    } catch {
      return null;
    }
  }
  return total;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

runBench('fanout', main, { timeLimitMs: 300_000 });
