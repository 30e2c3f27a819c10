import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJsonBytes } from './decode.ts';
import { extractEventList, validateBatch, validateEvent } from './events.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const options = { nowMs: NOW, newEventId: () => 'minted' };

/** Objects shaped roughly like events, so the generator reaches deep into validation. */
const eventLike = fc.record(
  {
    eventId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    eventType: fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,70}$/), fc.string(), fc.integer()),
    timestamp: fc.oneof(fc.integer({ min: NOW - 1e9, max: NOW + 1e9 }), fc.double(), fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
    value: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
    userId: fc.oneof(fc.string(), fc.constant(undefined)),
    dimensions: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

describe('ingest decoding and validation never throw (property-based)', () => {
  it('decodeJsonBytes returns a typed result for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = decodeJsonBytes(bytes);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(['empty_body', 'invalid_utf8', 'malformed_json']).toContain(result.code);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeJsonBytes round-trips arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = decodeJsonBytes(new TextEncoder().encode(JSON.stringify(value)));
        expect(result).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) });
      }),
    );
  });

  it('decodes pathological nesting without a stack overflow, and validation rejects it per event', () => {
    // V8's JSON.parse is not recursive: 200,000 levels decode to a value, which must then be refused as an event.
    const depth = 200_000;
    const result = decodeJsonBytes(new TextEncoder().encode('['.repeat(depth) + ']'.repeat(depth)));
    if (!result.ok) throw new Error(`expected a decoded value, got ${result.code}`);
    let level: unknown = result.value;
    let seen = 0;
    while (Array.isArray(level) && level.length === 1) {
      level = level[0];
      seen++;
    }
    expect(seen).toBe(depth - 1);
    expect(level).toEqual([]);
    const shape = extractEventList(result.value);
    if (!shape.ok) throw new Error(`expected a one-item batch, got ${shape.code}`);
    expect(validateBatch(shape.items, options)).toEqual({
      accepted: [],
      acceptedIndexes: [],
      rejected: [{ index: 0, code: 'invalid_event', message: 'An event must be a JSON object.' }],
    });

    // The same depth inside one dimension value rejects just that event, with the dimension's reason.
    const nested = `{"eventType":"x","timestamp":${NOW},"dimensions":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const decoded = decodeJsonBytes(new TextEncoder().encode(nested));
    if (!decoded.ok) throw new Error(`expected a decoded value, got ${decoded.code}`);
    expect(validateEvent(decoded.value, options)).toEqual({
      ok: false,
      code: 'invalid_dimension_value',
      message: 'Dimension "deep" must be a string, finite number or boolean.',
    });
  });

  it('reports each malformed input with its own code', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(decodeJsonBytes(new Uint8Array(0))).toMatchObject({ ok: false, code: 'empty_body' });
    expect(decodeJsonBytes(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false, code: 'invalid_utf8' });
    // An unpaired surrogate encoded as UTF-8 (CESU-style) is not UTF-8 either.
    expect(decodeJsonBytes(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]))).toMatchObject({ ok: false, code: 'invalid_utf8' });
    for (const text of ['{"a":', 'NaN', '[1,]', "{'a':1}", '{"a":1}}']) expect(decodeJsonBytes(bytes(text)), text).toMatchObject({ ok: false, code: 'malformed_json' });
    // 1e400 is valid JSON that parses to Infinity: decoding accepts it, validation refuses it.
    const huge = decodeJsonBytes(bytes(`{"eventType":"x","timestamp":${NOW},"value":1e400}`));
    expect(huge).toEqual({ ok: true, value: { eventType: 'x', timestamp: NOW, value: Number.POSITIVE_INFINITY } });
    if (huge.ok) expect(validateEvent(huge.value, options)).toMatchObject({ ok: false, code: 'invalid_value' });
  });

  it('extractEventList and validateBatch classify every item of arbitrary JSON, exactly once', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(eventLike, { maxLength: 20 }), fc.record({ events: fc.array(eventLike, { maxLength: 20 }) })), (body) => {
        const shape = extractEventList(body);
        if (!shape.ok) {
          expect(['empty_batch', 'invalid_body']).toContain(shape.code);
          return;
        }
        const { accepted, acceptedIndexes, rejected } = validateBatch(shape.items, options);
        expect(accepted.length + rejected.length).toBe(shape.items.length);
        const seen = [...acceptedIndexes, ...rejected.map((r) => r.index)].sort((a, b) => a - b);
        expect(seen).toEqual(shape.items.map((_, i) => i));
      }),
      { numRuns: 1000 },
    );
  });

  it('every accepted event satisfies the documented bounds', () => {
    fc.assert(
      fc.property(eventLike, (raw) => {
        const result = validateEvent(raw, options);
        if (!result.ok) {
          expect(result.code).toMatch(/^[a-z_]+$/);
          return;
        }
        const { event } = result;
        expect(event.eventType).toMatch(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/);
        expect(Number.isFinite(event.timestampMs)).toBe(true);
        expect(event.timestampMs).toBeLessThanOrEqual(NOW + 5 * 60_000);
        expect(Number.isFinite(event.value)).toBe(true);
        const keys = Object.keys(event.dimensions);
        expect(keys.length).toBeLessThanOrEqual(32);
        for (const key of keys) {
          expect(key).not.toBe('__proto__');
          expect((event.dimensions[key] ?? '').length).toBeLessThanOrEqual(256);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never pollutes Object.prototype, and rejects prototype keys, whatever else the dimensions hold', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (dims) => {
        const inner = JSON.stringify(dims).slice(1, -1);
        const text = `{"eventType":"x","timestamp":${NOW},"dimensions":{"__proto__":{"polluted":true}${inner === '' ? '' : `,${inner}`}}}`;
        const result = validateEvent(JSON.parse(text), options);
        expect(result.ok).toBe(false);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
    );
  });
});
