import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_REQUEST } from '../../core/live-protocol.ts';
import type { LiveRelay } from '../../durable-objects/LiveRelay.ts';
import { uniqueEventType } from './helpers.ts';
import { isDeltaOf, isHello, isType, post, relay, sleep, Viewer } from './live-support.ts';

describe('relay hibernation', () => {
  it('keeps viewers, their topics and their limits across an eviction (attachments), and heartbeats never reach the object', async () => {
    const eventType = uniqueEventType('hib');
    const topic = `metrics:${eventType}`;
    const viewer = await Viewer.connect(undefined, '&ack=4');
    const { relay: name } = await viewer.waitFor(isHello);
    viewer.subscribe(topic);
    await viewer.waitFor(isDeltaOf(topic));
    viewer.send({ action: 'ack', frames: 1 });

    // Out of memory, sockets kept (the default of evictDurableObject is to hibernate them).
    await evictDurableObject(relay(name));
    viewer.send(HEARTBEAT_REQUEST);
    await viewer.waitFor(isType('pong'));

    // A change wakes it through the root's push; it rebuilds its indexes from the attachments.
    await post(eventType, 3, `${eventType}-a`);
    await viewer.waitFor(isDeltaOf(topic, (d) => d.value === 3));
    const woke = await runInDurableObject(relay(name), async (_instance: LiveRelay, state) =>
      state.getWebSockets().map((ws) => ({ heartbeatAnsweredAt: state.getWebSocketAutoResponseTimestamp(ws), attachment: ws.deserializeAttachment() })),
    );
    expect(woke).toHaveLength(1);
    // The runtime answered the heartbeat itself (webSocketMessage never saw it).
    expect(woke[0]?.heartbeatAnsweredAt).toBeInstanceOf(Date);
    expect(woke[0]?.attachment).toMatchObject({ topics: [topic], ackWindow: 4 });
    expect((await relay(name).stats()).viewers).toBe(1);
    viewer.close();
  });

  it('completes the close handshake with the client’s code, and a closed viewer never disturbs the others', async () => {
    const eventType = uniqueEventType('close');
    const topic = `metrics:${eventType}`;
    const leaving = await Viewer.connect();
    const staying = await Viewer.connect();
    for (const viewer of [leaving, staying]) {
      viewer.subscribe(topic);
      await viewer.waitFor(isDeltaOf(topic));
    }
    leaving.close(4000, 'user left');
    // The server echoes the client's close frame: the client sees 4000, not 1006.
    expect(await leaving.waitForClose()).toEqual({ code: 4000, reason: 'user left' });
    await post(eventType, 2, `${eventType}-a`);
    await staying.waitFor(isDeltaOf(topic, (d) => d.value === 2));
    await sleep(100);
    const { relay: name } = await staying.waitFor(isHello);
    expect((await relay(name).stats()).viewers).toBeGreaterThanOrEqual(1);
    staying.close();
  });
});
