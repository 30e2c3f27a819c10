import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../workers/index.ts';
import { BASE, bearer, createTestProject, postJson, readGet, request, sleep, testProject, uniqueEventType } from './helpers.ts';

interface Health {
  status: string;
  stale: boolean;
  freshnessMs: number | null;
  freshnessAlarmMs: number;
  shardsReadAt: string;
  shards: Array<{ shard: number; pendingGroups: number; counters: Record<string, number>; rowsWrittenSinceStart: number }>;
}

async function health(): Promise<Health> {
  const response = await readGet('/v1/health');
  expect(response.status).toBe(200);
  return response.json();
}

/** The same Worker with FRESHNESS_ALARM_SECONDS=1 (the test's env, not a test-only switch), so a test can wait the threshold out. */
async function healthWithAlarmOfOneSecond(): Promise<Health> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${BASE}/v1/health`, { headers: bearer(testProject().keys.read) }), { ...env, FRESHNESS_ALARM_SECONDS: '1' }, ctx);
  await waitOnExecutionContext(ctx);
  expect(response.status).toBe(200);
  return response.json();
}

async function pulse(): Promise<void> {
  expect((await postJson('/v1/events', { eventType: uniqueEventType('pulse'), timestamp: Date.now(), userId: 'u1' })).status).toBe(202);
}

describe('freshness alarm in /v1/health', () => {
  it('says stale plainly when no live data has arrived, and ok once it does', async () => {
    const before = await health();
    expect(before).toMatchObject({ status: 'stale', stale: true, freshnessMs: null, freshnessAlarmMs: 10_000 });
    // Every shard exposes its running counters (late, too old, folded, ...) and its storage writes.
    for (const shard of before.shards) {
      for (const name of ['accepted', 'duplicates', 'late', 'bots', 'foldedEvents', 'droppedDimensionEvents', 'rejectedTooOld']) expect(typeof shard.counters[name]).toBe('number');
      expect(typeof shard.rowsWrittenSinceStart).toBe('number');
    }
    await pulse();
    // The live push is asynchronous to the 202; poll briefly for it.
    let after = await health();
    for (let i = 0; i < 20 && after.stale; i++) {
      await sleep(100);
      after = await health();
    }
    expect(after.stale).toBe(false);
    expect(after.status).toBe('ok');
    expect(after.freshnessMs).toBeLessThan(after.freshnessAlarmMs);
  });

  it('turns fresh data stale once the threshold passes without new data, and ok again when data returns', async () => {
    await pulse();
    await expect.poll(async () => (await healthWithAlarmOfOneSecond()).status, { timeout: 5000, interval: 50 }).toBe('ok');
    const fresh = await healthWithAlarmOfOneSecond();
    expect(fresh).toMatchObject({ stale: false, freshnessAlarmMs: 1000 });
    // No traffic: past one second the same endpoint must say stale, whatever the connection state.
    await expect.poll(async () => (await healthWithAlarmOfOneSecond()).status, { timeout: 10_000, interval: 200 }).toBe('stale');
    const stale = await healthWithAlarmOfOneSecond();
    expect(stale.stale).toBe(true);
    expect(stale.freshnessMs).toBeGreaterThan(1000);
    await pulse();
    await expect.poll(async () => (await healthWithAlarmOfOneSecond()).status, { timeout: 5000, interval: 50 }).toBe('ok');
  });
});

describe('/v1/health edge cache', () => {
  it('shares every shard\'s stats per project for a few seconds, never the freshness', async () => {
    const project = await createTestProject();
    const read = (key: string) => request('/v1/health', { headers: bearer(key) });
    const first = await read(project.keys.read);
    expect(first.headers.get('X-Edgepulse-Cache')).toBe('MISS');
    const firstBody: Health = await first.json();
    expect(firstBody.shards.map((s) => s.shard)).toEqual([0, 1, 2, 3]);
    await sleep(50);
    // Another read key of the same project shares the entry (per project, never per key).
    const minted = await request(`/v1/admin/projects/${project.projectId}/keys`, {
      method: 'POST',
      headers: { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'read' }),
    });
    expect(minted.status).toBe(201);
    const { key }: { key: string } = await minted.json();
    const second = await read(key);
    expect(second.headers.get('X-Edgepulse-Cache')).toBe('HIT');
    const secondBody: Health = await second.json();
    expect(secondBody.shardsReadAt).toBe(firstBody.shardsReadAt);
    // Another project never sees this one's entry.
    const other = await createTestProject();
    expect((await read(other.keys.read)).headers.get('X-Edgepulse-Cache')).toBe('MISS');
    // After the TTL the shards are asked again.
    await sleep(5200);
    const later = await read(project.keys.read);
    expect(later.headers.get('X-Edgepulse-Cache')).toBe('MISS');
    const laterBody: Health = await later.json();
    expect(Date.parse(laterBody.shardsReadAt)).toBeGreaterThan(Date.parse(firstBody.shardsReadAt));
  });
});
