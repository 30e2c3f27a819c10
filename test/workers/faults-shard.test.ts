import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ShardAggregator, ShardStats } from '../../durable-objects/ShardAggregator.ts';
import { drainAlarms, expectConsistent, makeEvents, newProjectId, queryRows, shardOf, untilClosed } from './aggregation-support.ts';

const MINUTE = 60_000;

function abort(stub: ReturnType<typeof shardOf>, reason: string): Promise<unknown> {
  return runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort(reason)).catch(() => undefined);
}

/** Stats without the fields that move with the clock. */
/** Stats without what depends on the clock or on the instance (rows written count since the object started). */
function stable(stats: ShardStats): Partial<ShardStats> {
  const { nowMs: _now, watermarkMs: _w, watermarkLagMs: _l, eventTimeLagMs: _e, flushLagMs: _f, nextAlarmMs: _a, rowsWrittenSinceStart: _rows, ...rest } = stats;
  return rest;
}

describe('faults: the shard itself', () => {
  it('loses nothing when aborted mid-window, and still dedups retried ids after the restart', async () => {
    const projectId = newProjectId('abort-window');
    const stub = shardOf(projectId);
    // A window that is still open (2 s ahead) when the shard dies.
    const at = Date.now() + 2000;
    const first = makeEvents(`${projectId}-a`, 20, { timestampMs: at, users: 8, value: 2 });
    await stub.ingest({ projectId, shard: 0, events: first });
    await abort(stub, 'fault injection mid-window');
    const restarted = shardOf(projectId);
    // The client retries the same batch (it never saw the answer) plus new events.
    const retried = await restarted.ingest({ projectId, shard: 0, events: [...first, ...makeEvents(`${projectId}-b`, 5, { timestampMs: at, users: 5, value: 2 })] });
    expect(retried).toMatchObject({ accepted: 5, duplicates: 20 });
    await untilClosed(at);
    await restarted.flushNow();
    await expectConsistent(projectId, { events: 25, valueSum: 50, users: 13 });
    await drainAlarms(restarted);
  });

  it('counts out-of-order and late events: on-time ones in their windows, late ones as adjustment rows', async () => {
    const projectId = newProjectId('late-ooo');
    const stub = shardOf(projectId);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
    const past = minute - 2 * MINUTE;
    // Newest first: an open window (ahead), then two closed minutes in reverse order.
    const open = Date.now() + 1500;
    const batch = [
      ...makeEvents(`${projectId}-open`, 4, { timestampMs: open }),
      ...makeEvents(`${projectId}-m2`, 3, { timestampMs: past + MINUTE + 30_000 }),
      ...makeEvents(`${projectId}-m1`, 2, { timestampMs: past + 10_000 }),
    ];
    expect(await stub.ingest({ projectId, shard: 0, events: batch })).toMatchObject({ accepted: 9, late: 5 });
    await stub.flushNow();
    // More events for the minute already flushed: additive adjustment rows, never dropped.
    expect(await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-m1-late`, 6, { timestampMs: past + 50_000 }) })).toMatchObject({ late: 6 });
    await untilClosed(open);
    await stub.flushNow();
    const perMinute = await queryRows(
      'SELECT toUnixTimestamp(window_start) AS t, toUInt32(sum(events)) AS events, toUInt32(sum(late_events)) AS late FROM events_1m WHERE project_id = {p:String} AND window_start < toDateTime({m:UInt32}) GROUP BY t ORDER BY t',
      { p: projectId, m: minute / 1000 },
    );
    expect(perMinute).toEqual([
      { t: past / 1000, events: 8, late: 8 },
      { t: past / 1000 + 60, events: 3, late: 3 },
    ]);
    expect((await stub.stats()).counters).toMatchObject({ accepted: 15, late: 11 });
    await expectConsistent(projectId, { events: 15, valueSum: 15, users: 15 });
    await drainAlarms(stub);
  });

  it('rebuilds identically after eviction: stats, live totals, sliding windows, sealed batches', async () => {
    const projectId = newProjectId('rebuild');
    const stub = shardOf(projectId);
    const now = Date.now();
    const events = [
      ...makeEvents(`${projectId}-a`, 50, { timestampMs: now - 1500, users: 20, value: 1.25, dimensions: (i) => ({ country: ['DE', 'FR'][i % 2] ?? 'DE' }) }),
      ...makeEvents(`${projectId}-b`, 10, { timestampMs: now + 3000, users: 10, extra: (i) => ({ bot: i < 3 }) }),
    ];
    await stub.ingest({ projectId, shard: 0, events, rejectedTooOld: 1 });
    // Seal what is closed (without sending): the sealed batch must survive too.
    await runInDurableObject(stub, async (instance: ShardAggregator, state) => {
      await state.storage.deleteAlarm();
      instance.sealClosedWindows(Date.now());
    });
    const snapshot = async () => {
      const s = shardOf(projectId);
      return {
        stats: stable(await s.stats()),
        live: (await s.liveTotals(0)).sort((x, y) => x.windowStart - y.windowStart || x.dimsKey.localeCompare(y.dimsKey)),
        sliding: await s.slidingWindow({ lastSeconds: 3600 }),
        batches: await runInDurableObject(s, (_instance: ShardAggregator, state) =>
          state.storage.sql.exec('SELECT b.token, b.row_count, p.rows_json FROM batches b JOIN batch_parts p USING (sequence) ORDER BY b.sequence, p.part').toArray(),
        ),
      };
    };
    const before = await snapshot();
    expect(before.stats.sealedBatches).toBe(1);
    await abort(stub, 'eviction');
    const after = await snapshot();
    expect({ ...after, sliding: { ...after.sliding, fromMs: 0, toMs: 0 } }).toEqual({ ...before, sliding: { ...before.sliding, fromMs: 0, toMs: 0 } });
    await untilClosed(now + 3000);
    await shardOf(projectId).flushNow();
    await expectConsistent(projectId, { events: 57, valueSum: 50 * 1.25 + 7, users: 27, botEvents: 3 });
    await drainAlarms(shardOf(projectId));
  });
});
