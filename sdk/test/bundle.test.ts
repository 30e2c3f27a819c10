import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundleSdk, GZIP_BUDGET_BYTES } from '../build.ts';

describe('browser bundle', () => {
  it(`is at most ${GZIP_BUDGET_BYTES} bytes min+gzip`, async () => {
    const { sizes } = await bundleSdk();
    console.log(`sdk bundle: raw ${sizes.raw} B, min ${sizes.min} B, min+gzip ${sizes.gzip} B`);
    expect(sizes.gzip).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  });

  it('the minified file works on its own in a plain Node process', async () => {
    const { code } = await bundleSdk();
    const dir = await mkdtemp(join(tmpdir(), 'edgepulse-sdk-'));
    try {
      const file = join(dir, 'edgepulse.min.js');
      await writeFile(file, code);
      const script = `
        const { createClient } = await import(${JSON.stringify(pathToFileURL(file).href)});
        const bodies = [];
        const fetch = async (url, init) => { bodies.push(init.body); return new Response('{"rejected":[]}', { status: 202 }); };
        const client = createClient({ endpoint: 'https://i.example', writeKey: 'wk', fetch });
        const id = client.track('bundle_check', { value: 1 });
        await client.close();
        console.log(JSON.stringify({ id, bodies }));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
      const result: unknown = JSON.parse(stdout);
      expect(result).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), bodies: [expect.stringContaining('"eventType":"bundle_check"')] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
