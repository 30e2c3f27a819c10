import { describe, expect, it } from 'vitest';
import { createClient, EdgepulseError, type ClientOptions, type TrackOptions } from '../src/index.ts';
import { accepted, fakeFetch } from './fake-fetch.ts';

function client() {
  const fake = fakeFetch(() => accepted());
  return { client: createClient({ endpoint: 'https://i.example', writeKey: 'wk', fetch: fake.fetch, maxBatchSize: 1 }), requests: fake.requests };
}

describe('client-side validation', () => {
  const invalidEvents: [string, string, TrackOptions?][] = [
    ['empty eventType', ''],
    ['eventType starting with a digit', '1click'],
    ['eventType with a space', 'ad click'],
    ['eventType over 64 characters', 'e'.repeat(65)],
    ['value NaN', 'e', { value: Number.NaN }],
    ['value Infinity', 'e', { value: Number.POSITIVE_INFINITY }],
    ['value over 1e15', 'e', { value: 2e15 }],
    ['empty userId', 'e', { userId: '' }],
    ['userId over 256 characters', 'e', { userId: 'u'.repeat(257) }],
    ['eventId over 128 characters', 'e', { eventId: 'i'.repeat(129) }],
    ['eventId with a lone surrogate', 'e', { eventId: 'id\uD800' }],
    ['invalid Date timestamp', 'e', { timestamp: new Date('nope') }],
    ['negative timestamp', 'e', { timestamp: -1 }],
    ['33 dimensions', 'e', { dimensions: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`d${i}`, 'x'])) }],
    ['dimension key over 64 characters', 'e', { dimensions: { ['k'.repeat(65)]: 'x' } }],
    ['dimension key that is not an identifier', 'e', { dimensions: { 'a b': 'x' } }],
    ['dimension key __proto__', 'e', { dimensions: Object.defineProperty({}, '__proto__', { value: 'x', enumerable: true }) }],
    ['dimension value over 256 characters', 'e', { dimensions: { k: 'v'.repeat(257) } }],
    ['dimension value NaN', 'e', { dimensions: { k: Number.NaN } }],
  ];

  it.each(invalidEvents)('throws invalid_event for %s and sends nothing', (_, eventType, options) => {
    const { client: c, requests } = client();
    expect(() => c.track(eventType, options)).toThrowError(EdgepulseError);
    expect(() => c.track(eventType, options)).toThrowError(expect.objectContaining({ code: 'invalid_event' }));
    expect(requests).toHaveLength(0);
  });

  it('accepts events at every bound', () => {
    const { client: c, requests } = client();
    const dimensions = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`.padEnd(64, '_'), 'v'.repeat(256)]));
    c.track('E'.repeat(64), { value: -1e15, userId: 'u'.repeat(256), eventId: 'i'.repeat(128), dimensions, timestamp: new Date() });
    c.track('_a.b-c', { dimensions: { n: 1.5, b: false, empty: '' } });
    expect(requests).toHaveLength(2);
  });

  it('snapshots dimensions at track() time', () => {
    const { client: c, requests } = client();
    const dimensions = { plan: 'free' };
    c.track('upgrade', { dimensions });
    dimensions.plan = 'pro';
    expect(requests[0]?.init.body).toContain('"plan":"free"');
  });

  const invalidOptions: [string, Partial<ClientOptions>][] = [
    ['a relative endpoint', { endpoint: '/v1' }],
    ['an ftp endpoint', { endpoint: 'ftp://x.example' }],
    ['an endpoint with a query', { endpoint: 'https://x.example/?a=1' }],
    ['an empty writeKey', { writeKey: '' }],
    ['maxBatchSize over the server limit', { maxBatchSize: 1001 }],
    ['maxBatchSize 0', { maxBatchSize: 0 }],
    ['a fractional maxQueueSize', { maxQueueSize: 1.5 }],
    ['negative maxRetries', { maxRetries: -1 }],
    ['NaN flushIntervalMs', { flushIntervalMs: Number.NaN }],
    ['retryMaxDelayMs below retryBaseMs', { retryBaseMs: 500, retryMaxDelayMs: 100 }],
  ];

  it.each(invalidOptions)('createClient throws invalid_options for %s', (_, overrides) => {
    const options: ClientOptions = { endpoint: 'https://i.example', writeKey: 'wk', fetch: fakeFetch(() => accepted()).fetch, ...overrides };
    expect(() => createClient(options)).toThrowError(expect.objectContaining({ code: 'invalid_options' }));
  });

  it('accepts an endpoint with a path prefix and trailing slash', () => {
    const fake = fakeFetch(() => accepted());
    createClient({ endpoint: 'https://x.example/analytics/', writeKey: 'wk', fetch: fake.fetch, maxBatchSize: 1 }).track('e');
    expect(fake.requests[0]?.url).toBe('https://x.example/analytics/v1/events');
  });
});
