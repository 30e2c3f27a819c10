/**
 * Bundles the SDK for browsers: sdk/dist/edgepulse.min.js (ESM, minified) and
 * prints raw / minified / min+gzip sizes. The same file runs in Node and Workers.
 * Usage: npm run build:sdk
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('./src/index.ts', import.meta.url));
export const outFile = fileURLToPath(new URL('./dist/edgepulse.min.js', import.meta.url));
/** The budget for the browser bundle, min+gzip. */
export const GZIP_BUDGET_BYTES = 5 * 1024;

export interface BundleSizes {
  raw: number;
  min: number;
  gzip: number;
}

async function bundle(minify: boolean): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers from 2020 on (optional chaining, ??); newer syntax is lowered.
    target: 'es2020',
    minify,
    legalComments: 'none',
    write: false,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

/** Builds in memory; `raw` is the unminified bundle. */
export async function bundleSdk(): Promise<{ code: string; sizes: BundleSizes }> {
  const [raw, code] = await Promise.all([bundle(false), bundle(true)]);
  const bytes = (text: string): number => Buffer.byteLength(text);
  return { code, sizes: { raw: bytes(raw), min: bytes(code), gzip: gzipSync(code, { level: 9 }).length } };
}

if (import.meta.main) {
  const { code, sizes } = await bundleSdk();
  await mkdir(fileURLToPath(new URL('./dist/', import.meta.url)), { recursive: true });
  await writeFile(outFile, code);
  console.log(`${outFile}\n  raw ${sizes.raw} B, min ${sizes.min} B, min+gzip ${sizes.gzip} B (budget ${GZIP_BUDGET_BYTES} B)`);
  if (sizes.gzip > GZIP_BUDGET_BYTES) {
    console.error('over budget');
    process.exitCode = 1;
  }
}
