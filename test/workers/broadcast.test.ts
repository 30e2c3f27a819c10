import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Broadcast } from '../../durable-objects/Broadcast.ts';
import { isDelta, LiveClient, postJson, projectId, uniqueEventType } from './helpers.ts';

function isError(code: string) {
  return (message: unknown): message is { error: { code: string } } =>
    typeof message === 'object' && message !== null && 'error' in message && JSON.stringify(message).includes(`"code":"${code}"`);
}

function eventsFor(eventType: string, users: number, prefix: string) {
  return Array.from({ length: users }, (_, i) => ({ eventId: `${prefix}-${i}`, eventType, timestamp: Date.now(), userId: `${prefix}-user-${i}` }));
}

describe('Broadcast (live fan-out)', () => {
  it('answers malformed frames, unknown actions and bad topics with error frames and keeps the socket open', async () => {
    const viewer = await LiveClient.connect();
    viewer.send('{not json');
    await viewer.waitFor(isError('malformed_json'));
    viewer.send({ action: 'dance', topic: 'metrics:x' });
    await viewer.waitFor(isError('unknown_action'));
    viewer.send({ action: 'subscribe', topic: 'counts:x' });
    await viewer.waitFor(isError('invalid_topic'));
    viewer.send('x'.repeat(5000));
    await viewer.waitFor(isError('frame_too_large'));
    // Still usable after the abuse.
    viewer.send({ action: 'subscribe', topic: 'metrics:ok' });
    await viewer.waitFor((m): m is { type: string } => JSON.stringify(m) === JSON.stringify({ type: 'subscribed', topic: 'metrics:ok' }));
    viewer.close();
  });

  it('stops sending a topic after unsubscribe', async () => {
    const eventType = uniqueEventType('unsub');
    const topic = `metrics:${eventType}`;
    const viewer = await LiveClient.connect();
    viewer.send({ action: 'subscribe', topic });
    await postJson('/v1/events', { events: eventsFor(eventType, 3, `${eventType}-a`) });
    await viewer.waitFor(isDelta(topic, (d) => d.value === 3));
    viewer.send({ action: 'unsubscribe', topic });
    await viewer.waitFor((m): m is { type: string } => JSON.stringify(m).includes('"unsubscribed"'));
    const seen = viewer.messages.length;
    await postJson('/v1/events', { events: eventsFor(eventType, 2, `${eventType}-b`) });
    // A second topic proves pushes still flow to this socket while the first stays silent.
    const other = uniqueEventType('other');
    viewer.send({ action: 'subscribe', topic: `metrics:${other}` });
    await postJson('/v1/events', { events: eventsFor(other, 1, `${other}-a`) });
    await viewer.waitFor(isDelta(`metrics:${other}`, (d) => d.value === 1));
    expect(viewer.messages.slice(seen).filter(isDelta(topic))).toEqual([]);
    viewer.close();
  });

  it('rebuilds totals from the shards after it was reset, so a restart never shows a partial count', async () => {
    const eventType = uniqueEventType('rebuild');
    const topic = `metrics:${eventType}`;
    // 12 users spread over the shards.
    expect((await postJson('/v1/events', { events: eventsFor(eventType, 12, `${eventType}-a`) })).status).toBe(202);
    const broadcast = env.BROADCAST.get(env.BROADCAST.idFromName(projectId()));
    await runInDurableObject(broadcast, (_instance: Broadcast, state) => state.abort('fault injection')).catch(() => undefined);
    // One more event reaches one shard; the restarted object must still report all 13.
    await postJson('/v1/events', { events: eventsFor(eventType, 1, `${eventType}-b`) });
    const viewer = await LiveClient.connect();
    viewer.send({ action: 'subscribe', topic });
    const delta = await viewer.waitFor(isDelta(topic));
    expect(delta.value).toBe(13);
    viewer.close();
  });
});
