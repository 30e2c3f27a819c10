import { describe, expect, it } from 'vitest';
import { readConfig } from '../../core/config.ts';
import { validateEvent } from '../../core/events.ts';
import * as serverLimits from '../../core/limits.ts';
import { prepareEvent } from '../src/event.ts';
import * as sdkLimits from '../src/limits.ts';

/** The SDK copies the server's bounds to stay dependency-free; these tests catch drift. */
describe('SDK and server agree', () => {
  it('on every shared limit', () => {
    const config = readConfig({});
    expect({
      eventType: sdkLimits.EVENT_TYPE_MAX_LENGTH,
      eventId: sdkLimits.EVENT_ID_MAX_LENGTH,
      userId: sdkLimits.USER_ID_MAX_LENGTH,
      dimensions: sdkLimits.MAX_DIMENSIONS,
      key: sdkLimits.DIMENSION_KEY_MAX_LENGTH,
      value: sdkLimits.DIMENSION_VALUE_MAX_LENGTH,
      events: sdkLimits.MAX_EVENTS_PER_REQUEST,
      bytes: sdkLimits.MAX_BODY_BYTES,
    }).toEqual({
      eventType: serverLimits.EVENT_TYPE_MAX_LENGTH,
      eventId: serverLimits.EVENT_ID_MAX_LENGTH,
      userId: serverLimits.USER_ID_MAX_LENGTH,
      dimensions: serverLimits.MAX_DIMENSIONS,
      key: serverLimits.DIMENSION_KEY_MAX_LENGTH,
      value: serverLimits.DIMENSION_VALUE_MAX_LENGTH,
      events: config.maxEventsPerRequest,
      bytes: config.maxBodyBytes,
    });
  });

  it('the server accepts what the SDK sends, with the SDK-minted eventId', () => {
    const now = Date.now();
    const dimensions = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`.padEnd(64, '_'), 'é'.repeat(256)]));
    const { json, event } = prepareEvent('E'.repeat(64), { value: 1e15, userId: 'u'.repeat(256), dimensions, timestamp: now });
    const result = validateEvent(JSON.parse(json), { nowMs: now, newEventId: () => 'server-minted' });
    expect(result).toMatchObject({ ok: true, event: { eventId: event.eventId, timestampMs: now, value: 1e15 } });
    const mixed = prepareEvent('purchase', { dimensions: { amount: 12.5, gift: true, country: 'US' } });
    expect(validateEvent(JSON.parse(mixed.json), { nowMs: now, newEventId: () => 'x' })).toMatchObject({
      ok: true,
      event: { dimensions: { amount: '12.5', gift: 'true', country: 'US' } },
    });
  });
});
