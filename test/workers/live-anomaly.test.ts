import { describe, expect, it } from 'vitest';
import { bandOf, DEFAULT_ANOMALY_OPTIONS } from '../../core/anomaly.ts';
import { bearer, postJson, testProject, uniqueEventType } from './helpers.ts';
import { isDeltaOf, isType, minuteOf, Viewer } from './live-support.ts';

const MINUTE_MS = 60_000;
const BASELINE_MINUTES = DEFAULT_ANOMALY_OPTIONS.window;

/** `perMinute` events of `eventType` in each given minute, one user each. */
function eventsIn(eventType: string, minutes: readonly number[], perMinute: number) {
  return minutes.flatMap((minute) =>
    Array.from({ length: perMinute }, (_, i) => ({ eventId: `${eventType}-${minute}-${i}`, eventType, timestamp: minute + i * 100, userId: `${eventType}-u${i}` })),
  );
}

async function postEvents(events: unknown[]): Promise<void> {
  const response = await postJson('/v1/events', { events }, bearer(testProject().keys.server));
  if (response.status !== 202) throw new Error(`POST /v1/events: ${response.status} ${await response.text()}`);
}

describe('live anomaly flags', () => {
  it('flags a spike in the current minute against the topic’s previous 30 minutes, and not a normal minute', async () => {
    const spiky = uniqueEventType('spike');
    const calm = uniqueEventType('calm');
    const [spikeTopic, calmTopic] = [`metrics:${spiky}`, `metrics:${calm}`];
    const current = minuteOf(Date.now());
    const baseline = Array.from({ length: BASELINE_MINUTES }, (_, i) => current - (BASELINE_MINUTES - i) * MINUTE_MS);
    const viewer = await Viewer.connect();
    for (const topic of [spikeTopic, calmTopic]) {
      viewer.subscribe(topic);
      await viewer.waitFor(isType('subscribed', topic));
    }

    // A steady baseline: 10 events in each of the 30 minutes before, for both event types.
    await postEvents([...eventsIn(spiky, baseline, 10), ...eventsIn(calm, baseline, 10)]);
    // Every baseline minute reached the root before the current minute moves (deltas are flagged when the root emits them).
    await viewer.until(
      () => [spikeTopic, calmTopic].every((topic) => baseline.every((minute) => viewer.minuteValues(topic, minute).at(-1) === 10)),
      15_000,
      () => 'baseline minutes not all at 10',
    );

    await postEvents([...eventsIn(spiky, [current], 60), ...eventsIn(calm, [current], 11)]);
    const spike = await viewer.waitFor(isDeltaOf(spikeTopic, (d) => d.windowStart === new Date(current).toISOString() && d.value === 60));
    const normal = await viewer.waitFor(isDeltaOf(calmTopic, (d) => d.windowStart === new Date(current).toISOString() && d.value === 11));

    // The query API's rule (core/anomaly.ts) over the same 30 values.
    const band = bandOf(Array.from({ length: BASELINE_MINUTES }, () => 10), DEFAULT_ANOMALY_OPTIONS.sigma, DEFAULT_ANOMALY_OPTIONS.minSamples);
    if (band === null) throw new Error('30 samples always give a band');
    for (const delta of [spike, normal]) {
      expect(delta.lower).toBeCloseTo(band.lower, 2);
      expect(delta.upper).toBeCloseTo(band.upper, 2);
    }
    expect(spike.anomaly).toBe(true);
    expect(normal.anomaly).toBe(false);
    viewer.close();
  });
});
