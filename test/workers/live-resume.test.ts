import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Broadcast } from '../../durable-objects/Broadcast.ts';
import { uniqueEventType } from './helpers.ts';
import { EVENT_TIME_MS, isDeltaOf, isHello, isSnapshotOf, isType, minuteOf, post, relay, root, sleep, Viewer, type Delta } from './live-support.ts';

/** Every delta of `topic` a viewer saw, by seq, checking there is no duplicate. */
function bySeq(deltas: readonly Delta[]): Map<number, Delta> {
  const map = new Map<number, Delta>();
  for (const delta of deltas) {
    expect(map.has(delta.seq), `seq ${delta.seq} delivered twice`).toBe(false);
    map.set(delta.seq, delta);
  }
  return map;
}

describe('resume after a dropped connection', () => {
  it('replays exactly the missed deltas: no gap, no duplicate, no snapshot', async () => {
    const a = uniqueEventType('resume_a');
    const b = uniqueEventType('resume_b');
    const topic = `metrics:${a}`;
    const other = `metrics:${b}`;
    const first = await Viewer.connect();
    first.subscribe(topic);
    const subscribed = await first.waitFor(isType('subscribed', topic));
    for (let round = 1; round <= 3; round++) {
      await post(a, 1, `${a}-r${round}`);
      await first.waitFor(isDeltaOf(topic, (d) => d.value === round));
    }
    const lastSeen = Math.max(...first.deltas(topic).map((d) => d.seq));
    // A witness that stays: it keeps the topic on the relay (a topic nobody watches is dropped, and
    // its seqs with it) and records what the first viewer misses.
    const witness = await Viewer.connect();
    witness.subscribe(topic);
    // From its snapshot or its first delta, whichever carries the events' minute.
    await witness.waitForMinuteValue(topic, minuteOf(EVENT_TIME_MS), 3);
    first.close(1001, 'network drop');
    await first.waitForClose();

    // While it is away: changes to its topic, some in separate ticks.
    witness.subscribe(other);
    await witness.waitFor(isType('subscribed', other));
    for (let round = 4; round <= 6; round++) {
      await post(a, 1, `${a}-r${round}`);
      await witness.waitFor(isDeltaOf(topic, (d) => d.value === round));
      await sleep(300);
    }

    const back = await Viewer.connect();
    back.subscribe(topic, { lastSeq: lastSeen });
    const resumed = await back.waitFor(isType('subscribed', topic));
    expect(resumed.resumed).toBe(true);
    await back.waitFor(isDeltaOf(topic, (d) => d.value === 6));
    expect(back.messages.filter(isSnapshotOf(topic))).toEqual([]);
    const replayed = back.deltas(topic).map((d) => d.seq);
    expect(replayed).toEqual(Array.from({ length: replayed.length }, (_, i) => lastSeen + 1 + i));

    // Before and after together: every seq from the subscription on, exactly once.
    const all = bySeq([...first.deltas(topic), ...back.deltas(topic)]);
    const seqs = [...all.keys()].sort((x, y) => x - y);
    expect(seqs[0]).toBe(subscribed.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => subscribed.seq + i));
    expect(all.get(seqs.at(-1) ?? 0)?.value).toBe(6);
    // And the same seqs the witness saw for the missed changes.
    expect(witness.deltas(topic).filter((d) => d.seq > lastSeen).map((d) => [d.seq, d.value])).toEqual(
      back.deltas(topic).map((d) => [d.seq, d.value]),
    );

    // Live deltas keep flowing after the replay, continuing the sequence.
    await post(a, 1, `${a}-r7`);
    const next = await back.waitFor(isDeltaOf(topic, (d) => d.value === 7));
    expect(next.seq).toBe((seqs.at(-1) ?? 0) + 1);
    for (const viewer of [witness, back]) viewer.close();
  });

  it('replays from the root’s recent deltas when the relay lost its own ring (evicted from memory)', async () => {
    const eventType = uniqueEventType('resume_evict');
    const topic = `metrics:${eventType}`;
    const first = await Viewer.connect();
    const { relay: name } = await first.waitFor(isHello);
    first.subscribe(topic);
    await first.waitFor(isType('subscribed', topic));
    for (let round = 1; round <= 2; round++) {
      await post(eventType, 1, `${eventType}-r${round}`);
      await first.waitFor(isDeltaOf(topic, (d) => d.value === round));
    }
    const lastSeen = Math.max(...first.deltas(topic).map((d) => d.seq));
    const witness = await Viewer.connect();
    expect((await witness.waitFor(isHello)).relay).toBe(name);
    witness.subscribe(topic);
    await witness.waitForMinuteValue(topic, minuteOf(EVENT_TIME_MS), 2);
    first.close(1001, 'network drop');
    await first.waitForClose();

    // The relay loses everything in memory (its sockets hibernate); the next delta wakes it and it
    // re-attaches the topic from the root, whose snapshot brings the root's recent deltas along.
    await evictDurableObject(relay(name));
    for (let round = 3; round <= 4; round++) {
      await post(eventType, 1, `${eventType}-r${round}`);
      await witness.waitFor(isDeltaOf(topic, (d) => d.value === round));
      await sleep(300);
    }

    const back = await Viewer.connect();
    expect((await back.waitFor(isHello)).relay).toBe(name);
    back.subscribe(topic, { lastSeq: lastSeen });
    expect((await back.waitFor(isType('subscribed', topic))).resumed).toBe(true);
    await back.waitFor(isDeltaOf(topic, (d) => d.value === 4));
    const replayed = back.deltas(topic).map((d) => [d.seq, d.value]);
    expect(replayed.map(([seq]) => seq)).toEqual(Array.from({ length: replayed.length }, (_, i) => lastSeen + 1 + i));
    expect(replayed).toEqual(witness.deltas(topic).filter((d) => d.seq > lastSeen).map((d) => [d.seq, d.value]));
    expect(back.messages.filter(isSnapshotOf(topic))).toEqual([]);
    for (const viewer of [witness, back]) viewer.close();
  });

  it('answers an up-to-date lastSeq with nothing to replay', async () => {
    const eventType = uniqueEventType('resume_same');
    const topic = `metrics:${eventType}`;
    const first = await Viewer.connect();
    first.subscribe(topic);
    await first.waitFor(isDeltaOf(topic));
    await post(eventType, 2, `${eventType}-a`);
    const latest = await first.waitFor(isDeltaOf(topic, (d) => d.value === 2));
    const second = await Viewer.connect();
    second.subscribe(topic, { lastSeq: latest.seq });
    expect((await second.waitFor(isType('subscribed', topic))).resumed).toBe(true);
    await sleep(600);
    expect(second.deltas(topic)).toEqual([]);
    for (const viewer of [first, second]) viewer.close();
  });

  it('sends a fresh snapshot when the gap is too old for the ring, or from an earlier root incarnation', async () => {
    const eventType = uniqueEventType('resume_old');
    const topic = `metrics:${eventType}`;
    const viewer = await Viewer.connect();
    viewer.subscribe(topic, { lastSeq: 1 });
    const subscribed = await viewer.waitFor(isType('subscribed', topic));
    expect(subscribed.resumed).toBe(false);
    await viewer.waitFor(isSnapshotOf(topic));
    await post(eventType, 5, `${eventType}-a`);
    const seen = await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 5));
    viewer.close();

    // The root restarts: its seqs move to a new epoch, so an old lastSeq can no longer be proven complete.
    await runInDurableObject(root(), (_instance: Broadcast, state) => state.abort('restart')).catch(() => undefined);
    await post(eventType, 1, `${eventType}-b`);
    const back = await Viewer.connect();
    back.subscribe(topic, { lastSeq: seen.seq });
    await back.waitFor(isType('subscribed', topic));
    // Whether the relay learnt of the restart before or after this subscription, the viewer ends up with a snapshot of the new epoch.
    const snapshot = await back.waitFor(isSnapshotOf(topic));
    // Six events, whichever minutes they fell in.
    expect(snapshot.points.reduce((sum, point) => sum + point.value, 0)).toBe(6);
    expect(snapshot.seq).toBeGreaterThan(seen.seq);
    back.close();
  });
});
