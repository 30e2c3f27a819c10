import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { dedupToken } from '../../core/rollup-rows.ts';
import type { ValidEvent } from '../../core/events.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { countInClickHouse, projectId, shardStub, sleep, uniqueEventType } from './helpers.ts';

function events(eventType: string, count: number, timestampMs: number, prefix = eventType): ValidEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    eventType,
    timestampMs,
    value: 1.5,
    userId: `u${i}`,
    dimensions: { country: 'DE' },
  }));
}

describe('ShardAggregator', () => {
  it('keeps counted windows across an abort (state is in SQLite storage, not memory)', async () => {
    const stub = shardStub(1);
    const eventType = uniqueEventType('durable');
    await stub.ingest({ projectId: projectId(), shard: 1, events: events(eventType, 5, Date.now()) });
    const before = await stub.stats();
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => {
      state.abort('fault injection');
    }).catch(() => undefined);
    const after = await shardStub(1).stats();
    expect(after.pendingGroups).toBe(before.pendingGroups);
    await sleep(1100);
    await shardStub(1).flushNow();
    expect((await countInClickHouse(eventType)).events).toBe(5);
  });

  it('turns events for an already flushed window into additive adjustment rows', async () => {
    const stub = shardStub(2);
    const eventType = uniqueEventType('late');
    const windowTime = Date.now() - 30_000;
    await stub.ingest({ projectId: projectId(), shard: 2, events: events(eventType, 3, windowTime, `${eventType}-a`) });
    await stub.flushNow();
    const result = await stub.ingest({ projectId: projectId(), shard: 2, events: events(eventType, 2, windowTime, `${eventType}-b`) });
    expect(result.late).toBe(2);
    await stub.flushNow();
    expect(await countInClickHouse(eventType)).toEqual({ events: 5, valueSum: 7.5, lateEvents: 5 });
  });

  it('re-sends a sealed batch with the same token and ClickHouse counts it once', async () => {
    const stub = shardStub(3);
    const eventType = uniqueEventType('exactly_once');
    await stub.ingest({ projectId: projectId(), shard: 3, events: events(eventType, 4, Date.now() - 10_000) });
    // Seal without sending, then send twice: the "lost acknowledgement" case.
    const sealed = await runInDurableObject(stub, (instance: ShardAggregator) => instance.sealClosedWindows(Date.now()));
    expect(sealed).not.toBeNull();
    const { token, rowsJson } = await runInDurableObject(stub, (_instance: ShardAggregator, state) => {
      const row = state.storage.sql
        .exec<{ token: string; rows_json: string }>('SELECT token, rows_json FROM sealed_batches WHERE sequence = ?', sealed ?? -1)
        .one();
      return { token: row.token, rowsJson: row.rows_json };
    });
    expect(token).toMatch(new RegExp(`^${dedupToken(projectId(), 3, '[0-9a-f-]{36}', sealed ?? -1)}$`));
    const { clickHouse } = await import('./helpers.ts');
    const client = clickHouse();
    await client.insert({ table: 'events_1m', values: JSON.parse(rowsJson) as object[], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: token } });
    await client.close();
    // The shard never saw the acknowledgement, so its alarm sends the same batch again.
    const outcome = await stub.flushNow();
    expect(outcome.status).toBe('flushed');
    expect((await countInClickHouse(eventType)).events).toBe(4);
    expect((await stub.stats()).sealedBatches).toBe(0);
  });
});
