import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseBackpressure } from '../../core/backpressure.ts';
import { dedupToken, FLUSH_INSERT_SETTINGS, TABLES } from '../../core/rollup-rows.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { directClickHouse, drainAlarms, expectConsistent, flushClosed, makeEvents, newProjectId, shardOf, totalsIn } from './aggregation-support.ts';

describe('ShardAggregator', () => {
  it('keeps counted windows across an abort (state is in SQLite storage, not memory)', async () => {
    const projectId = newProjectId('durable');
    const stub = shardOf(projectId);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 5, { value: 1.5 }) });
    const before = await stub.stats();
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort('fault injection')).catch(() => undefined);
    const after = await shardOf(projectId).stats();
    expect(after.pendingGroups).toBe(before.pendingGroups);
    expect(after.counters).toEqual(before.counters);
    await flushClosed(shardOf(projectId));
    await expectConsistent(projectId, { events: 5, valueSum: 7.5, users: 5 });
    await drainAlarms(shardOf(projectId));
  });

  it('replays the ingest log after an abort that came before any checkpoint: same counts, same dedup', async () => {
    const projectId = newProjectId('replay');
    const stub = shardOf(projectId);
    const events = makeEvents(projectId, 5, { value: 2 });
    expect(await stub.ingest({ projectId, shard: 0, events })).toMatchObject({ accepted: 5, duplicates: 0 });
    // Durable as one log row; the tables have not seen it yet (the checkpoint timer has not fired).
    const stored = await runInDurableObject(stub, (_instance: ShardAggregator, state) => ({
      log: state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ingest_log').one().n,
      panes: state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM panes').one().n,
    }));
    expect(stored).toEqual({ log: 1, panes: 0 });
    // Live totals (the combiners' frequent re-read) see uncheckpointed counts without forcing a checkpoint.
    expect((await stub.liveTotals(0)).reduce((sum, group) => sum + group.events, 0)).toBe(5);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort('fault injection before checkpoint')).catch(() => undefined);
    const restarted = shardOf(projectId);
    expect(await restarted.ingest({ projectId, shard: 0, events })).toMatchObject({ accepted: 0, duplicates: 5 });
    expect(await restarted.stats()).toMatchObject({ pendingGroups: 1, counters: { accepted: 5, duplicates: 5 } });
    await flushClosed(restarted);
    await expectConsistent(projectId, { events: 5, valueSum: 10, users: 5 });
    await drainAlarms(restarted);
  });

  it('refuses malformed events at the RPC boundary and records nothing', async () => {
    const projectId = newProjectId('malformed');
    const stub = shardOf(projectId);
    const refused = await stub.ingest({ projectId, shard: 0, eventsJson: JSON.stringify([{ eventId: 'x', eventType: 'click', timestampMs: 'soon' }]) }).then(
      () => null,
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/timestampMs/);
    expect((await stub.stats()).counters.accepted).toBe(0);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAll());
  });

  it('turns events for an already flushed window into additive adjustment rows', async () => {
    const projectId = newProjectId('late');
    const stub = shardOf(projectId);
    const windowTime = Date.now() - 30_000;
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-a`, 3, { timestampMs: windowTime, value: 1.5 }) });
    expect(await stub.flushNow()).toMatchObject({ status: 'flushed', batches: 1 });
    // 1 s windows and no lateness in tests: events 30 s old were late on arrival too.
    expect(await totalsIn('events_1m', projectId)).toMatchObject({ events: 3, valueSum: 4.5, lateEvents: 3 });
    const result = await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-b`, 2, { timestampMs: windowTime, value: 1.5 }) });
    expect(result.late).toBe(2);
    // The window's row in ClickHouse is not rewritten: a second insert adds an adjustment row for the same minute.
    // (Counting rows would be flaky: SummingMergeTree may merge the two parts at any moment; the sums are what converge.)
    expect(await stub.flushNow()).toMatchObject({ status: 'flushed', batches: 1 });
    expect(await totalsIn('events_1m', projectId)).toMatchObject({ events: 5, valueSum: 7.5, lateEvents: 5 });
    await expectConsistent(projectId, { events: 5, valueSum: 7.5, users: 5 });
    await drainAlarms(stub);
  });

  it('re-sends a sealed batch with the same token and ClickHouse counts it once, in every table', async () => {
    const projectId = newProjectId('exactly-once');
    const stub = shardOf(projectId);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 4, { timestampMs: Date.now() - 10_000 }) });
    // Seal without sending (and without the alarm sending it first), then send twice: the "lost acknowledgement" case.
    const sealed = await runInDurableObject(stub, async (instance: ShardAggregator, state) => {
      await state.storage.deleteAlarm();
      return instance.sealClosedWindows(Date.now());
    });
    expect(sealed).not.toBeNull();
    const { token, parts } = await runInDurableObject(stub, (_instance: ShardAggregator, state) => ({
      token: state.storage.sql.exec<{ token: string }>('SELECT token FROM batches WHERE sequence = ?', sealed ?? -1).one().token,
      parts: state.storage.sql.exec<{ rows_json: string }>('SELECT rows_json FROM batch_parts WHERE sequence = ? ORDER BY part', sealed ?? -1).toArray(),
    }));
    expect(token).toMatch(new RegExp(`^${dedupToken(projectId, 0, '[0-9a-f-]{36}', sealed ?? -1)}$`));
    const values = parts.flatMap((part): unknown[] => {
      const parsed: unknown = JSON.parse(part.rows_json);
      return Array.isArray(parsed) ? parsed : [];
    });
    const client = directClickHouse();
    await client.insert({ table: TABLES.landing, values, format: 'JSONEachRow', clickhouse_settings: { ...FLUSH_INSERT_SETTINGS, insert_deduplication_token: token } });
    await client.close();
    // The shard never saw the acknowledgement, so its alarm sends the same batch again.
    const outcome = await stub.flushNow();
    expect(outcome.status).toBe('flushed');
    expect((await stub.stats()).sealedBatches).toBe(0);
    await expectConsistent(projectId, { events: 4, valueSum: 4, users: 4 });
    await drainAlarms(stub);
  });

  it('counts bots apart and keeps them out of human events, value sums, users and live totals', async () => {
    const projectId = newProjectId('bots');
    const stub = shardOf(projectId);
    const now = Date.now();
    const events = makeEvents(projectId, 10, { value: 2, extra: (i) => (i < 4 ? { bot: true, receivedAtMs: now } : { receivedAtMs: now }) });
    const result = await stub.ingest({ projectId, shard: 0, events });
    expect(result).toMatchObject({ accepted: 10, bots: 4 });
    const live = await stub.liveTotals(0);
    expect(live.reduce((sum, group) => sum + group.events, 0)).toBe(6);
    const sliding = await stub.slidingWindow({ lastSeconds: 60 });
    expect(sliding).toMatchObject({ events: 6, valueSum: 12, botEvents: 4, uniqueUsers: 6 });
    await flushClosed(stub);
    expect(await totalsIn('events_1m', projectId)).toMatchObject({ events: 6, valueSum: 12, botEvents: 4 });
    await expectConsistent(projectId, { events: 6, valueSum: 12, users: 6, botEvents: 4 });
    await drainAlarms(stub);
  });

  it('reports health: watermark, flush lag, backlog, dedup horizon and the last flush', async () => {
    const projectId = newProjectId('health');
    const stub = shardOf(projectId);
    const fresh = await stub.stats();
    expect(fresh).toMatchObject({ projectId: null, pendingGroups: 0, backlogRows: 0, flushLagMs: 0, lastFlush: null, dedupHorizonSeconds: 600, backpressure: false });
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 3, { timestampMs: Date.now() - 5_000 }), rejectedTooOld: 2 });
    const pending = await stub.stats();
    expect(pending).toMatchObject({ projectId, shard: 0, pendingGroups: 1, dedupEntries: 3, counters: { accepted: 3, rejectedTooOld: 2 } });
    // The 5 s old window is closed but not yet flushed: flush lag is at least its age.
    expect(pending.flushLagMs).toBeGreaterThanOrEqual(3_000);
    expect(pending.maxEventTimeMs).not.toBeNull();
    expect(pending.nextAlarmMs).not.toBeNull();
    await flushClosed(stub);
    const flushed = await stub.stats();
    expect(flushed).toMatchObject({ pendingGroups: 0, sealedBatches: 0, flushLagMs: 0, lastFlush: { status: 'flushed' } });
    expect(flushed.appliedWatermarkMs).not.toBeNull();
    expect(flushed.watermarkLagMs).toBeGreaterThanOrEqual(0);
    const [tooOld] = await (async () => {
      const client = directClickHouse();
      const rs = await client.query({
        query: "SELECT sum(events) AS n FROM governance_1m WHERE project_id = {p:String} AND reason = 'too_old'",
        query_params: { p: projectId },
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ n: string }>();
      await client.close();
      return rows;
    })();
    expect(Number(tooOld?.n)).toBe(2);
    await drainAlarms(stub);
  });

  it('answers an ingest at the backlog bound with a parseable backpressure error and records nothing', async () => {
    // The bound is MAX_BACKLOG_ROWS = 5000 in the workers test project. It counts unsealed pane rows AND the raw
    // event rows waiting to be sealed (RAW_EVENTS=1 here): 2500 events in 2500 distinct groups reach it.
    const projectId = newProjectId('bound');
    const stub = shardOf(projectId);
    const future = Date.now() + 60_000; // open windows: nothing can be sealed meanwhile
    for (let batch = 0; batch < 5; batch++) {
      // Event types are not governed (dimension values would fold into __other__ after K).
      await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-${batch}`, 500, { timestampMs: future, extra: (i) => ({ eventType: `e${batch}_${i}` }) }) });
    }
    const full = await stub.stats();
    expect(full).toMatchObject({ backpressure: true, pendingGroups: 2500, pendingRawRows: 2500, backlogRows: 5000 });
    const refused = await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-x`, 1) }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(parseBackpressure(refused)).toMatchObject({ backlogRows: 5000, limit: 5000 });
    expect((await stub.stats()).counters.accepted).toBe(2500);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAll());
  });
});
