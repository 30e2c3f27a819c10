/**
 * Why edgepulse validates events with its own code (core/events.ts) instead
 * of a schema library: the same rules written in zod 4 and valibot 1,
 * compared on speed (ns/event, Node, median of 7 rounds) and on what they add
 * to the Worker bundle (esbuild, minified + gzip). Last stdout line: JSON.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { validateEvent } from '../core/events.ts';
import { valibotEvent } from './fixtures/validation/valibot-schema.ts';
import { zodEvent } from './fixtures/validation/zod-schema.ts';

const now = Date.now();
const events = Array.from({ length: 10_000 }, (_, i) => ({
  eventId: `evt_${i}_abcdef`,
  eventType: ['page_view', 'ad_click', 'purchase'][i % 3],
  timestamp: now - i,
  value: i % 7,
  userId: `usr_${i % 500}`,
  dimensions: { campaignId: `camp_${i % 40}`, country: 'US', deviceType: 'MOBILE', path: `/p/${i % 20}` },
}));

const validators: Record<string, (event: unknown) => boolean> = {
  edgepulse: (event) => validateEvent(event, { nowMs: now, newEventId: () => 'minted' }).ok,
  valibot: (event) => v.safeParse(valibotEvent, event).success,
  zod: (event) => zodEvent.safeParse(event).success,
};

function nsPerEvent(validate: (event: unknown) => boolean): number {
  for (let warm = 0; warm < 3; warm++) for (const event of events) validate(event);
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = performance.now();
    for (const event of events) validate(event);
    rounds.push(((performance.now() - start) * 1e6) / events.length);
  }
  rounds.sort((a, b) => a - b);
  return Math.round(rounds[3] ?? 0);
}

async function gzipBytes(entry: string): Promise<number> {
  const result = await build({ stdin: { contents: entry, resolveDir: import.meta.dirname, loader: 'ts' }, bundle: true, minify: true, format: 'esm', platform: 'neutral', write: false });
  return gzipSync(result.outputFiles[0]?.contents ?? new Uint8Array(), { level: 9 }).byteLength;
}

const entries: Record<string, string> = {
  edgepulse: `import { validateEvent } from '${join(import.meta.dirname, '../core/events.ts')}'; export const f = (x) => validateEvent(x, { nowMs: 0, newEventId: () => '' }).ok;`,
  valibot: `import * as v from 'valibot'; import { valibotEvent } from './fixtures/validation/valibot-schema.ts'; export const f = (x) => v.safeParse(valibotEvent, x).success;`,
  zod: `import { zodEvent } from './fixtures/validation/zod-schema.ts'; export const f = (x) => zodEvent.safeParse(x).success;`,
};

const results: Record<string, { ns_per_event: number; bundle_gzip_bytes: number; all_valid: boolean }> = {};
for (const name of Object.keys(validators)) {
  const validate = validators[name];
  const entry = entries[name];
  if (validate === undefined || entry === undefined) continue;
  results[name] = { ns_per_event: nsPerEvent(validate), bundle_gzip_bytes: await gzipBytes(entry), all_valid: events.every(validate) };
  console.log(`${name.padEnd(10)} ${String(results[name].ns_per_event).padStart(6)} ns/event  ${String(results[name].bundle_gzip_bytes).padStart(7)} B gzip`);
}
const ours = results.edgepulse?.ns_per_event ?? Number.NaN;
const valibotNs = results.valibot?.ns_per_event ?? Number.NaN;
console.log(
  JSON.stringify({
    bench: 'validation',
    ns_per_event: ours,
    baseline_valibot_ns_per_event: valibotNs,
    zod_ns_per_event: results.zod?.ns_per_event,
    ratio: valibotNs / ours,
    bundle_gzip_bytes: results.edgepulse?.bundle_gzip_bytes,
    valibot_bundle_gzip_bytes: results.valibot?.bundle_gzip_bytes,
    zod_bundle_gzip_bytes: results.zod?.bundle_gzip_bytes,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    date: new Date().toISOString(),
  }),
);
