import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { DimensionPolicy } from '../../core/cardinality.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { drainAlarms, expectConsistent, makeEvents, newProjectId, queryRows, shardOf } from './aggregation-support.ts';

const MINUTE = 60_000;

describe('cardinality governance', () => {
  it('keeps K values per dimension and minute, folds the rest into __other__, drops undeclared dimensions, and shows both', async () => {
    const projectId = newProjectId('governed');
    const stub = shardOf(projectId);
    const policy: DimensionPolicy = { declared: ['campaign', 'country'], maxValuesPerWindow: 3 };
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
    const events = makeEvents(projectId, 10, { timestampMs: minute + 5_000, dimensions: (i) => ({ campaign: `c${i}`, country: 'DE', sessionId: `s${i}` }) });
    const result = await stub.ingest({ projectId, shard: 0, events, dimensionPolicy: policy });
    expect(result).toMatchObject({ accepted: 10, foldedEvents: 7, droppedDimensionEvents: 10 });

    // A rebuilt shard makes the same decisions: c1 stays itself, c9 still folds.
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort('fault injection')).catch(() => undefined);
    const again = makeEvents(`${projectId}-again`, 2, { timestampMs: minute + 6_000, dimensions: (i) => ({ campaign: i === 0 ? 'c1' : 'c9', country: 'DE' }) });
    expect(await shardOf(projectId).ingest({ projectId, shard: 0, events: again, dimensionPolicy: policy })).toMatchObject({ foldedEvents: 1, droppedDimensionEvents: 0 });

    await shardOf(projectId).flushNow();
    const rows = await queryRows('SELECT dims_key, toUInt32(sum(events)) AS events FROM events_1m WHERE project_id = {p:String} GROUP BY dims_key ORDER BY dims_key', { p: projectId });
    expect(rows).toEqual([
      { dims_key: 'campaign=__other__&country=DE', events: 8 },
      { dims_key: 'campaign=c0&country=DE', events: 1 },
      { dims_key: 'campaign=c1&country=DE', events: 2 },
      { dims_key: 'campaign=c2&country=DE', events: 1 },
    ]);
    const governance = await queryRows(
      'SELECT toString(reason) AS reason, dimension, toUInt32(sum(events)) AS events FROM governance_1m WHERE project_id = {p:String} GROUP BY reason, dimension ORDER BY reason',
      { p: projectId },
    );
    expect(governance).toEqual([
      { reason: 'folded', dimension: 'campaign', events: 8 },
      { reason: 'undeclared', dimension: 'sessionId', events: 10 },
    ]);
    // Raw rows keep the value as sent (undeclared dimensions dropped) and the key the event was counted under.
    const raw = await queryRows("SELECT dims, dims_key FROM events_raw WHERE project_id = {p:String} AND dims['campaign'] = 'c9'", { p: projectId });
    expect(raw).toEqual([
      { dims: { campaign: 'c9', country: 'DE' }, dims_key: 'campaign=__other__&country=DE' },
      { dims: { campaign: 'c9', country: 'DE' }, dims_key: 'campaign=__other__&country=DE' },
    ]);
    await expectConsistent(projectId, { events: 12, valueSum: 12, users: 12 });
    const stats = await shardOf(projectId).stats();
    expect(stats.counters).toMatchObject({ accepted: 12, foldedEvents: 8, droppedDimensionEvents: 10 });
    await drainAlarms(shardOf(projectId));
  });

  it('starts each minute with an empty value set and applies MAX_DIMENSION_VALUES when the project sets no K', async () => {
    const projectId = newProjectId('governed-default');
    const stub = shardOf(projectId);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    // 150 values in one minute with the default K = 100; then 1 new value in the next minute.
    const first = makeEvents(`${projectId}-a`, 150, { timestampMs: minute + 1000, dimensions: (i) => ({ path: `/p${i}` }) });
    const second = makeEvents(`${projectId}-b`, 1, { timestampMs: minute + MINUTE + 1000, dimensions: () => ({ path: '/p149' }) });
    expect(await stub.ingest({ projectId, shard: 0, events: first })).toMatchObject({ foldedEvents: 50 });
    expect(await stub.ingest({ projectId, shard: 0, events: second })).toMatchObject({ foldedEvents: 0 });
    await stub.flushNow();
    await expectConsistent(projectId, { events: 151, valueSum: 151, users: 151 });
    await drainAlarms(stub);
  });
});
