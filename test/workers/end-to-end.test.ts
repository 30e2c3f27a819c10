import { describe, expect, it } from 'vitest';
import { atFreshSecond, countInClickHouse, isDelta, LiveClient, postJson, readGet, sleep, uniqueEventType } from './helpers.ts';

const MINUTE = 60_000;

/** Polls ClickHouse until the count is `events` (the shards' own alarms flush; nothing here forces them). */
async function untilFlushed(eventType: string, events: number, timeoutMs = 20_000): Promise<{ events: number; valueSum: number; lateEvents: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counted = await countInClickHouse(eventType);
    if (counted.events >= events || Date.now() > deadline) return counted;
    await sleep(250);
  }
}

/**
 * The walking skeleton, real at every hop: POST /v1/events -> edge Worker ->
 * ShardAggregator (workerd, SQLite storage) -> its alarm flushes -> ClickHouse
 * (the chdb dev server) -> GET /v1/metrics; and a viewer on /v1/live receives
 * the delta. Windows are 1 s with no lateness in tests, so alarms fire within
 * a few seconds.
 */
describe('end to end: events flow from ingestion to ClickHouse and to a live viewer', () => {
  it('counts posted events in ClickHouse by the shards\' alarms, serves them from /v1/metrics and pushes a live delta', async () => {
    const eventType = uniqueEventType('ad_click');
    const topic = `metrics:${eventType}:campaignId:camp_5541`;
    const viewer = await LiveClient.connect();
    viewer.send({ action: 'subscribe', topic });
    await viewer.waitFor((m): m is { type: string } => typeof m === 'object' && m !== null && 'type' in m && m.type === 'subscribed');

    const now = await atFreshSecond();
    const events = Array.from({ length: 25 }, (_, i) => ({
      eventId: `evt_${eventType}_${i}`,
      eventType,
      timestamp: now,
      value: 2,
      dimensions: { campaignId: i < 20 ? 'camp_5541' : 'camp_other', country: 'US', deviceType: 'MOBILE', userId: `usr_${i % 7}` },
    }));
    const accepted = await postJson('/v1/events', { events });
    expect(accepted.status).toBe(202);
    const body: { status: string; receivedAt: string; accepted: number; rejected: unknown[] } = await accepted.json();
    expect(body.status).toBe('ACCEPTED');
    expect(body.accepted).toBe(25);
    expect(body.rejected).toEqual([]);
    expect(Number.isNaN(Date.parse(body.receivedAt))).toBe(false);

    // The viewer sees the campaign's count for the current minute: 20 of the 25 events.
    const delta = await viewer.waitFor(isDelta(topic, (d) => d.value === 20));
    const minuteStart = now - (now % MINUTE);
    expect(delta.windowStart).toBe(new Date(minuteStart).toISOString());
    expect(delta.windowEnd).toBe(new Date(minuteStart + MINUTE).toISOString());
    expect(delta.seq).toBeGreaterThan(0);
    viewer.close();

    // No flushNow: the shards' alarms seal the closed windows and insert them.
    expect(await untilFlushed(eventType, 25)).toEqual({ events: 25, valueSum: 50, lateEvents: 0 });

    const start = new Date(minuteStart - MINUTE).toISOString();
    const end = new Date(minuteStart + 2 * MINUTE).toISOString();
    const metrics = await readGet(`/v1/metrics?metric=${eventType}&campaignId=camp_5541&start=${start}&end=${end}&resolution=1m`);
    expect(metrics.status).toBe(200);
    const series: { metric: string; dimensions: Record<string, string>; dataPoints: Array<{ time: string; value: number }> } = await metrics.json();
    expect(series.metric).toBe(eventType);
    expect(series.dimensions).toEqual({ eventType, campaignId: 'camp_5541' });
    expect(series.dataPoints).toEqual([
      { time: new Date(minuteStart - MINUTE).toISOString(), value: 0 },
      { time: new Date(minuteStart).toISOString(), value: 20 },
      { time: new Date(minuteStart + MINUTE).toISOString(), value: 0 },
    ]);
  });

  it('answers a closed minute outside the live-filled range with exactly what ClickHouse holds', async () => {
    // Ten minutes ago: older than the 5 minutes /v1/metrics fills from the live layer, so only ClickHouse can answer.
    const eventType = uniqueEventType('closed_minute');
    const minute = Math.floor((Date.now() - 10 * MINUTE) / MINUTE) * MINUTE;
    const events = Array.from({ length: 12 }, (_, i) => ({ eventId: `evt_${eventType}_${i}`, eventType, timestamp: minute + 5_000 + i * 1000, value: 3, userId: `usr_${i}` }));
    const accepted: { accepted: number } = await (await postJson('/v1/events', { events })).json();
    expect(accepted.accepted).toBe(12);
    // Its window closed long ago: the events are late, flushed by the alarms as adjustment rows, never dropped.
    const stored = await untilFlushed(eventType, 12);
    expect(stored).toEqual({ events: 12, valueSum: 36, lateEvents: 12 });

    const range = `start=${new Date(minute - MINUTE).toISOString()}&end=${new Date(minute + 2 * MINUTE).toISOString()}&resolution=1m`;
    const count: { dataPoints: Array<{ time: string; value: number }> } = await (await readGet(`/v1/metrics?metric=${eventType}&${range}`)).json();
    expect(count.dataPoints).toEqual([
      { time: new Date(minute - MINUTE).toISOString(), value: 0 },
      { time: new Date(minute).toISOString(), value: stored.events },
      { time: new Date(minute + MINUTE).toISOString(), value: 0 },
    ]);
    const sum: { dataPoints: Array<{ value: number }> } = await (await readGet(`/v1/metrics?metric=value_sum&eventType=${eventType}&${range}`)).json();
    expect(sum.dataPoints.map((point) => point.value)).toEqual([0, stored.valueSum, 0]);
  });
});
