import { describe, expect, it } from 'vitest';
import { HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE } from '../../core/live-protocol.ts';
import { uniqueEventType } from './helpers.ts';
import { EVENT_TIME_MS, isDeltaOf, isHello, isSnapshotOf, isType, minuteOf, post, stats, Viewer } from './live-support.ts';

const MINUTE_MS = 60_000;

describe('live protocol', () => {
  it('greets, then answers a subscription with subscribed, a snapshot of the last N minutes and the current value', async () => {
    const eventType = uniqueEventType('snap');
    const topic = `metrics:${eventType}:country:DE`;
    await post(eventType, 4, `${eventType}-a`, undefined, { dimensions: { country: 'DE' } });
    await post(eventType, 2, `${eventType}-b`, undefined, { dimensions: { country: 'FR' } });
    const viewer = await Viewer.connect();
    const hello = await viewer.waitFor(isHello);
    expect(hello).toMatchObject({ tickMs: 250, heartbeat: HEARTBEAT_REQUEST });
    viewer.subscribe(topic);
    const subscribed = await viewer.waitFor(isType('subscribed', topic));
    expect(subscribed.resumed).toBe(false);
    const snapshot = await viewer.waitFor(isSnapshotOf(topic));
    const head = minuteOf(Date.parse(snapshot.to) - 1);
    const eventMinute = minuteOf(EVENT_TIME_MS);
    // 10 minutes (LIVE_SNAPSHOT_MINUTES), zero-filled, ending with the current minute, over [from, to).
    expect(snapshot.points).toHaveLength(10);
    expect(head).toBeGreaterThanOrEqual(minuteOf(Date.now()) - MINUTE_MS);
    expect(snapshot.from).toBe(new Date(head - 9 * MINUTE_MS).toISOString());
    expect(snapshot.points.map((p) => p.time)).toEqual(Array.from({ length: 10 }, (_, i) => new Date(head - (9 - i) * MINUTE_MS).toISOString()));
    expect(snapshot.points.find((p) => p.time === new Date(eventMinute).toISOString())?.value).toBe(4);
    expect(snapshot.points.reduce((sum, p) => sum + p.value, 0)).toBe(4);
    expect(snapshot.seq).toBe(subscribed.seq);
    const current = await viewer.waitFor(isDeltaOf(topic));
    expect(current).toMatchObject({ value: head === eventMinute ? 4 : 0, seq: subscribed.seq, windowStart: new Date(head).toISOString(), windowEnd: new Date(head + MINUTE_MS).toISOString() });
    // Order on the wire: subscribed, snapshot, delta.
    const kinds = viewer.messages.filter((m) => isType('subscribed', topic)(m) || isSnapshotOf(topic)(m) || isDeltaOf(topic)(m));
    expect(kinds.map((m) => (isDeltaOf(topic)(m) ? 'delta' : isSnapshotOf(topic)(m) ? 'snapshot' : 'subscribed'))).toEqual(['subscribed', 'snapshot', 'delta']);
    viewer.close();
  });

  it('honours snapshotMinutes (0 = no snapshot)', async () => {
    const topic = `metrics:${uniqueEventType('nosnap')}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic, { snapshotMinutes: 0 });
    await viewer.waitFor(isDeltaOf(topic));
    viewer.subscribe(`${topic}:k:v`, { snapshotMinutes: 3 });
    expect((await viewer.waitFor(isSnapshotOf(`${topic}:k:v`))).points).toHaveLength(3);
    expect(viewer.messages.filter(isSnapshotOf(topic))).toEqual([]);
    viewer.close();
  });

  it('numbers each topic consecutively and batches one tick of several topics into one frame', async () => {
    const a = uniqueEventType('batch_a');
    const b = uniqueEventType('batch_b');
    const viewer = await Viewer.connect();
    for (const topic of [`metrics:${a}`, `metrics:${b}`, `value_sum:${a}`]) {
      viewer.subscribe(topic);
      await viewer.waitFor(isDeltaOf(topic));
    }
    const before = viewer.frames.length;
    // One request carrying both event types: the shards push together, the root emits in one tick.
    await post(a, 3, `${a}-x`, undefined, { value: 2 });
    await post(b, 1, `${b}-x`);
    await viewer.waitFor(isDeltaOf(`metrics:${b}`, (d) => d.value === 1));
    await viewer.waitFor(isDeltaOf(`value_sum:${a}`, (d) => d.value === 6));
    const frames = viewer.frames.slice(before);
    expect(frames.every((frame) => Array.isArray(frame))).toBe(true);
    // Three topics changed; they took at most as many frames as ticks, and some frame carried more than one topic.
    const topicsPerFrame = frames.map((frame) => (Array.isArray(frame) ? new Set(frame.map((d: { topic: string }) => d.topic)).size : 0));
    expect(Math.max(...topicsPerFrame)).toBeGreaterThan(1);
    for (const topic of [`metrics:${a}`, `metrics:${b}`, `value_sum:${a}`]) {
      const seqs = viewer.deltas(topic).map((d) => d.seq);
      expect(seqs.slice(1)).toEqual(seqs.slice(1).map((_, i) => (seqs[1] ?? 0) + i));
      expect(seqs[1]).toBe((seqs[0] ?? 0) + 1);
    }
    viewer.close();
  });

  it('answers the heartbeat through the runtime auto-response, and a differently spelled ping too', async () => {
    const viewer = await Viewer.connect();
    viewer.send(HEARTBEAT_REQUEST);
    await viewer.until(() => viewer.messages.filter(isType('pong')).length === 1);
    viewer.send('{ "action": "ping" }');
    await viewer.until(() => viewer.messages.filter(isType('pong')).length === 2);
    expect(JSON.stringify(viewer.messages.find(isType('pong')))).toBe(HEARTBEAT_RESPONSE);
    viewer.close();
  });

  it('computes a topic only while subscribed: the root drops it once the last viewer left', async () => {
    const eventType = uniqueEventType('lazy');
    const topic = `metrics:${eventType}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic);
    await viewer.waitFor(isDeltaOf(topic));
    expect((await stats()).topics).toContain(topic);
    viewer.close();
    await viewer.waitForClose();
    // The next change finds nobody watching: the relay reports the topic unwanted and the root stops computing it.
    await post(eventType, 1, `${eventType}-a`);
    await expect.poll(async () => (await stats()).topics, { timeout: 5000 }).not.toContain(topic);
  });
});
