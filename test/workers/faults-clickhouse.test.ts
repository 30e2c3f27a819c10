import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseBackpressure } from '../../core/backpressure.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { drainAlarms, expectConsistent, faultsFor, makeEvents, newProjectId, shardOf, sleep, totalsIn } from './aggregation-support.ts';

/**
 * ClickHouse misbehaving, through scripts/lib/fault-proxy.ts (faults scoped
 * to each test's project). Every test ends with ClickHouse equal to what the
 * shard accepted: rollups, hourly and daily views, a recount of raw events,
 * no row stored twice, uniques within the sketch's bound.
 */
describe('faults: ClickHouse', () => {
  it('survives ClickHouse being down for several flush intervals, then catches up', async () => {
    const projectId = newProjectId('ch-down');
    const stub = shardOf(projectId);
    const faults = faultsFor(projectId);
    await faults.set('down');
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-a`, 40, { users: 10, timestampMs: Date.now() - 2000 }) });
    // Alarms fire every second (then back off); each attempt fails.
    await sleep(3500);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-b`, 20, { users: 20 }) });
    await sleep(1100);
    const outcome = await stub.flushNow();
    expect(outcome.status).toBe('error');
    const down = await stub.stats();
    expect(down.lastFlush).toMatchObject({ status: 'error' });
    // While the backlog is unacknowledged nothing new is sealed: later windows wait, coalesced, in their panes.
    expect(down.sealedBatches).toBe(1);
    expect(down.pendingGroups).toBeGreaterThan(0);
    expect(down.flushLagMs).toBeGreaterThan(0);
    expect((await faults.counters()).refused).toBeGreaterThanOrEqual(3);
    expect((await totalsIn('events_1m', projectId)).events).toBe(0);

    await faults.set('ok');
    expect((await stub.flushNow()).status).toBe('flushed');
    expect(await stub.stats()).toMatchObject({ sealedBatches: 0, pendingGroups: 0, flushLagMs: 0, lastFlush: { status: 'flushed' } });
    await expectConsistent(projectId, { events: 60, valueSum: 60, users: 30 });
    await drainAlarms(stub);
  });

  it('does not double count when ClickHouse commits an insert but the response is lost', async () => {
    const projectId = newProjectId('ch-lost-ack');
    const stub = shardOf(projectId);
    const faults = faultsFor(projectId);
    await faults.set('drop-response', 1);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 25, { users: 5, value: 3 }) });
    await sleep(1100);
    await stub.flushNow();
    // The first flush reached ClickHouse and committed; the shard saw a network error
    // (a background alarm may already have retried: forwarded can be 2).
    expect((await faults.counters()).dropped).toBe(1);
    expect((await totalsIn('events_1m', projectId)).events).toBe(25);
    // The retry (a later alarm or this flush) re-sends the same batch and token: dropped by ClickHouse as a duplicate.
    await stub.flushNow();
    expect((await stub.stats()).sealedBatches).toBe(0);
    expect((await faults.counters()).forwarded).toBeGreaterThanOrEqual(2);
    await expectConsistent(projectId, { events: 25, valueSum: 75, users: 5 });
    await drainAlarms(stub);
  });

  it('recovers when the shard is aborted while its insert is in flight', async () => {
    const projectId = newProjectId('ch-abort-flush');
    const stub = shardOf(projectId);
    const faults = faultsFor(projectId);
    await faults.set('hold');
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 30, { users: 30 }) });
    await sleep(1100);
    const inFlight = stub.flushNow().catch(() => 'aborted');
    for (let i = 0; i < 100 && (await faults.counters()).held === 0; i++) await sleep(50);
    expect((await faults.counters()).held).toBe(1);
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort('fault injection mid-flush')).catch(() => undefined);
    await inFlight;
    // The held insert now reaches ClickHouse and commits, but its shard is gone.
    await faults.set('ok');
    for (let i = 0; i < 100 && (await totalsIn('events_1m', projectId)).events === 0; i++) await sleep(50);
    const restarted = shardOf(projectId);
    await restarted.flushNow();
    expect((await restarted.stats()).sealedBatches).toBe(0);
    await expectConsistent(projectId, { events: 30, valueSum: 30, users: 30 });
    await drainAlarms(restarted);
  });

  it('counts once when the alarm runs twice, concurrently and again after it finished', async () => {
    const projectId = newProjectId('ch-alarm-twice');
    const stub = shardOf(projectId);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 12, { users: 4, value: 0.25 }) });
    await sleep(1100);
    await Promise.all([
      runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm()),
      runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm()),
      runDurableObjectAlarm(stub),
    ]);
    await runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm());
    // An at-least-once retry of a run that crashed after inserting but before deleting the batch.
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-b`, 3, { users: 3, value: 0.25 }) });
    await sleep(1100);
    await runInDurableObject(stub, (instance: ShardAggregator) => instance.sealClosedWindows(Date.now()));
    const faults = faultsFor(projectId);
    await faults.set('drop-response', 1);
    await runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm());
    await runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm());
    expect((await stub.stats()).sealedBatches).toBe(0);
    await expectConsistent(projectId, { events: 15, valueSum: 3.75, users: 7 });
    await drainAlarms(stub);
  });

  it('answers backpressure once the backlog reaches its bound while ClickHouse is down, then recovers', async () => {
    const projectId = newProjectId('ch-backlog');
    const stub = shardOf(projectId);
    const faults = faultsFor(projectId);
    await faults.set('down');
    let accepted = 0;
    let refused: unknown = null;
    // MAX_BACKLOG_ROWS = 5000 in tests; distinct event types make distinct groups (they are not governed).
    for (let batch = 0; batch < 10 && refused === null; batch++) {
      const events = makeEvents(`${projectId}-${batch}`, 1000, { timestampMs: Date.now() - 3000, extra: (i) => ({ eventType: `e${batch}_${i}` }) });
      refused = await stub.ingest({ projectId, shard: 0, events }).then(
        (result) => {
          accepted += result.accepted;
          return null;
        },
        (error: unknown) => error,
      );
      await stub.flushNow();
    }
    const backpressure = parseBackpressure(refused);
    expect(backpressure).not.toBeNull();
    expect(backpressure?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((await stub.stats()).backpressure).toBe(true);

    await faults.set('ok');
    for (let i = 0; i < 10 && (await stub.stats()).backlogRows > 0; i++) await stub.flushNow();
    expect(await stub.stats()).toMatchObject({ backpressure: false, backlogRows: 0 });
    const after = await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-after`, 10) });
    accepted += after.accepted;
    await sleep(1100);
    await stub.flushNow();
    await expectConsistent(projectId, { events: accepted, valueSum: accepted, users: accepted });
    await drainAlarms(stub);
  });
});
