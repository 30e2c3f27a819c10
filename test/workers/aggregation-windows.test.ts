import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../core/hll.ts';
import { mergeSlidingResults } from '../../core/sliding.ts';
import { parseUsersEstimate, ROLLUP_USERS_SQL } from '../../core/recount.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { drainAlarms, expectConsistent, makeEvents, newProjectId, queryRows, shardOf, totalsIn } from './aggregation-support.ts';

const MINUTE = 60_000;

describe('panes and sliding windows', () => {
  it('answers a sliding window by merging panes, never by re-reading events', async () => {
    const projectId = newProjectId('sliding');
    const stub = shardOf(projectId);
    const now = Date.now();
    // Five panes (1 s in tests), 4 events each; users overlap between panes.
    const events = [0, 1, 2, 3, 4].flatMap((age) =>
      makeEvents(`${projectId}-${age}`, 4, { timestampMs: now - age * 1000, value: 2, extra: (i) => ({ userId: `user-${age + i}` }) }),
    );
    await stub.ingest({ projectId, shard: 0, events });
    // Drop the only per-event storage: the answer must come from panes alone.
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => {
      state.storage.sql.exec('DELETE FROM seen_events');
      state.storage.sql.exec('DELETE FROM raw_pending');
    });
    const result = await stub.slidingWindow({ lastSeconds: 3 });
    // The range is whole panes ending with the current one; the expectation follows the range returned.
    const inRange = events.filter((event) => event.timestampMs >= result.fromMs && event.timestampMs < result.toMs);
    expect(result.toMs - result.fromMs).toBe(3000);
    expect(result.events).toBe(inRange.length);
    expect(result.valueSum).toBe(2 * inRange.length);
    expect(result.uniqueUsers).toBe(new Set(inRange.map((event) => event.userId)).size);
    const all = await stub.slidingWindow({ lastSeconds: 300, eventType: 'click', filters: { country: 'DE' } });
    expect(all).toMatchObject({ events: 20, uniqueUsers: 8 });
    expect(await stub.slidingWindow({ lastSeconds: 300, filters: { country: 'FR' } })).toMatchObject({ events: 0, uniqueUsers: 0 });
    const refused = await stub.slidingWindow({ lastSeconds: 0 }).then(() => null, (error: unknown) => error);
    expect(String(refused)).toMatch(/lastSeconds/);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAll());
  });

  it('merges sliding windows across shards without counting a user twice', async () => {
    const projectId = newProjectId('sliding-shards');
    const [a, b] = [shardOf(projectId, 0), shardOf(projectId, 1)];
    await a.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-a`, 30, { users: 10 }) });
    await b.ingest({ projectId, shard: 1, events: makeEvents(`${projectId}-b`, 12, { users: 6 }) });
    const merged = mergeSlidingResults([await a.slidingWindow({ lastSeconds: 300 }), await b.slidingWindow({ lastSeconds: 300 })]);
    expect(merged).toMatchObject({ events: 42, uniqueUsers: 16 });
    expect(HyperLogLog.deserialize(merged?.sketch ?? new Uint8Array()).count()).toBe(16);
    for (const stub of [a, b]) await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAll());
  });

  it('rolls the closed panes of a minute into one row per group, with user sketches that merge over any range', async () => {
    const projectId = newProjectId('minutes');
    const stub = shardOf(projectId);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE;
    // Six panes of one minute, and the next minute, with 10 and 8 users (5 shared).
    const first = [0, 1, 2, 3, 4, 5].flatMap((pane) =>
      makeEvents(`${projectId}-m1-${pane}`, 10, { timestampMs: minute + pane * 10_000, value: 0.5, extra: (i) => ({ userId: `u${i}` }) }),
    );
    const second = makeEvents(`${projectId}-m2`, 8, { timestampMs: minute + MINUTE + 1000, value: 0.5, extra: (i) => ({ userId: `u${i + 5}` }) });
    await stub.ingest({ projectId, shard: 0, events: [...first, ...second] });
    await stub.flushNow();
    const rows = await queryRows(
      'SELECT toUnixTimestamp(window_start) AS t, toUInt32(count()) AS rows, toUInt32(sum(events)) AS events FROM events_1m WHERE project_id = {p:String} GROUP BY t ORDER BY t',
      { p: projectId },
    );
    expect(rows).toEqual([
      { t: minute / 1000, rows: 1, events: 60 },
      { t: minute / 1000 + 60, rows: 1, events: 8 },
    ]);
    // Uniques over one minute and over both: merged registers, never a sum of per-minute uniques.
    const users = async (fromMs: number, toMs: number): Promise<number> =>
      parseUsersEstimate((await queryRows(ROLLUP_USERS_SQL, { projectId, from: fromMs / 1000, to: toMs / 1000 }))[0]);
    expect(await users(minute, minute + MINUTE)).toBe(10);
    expect(await users(minute + MINUTE, minute + 2 * MINUTE)).toBe(8);
    expect(await users(minute, minute + 2 * MINUTE)).toBe(13);
    expect(await totalsIn('events_1h', projectId)).toMatchObject({ events: 68, valueSum: 34 });
    expect(await totalsIn('events_1d', projectId)).toMatchObject({ events: 68, valueSum: 34 });
    await expectConsistent(projectId, { events: 68, valueSum: 34, users: 13 });
    await drainAlarms(stub);
  });

  it('writes one log row per call and one pane row per group per checkpoint, not one per event', async () => {
    const projectId = newProjectId('coalesced');
    const stub = shardOf(projectId);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-warm`, 1) });
    await stub.stats(); // a read checkpoints first
    // Triggers count writes to the panes table (inserts and in-place updates) and to the ingest log.
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => {
      state.storage.sql.exec('CREATE TABLE test_writes (target TEXT)');
      state.storage.sql.exec(`CREATE TRIGGER test_pane_inserts AFTER INSERT ON panes BEGIN INSERT INTO test_writes VALUES ('panes'); END`);
      state.storage.sql.exec(`CREATE TRIGGER test_pane_updates AFTER UPDATE ON panes BEGIN INSERT INTO test_writes VALUES ('panes'); END`);
      state.storage.sql.exec(`CREATE TRIGGER test_log_inserts AFTER INSERT ON ingest_log BEGIN INSERT INTO test_writes VALUES ('log'); END`);
      // Every checkpoint that covers new event ids writes exactly one dedup journal row: it counts the checkpoints.
      state.storage.sql.exec(`CREATE TRIGGER test_checkpoints AFTER INSERT ON dedup_journal BEGIN INSERT INTO test_writes VALUES ('checkpoint'); END`);
    });
    const now = Date.now() + 30_000;
    // Three calls of 300 events in the same three groups (one pane, three countries).
    for (let call = 0; call < 3; call++) {
      const events = makeEvents(`${projectId}-many-${call}`, 300, { timestampMs: now, users: 50, dimensions: (i) => ({ country: ['DE', 'FR', 'US'][i % 3] ?? 'DE' }) });
      expect((await stub.ingest({ projectId, shard: 0, events })).accepted).toBe(300);
    }
    const stats = await stub.stats(); // checkpoints the three calls at once
    const writes = await runInDurableObject(stub, (_instance: ShardAggregator, state) => {
      const rows = state.storage.sql.exec<{ target: string; n: number }>('SELECT target, COUNT(*) AS n FROM test_writes GROUP BY target ORDER BY target').toArray();
      const logLeft = state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ingest_log').one().n;
      for (const trigger of ['test_pane_inserts', 'test_pane_updates', 'test_log_inserts', 'test_checkpoints']) state.storage.sql.exec(`DROP TRIGGER ${trigger}`);
      const count = (target: string): number => rows.find((row) => row.target === target)?.n ?? 0;
      return { log: count('log'), panes: count('panes'), checkpoints: count('checkpoint'), logLeft };
    });
    // Usually one checkpoint covers all three calls (a slow machine may fit the checkpoint timer in between): 3 groups each time.
    expect(writes.log).toBe(3);
    expect(writes.logLeft).toBe(0);
    expect(writes.checkpoints).toBeGreaterThanOrEqual(1);
    expect(writes.checkpoints).toBeLessThanOrEqual(3);
    expect(writes.panes).toBe(3 * writes.checkpoints);
    expect(stats.counters.accepted).toBe(901);
    // What SQLite-backed objects are billed by: far under one row written per event (triggers' rows included).
    expect(stats.rowsWrittenSinceStart).toBeGreaterThan(0);
    expect(stats.rowsWrittenSinceStart).toBeLessThan(90);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAll());
  });
});
