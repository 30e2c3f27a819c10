import { describe, expect, it } from 'vitest';
import { countInClickHouse, flushAllShards, isDelta, LiveClient, postJson, readGet, sleep, uniqueEventType } from './helpers.ts';

/**
 * The walking skeleton, real at every hop: POST /v1/events -> edge Worker ->
 * ShardAggregator (workerd, SQLite storage) -> alarm flush -> ClickHouse (the
 * chdb dev server) -> GET /v1/metrics; and a viewer on /v1/live receives the delta.
 */
describe('end to end: events flow from ingestion to ClickHouse and to a live viewer', () => {
  it('counts posted events in ClickHouse, serves them from /v1/metrics and pushes a live delta', async () => {
    const eventType = uniqueEventType('ad_click');
    const topic = `metrics:${eventType}:campaignId:camp_5541`;
    const viewer = await LiveClient.connect();
    viewer.send({ action: 'subscribe', topic });
    await viewer.waitFor((m): m is { type: string } => typeof m === 'object' && m !== null && 'type' in m && m.type === 'subscribed');

    const now = Date.now();
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
    const minuteStart = now - (now % 60_000);
    expect(delta.windowStart).toBe(new Date(minuteStart).toISOString());
    expect(delta.windowEnd).toBe(new Date(minuteStart + 60_000).toISOString());
    expect(delta.seq).toBeGreaterThan(0);
    viewer.close();

    // The shards' alarms flush closed windows (1 s windows, no lateness in tests);
    // flushAllShards runs a cycle in case an alarm has not fired yet.
    await sleep(1100);
    const outcomes = await flushAllShards();
    expect(outcomes.filter((outcome) => outcome.status === 'error')).toEqual([]);
    expect(await countInClickHouse(eventType)).toEqual({ events: 25, valueSum: 50, lateEvents: 0 });

    const start = new Date(minuteStart - 60_000).toISOString();
    const end = new Date(minuteStart + 120_000).toISOString();
    const metrics = await readGet(`/v1/metrics?metric=${eventType}&campaignId=camp_5541&start=${start}&end=${end}&resolution=1m`);
    expect(metrics.status).toBe(200);
    const series: { metric: string; dimensions: Record<string, string>; dataPoints: Array<{ time: string; value: number }> } = await metrics.json();
    expect(series.metric).toBe(eventType);
    expect(series.dimensions).toEqual({ eventType, campaignId: 'camp_5541' });
    expect(series.dataPoints).toEqual([
      { time: new Date(minuteStart - 60_000).toISOString(), value: 0 },
      { time: new Date(minuteStart).toISOString(), value: 20 },
      { time: new Date(minuteStart + 60_000).toISOString(), value: 0 },
    ]);
  });
});
