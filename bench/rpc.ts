/**
 * Native Durable Object RPC vs itty-durable vs a plain stub.fetch() with a
 * JSON body, on workerd (Miniflare's API, no `wrangler dev` proxy): the
 * measurement behind the brief's "native RPC unless a measurement says
 * otherwise".
 *
 *   npm run bench -- rpc                 (~1 minute)
 *   npm run bench -- rpc -- --quick      (smoke run)
 *   npm run bench -- rpc -- --rounds 15 --sizes 100,1000 --concurrency 16
 *
 * bench/fixtures/rpc-worker.js holds three Durable Objects doing the same
 * work (count a batch of realistic events in memory, per event type) and a
 * Worker that calls one of them `calls` times, `concurrency` at a time, for
 * one HTTP request from this process. Modes: `native` (stub.ingest(batch),
 * structured clone of the objects), `nativejson` (native RPC carrying the
 * batch as one JSON string, parsed in the object), `fetch` (stub.fetch with
 * a JSON body), `itty` (itty-durable's proxy). Each request is timed here with a
 * high-resolution clock (workerd's own clock only advances on I/O), so
 * ms/call = request time / calls; the `noop` mode (same loop, a local
 * function instead of a Durable Object) shows what the harness itself costs.
 * Modes are interleaved round by round in rotating order so drift (other
 * processes on the machine, GC) hits them all alike; figures are medians
 * over rounds, with their min-max spread.
 *
 * itty-durable is bundled with esbuild (what `wrangler deploy` does): its
 * package entry is CommonJS that require()s files written as ES modules with
 * extensionless imports, which no unbundled loader resolves; the bench
 * records that error. If the bundled proxy fails inside workerd, its figures
 * are null and the error is recorded.
 *
 * The last stdout line is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFixture, ROOT } from './lib/bundle.ts';
import { runBench, tempDir } from './lib/cleanup.ts';
import { machineInfo } from './lib/machine.ts';
import { startMiniflare } from './lib/miniflare.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    sizes: { type: 'string', default: '100,1000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const quick = flags.quick === true;
const ROUNDS = Number(flags.rounds ?? (quick ? '3' : '15'));
const SIZES = flags.sizes.split(',').map(Number);
const CONCURRENCY = Number(flags.concurrency);
if (!(ROUNDS >= 1) || !SIZES.every((s) => Number.isInteger(s) && s > 0 && s <= 10_000) || !(CONCURRENCY >= 2 && CONCURRENCY <= 256)) {
  throw new Error('bad arguments: --rounds >= 1, --sizes 1..10000[,..], --concurrency 2..256');
}
const MODES = ['native', 'nativejson', 'fetch', 'itty', 'noop'] as const;
type Mode = (typeof MODES)[number];

const log = (message: string): void => void process.stderr.write(`[rpc] ${message}\n`);

/** Calls per timed request: enough for tens of milliseconds per request, few enough to finish quickly. */
function callsFor(size: number, concurrency: number): number {
  const base = size <= 100 ? 200 : size <= 1000 ? 60 : 20;
  return Math.max(concurrency * 4, concurrency > 1 ? base * 2 : base) * (quick ? 0.5 : 1);
}

interface RunAnswer {
  ok: number;
  errors: number;
  firstError: string | null;
}

interface ModeFigures {
  ms_per_call: number | null;
  ms_per_call_min: number | null;
  ms_per_call_max: number | null;
  calls_per_s: number | null;
  /** Concurrent runs only: mean time a call was in flight (Little's law: concurrency x time / calls). */
  latency_ms?: number | null;
  error: string | null;
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = machineInfo();
  const tmp = await tempDir('rpc');

  // Whether the package loads without a bundler at all (Node's loader; workerd's follows the same rules).
  let unbundledError: string | null = null;
  try {
    createRequire(import.meta.url)('itty-durable');
  } catch (error) {
    unbundledError = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? null;
  }

  const script = await bundleFixture(path.join(ROOT, 'bench', 'fixtures', 'rpc-worker.js'), path.join(tmp, 'rpc-worker.js'));
  const toml = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? '2026-11-01';
  const { origin } = await startMiniflare({
    resourcePersistencePath: path.join(tmp, 'miniflare'),
    cf: { colo: 'FRA', country: 'DE' },
    workers: [
      {
        name: 'rpc',
        modules: true,
        scriptPath: script,
        modulesRoot: path.dirname(script),
        compatibilityDate,
        compatibilityFlags: ['nodejs_compat'],
        durableObjects: {
          NATIVE: { className: 'NativeShard', useSQLite: true },
          FETCH: { className: 'FetchShard', useSQLite: true },
          ITTY: { className: 'IttyShard', useSQLite: true },
        },
      },
    ],
  } as never);
  log(`workerd up at ${origin}; itty-durable unbundled: ${unbundledError ?? 'loads'}`);

  const run = async (mode: Mode, size: number, calls: number, concurrency: number, name: string): Promise<{ ms: number; answer: RunAnswer }> => {
    const url = `${origin}/run?mode=${mode}&size=${size}&calls=${calls}&concurrency=${concurrency}&name=${name}`;
    const t0 = performance.now();
    const response = await fetch(url);
    const answer = (await response.json()) as RunAnswer;
    return { ms: performance.now() - t0, answer };
  };

  // Payload sizes, and whether each mode works at all before anything is timed.
  const bytes: Record<string, { json_bytes: number; itty_header_bytes: number }> = {};
  const broken = new Map<string, string>();
  for (const size of SIZES) {
    bytes[size] = (await (await fetch(`${origin}/size?size=${size}`)).json()) as { json_bytes: number; itty_header_bytes: number };
    for (const mode of MODES) {
      const { answer } = await run(mode, size, 2, 1, 'probe');
      if (answer.errors > 0) {
        broken.set(`${mode}:${size}`, answer.firstError ?? 'unknown error');
        log(`${mode} with ${size}-event batches fails: ${(answer.firstError ?? '').split('\n')[0]}`);
      }
    }
  }

  const configs: Array<{ size: number; concurrency: number; calls: number; modes: Record<Mode, ModeFigures> }> = [];
  for (const size of SIZES) {
    for (const concurrency of [1, CONCURRENCY]) {
      const calls = callsFor(size, concurrency);
      const active = MODES.filter((m) => !broken.has(`${m}:${size}`));
      const samples = new Map<Mode, number[]>(active.map((m) => [m, []]));
      const errors = new Map<Mode, string>();
      // One object per (mode, config): a fresh, warm instance for each configuration.
      const name = `s${size}-c${concurrency}`;
      for (const mode of active) await run(mode, size, calls, concurrency, name); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        // Rotate the order each round.
        const order = active.map((_, i) => active[(i + r) % active.length] as Mode);
        for (const mode of order) {
          const { ms, answer } = await run(mode, size, calls, concurrency, name);
          if (answer.errors > 0) errors.set(mode, answer.firstError ?? 'unknown error');
          else samples.get(mode)?.push(ms);
        }
      }
      const modes = {} as Record<Mode, ModeFigures>;
      for (const mode of MODES) {
        const ms = samples.get(mode) ?? [];
        const error = broken.get(`${mode}:${size}`) ?? errors.get(mode) ?? null;
        if (ms.length === 0) {
          modes[mode] = { ms_per_call: null, ms_per_call_min: null, ms_per_call_max: null, calls_per_s: null, ...(concurrency > 1 ? { latency_ms: null } : {}), error };
          continue;
        }
        const perCall = ms.map((x) => x / calls);
        const med = median(perCall);
        modes[mode] = {
          ms_per_call: round(med, 4),
          ms_per_call_min: round(Math.min(...perCall), 4),
          ms_per_call_max: round(Math.max(...perCall), 4),
          calls_per_s: Math.round(1000 / med),
          ...(concurrency > 1 ? { latency_ms: round(concurrency * med, 4) } : {}),
          error,
        };
      }
      configs.push({ size, concurrency, calls, modes });
      log(
        `size ${size}, concurrency ${concurrency}, ${calls} calls x ${ROUNDS} rounds: ` +
          MODES.map((m) => `${m} ${modes[m].ms_per_call ?? 'n/a'} ms/call (${modes[m].calls_per_s ?? 'n/a'}/s)`).join(', '),
      );
    }
  }

  const fig = (size: number, concurrency: number, mode: Mode): ModeFigures | undefined =>
    configs.find((c) => c.size === size && c.concurrency === concurrency)?.modes[mode];
  const msPer = (size: number, mode: Mode): number | null => fig(size, 1, mode)?.ms_per_call ?? null;
  const perSec = (size: number, mode: Mode): number | null => fig(size, CONCURRENCY, mode)?.calls_per_s ?? null;
  const ratioOf = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? round(a / b, 4) : null);
  const ittyError = [...broken].find(([k]) => k.startsWith('itty:'))?.[1] ?? null;

  console.log('');
  console.log(`Durable Object call cost (${machine.cpus} x ${machine.model}); median of ${ROUNDS} rounds, [min-max]`);
  console.log('  batch  conc  mode        ms/call                     calls/s   error');
  for (const c of configs) {
    for (const mode of MODES) {
      const f = c.modes[mode];
      const spreadText = f.ms_per_call === null ? 'n/a' : `${f.ms_per_call} [${f.ms_per_call_min}-${f.ms_per_call_max}]`;
      console.log(
        `  ${String(c.size).padStart(5)}  ${String(c.concurrency).padStart(4)}  ${mode.padEnd(10)}  ${spreadText.padEnd(26)}  ${String(f.calls_per_s ?? 'n/a').padStart(8)}   ${(f.error ?? '').split('\n')[0]?.slice(0, 100) ?? ''}`,
      );
    }
  }
  for (const size of SIZES) {
    const b = bytes[size];
    if (b !== undefined) console.log(`  ${size} events: JSON body ${b.json_bytes} B; itty-durable do-content header ${b.itty_header_bytes} B`);
  }
  console.log(`  itty-durable without a bundler: ${unbundledError ?? 'loads'}`);

  const result: Record<string, unknown> = { bench: 'rpc' };
  for (const size of SIZES) {
    result[`native_rpc_ms_per_call_${size}`] = msPer(size, 'native');
    result[`itty_durable_ms_per_call_${size}`] = msPer(size, 'itty');
    result[`fetch_json_ms_per_call_${size}`] = msPer(size, 'fetch');
    result[`native_rpc_json_string_ms_per_call_${size}`] = msPer(size, 'nativejson');
  }
  for (const size of SIZES) {
    result[`native_rpc_calls_per_s_${size}_c${CONCURRENCY}`] = perSec(size, 'native');
    result[`itty_durable_calls_per_s_${size}_c${CONCURRENCY}`] = perSec(size, 'itty');
    result[`fetch_json_calls_per_s_${size}_c${CONCURRENCY}`] = perSec(size, 'fetch');
    result[`native_rpc_json_string_calls_per_s_${size}_c${CONCURRENCY}`] = perSec(size, 'nativejson');
  }
  const first = SIZES[0] ?? 100;
  // How many times longer a call takes than native RPC (sequential, first batch size): > 1 = native is faster.
  const itty = msPer(first, 'itty');
  result.ratio = ratioOf(itty ?? msPer(first, 'fetch'), msPer(first, 'native'));
  result.ratio_definition = `${itty !== null ? 'itty_durable' : 'fetch_json'}_ms_per_call_${first} / native_rpc_ms_per_call_${first} (sequential; > 1 means native RPC is faster)`;
  for (const size of SIZES) {
    result[`ratio_itty_${size}`] = ratioOf(msPer(size, 'itty'), msPer(size, 'native'));
    result[`ratio_fetch_${size}`] = ratioOf(msPer(size, 'fetch'), msPer(size, 'native'));
    result[`ratio_native_json_string_${size}`] = ratioOf(msPer(size, 'nativejson'), msPer(size, 'native'));
    result[`ratio_itty_${size}_c${CONCURRENCY}_throughput`] = ratioOf(perSec(size, 'native'), perSec(size, 'itty'));
  }
  result.harness_ms_per_call = Object.fromEntries(SIZES.map((s) => [String(s), msPer(s, 'noop')]));
  result.itty_durable = {
    version: packageVersion('itty-durable'),
    loads_bundled: ittyError === null,
    bundled_error: ittyError,
    unbundled_error: unbundledError,
    header_bytes: Object.fromEntries(SIZES.map((s) => [String(s), bytes[s]?.itty_header_bytes ?? null])),
    note: 'arguments travel JSON-encoded in one request header; Cloudflare documents a 128 KB total request-header limit for Workers, which local workerd does not enforce',
  };
  result.json_body_bytes = Object.fromEntries(SIZES.map((s) => [String(s), bytes[s]?.json_bytes ?? null]));
  result.rounds = ROUNDS;
  result.concurrency = CONCURRENCY;
  result.configs = configs;
  result.setup = 'fixture Worker + 3 SQLite-backed DO classes on workerd via the miniflare API; the Worker makes the calls, Node times each batch of calls';
  result.quick = quick;
  result.machine = machine;
  result.date = new Date().toISOString();
  result.duration_s = round((performance.now() - started) / 1000, 4);
  console.log(JSON.stringify(result));
}

function packageVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

runBench('rpc', main, { timeLimitMs: 175_000 });
