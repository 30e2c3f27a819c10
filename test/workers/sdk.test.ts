import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { shardFor } from '../../core/shard.ts';
import { createClient, type EdgepulseError, type FetchLike } from '../../sdk/src/index.ts';
import { edgeWithShardRecorder, type EdgeUnderTest } from './edge-support.ts';
import { BASE, countInClickHouse, createTestProject, flushAllShards, sleep, uniqueEventType } from './helpers.ts';

const BROWSER_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** The SDK's fetch, into the real Worker; `extra` are headers the network adds (the client's IP, its browser's UA). */
function workerFetch(edge: EdgeUnderTest, extra: Record<string, string> = {}): FetchLike {
  return async (url, init) => {
    const { pathname, search } = new URL(url);
    return edge.fetch(`${pathname}${search}`, { method: init.method, headers: { ...init.headers, ...extra }, body: init.body, signal: init.signal });
  };
}

describe('the SDK against the real Worker', () => {
  it('delivers every event once when a shard stored its part but the answer was lost (503, retry of just those, dedup)', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('sdk_lost_answer');
    const shards = Number(env.SHARD_COUNT);
    const broken = shardFor('u0', shards);
    // The first call to that shard stores its events, then its answer is lost: the edge answers 503 naming them.
    let lost = false;
    edge.setFault((request) => {
      if (lost || request.shard !== broken) return null;
      lost = true;
      return 'lose_answer';
    });
    const errors: EdgepulseError[] = [];
    const client = createClient({
      endpoint: BASE,
      writeKey: project.keys.server,
      fetch: workerFetch(edge),
      beaconOnPageHide: false,
      retryBaseMs: 50,
      onError: (error) => errors.push(error),
    });
    const ids = Array.from({ length: 30 }, (_, i) => client.track(eventType, { value: 2, userId: `u${i}`, dimensions: { plan: i % 2 === 0 ? 'pro' : 'free' } }));
    await client.flush();
    expect(errors).toEqual([]);

    // The broken shard saw the same event ids twice; it counted them once.
    const toBroken = edge.calls.filter((call) => call.request.shard === broken);
    expect(toBroken.map((call) => call.outcome)).toEqual(['answer_lost', 'ok']);
    const idsOf = (json: string | undefined): string[] => (JSON.parse(json ?? '[]') as Array<{ eventId: string }>).map((event) => event.eventId).sort();
    expect(idsOf(toBroken[1]?.request.eventsJson)).toEqual(idsOf(toBroken[0]?.request.eventsJson));
    const retriedIds = idsOf(toBroken[0]?.request.eventsJson);
    expect(retriedIds).toEqual(ids.filter((_, i) => shardFor(`u${i}`, shards) === broken).sort());
    // Only the failed shard's events were re-sent.
    expect(edge.calls).toHaveLength(new Set(edge.calls.map((call) => call.request.shard)).size + 1);

    await sleep(1100);
    await flushAllShards(project.projectId);
    // Counted once (late or not: with 1 s test windows the retry may land in the next second, an adjustment row of the same window).
    const counted = await countInClickHouse(eventType, project.projectId);
    expect({ events: counted.events, valueSum: counted.valueSum }).toEqual({ events: 30, valueSum: 60 });
  });

  it('waits out a 429 as Retry-After says and then delivers the batch once', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('sdk_limited');
    const network = { 'CF-Connecting-IP': '192.0.2.200', 'User-Agent': BROWSER_UA };
    // The same client has already used its budget (20 per 10 s in tests) on another page.
    let limited = false;
    for (let i = 0; i < 200 && !limited; i++) {
      const response = await edge.fetch('/v1/events', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${project.keys.public}`, ...network },
        body: JSON.stringify({ eventType: `${eventType}_warmup`, timestamp: Date.now() }),
      });
      limited = response.status === 429;
    }
    expect(limited).toBe(true);

    const statuses: number[] = [];
    const fetchThrough = workerFetch(edge, network);
    const errors: EdgepulseError[] = [];
    const client = createClient({
      endpoint: BASE,
      writeKey: project.keys.public,
      fetch: async (url, init) => {
        const response = await fetchThrough(url, init);
        statuses.push(response.status);
        return response;
      },
      beaconOnPageHide: false,
      onError: (error) => errors.push(error),
    });
    const started = Date.now();
    for (let i = 0; i < 5; i++) client.track(eventType, { value: 1 });
    await client.flush();
    expect(errors).toEqual([]);
    expect(statuses[0]).toBe(429);
    expect(statuses.at(-1)).toBe(202);
    // Retry-After: 10 (the limiter's window), honoured rather than retried at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    await sleep(1100);
    await flushAllShards(project.projectId);
    expect((await countInClickHouse(eventType, project.projectId)).events).toBe(5);
  });
});
