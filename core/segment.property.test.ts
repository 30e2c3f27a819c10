import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormedText, validateEvent } from './events.ts';
import { MAX_DIMENSIONS } from './limits.ts';
import { mapSegmentMessage, normalizeEventName, SEGMENT_TYPES } from './segment.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
/** Around now, and far off: both in range and out of it. */
const time = fc.oneof(
  fc.integer({ min: NOW - 8 * 86_400_000, max: NOW + 86_400_000 }).map((ms) => new Date(ms).toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.string(),
  fc.integer(),
  fc.constant(null),
);
const scalar = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
const properties = fc.oneof(fc.dictionary(fc.string(), fc.oneof(scalar, fc.jsonValue()), { maxKeys: 40 }), fc.jsonValue());
/** Messages shaped like Segment's, so generation reaches every mapping rule. */
const segmentMessage = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...SEGMENT_TYPES), fc.string()),
    event: fc.oneof(fc.string({ unit: 'grapheme' }), fc.string(), fc.constant('Order Completed')),
    name: fc.string(),
    messageId: fc.oneof(fc.uuid(), fc.string(), fc.integer(), fc.string({ minLength: 100, maxLength: 300 })),
    userId: fc.oneof(fc.string(), fc.integer(), fc.string({ minLength: 250, maxLength: 400 })),
    anonymousId: fc.oneof(fc.uuid(), fc.string()),
    timestamp: time,
    originalTimestamp: time,
    sentAt: time,
    properties,
    traits: properties,
    context: fc.oneof(fc.record({ page: fc.record({ path: fc.string(), url: fc.webUrl() }, { requiredKeys: [] }) }, { requiredKeys: [] }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

describe('Segment mapping (property-based)', () => {
  it('never throws, and every mapped event passes validation unless its time is out of range', () => {
    fc.assert(
      fc.property(segmentMessage, time, (message, batchSentAt) => {
        const mapped = mapSegmentMessage(message, { receivedAtMs: NOW, batchSentAt });
        if (!mapped.ok) {
          expect(['invalid_event', 'event_too_large', 'unknown_type', 'missing_event']).toContain(mapped.code);
          return;
        }
        const { event } = mapped;
        expect(Object.keys(event.dimensions).length).toBeLessThanOrEqual(MAX_DIMENSIONS);
        for (const value of Object.values(event.dimensions)) expect(typeof value).toBe('string');
        const result = validateEvent(event, { nowMs: NOW, newEventId: () => 'minted' });
        if (result.ok) return;
        // Out of range, or not expressible at all (before 1970 or after 9999): rejected with its reason, never moved to now.
        if (result.code === 'invalid_timestamp') expect(event.timestamp).toBeNull();
        else expect(['timestamp_in_future', 'timestamp_too_old']).toContain(result.code);
      }),
      { numRuns: 2000 },
    );
  });

  it('is deterministic, and messageId is the event id whenever it is a usable string', () => {
    fc.assert(
      fc.property(segmentMessage, (message) => {
        const a = mapSegmentMessage(message, { receivedAtMs: NOW });
        const b = mapSegmentMessage(structuredClone(message), { receivedAtMs: NOW });
        expect(a).toEqual(b);
        if (a.ok && typeof message.messageId === 'string' && message.messageId.length > 0 && message.messageId.length <= 128 && isWellFormedText(message.messageId)) {
          expect(a.event.eventId).toBe(message.messageId);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('every event name maps to a valid eventType', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 200 })), (name) => {
        expect(normalizeEventName(name)).toMatch(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/);
      }),
      { numRuns: 3000 },
    );
  });
});
