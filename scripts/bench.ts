/**
 * Benchmark runner.
 *
 *   npm run bench              runs every bench/*.ts in turn (sorted by name)
 *   npm run bench -- <name>    runs bench/<name>.ts
 *   npm run bench -- <name> -- --quick   extra args after the name are passed on
 *
 * Each bench runs in a child process of the current Node binary
 * (process.execPath) with stdout/stderr forwarded. The runner's own messages
 * go to stderr so a bench's stdout (whose last line is its JSON result) stays
 * clean. Exits non-zero if any bench fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const benchDir = path.resolve(import.meta.dirname, '..', 'bench');
const [name, ...rest] = process.argv.slice(2);
const extraArgs = rest[0] === '--' ? rest.slice(1) : rest;

let names: string[];
if (name === undefined || name === '') {
  names = readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  if (names.length === 0) {
    console.error(`bench: no benchmarks in ${benchDir}`);
    process.exit(1);
  }
} else {
  const clean = name.endsWith('.ts') ? name.slice(0, -3) : name;
  if (!/^[\w.-]+$/.test(clean) || !existsSync(path.join(benchDir, `${clean}.ts`))) {
    const available = existsSync(benchDir) ? readdirSync(benchDir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)) : [];
    console.error(`bench: unknown benchmark "${name}" (available: ${available.join(', ') || 'none'})`);
    process.exit(2);
  }
  names = [clean];
}

const failed: string[] = [];
for (const bench of names) {
  const file = path.join(benchDir, `${bench}.ts`);
  console.error(`bench: running ${bench} (${path.relative(process.cwd(), file)})`);
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [file, ...extraArgs], { stdio: 'inherit' });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? (result.signal !== null ? `signal ${result.signal}` : `exit code ${result.status}`);
    console.error(`bench: ${bench} FAILED after ${secs} s (${why})`);
    failed.push(bench);
  } else {
    console.error(`bench: ${bench} done in ${secs} s`);
  }
}
if (failed.length > 0) {
  console.error(`bench: ${failed.length} of ${names.length} failed: ${failed.join(', ')}`);
  process.exit(1);
}
