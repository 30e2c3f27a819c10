// The long ground-truth chaos run (issue 7): the same test as the short
// variant inside `npm test` (test/workers/chaos.test.ts, test/chaos/runner.ts),
// with more events, more faults and a longer stream, on the real Worker in
// workerd and a fresh ClickHouse dev server.
//
//   npm run chaos                                   (seed 7, 100,000 events over 300 s, 4 projects)
//   npm run chaos -- --seed 42 --events 200000 --duration 300 [--projects 4] [--verbose]
//   (--duration in seconds, or with a unit: 90s, 5m)
//
// Prints the table of faults injected and checks passed at the end; exit
// code 0 when every check passed, 1 when any failed (with the exact
// differences), 2 on bad arguments.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChaosRunParams } from '../core/chaos-generator.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BEGIN = '--- chaos report begin ---';
const END = '--- chaos report end ---';

export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (match === null) throw new Error(`--duration: expected seconds (e.g. 240, 90s, 5m), got ${JSON.stringify(text)}`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(unit === 'ms' ? value : unit === 'm' ? value * 60_000 : value * 1000);
}

export function parseChaosArgs(args: string[]): { params: ChaosRunParams; verbose: boolean } {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: 'string', default: '7' },
      events: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '300' },
      projects: { type: 'string', default: '4' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const integer = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
    return n;
  };
  const durationMs = parseDurationMs(values.duration);
  if (durationMs < 10_000 || durationMs > 3_600_000) throw new Error('--duration must be between 10 s and 1 h');
  return {
    params: {
      variant: 'long',
      seed: integer('seed', values.seed, 0, 2 ** 32 - 1),
      events: integer('events', values.events, 100, 5_000_000),
      durationMs,
      projects: integer('projects', values.projects, 1, 26),
    },
    verbose: values.verbose,
  };
}

/** workerd's noise about the faults we inject on purpose (aborted objects, refused connections). */
function isNoise(line: string): boolean {
  return /uncaught exception|^stack:|outputGateBroken|Network connection lost|^exception = |NOSENTRY|SendRequest|failed \(attempt \d+\)|^\S*stderr\S* \| test\/workers\/chaos/.test(line);
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseChaosArgs>;
  try {
    parsed = parseChaosArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 2;
  }
  const { params, verbose } = parsed;
  console.log(`chaos: seed ${params.seed}, ${params.events} events over ${params.durationMs / 1000} s, ${params.projects} projects (vitest, workers project, scripts/lib/chaos-vitest.config.ts)`);
  const child = spawn(process.execPath, [resolve(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'scripts/lib/chaos-vitest.config.ts'], {
    cwd: ROOT,
    env: { ...process.env, CHAOS_PARAMS: JSON.stringify(params), FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const report: string[] = [];
  let inReport = false;
  let pending = '';
  const onData = (chunk: Buffer, stream: NodeJS.WriteStream): void => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const plain = line.replace(/\u001b\[[0-9;]*m/g, '');
      if (plain.includes(BEGIN)) inReport = true;
      else if (plain.includes(END)) inReport = false;
      else if (inReport) report.push(plain);
      if (verbose || !isNoise(plain)) stream.write(`${line}\n`);
    }
  };
  child.stdout.on('data', (chunk: Buffer) => onData(chunk, process.stdout));
  child.stderr.on('data', (chunk: Buffer) => onData(chunk, process.stderr));
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);
  const code = await new Promise<number>((done) => child.on('close', (exitCode) => done(exitCode ?? 1)));
  if (report.length > 0) console.log(`\n${report.join('\n')}`);
  else console.log('\nchaos: the run printed no report (see the output above).');
  return code === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main();
