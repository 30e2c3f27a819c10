import { describe, expect, it } from 'vitest';
import { clickHouseDateTime, clickHouseDateTime64, FLUSH_INSERT_SETTINGS, TABLES, type LandingRow } from '../../core/rollup-rows.ts';
import { directClickHouse, newProjectId, queryRows } from './aggregation-support.ts';

function landingRows(projectId: string): LandingRow[] {
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const base = { project_id: projectId, shard: 0 };
  return [
    {
      kind: 'rollup', ...base, event_type: 'click', window_start: clickHouseDateTime(minute), dims_key: 'a=1', dims: { a: '1' },
      events: 3, value_sum: 1.5, bot_events: 1, bot_value_sum: 0, late_events: 0, hll_idx: [7, 9], hll_val: [1, 2],
    },
    {
      kind: 'raw', ...base, event_type: 'click', event_id: 'e1', event_time: clickHouseDateTime64(minute + 1), received_at: clickHouseDateTime64(minute + 2),
      user_id: 'u1', dims: { a: '1' }, dims_key: 'a=1', value: 1.5, bot: 0, late: 0, city: 'Berlin', colo: 'TXL', timezone: 'Europe/Berlin', asn: 3320,
    },
    { kind: 'governance', ...base, window_start: clickHouseDateTime(minute), reason: 'folded', dimension: 'a', events: 2 },
  ];
}

async function counts(projectId: string): Promise<Record<string, number>> {
  const [row] = await queryRows(
    `SELECT (SELECT toUInt32(sum(events)) FROM events_1m WHERE project_id = {p:String}) AS m,
            (SELECT toUInt32(sum(events)) FROM events_1h WHERE project_id = {p:String}) AS h,
            (SELECT toUInt32(sum(events)) FROM events_1d WHERE project_id = {p:String}) AS d,
            (SELECT toUInt32(count()) FROM events_raw WHERE project_id = {p:String}) AS raw,
            (SELECT toUInt32(sum(events)) FROM governance_1m WHERE project_id = {p:String}) AS governance`,
    { p: projectId },
  );
  const out: Record<string, number> = {};
  for (const key of ['m', 'h', 'd', 'raw', 'governance']) out[key] = Number(typeof row === 'object' && row !== null ? Reflect.get(row, key) : NaN);
  return out;
}

async function insertTwice(projectId: string, dedupInViews: 0 | 1): Promise<void> {
  const client = directClickHouse();
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      await client.insert({
        table: TABLES.landing,
        values: landingRows(projectId),
        format: 'JSONEachRow',
        clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, deduplicate_blocks_in_dependent_materialized_views: dedupInViews, insert_deduplication_token: `edgepulse:${projectId}:0:test:1` },
      });
    }
  } finally {
    await client.close();
  }
}

describe('ClickHouse schema: one landing insert fans out to every table, exactly once', () => {
  it('counts a retried flush once in events_1m, events_1h, events_1d, events_raw and governance_1m', async () => {
    const projectId = newProjectId('schema-dedup');
    await insertTwice(projectId, 1);
    expect(await counts(projectId)).toEqual({ m: 3, h: 3, d: 3, raw: 1, governance: 2 });
  });

  it('would double count in the views without deduplicate_blocks_in_dependent_materialized_views (why the flush sets it)', async () => {
    const projectId = newProjectId('schema-control');
    await insertTwice(projectId, 0);
    expect(await counts(projectId)).toEqual({ m: 6, h: 6, d: 6, raw: 2, governance: 4 });
  });
});
