import { describe, expect, it } from 'vitest';
import { drainAlarms, makeEvents, shardOf, sleep } from './aggregation-support.ts';
import { bearer, createTestProject, request } from './helpers.ts';

const MINUTE = 60_000;

describe('GET /v1/data-quality', () => {
  it('shows late, bot, too-old, folded and undeclared events per window, exactly, and only with a read key', async () => {
    const project = await createTestProject({ declaredDimensions: ['country'] });
    const { projectId } = project;
    const stub = shardOf(projectId);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    // K = 2 per dimension per minute: the third and fourth country fold into __other__; `path` is undeclared.
    const policy = { declared: ['country'], maxValuesPerWindow: 2 };
    const events = makeEvents(`${projectId}-a`, 8, {
      timestampMs: minute + 5_000,
      dimensions: (i) => ({ country: ['DE', 'FR', 'US', 'JP'][i % 4] ?? 'DE', ...(i < 3 ? { path: '/x' } : {}) }),
      extra: (i) => (i === 7 ? { bot: true } : {}),
    });
    await stub.ingest({ projectId, shard: 0, events, dimensionPolicy: policy, rejectedTooOld: 2 });
    await stub.flushNow();
    // Two more for the flushed minute: late, as adjustment rows (1 s windows and no lateness in tests).
    await stub.ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-late`, 2, { timestampMs: minute + 6_000, dimensions: () => ({ country: 'DE' }) }), dimensionPolicy: policy });
    // Too-old rejections count in the window they arrived in (now): let it close, then flush it too.
    await sleep(1100);
    await stub.flushNow();

    const path = `/v1/data-quality?start=${new Date(minute - MINUTE).toISOString()}&end=${new Date(Date.now() + MINUTE).toISOString()}`;
    const response = await request(path, { headers: bearer(project.keys.read) });
    expect(response.status).toBe(200);
    const body: unknown = await response.json();
    const minuteIso = new Date(minute).toISOString();
    expect(body).toMatchObject({
      resolution: '1m',
      // Every event of that minute arrived after its 1 s window had closed, so all 9 human events (and the bot) are late.
      totals: { events: 9, botEvents: 1, lateEvents: 10, foldedEvents: 4, undeclaredEvents: 3, tooOldEvents: 2 },
    });
    const windows = body !== null && typeof body === 'object' && 'windows' in body && Array.isArray(body.windows) ? body.windows : [];
    expect(windows.find((window: { time?: string }) => window.time === minuteIso)).toEqual({
      time: minuteIso, events: 9, lateEvents: 10, botEvents: 1, tooOldEvents: 0, folded: { country: 4 }, undeclared: { path: 3 },
    });
    const arrival = new Date(Math.floor(Date.now() / MINUTE) * MINUTE).toISOString();
    const tooOld = windows.filter((window: { tooOldEvents?: number }) => (window.tooOldEvents ?? 0) > 0).map((window: { time?: string; tooOldEvents?: number }) => [window.time, window.tooOldEvents]);
    // The arrival minute: this one, or the one before if the minute turned while the test ran.
    expect(tooOld).toHaveLength(1);
    expect(tooOld[0]?.[1]).toBe(2);
    expect([arrival, new Date(Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE).toISOString()]).toContain(tooOld[0]?.[0]);

    const asWriter = await request(path, { headers: bearer(project.keys.public) });
    expect(asWriter.status).toBe(403);
    const bad = await request('/v1/data-quality?start=yesterday', { headers: bearer(project.keys.read) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_start' } });
    await drainAlarms(stub);
  });
});
