// scripts/recount.ts against the chdb dev server of test/clickhouse.global-setup.ts.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createClient } from '@clickhouse/client-web';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { HyperLogLog } from '../core/hll.ts';
import { clickHouseDateTime, clickHouseDateTime64, FLUSH_INSERT_SETTINGS, TABLES, type LandingRow } from '../core/rollup-rows.ts';
import { registerPairs } from '../core/sketch-registers.ts';
import { formatRecount, runRecount } from './recount.ts';

const url = inject('clickhouseUrl');
const client = createClient({ url, database: 'edgepulse' });
afterAll(() => client.close());

const MINUTE = 60_000;
const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

/** What shards would flush for `users` users, each with one event of value 2 in `minute`. */
function flushRows(projectId: string, users: number, counted = users): LandingRow[] {
  const sketch = new HyperLogLog({ precision: 12 });
  const raw: LandingRow[] = Array.from({ length: users }, (_, i) => {
    sketch.add(`u${i}`);
    return {
      kind: 'raw', project_id: projectId, shard: 0, event_type: 'buy', event_id: `e${i}`, event_time: clickHouseDateTime64(minute + i),
      received_at: clickHouseDateTime64(minute + i), user_id: `u${i}`, dims: { c: 'x' }, dims_key: 'c=x', value: 2, bot: 0, late: 0, city: '', colo: '', timezone: '', asn: 0,
    };
  });
  const { idx, val } = registerPairs(sketch);
  return [
    {
      kind: 'rollup', project_id: projectId, shard: 0, event_type: 'buy', window_start: clickHouseDateTime(minute), dims_key: 'c=x', dims: { c: 'x' },
      events: counted, value_sum: 2 * counted, bot_events: 0, bot_value_sum: 0, late_events: 0, hll_idx: idx, hll_val: val,
    },
    ...raw,
  ];
}

async function flush(rows: LandingRow[]): Promise<void> {
  await client.insert({ table: TABLES.landing, values: rows, format: 'JSONEachRow', clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, insert_deduplication_token: randomUUID() } });
}

describe('npm run recount', () => {
  it('finds zero differences when rollups and raw events agree', async () => {
    const projectId = `recount-ok-${randomUUID().slice(0, 8)}`;
    await flush(flushRows(projectId, 40));
    const result = await runRecount({ url, projectId, fromMs: minute - MINUTE, toMs: minute + 2 * MINUTE });
    expect(result).toMatchObject({ differences: [], rawEvents: 40, rawDuplicates: 0, rollupGroups: 1, rawGroups: 1, exactUsers: 40 });
    expect(Math.abs(result.estimatedUsers - 40)).toBeLessThanOrEqual(3);
    expect(formatRecount(result)).toMatch(/0 differences$/);
  });

  it('prints each difference and exits 1 from the command line', async () => {
    const projectId = `recount-bad-${randomUUID().slice(0, 8)}`;
    // A rollup that claims one event more than the raw events show.
    await flush(flushRows(projectId, 5, 6));
    const result = await runRecount({ url, projectId, fromMs: minute, toMs: minute + MINUTE });
    expect(result.differences).toEqual([
      { t: minute / 1000, eventType: 'buy', dimsKey: 'c=x', rollup: { events: 6, botEvents: 0, valueSum: 12, botValueSum: 0 }, raw: { events: 5, botEvents: 0, valueSum: 10, botValueSum: 0 } },
    ]);
    const cli = spawnSync(
      process.execPath,
      [resolve(import.meta.dirname, 'recount.ts'), '--project', projectId, '--from', new Date(minute).toISOString(), '--to', String(minute + MINUTE), '--url', url],
      { encoding: 'utf8' },
    );
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/DIFF .* buy \[c=x\] events 6 vs raw 5/);
    expect(cli.stdout).toMatch(/1 differences/);
  });

  it('rejects bad arguments with exit code 2', () => {
    const cli = spawnSync(process.execPath, [resolve(import.meta.dirname, 'recount.ts'), '--project', 'p', '--from', 'yesterday', '--to', '1'], { encoding: 'utf8' });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/--from must be/);
  });
});
