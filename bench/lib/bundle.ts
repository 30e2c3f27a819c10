/**
 * Bundles for the benches: the real Worker exactly as `wrangler deploy` would
 * upload it (a dry run into a temp dir), and small fixture Workers with
 * esbuild (the bundler wrangler itself uses).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * `wrangler deploy --dry-run --outdir <outDir>` of the project at `root`
 * (default: this checkout); returns the bundled entry (outDir/index.js).
 */
export async function bundleRealWorker(outDir: string, root = ROOT, timeoutMs = 90_000): Promise<string> {
  const wrangler = path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const args = [wrangler, 'deploy', '--dry-run', '--outdir', outDir, '--config', path.join(root, 'wrangler.toml')];
  const output = await new Promise<string>((resolve, reject) => {
    // process.execPath is Node 24 under npm scripts (wrangler needs >= 22.12).
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`wrangler deploy --dry-run failed (${code ?? signal}):\n${text.slice(-3000)}`));
    });
  });
  const entry = path.join(outDir, 'index.js');
  if (!existsSync(entry)) throw new Error(`wrangler wrote no ${entry}:\n${output.slice(-2000)}`);
  return entry;
}

/** esbuild bundle of a fixture Worker (ESM, `cloudflare:*` left to the runtime). */
export async function bundleFixture(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'silent',
  });
  return outfile;
}
