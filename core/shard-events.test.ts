import { describe, expect, it } from 'vitest';
import { parseDimensionPolicy, parseShardEvents, parseStoredDimensionPolicy } from './shard-events.ts';

const good = { eventId: 'e1', eventType: 'click', timestampMs: 1_700_000_000_000, value: 1, userId: 'u1', dimensions: { country: 'DE' } };

describe('parseShardEvents', () => {
  it('accepts events as an array or as the edge JSON string, with or without enrichment fields', () => {
    expect(parseShardEvents([good])).toEqual({ ok: true, events: [good] });
    const enriched = { ...good, userId: null, bot: true, receivedAtMs: 1_700_000_000_500, geo: { city: 'Frankfurt am Main', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 } };
    expect(parseShardEvents(JSON.stringify([enriched]))).toEqual({ ok: true, events: [enriched] });
    expect(parseShardEvents('[]')).toEqual({ ok: true, events: [] });
  });

  it('refuses anything malformed, naming the event and the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /not valid JSON/],
      [{ events: [] }, /must be an array/],
      [[good, 42], /event 1: not an object/],
      [[{ ...good, eventId: '' }], /eventId/],
      [[{ ...good, eventType: 7 }], /eventType/],
      [[{ ...good, timestampMs: Number.NaN }], /timestampMs/],
      [[{ ...good, value: '1' }], /value/],
      [[{ ...good, userId: 5 }], /userId/],
      [[{ ...good, dimensions: { country: 1 } }], /dimension country/],
      [[{ ...good, dimensions: null }], /dimensions/],
      [[{ ...good, bot: 'yes' }], /bot/],
      [[{ ...good, receivedAtMs: Infinity }], /receivedAtMs/],
      [[{ ...good, geo: 'FRA' }], /geo must be an object/],
      [[{ ...good, geo: { city: 'x'.repeat(129) } }], /geo.city/],
      [[{ ...good, geo: { asn: -1 } }], /geo.asn/],
    ];
    for (const [input, message] of cases) {
      const parsed = parseShardEvents(input);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(message);
    }
  });
});

describe('parseDimensionPolicy', () => {
  it('accepts none, declared lists and K, and refuses other shapes', () => {
    expect(parseDimensionPolicy(undefined)).toEqual({ ok: true, policy: undefined });
    expect(parseDimensionPolicy({ declared: null })).toEqual({ ok: true, policy: { declared: null } });
    expect(parseDimensionPolicy({ declared: ['country'], maxValuesPerWindow: 5 })).toEqual({ ok: true, policy: { declared: ['country'], maxValuesPerWindow: 5 } });
    expect(parseDimensionPolicy({ declared: [1] }).ok).toBe(false);
    expect(parseDimensionPolicy({ declared: null, maxValuesPerWindow: 0 }).ok).toBe(false);
    expect(parseDimensionPolicy('x').ok).toBe(false);
    expect(parseStoredDimensionPolicy(null)).toEqual({ ok: true, policy: undefined });
    expect(parseStoredDimensionPolicy('{"declared":["a"]}')).toEqual({ ok: true, policy: { declared: ['a'] } });
    expect(parseStoredDimensionPolicy('{').ok).toBe(false);
  });
});
