import { beforeAll, describe, expect, it } from 'vitest';
import { LIVE_CLOSE } from '../../core/live-protocol.ts';
import { createTestProject, uniqueEventType, type TestProject } from './helpers.ts';
import { configureLive, isDeltaOf, isHello, isType, post, relay, sleep, Viewer } from './live-support.ts';

/**
 * workerd's server-side WebSocket exposes no bufferedAmount and queues sends
 * without bound, so a relay cannot see a viewer that stops reading TCP. The
 * slow viewer here is the one the protocol can see: it opted into flow
 * control (?ack=<window>) and stopped acknowledging frames, exactly what a
 * client that stopped reading does. Everything below runs through the real
 * Worker, root and relay.
 */
let project: TestProject;

beforeAll(async () => {
  project = await createTestProject();
  await configureLive({ viewerQueueMax: 2 }, project.projectId);
});

const connect = (query = '') => Viewer.open(`/v1/live?key=${project.keys.read}${query}`);

describe('slow viewers', () => {
  it('coalesces a slow viewer’s deltas (newest value per topic and window) while a fast one on the same relay gets every delta', async () => {
    const eventType = uniqueEventType('slow');
    const topic = `metrics:${eventType}`;
    const fast = await connect();
    const slow = await connect('&ack=1');
    const hello = await slow.waitFor(isHello);
    expect(hello.ackWindow).toBe(1);
    expect((await fast.waitFor(isHello)).relay).toBe(hello.relay);
    for (const viewer of [fast, slow]) viewer.subscribe(topic);
    // The current-value delta after the subscription fills the slow viewer's window of one frame.
    await Promise.all([fast, slow].map((viewer) => viewer.waitFor(isDeltaOf(topic))));

    for (let round = 1; round <= 4; round++) {
      await post(eventType, 1, `${eventType}-r${round}`, project);
      await fast.waitFor(isDeltaOf(topic, (d) => d.value === round));
      await sleep(300);
    }
    // The fast viewer saw each change; the slow one nothing more, and its queue holds one coalesced entry.
    expect(fast.deltas(topic).map((d) => d.value)).toEqual([0, 1, 2, 3, 4]);
    expect(slow.deltas(topic).map((d) => d.value)).toEqual([0]);
    const relayStats = await relay(hello.relay).stats();
    expect(relayStats.queued.filter((n) => n > 0)).toEqual([1]);

    // One ack releases one frame with just the newest value, at the newest seq.
    slow.send({ action: 'ack', frames: 1 });
    const latest = await slow.waitFor(isDeltaOf(topic, (d) => d.value === 4));
    expect(latest.seq).toBe(fast.deltas(topic).at(-1)?.seq);
    expect(slow.deltas(topic).map((d) => d.value)).toEqual([0, 4]);
    for (const viewer of [fast, slow]) viewer.close();
  });

  it('sends a viewer without ?ack every frame at once: never queued, coalesced or closed, whatever the queue bound', async () => {
    const eventType = uniqueEventType('noack');
    const topics = [`metrics:${eventType}`, `value_sum:${eventType}`, `metrics:*`];
    const viewer = await connect();
    const hello = await viewer.waitFor(isHello);
    // No flow control offered: the hello carries no ack window.
    expect(hello.ackWindow).toBeUndefined();
    for (const topic of topics) {
      viewer.subscribe(topic);
      await viewer.waitFor(isDeltaOf(topic));
    }
    // Far more frames than the bound of 2 queued entries this project sets, and never an ack.
    for (let round = 1; round <= 6; round++) {
      await post(eventType, 1, `${eventType}-r${round}`, project, { value: 2 });
      await viewer.waitFor(isDeltaOf(`metrics:${eventType}`, (d) => d.value === round));
      await sleep(300);
    }
    expect(viewer.deltas(`metrics:${eventType}`).map((d) => d.value)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(viewer.deltas(`value_sum:${eventType}`).map((d) => d.value)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    const seqs = viewer.deltas(`metrics:${eventType}`).map((d) => d.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
    // Nothing waits in any queue of the relay (ours among them; earlier viewers of this file may not be gone yet).
    expect((await relay(hello.relay).stats()).queued.every((n) => n === 0)).toBe(true);
    // An ack from a viewer that did not opt in changes nothing.
    viewer.send({ action: 'ack', frames: 3 });
    await post(eventType, 1, `${eventType}-r7`, project);
    await viewer.waitFor(isDeltaOf(`metrics:${eventType}`, (d) => d.value === 7));
    expect(viewer.closed).toBeNull();
    viewer.close();
  });

  it(`closes a viewer whose queue exceeds the bound with ${LIVE_CLOSE.slowViewer}; it resumes with lastSeq`, async () => {
    const [a, b, c] = [uniqueEventType('sa'), uniqueEventType('sb'), uniqueEventType('sc')];
    const slow = await connect('&ack=1');
    const fast = await connect();
    for (const eventType of [a, b, c]) {
      slow.subscribe(`metrics:${eventType}`);
      await slow.waitFor(isType('subscribed', `metrics:${eventType}`));
      fast.subscribe(`metrics:${eventType}`);
      await fast.waitFor(isDeltaOf(`metrics:${eventType}`));
    }
    // The window holds a's first delta; b's and c's wait: 2 entries, the bound.
    await sleep(100);
    expect(slow.closed).toBeNull();
    const lastSeq = Math.max(...slow.deltas(`metrics:${a}`).map((d) => d.seq));
    await post(a, 2, `${a}-x`, project);
    const closed = await slow.waitForClose();
    expect(closed.code).toBe(LIVE_CLOSE.slowViewer);
    // The fast viewer never noticed.
    await fast.waitFor(isDeltaOf(`metrics:${a}`, (d) => d.value === 2));

    const back = await connect();
    back.subscribe(`metrics:${a}`, { lastSeq });
    expect((await back.waitFor(isType('subscribed', `metrics:${a}`))).resumed).toBe(true);
    await back.waitFor(isDeltaOf(`metrics:${a}`, (d) => d.value === 2));
    for (const viewer of [fast, back]) viewer.close();
  });
});
