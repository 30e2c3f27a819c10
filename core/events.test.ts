import { describe, expect, it } from 'vitest';
import {
  extractEventList,
  isPlainObject,
  parseTimestamp,
  validateBatch,
  validateEvent,
  type EventResult,
  type ValidationOptions,
  type ValidEvent,
} from './events.ts';
import { dimensionsKey } from './dimensions.ts';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0); // 2024-06-01T12:00:00Z
const MINUTE = 60_000;
const DAY = 24 * 3600_000;

function options(overrides: Partial<ValidationOptions> = {}): ValidationOptions {
  let n = 0;
  return { nowMs: NOW, newEventId: () => `minted-${++n}`, ...overrides };
}

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { eventType: 'page_view', eventId: 'evt-1', timestamp: NOW, ...extra };
}

function accepted(result: EventResult): ValidEvent {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.event;
}

function rejectionCode(result: EventResult): string {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`);
  expect(result.message.length).toBeGreaterThan(0);
  return result.code;
}

describe('extractEventList', () => {
  it('wraps a single event object in a one-item list', () => {
    const event = { eventType: 'click', timestamp: NOW };
    const shape = extractEventList(event);
    expect(shape).toEqual({ ok: true, items: [event] });
  });

  it('accepts a bare array of events as is', () => {
    const events = [{ eventType: 'a' }, { eventType: 'b' }, 42];
    const shape = extractEventList(events);
    expect(shape.ok).toBe(true);
    if (shape.ok) expect(shape.items).toBe(events);
  });

  it('accepts { events: [...] }', () => {
    const events = [{ eventType: 'a' }];
    const shape = extractEventList({ events });
    expect(shape.ok).toBe(true);
    if (shape.ok) expect(shape.items).toBe(events);
  });

  it('reports empty_batch for an empty array and for { events: [] }', () => {
    for (const body of [[], { events: [] }]) {
      const shape = extractEventList(body);
      expect(shape.ok).toBe(false);
      if (!shape.ok) expect(shape.code).toBe('empty_batch');
    }
  });

  it('reports invalid_body for garbage', () => {
    const bodies: unknown[] = [null, undefined, 'text', 42, true, {}, { foo: 1 }, { events: 'nope' }, { events: {} }, new Date(0)];
    for (const body of bodies) {
      const shape = extractEventList(body);
      expect(shape.ok, JSON.stringify(body)).toBe(false);
      if (!shape.ok) {
        expect(shape.code).toBe('invalid_body');
        expect(shape.message.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('validateEvent: whole event', () => {
  it('accepts a complete event and returns its fields', () => {
    const event = accepted(
      validateEvent(base({ value: 2.5, userId: 'u-1', dimensions: { country: 'DE', plan: 'pro' } }), options()),
    );
    expect(event).toEqual({
      eventId: 'evt-1',
      eventType: 'page_view',
      timestampMs: NOW,
      value: 2.5,
      userId: 'u-1',
      dimensions: { country: 'DE', plan: 'pro' },
    });
  });

  it('defaults value to 0, userId to null and dimensions to empty', () => {
    const event = accepted(validateEvent(base(), options()));
    expect(event.value).toBe(0);
    expect(event.userId).toBeNull();
    expect(Object.keys(event.dimensions)).toEqual([]);
  });

  it('rejects non-objects with invalid_event', () => {
    for (const raw of [null, undefined, 'x', 1, [], [base()], new Map()]) {
      expect(rejectionCode(validateEvent(raw, options()))).toBe('invalid_event');
    }
  });
});

describe('validateEvent: eventType', () => {
  it('rejects a missing, empty or non-string eventType', () => {
    for (const eventType of [undefined, null, '', 42, ['a'], { a: 1 }]) {
      expect(rejectionCode(validateEvent(base({ eventType }), options()))).toBe('invalid_event_type');
    }
  });

  it('accepts an eventType of exactly 64 characters and rejects 65', () => {
    expect(accepted(validateEvent(base({ eventType: 'e'.repeat(64) }), options())).eventType).toBe('e'.repeat(64));
    expect(rejectionCode(validateEvent(base({ eventType: 'e'.repeat(65) }), options()))).toBe('invalid_event_type');
  });

  it('accepts letters, digits, "_", "." and "-"', () => {
    for (const eventType of ['a', '_x', 'ad.click-2', 'A_B.c-d9']) {
      expect(accepted(validateEvent(base({ eventType }), options())).eventType).toBe(eventType);
    }
  });

  it('rejects eventTypes with bad characters or a leading digit/dot/dash', () => {
    for (const eventType of ['has space', 'colon:type', 'star*', 'slash/x', 'é', '1abc', '.abc', '-abc', 'a\nb']) {
      expect(rejectionCode(validateEvent(base({ eventType }), options())), eventType).toBe('invalid_event_type');
    }
  });
});

describe('validateEvent: eventId', () => {
  it('keeps a client eventId', () => {
    expect(accepted(validateEvent(base({ eventId: 'client-id' }), options())).eventId).toBe('client-id');
  });

  it('uses the minted id when eventId is missing or null', () => {
    const opts = options({ newEventId: () => 'minted-xyz' });
    const raw = base();
    delete raw.eventId;
    expect(accepted(validateEvent(raw, opts)).eventId).toBe('minted-xyz');
    expect(accepted(validateEvent(base({ eventId: null }), opts)).eventId).toBe('minted-xyz');
  });

  it('does not mint an id when the client sent one', () => {
    let calls = 0;
    const opts = options({ newEventId: () => `m${++calls}` });
    validateEvent(base({ eventId: 'given' }), opts);
    expect(calls).toBe(0);
  });

  it('accepts an eventId of exactly 128 characters and rejects 129', () => {
    expect(accepted(validateEvent(base({ eventId: 'i'.repeat(128) }), options())).eventId).toBe('i'.repeat(128));
    expect(rejectionCode(validateEvent(base({ eventId: 'i'.repeat(129) }), options()))).toBe('invalid_event_id');
  });

  it('rejects an empty or non-string eventId', () => {
    for (const eventId of ['', 123, true, { id: 'x' }]) {
      expect(rejectionCode(validateEvent(base({ eventId }), options()))).toBe('invalid_event_id');
    }
  });
});

describe('validateEvent: timestamp', () => {
  const at = (timestamp: unknown): EventResult => validateEvent(base({ timestamp }), options());

  it('reads a number below 1e11 as epoch seconds', () => {
    expect(accepted(at(NOW / 1000)).timestampMs).toBe(NOW);
    expect(accepted(at(NOW / 1000 - 0.25)).timestampMs).toBe(NOW - 250);
  });

  it('reads a larger number as epoch milliseconds', () => {
    expect(accepted(at(NOW - 1234)).timestampMs).toBe(NOW - 1234);
  });

  it('reads ISO-8601 strings with Z or an offset', () => {
    expect(accepted(at('2024-06-01T11:59:30Z')).timestampMs).toBe(Date.UTC(2024, 5, 1, 11, 59, 30));
    expect(accepted(at('2024-06-01T11:59:30.250Z')).timestampMs).toBe(Date.UTC(2024, 5, 1, 11, 59, 30, 250));
    expect(accepted(at('2024-06-01T13:59:30+02:00')).timestampMs).toBe(Date.UTC(2024, 5, 1, 11, 59, 30));
    expect(accepted(at('2024-06-01T06:59:30-0500')).timestampMs).toBe(Date.UTC(2024, 5, 1, 11, 59, 30));
    expect(accepted(at('2024-06-01T11:59Z')).timestampMs).toBe(Date.UTC(2024, 5, 1, 11, 59, 0));
  });

  it('rejects ISO strings without a zone, date-only strings and other formats', () => {
    for (const timestamp of [
      '2024-06-01T11:59:30',
      '2024-06-01T11:59:30.000',
      '2024-06-01',
      '2024-06-01 11:59:30Z',
      'Sat, 01 Jun 2024 11:59:30 GMT',
      '1717243170',
      'yesterday',
      '',
    ]) {
      expect(rejectionCode(at(timestamp)), timestamp).toBe('invalid_timestamp');
    }
  });

  it('rejects a missing timestamp and non-finite, zero, negative or non-numeric values', () => {
    const raw = base();
    delete raw.timestamp;
    expect(rejectionCode(validateEvent(raw, options()))).toBe('invalid_timestamp');
    for (const timestamp of [null, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, true, {}, [NOW]]) {
      expect(rejectionCode(at(timestamp)), String(timestamp)).toBe('invalid_timestamp');
    }
  });

  it('rejects ISO strings with an impossible month', () => {
    expect(rejectionCode(at('2024-13-01T00:00:00Z'))).toBe('invalid_timestamp');
  });

  // BUG: V8's Date.parse rolls 2024-02-30 over to 2024-03-01 and parseTimestamp
  // only checks the shape with a regex, so an impossible date is accepted.
  it('rejects ISO strings naming a day that does not exist (2024-02-30)', () => {
    expect(parseTimestamp('2024-02-30T00:00:00Z')).toBeNull();
  });

  it('accepts up to 5 minutes of future skew and rejects beyond with timestamp_in_future', () => {
    expect(accepted(at(NOW + 5 * MINUTE)).timestampMs).toBe(NOW + 5 * MINUTE);
    expect(rejectionCode(at(NOW + 5 * MINUTE + 1))).toBe('timestamp_in_future');
    expect(rejectionCode(at('2024-06-01T12:05:01Z'))).toBe('timestamp_in_future');
  });

  it('accepts events up to 7 days old and rejects older ones with timestamp_too_old', () => {
    expect(accepted(at(NOW - 7 * DAY)).timestampMs).toBe(NOW - 7 * DAY);
    expect(rejectionCode(at(NOW - 7 * DAY - 1))).toBe('timestamp_too_old');
    expect(rejectionCode(at('2020-01-01T00:00:00Z'))).toBe('timestamp_too_old');
  });

  it('honours maxFutureSkewMs and maxEventAgeMs overrides', () => {
    const opts = options({ maxFutureSkewMs: 1000, maxEventAgeMs: MINUTE });
    expect(rejectionCode(validateEvent(base({ timestamp: NOW + 1001 }), opts))).toBe('timestamp_in_future');
    expect(accepted(validateEvent(base({ timestamp: NOW + 1000 }), opts)).timestampMs).toBe(NOW + 1000);
    expect(rejectionCode(validateEvent(base({ timestamp: NOW - MINUTE - 1 }), opts))).toBe('timestamp_too_old');
    expect(accepted(validateEvent(base({ timestamp: NOW - MINUTE }), opts)).timestampMs).toBe(NOW - MINUTE);
  });
});

describe('validateEvent: value', () => {
  const withValue = (value: unknown): EventResult => validateEvent(base({ value }), options());

  it('accepts finite numbers up to magnitude 1e15', () => {
    for (const value of [0, -3, 1.5, 1e15, -1e15]) {
      expect(accepted(withValue(value)).value).toBe(value);
    }
  });

  it('treats null as absent (0)', () => {
    expect(accepted(withValue(null)).value).toBe(0);
  });

  it('rejects NaN, Infinity, 1e16 and strings with invalid_value', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e16, -1e16, '5', true, [1], { v: 1 }]) {
      expect(rejectionCode(withValue(value)), String(value)).toBe('invalid_value');
    }
  });
});

describe('validateEvent: dimensions', () => {
  const withDims = (dimensions: unknown): EventResult => validateEvent(base({ dimensions }), options());

  it('accepts 32 dimensions and rejects 33 with too_many_dimensions', () => {
    const dims = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));
    expect(Object.keys(accepted(withDims(dims(32))).dimensions)).toHaveLength(32);
    expect(rejectionCode(withDims(dims(33)))).toBe('too_many_dimensions');
  });

  it('rejects a non-object dimensions value', () => {
    for (const dimensions of ['a=b', 42, ['a'], true]) {
      expect(rejectionCode(withDims(dimensions))).toBe('invalid_dimensions');
    }
  });

  it('rejects the keys __proto__, constructor and prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const dims = JSON.parse(`{"${key}": "x"}`) as unknown;
      expect(rejectionCode(withDims(dims)), key).toBe('invalid_dimension_key');
    }
  });

  it('accepts a 64-character key and rejects a 65-character key', () => {
    expect(accepted(withDims({ ['k'.repeat(64)]: 'v' })).dimensions['k'.repeat(64)]).toBe('v');
    expect(rejectionCode(withDims({ ['k'.repeat(65)]: 'v' }))).toBe('invalid_dimension_key');
  });

  it('rejects keys that are not identifiers', () => {
    for (const key of ['', 'a b', 'a:b', 'a=b', '9lives', 'ключ']) {
      expect(rejectionCode(withDims({ [key]: 'v' })), key).toBe('invalid_dimension_key');
    }
  });

  it('accepts a 256-character value and rejects 257 characters', () => {
    expect(accepted(withDims({ k: 'v'.repeat(256) })).dimensions.k).toBe('v'.repeat(256));
    expect(rejectionCode(withDims({ k: 'v'.repeat(257) }))).toBe('invalid_dimension_value');
  });

  it('rejects nested objects, arrays, null and non-finite numbers as values', () => {
    for (const value of [{ nested: 'x' }, ['x'], null, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(rejectionCode(withDims({ k: value })), JSON.stringify(value)).toBe('invalid_dimension_value');
    }
  });

  it('stringifies numbers and booleans', () => {
    const dims = accepted(withDims({ n: 42, f: 1.5, neg: -7, yes: true, no: false, s: 'str' })).dimensions;
    expect({ ...dims }).toEqual({ n: '42', f: '1.5', neg: '-7', yes: 'true', no: 'false', s: 'str' });
  });

  it('takes userId from dimensions.userId and removes it from dimensions', () => {
    const event = accepted(withDims({ userId: 'user-7', country: 'FR' }));
    expect(event.userId).toBe('user-7');
    expect({ ...event.dimensions }).toEqual({ country: 'FR' });
    expect('userId' in event.dimensions).toBe(false);
  });

  it('prefers a top-level userId and still drops dimensions.userId', () => {
    const event = accepted(validateEvent(base({ userId: 'top', dimensions: { userId: 'dim', a: 'b' } }), options()));
    expect(event.userId).toBe('top');
    expect({ ...event.dimensions }).toEqual({ a: 'b' });
  });

  it('rejects an empty, too long or non-string userId', () => {
    for (const userId of ['', 'u'.repeat(257), 42, { id: 1 }]) {
      expect(rejectionCode(validateEvent(base({ userId }), options()))).toBe('invalid_user_id');
    }
    expect(accepted(validateEvent(base({ userId: 'u'.repeat(256) }), options())).userId).toBe('u'.repeat(256));
  });

  it('does not pollute Object.prototype from JSON.parse("{\\"__proto__\\": ...}") input', () => {
    const body = JSON.parse(
      `{"eventType":"page_view","timestamp":${NOW},"__proto__":{"polluted":"top"},` +
        `"dimensions":{"__proto__":{"polluted":"dims"}}}`,
    ) as unknown;
    expect(rejectionCode(validateEvent(body, options()))).toBe('invalid_dimension_key');

    const topOnly = JSON.parse(`{"eventType":"page_view","timestamp":${NOW},"__proto__":{"polluted":"top"}}`) as unknown;
    const event = accepted(validateEvent(topOnly, options()));
    expect(Object.keys(event.dimensions)).toEqual([]);

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect((event.dimensions as Record<string, unknown>).polluted).toBeUndefined();
  });

  // BUG: JSON may carry lone UTF-16 surrogates ("\ud800"); such a value passes
  // validation, then dimensionsKey's encodeURIComponent throws URIError inside
  // ShardAggregator.ingest, failing the whole shard RPC (503 for the batch).
  it('never accepts an event whose dimensions dimensionsKey cannot encode (lone surrogate)', () => {
    const raw = JSON.parse(`{"eventType":"page_view","timestamp":${NOW},"dimensions":{"ref":"\\ud800x"}}`) as unknown;
    const result = validateEvent(raw, options());
    if (result.ok) expect(() => dimensionsKey(result.event.dimensions)).not.toThrow();
    else expect(result.code).toBe('invalid_dimension_value');
  });

  it('does not let dimension keys named like Object.prototype members leak inherited values', () => {
    const event = accepted(withDims({ toString: 'ts', hasOwnProperty: 'h' }));
    expect(event.dimensions.toString).toBe('ts');
    expect(event.dimensions.hasOwnProperty).toBe('h');
    expect(Object.keys(accepted(withDims({})).dimensions)).toEqual([]);
    expect(Object.hasOwn(accepted(withDims({})).dimensions, 'toString')).toBe(false);
  });
});

describe('validateBatch', () => {
  it('keeps the good events and reports the rejected ones by index', () => {
    const items: unknown[] = [
      base({ eventId: 'good-0' }),
      base({ eventType: 'bad type' }),
      'not an event',
      base({ eventId: 'good-3', value: 4 }),
      base({ timestamp: NOW + DAY }),
      base({ eventId: 'good-5', dimensions: { a: 1 } }),
    ];
    const { accepted: good, rejected } = validateBatch(items, options());
    expect(good.map((e) => e.eventId)).toEqual(['good-0', 'good-3', 'good-5']);
    expect(rejected.map(({ index, code }) => ({ index, code }))).toEqual([
      { index: 1, code: 'invalid_event_type' },
      { index: 2, code: 'invalid_event' },
      { index: 4, code: 'timestamp_in_future' },
    ]);
    for (const r of rejected) expect(r.message.length).toBeGreaterThan(0);
  });

  it('mints a distinct id for each event without one', () => {
    const raw = { eventType: 'x', timestamp: NOW };
    const { accepted: good } = validateBatch([raw, raw, raw], options());
    expect(good.map((e) => e.eventId)).toEqual(['minted-1', 'minted-2', 'minted-3']);
  });

  it('returns empty lists for an empty batch', () => {
    expect(validateBatch([], options())).toEqual({ accepted: [], acceptedIndexes: [], rejected: [] });
  });
});

describe('isPlainObject', () => {
  it('accepts literals and null-prototype objects, rejects everything else', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(JSON.parse('{"a":1}'))).toBe(true);
    for (const v of [null, undefined, [], new Date(), new Map(), 'x', 1, Object.create({})]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });
});
