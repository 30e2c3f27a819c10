import { describe, expect, it } from 'vitest';
import { totalsIn, faultsFor } from './aggregation-support.ts';
import { bearer, createTestProject, flushAllShards, request, sleep } from './helpers.ts';

interface PartialFailure {
  error: { code: string };
  accepted: number;
  failed: number[];
}

/**
 * The edge side of backpressure: while ClickHouse is down a shard's backlog
 * fills (MAX_BACKLOG_ROWS = 5000 in tests); the edge then answers 503 with
 * the shard's Retry-After and names every event it did not record, and a
 * retry of just those after recovery counts each event exactly once.
 */
describe('edge answer when a shard is at its backlog bound', () => {
  it('answers 503 with Retry-After and the failed indexes, and loses nothing already accepted', async () => {
    const project = await createTestProject();
    const faults = faultsFor(project.projectId);
    await faults.set('down');
    const post = (events: object[]) =>
      request('/v1/events', { method: 'POST', headers: { ...bearer(project.keys.server), 'Content-Type': 'application/json' }, body: JSON.stringify({ events }) });
    // One user, so one shard; distinct event types, so distinct groups (event types are not governed).
    const batch = (n: number) => Array.from({ length: 1000 }, (_, i) => ({ eventId: `bp-${n}-${i}`, eventType: `bp${n}_${i}`, timestamp: Date.now() - 3000, userId: 'one-user' }));

    let accepted = 0;
    let refusal: { response: Response; body: PartialFailure; events: object[] } | null = null;
    for (let n = 0; n < 12 && refusal === null; n++) {
      const events = batch(n);
      const response = await post(events);
      if (response.status === 202) {
        const body: { accepted: number } = await response.json();
        accepted += body.accepted;
      } else refusal = { response, body: await response.json(), events };
      await sleep(1100);
      await flushAllShards(project.projectId);
    }
    expect(refusal).not.toBeNull();
    if (refusal === null) return;
    expect(refusal.response.status).toBe(503);
    expect(Number(refusal.response.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    expect(refusal.body.error.code).toBe('partially_accepted');
    expect(refusal.body.accepted).toBe(0);
    expect(refusal.body.failed).toEqual(refusal.events.map((_, i) => i));

    // ClickHouse returns; the backlog drains; the client retries just the failed events.
    await faults.set('ok');
    for (let i = 0; i < 20; i++) {
      const outcomes = await flushAllShards(project.projectId);
      if (outcomes.every((outcome) => outcome.status !== 'error')) break;
    }
    const failedEvents = refusal.events;
    const retry = await post(refusal.body.failed.map((index) => failedEvents[index]).filter((event): event is object => event !== undefined));
    expect(retry.status).toBe(202);
    accepted += ((await retry.json()) as { accepted: number }).accepted;
    await sleep(1100);
    for (let i = 0; i < 5; i++) await flushAllShards(project.projectId);
    expect((await totalsIn('events_1m', project.projectId)).events).toBe(accepted);
  });
});
