/**
 * Benchmark runner and report writer.
 *
 *   npm run bench                          every bench/*.ts in turn (sorted by name); rewrites
 *                                          benchmarks.json and BENCHMARKS.md from this run alone
 *   npm run bench -- <name>                bench/<name>.ts only, merged into benchmarks.json
 *   npm run bench -- ingest hll            a subset, merged into benchmarks.json
 *   npm run bench -- <name> -- --quick     arguments after `--` go to every named bench
 *   npm run bench -- <name> --quick        so does everything from the first unknown option on
 *   npm run bench -- --report-only         BENCHMARKS.md regenerated from benchmarks.json, nothing run
 *   npm run bench -- <name> --no-save      run and print only; benchmarks.json and BENCHMARKS.md untouched
 *
 * Each bench runs in a child process of the current Node binary
 * (process.execPath); its stdout is forwarded live and kept, and its LAST
 * stdout line must be one JSON object (its result). A bench that exits
 * non-zero or prints no JSON object last counts as failed; the runner goes
 * on with the next one and exits non-zero at the end if any failed (failed
 * runs are recorded in benchmarks.json too, without numbers). The runner's
 * own messages go to stderr, so stdout carries only the benches' output.
 *
 * What the report shows, and the targets, are declared in
 * scripts/bench-report.ts (KNOWN_BENCHES). EDGEPULSE_BENCH_DIR and
 * EDGEPULSE_BENCH_OUT (directories) point the runner at other benches and
 * another place for benchmarks.json / BENCHMARKS.md, for trying it out.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import {
  currentGit,
  currentMachine,
  mergeRuns,
  parseInvocation,
  parseResultLine,
  readBenchFile,
  renderMarkdown,
  writeAtomic,
  type BenchFile,
  type RunRecord,
} from './bench-report.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
// Overridable for trying the runner itself on throw-away benches without touching the real files.
const BENCH_DIR = path.resolve(process.env.EDGEPULSE_BENCH_DIR ?? path.join(ROOT, 'bench'));
const OUT_DIR = path.resolve(process.env.EDGEPULSE_BENCH_OUT ?? ROOT);
export const JSON_FILE = path.join(OUT_DIR, 'benchmarks.json');
export const MD_FILE = path.join(OUT_DIR, 'BENCHMARKS.md');
/** Enough for any result line; older output is dropped. */
const KEEP_STDOUT_BYTES = 8 * 1024 * 1024;

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

let interrupted = false;

export function availableBenches(dir = BENCH_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Runs one bench; resolves with its record (never rejects). */
function runOne(bench: string, args: string[]): Promise<RunRecord> {
  const file = path.join(BENCH_DIR, `${bench}.ts`);
  const machine = currentMachine();
  const git = currentGit(ROOT);
  const startedAt = new Date();
  const t0 = performance.now();
  log(`running ${bench} (${path.relative(process.cwd(), file)}${args.length > 0 ? ` ${args.join(' ')}` : ''}); load average ${machine.loadavg_1m}`);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, stdio: ['inherit', 'pipe', 'inherit'] });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onTerm = forward('SIGTERM');
    const onHup = forward('SIGHUP');
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      chunks.push(chunk);
      kept += chunk.length;
      while (kept > KEEP_STDOUT_BYTES && chunks.length > 1) kept -= chunks.shift()?.length ?? 0;
    });
    let spawnError: Error | null = null;
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      const durationS = Math.round((performance.now() - t0) / 100) / 10;
      const parsed = parseResultLine(Buffer.concat(chunks).toString('utf8'));
      let error: string | null = null;
      if (spawnError !== null) error = `could not start: ${(spawnError as Error).message}`;
      else if (signal !== null) error = `killed by ${signal}`;
      else if (code !== 0) error = `exit code ${code}`;
      else if (!parsed.ok) error = parsed.error;
      else if (parsed.value.bench !== undefined && parsed.value.bench !== bench) error = `result line names bench "${String(parsed.value.bench)}", not "${bench}"`;
      resolve({
        bench,
        status: error === null ? 'ok' : 'failed',
        error,
        exit_code: code,
        signal,
        args,
        started_at: startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        duration_s: durationS,
        machine,
        git,
        // A failed bench's last line is kept if it parsed (it may say why), but the report shows no figures for it.
        result: parsed.ok ? parsed.value : null,
      });
    });
  });
}

function writeReport(file: BenchFile): void {
  writeAtomic(MD_FILE, renderMarkdown(file, availableBenches()));
}

async function main(): Promise<number> {
  // Ctrl-C reaches the running bench too (same process group), which cleans up and exits; the runner outlives it
  // (so the bench's stdout pipe stays open), records what finished, and starts nothing more.
  process.on('SIGINT', () => {
    interrupted = true;
  });
  const inv = parseInvocation(process.argv.slice(2));
  const available = availableBenches();

  if (inv.reportOnly) {
    if (inv.names.length > 0 || inv.benchArgs.length > 0) {
      log('--report-only takes no bench names or arguments');
      return 2;
    }
    const file = readBenchFile(JSON_FILE);
    if (file === null) {
      log(`${path.relative(process.cwd(), JSON_FILE)} does not exist; run \`npm run bench\` (or a subset) first`);
      return 2;
    }
    writeReport(file);
    log(`wrote ${path.relative(process.cwd(), MD_FILE)} from ${path.relative(process.cwd(), JSON_FILE)} (${Object.keys(file.runs).length} benches)`);
    return 0;
  }

  const all = inv.names.length === 0;
  const names = all ? available : [...new Set(inv.names)];
  if (names.length === 0) {
    log(`no benchmarks in ${BENCH_DIR}`);
    return 1;
  }
  const unknown = names.filter((n) => !/^[\w.-]+$/.test(n) || !available.includes(n));
  if (unknown.length > 0) {
    log(`unknown benchmark${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (available: ${available.join(', ') || 'none'})`);
    return 2;
  }

  const records: RunRecord[] = [];
  for (const bench of names) {
    if (interrupted) {
      log(`interrupted; not running ${names.slice(names.indexOf(bench)).join(', ')}`);
      break;
    }
    const record = await runOne(bench, inv.benchArgs);
    records.push(record);
    if (record.status === 'ok') log(`${bench} done in ${record.duration_s} s`);
    else log(`${bench} FAILED after ${record.duration_s} s (${record.error})`);
  }

  // An interrupted bench's result says nothing about the bench: keep the previous one.
  if (interrupted && records.at(-1)?.status === 'failed') records.pop();

  if (inv.save && records.length > 0) {
    // Re-read just before writing: someone may have merged another bench meanwhile.
    let existing: BenchFile | null = null;
    try {
      existing = readBenchFile(JSON_FILE);
    } catch (error) {
      const aside = `${JSON_FILE}.malformed-${Date.now()}`;
      renameSync(JSON_FILE, aside);
      log(`${path.relative(process.cwd(), JSON_FILE)} was malformed (${error instanceof Error ? error.message : String(error)}); moved it to ${path.basename(aside)} and started a new one`);
    }
    // A full run replaces the file, unless it was cut short: then it merges what finished.
    const merged = mergeRuns(existing, records, new Date().toISOString(), all && !interrupted);
    writeAtomic(JSON_FILE, `${JSON.stringify(merged, null, 2)}\n`);
    writeReport(merged);
    log(`wrote ${path.relative(process.cwd(), JSON_FILE)} and ${path.relative(process.cwd(), MD_FILE)}${all ? '' : ` (merged: ${names.join(', ')})`}`);
  }

  const failed = records.filter((r) => r.status === 'failed').map((r) => r.bench);
  if (interrupted) return 130;
  if (failed.length > 0) {
    log(`${failed.length} of ${records.length} failed: ${failed.join(', ')}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) process.exitCode = await main();
