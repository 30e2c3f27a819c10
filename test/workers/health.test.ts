import { describe, expect, it } from 'vitest';
import { postJson, readGet, sleep, uniqueEventType } from './helpers.ts';

interface Health {
  status: string;
  stale: boolean;
  freshnessMs: number | null;
  freshnessAlarmMs: number;
}

async function health(): Promise<Health> {
  const response = await readGet('/v1/health');
  expect(response.status).toBe(200);
  return response.json();
}

describe('freshness alarm in /v1/health', () => {
  it('says stale plainly when no live data has arrived, and ok once it does', async () => {
    const before = await health();
    expect(before).toMatchObject({ status: 'stale', stale: true, freshnessMs: null, freshnessAlarmMs: 10_000 });
    expect((await postJson('/v1/events', { eventType: uniqueEventType('pulse'), timestamp: Date.now(), userId: 'u1' })).status).toBe(202);
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
});
