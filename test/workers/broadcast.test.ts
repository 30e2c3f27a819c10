import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { combinerObjectName } from '../../core/fanout-math.ts';
import { readLiveConfig } from '../../core/live-config.ts';
import { LIVE_ABUSE, LIVE_CLOSE } from '../../core/live-protocol.ts';
import type { Broadcast } from '../../durable-objects/Broadcast.ts';
import type { Combiner } from '../../durable-objects/Combiner.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { combinerFor } from '../../durable-objects/Combiner.ts';
import { projectId, shardStub, uniqueEventType } from './helpers.ts';
import { EVENT_TIME_MS, isDeltaOf, isErrorCode, isSnapshotOf, isType, minuteOf, post, root, sleep, stats, Viewer } from './live-support.ts';

describe('Broadcast (live fan-out root)', () => {
  it('answers malformed frames, unknown actions, oversized frames and bad topics with error frames and keeps the socket open', async () => {
    const viewer = await Viewer.connect();
    viewer.send('{not json');
    await viewer.waitFor(isErrorCode('malformed_json'));
    viewer.send({ action: 'dance', topic: 'metrics:x' });
    await viewer.waitFor(isErrorCode('unknown_action'));
    viewer.subscribe('counts:x');
    const bad = await viewer.waitFor(isErrorCode('invalid_topic'));
    expect(bad.topic).toBe('counts:x');
    viewer.send('x'.repeat(5000));
    await viewer.waitFor(isErrorCode('frame_too_large'));
    viewer.send(new Uint8Array([1, 2, 3]));
    await viewer.waitFor(isErrorCode('binary_frame'));
    // Still usable after the abuse.
    viewer.subscribe('metrics:ok');
    await viewer.waitFor(isType('subscribed', 'metrics:ok'));
    expect(viewer.closed).toBeNull();
    viewer.close();
  });

  it(`closes a viewer with ${LIVE_CLOSE.abuse} after ${LIVE_ABUSE.maxStrikes} bad frames within a minute`, async () => {
    const viewer = await Viewer.connect();
    for (let i = 0; i < LIVE_ABUSE.maxStrikes; i++) viewer.send('{oops');
    const closed = await viewer.waitForClose();
    expect(closed.code).toBe(LIVE_CLOSE.abuse);
    expect(viewer.messages.filter(isErrorCode('malformed_json'))).toHaveLength(LIVE_ABUSE.maxStrikes);
  });

  it('stops sending a topic after unsubscribe', async () => {
    const eventType = uniqueEventType('unsub');
    const topic = `metrics:${eventType}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isType('subscribed', topic));
    await post(eventType, 3, `${eventType}-a`);
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 3));
    viewer.send({ action: 'unsubscribe', topic });
    await viewer.waitFor(isType('unsubscribed', topic));
    const seen = viewer.messages.length;
    await post(eventType, 2, `${eventType}-b`);
    // A second topic proves pushes still flow to this socket while the first stays silent.
    const other = uniqueEventType('other');
    viewer.subscribe(`metrics:${other}`);
    await viewer.waitFor(isType('subscribed', `metrics:${other}`));
    await post(other, 1, `${other}-a`);
    await viewer.waitFor(isDeltaOf(`metrics:${other}`, (d) => d.value === 1));
    expect(viewer.messages.slice(seen).filter(isDeltaOf(topic))).toEqual([]);
    viewer.close();
  });

  it('a shard partial pushed to its combiner reaches viewers through the root; a repeated push changes nothing', async () => {
    const eventType = uniqueEventType('direct');
    const topic = `value_sum:${eventType}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isType('subscribed', topic));
    const windowStart = Date.now() - (Date.now() % 10_000);
    const partial = { windowStart, eventType, dimsKey: '', events: 2, valueSum: 7.5 };
    await combinerFor(env, projectId(), 1).publish({ projectId: projectId(), shard: 1, windowMs: 10_000, groups: [partial] });
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 7.5));
    // The same partial again (a retry) changes nothing; a newer one from another shard adds.
    await combinerFor(env, projectId(), 1).publish({ projectId: projectId(), shard: 1, windowMs: 10_000, groups: [partial] });
    await combinerFor(env, projectId(), 2).publish({ projectId: projectId(), shard: 2, windowMs: 10_000, groups: [{ ...partial, events: 1, valueSum: 1 }] });
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 8.5));
    expect(viewer.deltas(topic).map((d) => d.value)).toEqual([0, 7.5, 8.5]);
    viewer.close();
  });

  it('takes at most one combined RPC per combiner per tick, however many shard pushes reach the combiners', async () => {
    const eventType = uniqueEventType('fanin');
    const topic = `metrics:${eventType}`;
    const { tickMs, combiners: plan } = readLiveConfig(env);
    const combiners = Array.from({ length: plan.combiners }, (_, index) => env.COMBINER.get(env.COMBINER.idFromName(combinerObjectName(projectId(), index))));
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isType('subscribed', topic));
    const pushesBefore = await Promise.all(combiners.map((combiner) => combiner.stats()));
    const rootBefore = (await stats()).combinedByCombiner;
    const startedAt = Date.now();
    // 3 s of steady traffic; each request carries 8 users, so it lands on most of the shards.
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      await post(eventType, 8, `${eventType}-r${round}`);
      await sleep(200);
    }
    await viewer.waitForMinuteValue(topic, minuteOf(EVENT_TIME_MS), rounds * 8);
    const elapsedMs = Date.now() - startedAt;
    const pushesAfter = await Promise.all(combiners.map((combiner) => combiner.stats()));
    const rootAfter = (await stats()).combinedByCombiner;
    // A combiner's ticker runs at most once per tick (the first at once): over `elapsedMs` at most floor(elapsed / tick) + 1 runs, +1 for a run that started before we looked.
    const maxPerCombiner = Math.floor(elapsedMs / tickMs) + 2;
    let shardPushes = 0;
    let rootRpcs = 0;
    for (let index = 0; index < plan.combiners; index++) {
      const received = (rootAfter[index] ?? 0) - (rootBefore[index] ?? 0);
      const published = (pushesAfter[index]?.publishes ?? 0) - (pushesBefore[index]?.publishes ?? 0);
      expect(received, `combiner ${index}`).toBeLessThanOrEqual(maxPerCombiner);
      shardPushes += published;
      rootRpcs += received;
    }
    // Not one root RPC per shard push: the combiners merged several shards' pushes into each.
    expect(shardPushes).toBeGreaterThan(rootRpcs);
    expect(rootRpcs).toBeGreaterThan(0);
    viewer.close();
  });

  it('rebuilds totals after the root is reset, so a restart never shows a partial count', async () => {
    const eventType = uniqueEventType('rebuild');
    const topic = `metrics:${eventType}`;
    // 12 users spread over the shards.
    await post(eventType, 12, `${eventType}-a`);
    await runInDurableObject(root(), (_instance: Broadcast, state) => state.abort('fault injection')).catch(() => undefined);
    // One more event reaches one shard; the restarted root must still report all 13.
    await post(eventType, 1, `${eventType}-b`);
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    // The events' minute, whichever minute the subscription happened in.
    const eventMinute = minuteOf(EVENT_TIME_MS);
    await viewer.waitForMinuteValue(topic, eventMinute, 13);
    // Never a partial count on the way (snapshot points and deltas of that minute).
    expect(viewer.minuteValues(topic, eventMinute).every((value) => value === 13 || value === 12)).toBe(true);
    viewer.close();
  });

  it('does not swallow the first push to a combiner that just restarted (its rebuild already holds it)', async () => {
    const eventType = uniqueEventType('restart');
    const topic = `metrics:${eventType}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isType('subscribed', topic));
    await post(eventType, 4, `${eventType}-a`);
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 4));
    const combiner = env.COMBINER.get(env.COMBINER.idFromName(combinerObjectName(projectId(), 0)));
    await runInDurableObject(combiner, (_instance: Combiner, state) => state.abort('fault injection')).catch(() => undefined);
    // The shard has stored this event before it pushes; the fresh combiner reads it while rebuilding.
    await post(eventType, 1, `${eventType}-b`);
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 5));
    const series = await root().liveSeries(eventType, {}, Date.now() - 3_600_000);
    expect(series.reduce((sum, minute) => sum + minute.events, 0)).toBe(5);
    viewer.close();
  });

  it('recovers a push lost with its shard: a restarted shard re-announces its recent totals', async () => {
    const { topic, viewer, eventType } = await viewerThatSaw('lost', 3);
    // Two more events committed on a shard that died before its push left.
    const lostOn = await shardHolding(eventType);
    expect(await runInDurableObject(shardStub(lostOn), (instance: ShardAggregator, state) => addBehindShard(instance, state, eventType, 2))).toBe(1);
    await runInDurableObject(shardStub(lostOn), (_instance: ShardAggregator, state) => state.abort('fault injection')).catch(() => undefined);
    // The next call starts a new instance, which announces; no other shard pushes and no settling re-read is due.
    await shardStub(lostOn).stats();
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 5), 8000);
    viewer.close();
  });

  it('settles by digest: a combiner lacking events a shard has re-reads that shard, and settles with nothing missing re-read nothing', async () => {
    // Stamped now: the settle looks 2 minutes back, and this file's shared event time may be older by then.
    const { topic, viewer, eventType } = await viewerThatSaw('settle', 3, { timestamp: Date.now() });
    const lostOn = await shardHolding(eventType);
    const shard = shardStub(lostOn);
    // Two events the combiner never heard of, written behind the shard's back: no push will ever carry them.
    expect(await runInDurableObject(shard, (instance: ShardAggregator, state) => addBehindShard(instance, state, eventType, 2))).toBe(1);
    // Whatever digest the shard kept (a settle may have run meanwhile), one asked from further back is rebuilt from storage.
    await shard.liveDigest(Date.now() - 10 * 60_000);
    const combiner = combinerFor(env, projectId(), lostOn);
    const settle = (): Promise<{ reread: number[] }> => runInDurableObject(combiner, (instance: Combiner) => instance.settle());
    const before = await combiner.stats();
    // The first settle may only record the shard's digest (the combiner could still be waiting for a push); the next finds it behind.
    await settle();
    await settle();
    const repaired = await combiner.stats();
    expect(repaired.settleRereads - before.settleRereads).toBeGreaterThanOrEqual(1);
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 5), 8000);
    // Caught up: settles read digests only, also one taken while a push is on its way
    // (the combiner has to hold it by the next settle, not at once).
    expect(await settle()).toEqual({ reread: [] });
    // Another group (the edited row's cached copy never saw the edit, so no later event may land in it).
    await post(eventType, 4, `${eventType}-b`, undefined, { timestamp: Date.now(), dimensions: { variant: 'b' } });
    expect(await settle()).toEqual({ reread: [] });
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 9), 8000);
    expect(await settle()).toEqual({ reread: [] });
    viewer.close();
  });

  it('keeps a shard\'s digest from its batches (also late events, in an older minute) equal to one rebuilt from its storage', async () => {
    const stubs = () => Array.from({ length: Number(env.SHARD_COUNT) }, (_, shard) => shardStub(shard));
    const shards = stubs();
    const now = Date.now();
    // Later than any settle's start during this test (now - 2 min), so no settle moves the digests past it and forces a rebuild.
    const since = now - 80_000;
    const total = (digests: Array<Array<{ events: number }>>): number => digests.flat().reduce((sum, minute) => sum + minute.events, 0);
    const built = await Promise.all(shards.map((shard) => shard.liveDigest(since)));
    const eventType = uniqueEventType('digest');
    await post(eventType, 7, `${eventType}-a`, undefined, { timestamp: now });
    await post(eventType, 5, `${eventType}-b`, undefined, { timestamp: now - 70_000 });
    const kept = await Promise.all(shards.map((shard) => shard.liveDigest(since)));
    expect(total(kept) - total(built)).toBe(12);
    for (const shard of shards) await runInDurableObject(shard, (_instance: ShardAggregator, state) => state.abort('fault injection')).catch(() => undefined);
    // Fresh stubs: one that saw its object reset keeps throwing.
    const rebuilt = await Promise.all(stubs().map((shard) => shard.liveDigest(since)));
    expect(rebuilt).toEqual(kept);
  });

  it('rebuilds from the shards when the root and the combiner were both reset', async () => {
    const eventType = uniqueEventType('rebuild2');
    const topic = `metrics:${eventType}`;
    await post(eventType, 9, `${eventType}-a`);
    const combiner = env.COMBINER.get(env.COMBINER.idFromName(combinerObjectName(projectId(), 0)));
    await runInDurableObject(combiner, (_instance: Combiner, state) => state.abort('fault injection')).catch(() => undefined);
    await runInDurableObject(root(), (_instance: Broadcast, state) => state.abort('fault injection')).catch(() => undefined);
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isSnapshotOf(topic));
    expect(viewer.minuteValues(topic, minuteOf(EVENT_TIME_MS))).toEqual(expect.arrayContaining([9]));
    expect(viewer.minuteValues(topic, minuteOf(EVENT_TIME_MS)).every((value) => value === 9)).toBe(true);
    // The query API's live fill reads the same rebuilt totals.
    const series = await root().liveSeries(eventType, {}, Date.now() - 120_000);
    expect(series.reduce((sum, minute) => sum + minute.events, 0)).toBe(9);
    viewer.close();
  });
});

/** A viewer subscribed to a fresh event type, once it has seen `count` events of it. */
async function viewerThatSaw(label: string, count: number, extra: Record<string, unknown> = {}): Promise<{ eventType: string; topic: string; viewer: Viewer }> {
  const eventType = uniqueEventType(label);
  const topic = `metrics:${eventType}`;
  const viewer = await Viewer.connect();
  viewer.subscribe(topic);
  await viewer.waitFor(isType('subscribed', topic));
  await post(eventType, count, `${eventType}-a`, undefined, extra);
  await viewer.waitFor(isDeltaOf(topic, (d) => d.value === count));
  return { eventType, topic, viewer };
}

/** The shard whose pane rows hold `eventType` (each shard checkpointed first: rows reach the table write-behind). */
async function shardHolding(eventType: string): Promise<number> {
  for (let shard = 0; shard < Number(env.SHARD_COUNT); shard++) {
    const rows = await runInDurableObject(shardStub(shard), (instance: ShardAggregator, state) => {
      instance.checkpoint();
      return state.storage.sql.exec('SELECT COUNT(*) AS n FROM panes WHERE event_type = ?', eventType).one().n;
    });
    if (rows !== 0) return shard;
  }
  throw new Error(`no shard holds ${eventType}`);
}

/**
 * Adds events to the first pane row of `eventType` in the table, behind the
 * shard's back (changes no push carries); rows written. The shard's cached
 * row keeps the old count: until the shard restarts, no further event may
 * land in that row (a checkpoint would write the cached count back).
 */
function addBehindShard(instance: ShardAggregator, state: DurableObjectState, eventType: string, extra: number): number {
  instance.checkpoint();
  return state.storage.sql.exec(
    'UPDATE panes SET events = events + ? WHERE (pane_start, event_type, dims_key) = (SELECT pane_start, event_type, dims_key FROM panes WHERE event_type = ? ORDER BY pane_start, dims_key LIMIT 1)',
    extra, eventType,
  ).rowsWritten;
}
