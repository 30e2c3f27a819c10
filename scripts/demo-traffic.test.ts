import { describe, expect, it } from 'vitest';
import { validateBatch } from '../core/events.ts';
import {
  BASE_MIX,
  DEMO_EVENT_TYPES,
  DemoSender,
  DemoTraffic,
  countResult,
  generateDemoEvents,
  parseCli,
  type DemoEvent,
} from './demo-traffic.ts';

const START = Date.UTC(2026, 5, 7, 10, 0, 0);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function take(batches: number, options: { seed?: number; rate?: number } = {}): DemoEvent[][] {
  const generator = generateDemoEvents({ seed: 42, rate: 40, ...options, startMs: START, intervalMs: 500 });
  return Array.from({ length: batches }, () => generator.next().value);
}

describe('generateDemoEvents', () => {
  it('produces well-formed events stamped around the batch time', () => {
    const batches = take(240);
    batches.forEach((batch, i) => {
      const now = START + i * 500;
      for (const event of batch) {
        expect(event.eventId).toMatch(UUID_V4);
        expect(DEMO_EVENT_TYPES).toContain(event.eventType);
        expect(Number.isInteger(event.timestamp)).toBe(true);
        expect(event.timestamp).toBeLessThanOrEqual(now);
        expect(event.timestamp).toBeGreaterThan(now - 10_000);
        expect(event.userId).toMatch(/^usr_\d+$/);
        expect(event.dimensions.country).toMatch(/^[A-Z]{2}$/);
        expect(['MOBILE', 'DESKTOP', 'TABLET']).toContain(event.dimensions.deviceType);

        const hasCampaign = ['ad_click', 'purchase', 'signup'].includes(event.eventType);
        if (hasCampaign) expect(event.dimensions.campaignId).toMatch(/^camp_\d+$/);
        else expect(event.dimensions.campaignId).toBeUndefined();
        if (event.eventType === 'page_view') expect(event.dimensions.path).toMatch(/^\//);
        else expect(event.dimensions.path).toBeUndefined();
        if (event.eventType === 'purchase') {
          expect(event.value).toBeGreaterThanOrEqual(5);
          expect(event.value).toBeLessThanOrEqual(300);
          expect(Math.round((event.value ?? 0) * 100) / 100).toBe(event.value);
        } else {
          expect(event.value).toBeUndefined();
        }
      }
    });
  });

  it('passes the ingest validator unchanged', () => {
    const events = take(120).flat();
    const now = START + 120 * 500;
    const result = validateBatch(JSON.parse(JSON.stringify(events)) as unknown[], {
      nowMs: now,
      newEventId: () => 'unused',
    });
    expect(result.rejected).toEqual([]);
    expect(result.accepted).toHaveLength(events.length);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(take(200, { seed: 7 })).toEqual(take(200, { seed: 7 }));
    expect(take(200, { seed: 7 })).not.toEqual(take(200, { seed: 8 }));
  });

  it('keeps the traffic shape when event ids come from elsewhere', () => {
    let n = 0;
    const custom = new DemoTraffic({ seed: 3, newEventId: () => `id-${n++}` });
    const seeded = new DemoTraffic({ seed: 3 });
    for (let i = 0; i < 50; i++) {
      const a = custom.batch(START + i * 500, 500).map(({ eventId: _, ...rest }) => rest);
      const b = seeded.batch(START + i * 500, 500).map(({ eventId: _, ...rest }) => rest);
      expect(a).toEqual(b);
    }
  });

  it('has the intended mix, rate, skew and share of late events', () => {
    // One hour of simulated traffic: whole wave periods, several bursts.
    const events = take(7200, { seed: 11, rate: 40 }).flat();
    const perSecond = events.length / 3600;
    expect(perSecond).toBeGreaterThan(40 * 0.9);
    expect(perSecond).toBeLessThan(40 * 1.4);

    const share = (type: string) => events.filter((e) => e.eventType === type).length / events.length;
    expect(share('page_view')).toBeGreaterThan(0.6);
    expect(share('page_view')).toBeLessThan(0.8);
    expect(share('ad_click')).toBeGreaterThan(share('signup'));
    expect(share('signup')).toBeGreaterThan(share('error'));
    expect(share('purchase')).toBeGreaterThan(share('error'));
    expect(share('error')).toBeLessThan(0.05);
    for (const type of DEMO_EVENT_TYPES) expect(share(type)).toBeGreaterThan(BASE_MIX[type] * 0.6);

    const byUser = new Map<string, number>();
    for (const e of events) byUser.set(e.userId, (byUser.get(e.userId) ?? 0) + 1);
    const counts = [...byUser.values()].sort((a, b) => b - a);
    expect(byUser.size).toBeGreaterThan(1500);
    expect(byUser.size).toBeLessThanOrEqual(3000);
    const top30 = counts.slice(0, 30).reduce((a, b) => a + b, 0);
    // Zipf-like: 1 % of the users make far more than 1 % of the traffic, but not all of it.
    expect(top30 / events.length).toBeGreaterThan(0.12);
    expect(top30 / events.length).toBeLessThan(0.4);

    const byCountry = new Map<string, number>();
    for (const e of events) byCountry.set(e.dimensions.country, (byCountry.get(e.dimensions.country) ?? 0) + 1);
    const countries = [...byCountry.entries()].sort((a, b) => b[1] - a[1]);
    expect(countries.length).toBeGreaterThan(10);

    // "Late" = stamped before the interval its batch covers.
    let late = 0;
    take(7200, { seed: 11, rate: 40 }).forEach((batch, i) => {
      const intervalStart = START + i * 500 - 500;
      late += batch.filter((e) => e.timestamp < intervalStart).length;
    });
    expect(late / events.length).toBeGreaterThan(0.02);
    expect(late / events.length).toBeLessThan(0.04);
  });

  it('varies per minute: waves and bursts move the chart', () => {
    const perMinute = new Map<number, number>();
    for (const event of take(2 * 60 * 30, { seed: 5 }).flat()) {
      const minute = Math.floor(event.timestamp / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    const full = [...perMinute.values()].slice(1, -1);
    expect(Math.max(...full) / Math.min(...full)).toBeGreaterThan(1.4);
  });
});

describe('DemoSender', () => {
  const events = take(4).flat();

  it('retries a failed batch unchanged until the server is back', async () => {
    const bodies: string[] = [];
    let calls = 0;
    const fetchStub: typeof fetch = async (_url, init) => {
      calls++;
      bodies.push(String(init?.body));
      if (calls <= 2) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      if (calls === 3) return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503 });
      return Response.json({ status: 'ACCEPTED', receivedAt: new Date().toISOString(), rejected: [] }, { status: 202 });
    };
    const sender = new DemoSender({ url: 'http://127.0.0.1:1', fetch: fetchStub, sleep: async () => {} });
    sender.enqueue(events);
    expect(await sender.flush(1000)).toBe(true);

    expect(calls).toBe(4);
    expect(new Set(bodies).size).toBe(1); // same ids every time: the server's dedup makes retries harmless
    expect(sender.stats).toMatchObject({ sent: events.length, accepted: events.length, rejected: 0, httpErrors: 3, dropped: 0 });
  });

  it('sends the write key and JSON, and counts per-event rejections', async () => {
    let seen: Headers | undefined;
    const fetchStub: typeof fetch = async (_url, init) => {
      seen = new Headers(init?.headers);
      const rejected = [{ index: 0, code: 'invalid_event', message: 'x' }];
      return Response.json({ status: 'ACCEPTED', receivedAt: new Date().toISOString(), rejected }, { status: 202 });
    };
    const sender = new DemoSender({ url: 'http://x.test', key: 'wk_123', fetch: fetchStub, sleep: async () => {} });
    sender.enqueue(events);
    await sender.flush(1000);
    expect(seen?.get('authorization')).toBe('Bearer wk_123');
    expect(seen?.get('content-type')).toBe('application/json');
    expect(sender.stats.rejected).toBe(1);
    expect(sender.stats.accepted).toBe(events.length - 1);
  });

  it('does not retry a refused batch (4xx) and drops the oldest when the queue overflows', async () => {
    const refusing = new DemoSender({
      url: 'http://x.test',
      fetch: async () => new Response('{"error":{"code":"unauthorized","message":"bad key"}}', { status: 401 }),
      sleep: async () => {},
    });
    refusing.enqueue(events);
    await refusing.flush(1000);
    expect(refusing.stats).toMatchObject({ httpErrors: 1, rejected: events.length, lastError: 'HTTP 401: unauthorized: bad key' });

    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new DemoSender({
      url: 'http://x.test',
      maxBatch: 10,
      maxQueuedEvents: 30,
      fetch: async () => {
        await blocked;
        return Response.json({ status: 'ACCEPTED' }, { status: 202 });
      },
    });
    slow.enqueue(take(1, { rate: 200 }).flat().concat(take(1, { rate: 200 }).flat()));
    expect(slow.stats.dropped).toBeGreaterThan(0);
    expect(slow.pendingEvents).toBeLessThanOrEqual(30);
    release();
    await slow.flush(1000);
    expect(slow.stats.sent + slow.stats.dropped).toBe(slow.stats.generated);
  });
});

describe('countResult and parseCli', () => {
  it('reads counts and lists leniently', () => {
    expect(countResult({ status: 'ACCEPTED' }, 5)).toEqual({ accepted: 5, rejected: 0, duplicates: 0 });
    expect(countResult({ accepted: 3, rejected: [{}, {}], duplicates: 1 }, 5)).toEqual({ accepted: 3, rejected: 2, duplicates: 1 });
    expect(countResult({ rejections: 1 }, 5)).toEqual({ accepted: 4, rejected: 1, duplicates: 0 });
    expect(countResult(null, 2)).toEqual({ accepted: 2, rejected: 0, duplicates: 0 });
  });

  it('parses and validates the command line', () => {
    expect(parseCli([], {})).toMatchObject({ url: 'http://127.0.0.1:8787/', key: null, rate: 40, durationS: 0, seed: 42 });
    expect(parseCli(['--rate', '5', '--seed', '9', '--duration', '3'], { EDGEPULSE_WRITE_KEY: 'k' })).toMatchObject({
      rate: 5,
      seed: 9,
      durationS: 3,
      key: 'k',
    });
    expect(() => parseCli(['--rate', '0'], {})).toThrow(/rate/);
    expect(() => parseCli(['--url', 'ftp://x'], {})).toThrow(/http/);
    expect(() => parseCli(['--seed', '1.5'], {})).toThrow(/seed/);
  });
});
