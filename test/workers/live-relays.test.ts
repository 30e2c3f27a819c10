import { listDurableObjectIds } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, uniqueEventType, type TestProject } from './helpers.ts';
import { configureLive, isDeltaOf, isHello, post, relay, stats, Viewer } from './live-support.ts';

let project: TestProject;

beforeAll(async () => {
  // A project of its own with room for 2 viewers per relay, so 7 viewers need 4 relays.
  project = await createTestProject();
  await configureLive({ relayMaxViewers: 2 }, project.projectId);
});

function connectFrom(cf: Record<string, string> | undefined): Promise<Viewer> {
  return Viewer.open(`/v1/live?key=${project.keys.read}`, cf === undefined ? {} : { cf });
}

describe('several relays', () => {
  it('places viewers on relays of at most RELAY_MAX_VIEWERS, and every viewer gets the same deltas', async () => {
    const eventType = uniqueEventType('fanout');
    const topic = `metrics:${eventType}`;
    const viewers = await Promise.all(Array.from({ length: 7 }, () => connectFrom(undefined)));
    const relays = await Promise.all(viewers.map(async (viewer) => (await viewer.waitFor(isHello)).relay));
    const perRelay = new Map<string, number>();
    for (const name of relays) perRelay.set(name, (perRelay.get(name) ?? 0) + 1);
    expect(perRelay.size).toBe(4);
    expect(Math.max(...perRelay.values())).toBe(2);
    for (const viewer of viewers) viewer.subscribe(topic);
    await Promise.all(viewers.map((viewer) => viewer.waitFor(isDeltaOf(topic))));

    for (let round = 1; round <= 4; round++) {
      await post(eventType, round, `${eventType}-r${round}`, project);
      const total = (round * (round + 1)) / 2;
      await Promise.all(viewers.map((viewer) => viewer.waitFor(isDeltaOf(topic, (d) => d.value === total))));
    }
    // Identical streams: same seqs, same values, same windows, everywhere.
    const streams = viewers.map((viewer) => JSON.stringify(viewer.deltas(topic).map((d) => [d.seq, d.value, d.windowStart])));
    expect(new Set(streams).size).toBe(1);

    // The root knows every relay, its viewers and its topics; each relay holds its two viewers.
    const live = await stats(project.projectId);
    expect(live.relays.filter((r) => r.topics.includes(topic)).map((r) => r.name).sort()).toEqual([...perRelay.keys()].sort());
    for (const [name, count] of perRelay) expect((await relay(name).stats()).viewers).toBe(count);
    for (const viewer of viewers) viewer.close();
  });

  it('puts relays near the viewer: the continent picks the location hint', async () => {
    const europe = await connectFrom({ continent: 'EU', country: 'DE', longitude: '8.68' });
    const tokyo = await connectFrom({ continent: 'AS', country: 'JP', longitude: '139.7' });
    const dubai = await connectFrom({ continent: 'AS', country: 'AE', longitude: '55.3' });
    expect((await europe.waitFor(isHello)).relay).toMatch(new RegExp(`^relay:${project.projectId}:weur:\\d+$`));
    expect((await tokyo.waitFor(isHello)).relay).toMatch(/:apac:\d+$/);
    expect((await dubai.waitFor(isHello)).relay).toMatch(/:me:\d+$/);
    for (const viewer of [europe, tokyo, dubai]) viewer.close();
  });

  it('reuses room freed by viewers that left instead of creating relays', async () => {
    const before = (await listDurableObjectIds(env.LIVE_RELAY)).length;
    const first = await connectFrom({ continent: 'SA' });
    const name = (await first.waitFor(isHello)).relay;
    first.close();
    await first.waitForClose();
    // The relay reports its occupancy within a second; leases expire within 5 s.
    await expect.poll(async () => (await stats(project.projectId)).relays.find((r) => r.name === name)?.viewers, { timeout: 5000 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 5100));
    const again = await connectFrom({ continent: 'SA' });
    expect((await again.waitFor(isHello)).relay).toBe(name);
    expect((await listDurableObjectIds(env.LIVE_RELAY)).length).toBe(before + 1);
    again.close();
  });
});
