import { describe, expect, it } from 'vitest';
import { parseTopic, topicMatches, TOPIC_MAX_LENGTH, type Topic } from './topics.ts';

function ok(name: unknown): Topic {
  const parsed = parseTopic(name);
  if (!parsed.ok) throw new Error(`expected ${String(name)} to parse: ${parsed.message}`);
  return parsed.topic;
}

function fails(name: unknown): string {
  const parsed = parseTopic(name);
  if (parsed.ok) throw new Error(`expected ${String(name)} to be rejected`);
  expect(parsed.message.length).toBeGreaterThan(0);
  return parsed.message;
}

describe('parseTopic: valid topics', () => {
  it('parses a count topic without filters', () => {
    expect(ok('metrics:page_view')).toEqual({ name: 'metrics:page_view', measure: 'metrics', eventType: 'page_view', filters: [] });
  });

  it('parses a value_sum topic with filters in order', () => {
    expect(ok('value_sum:purchase:country:DE:plan:pro')).toEqual({
      name: 'value_sum:purchase:country:DE:plan:pro',
      measure: 'value_sum',
      eventType: 'purchase',
      filters: [
        ['country', 'DE'],
        ['plan', 'pro'],
      ],
    });
  });

  it('percent-decodes parts so values may contain ":"', () => {
    const name = `metrics:visit:url:${encodeURIComponent('https://example.com:8443/a')}`;
    const topic = ok(name);
    expect(topic.name).toBe(name);
    expect(topic.filters).toEqual([['url', 'https://example.com:8443/a']]);
  });

  it('percent-decodes unicode values', () => {
    expect(ok(`metrics:visit:city:${encodeURIComponent('Zürich')}`).filters).toEqual([['city', 'Zürich']]);
  });

  it('accepts * as the event type (every type)', () => {
    expect(ok('metrics:*').eventType).toBe('*');
    expect(ok('value_sum:*:country:US').eventType).toBe('*');
  });

  it('accepts an empty filter value', () => {
    expect(ok('metrics:a:ref:').filters).toEqual([['ref', '']]);
  });

  it('accepts exactly 8 filters', () => {
    const name = `metrics:a${Array.from({ length: 8 }, (_, i) => `:k${i}:v${i}`).join('')}`;
    expect(ok(name).filters).toHaveLength(8);
  });

  it(`accepts a topic of exactly ${TOPIC_MAX_LENGTH} characters`, () => {
    const prefix = 'metrics:a:k:';
    const name = prefix + 'v'.repeat(TOPIC_MAX_LENGTH - prefix.length);
    expect(name).toHaveLength(512);
    expect(ok(name).filters[0]?.[1]).toHaveLength(512 - prefix.length);
  });
});

describe('parseTopic: invalid topics', () => {
  it('rejects non-strings and the empty string', () => {
    for (const name of [undefined, null, 42, {}, ['metrics:a'], '']) fails(name);
  });

  it('rejects a bad prefix', () => {
    for (const name of ['events:a', 'Metrics:a', 'metric:a', 'value-sum:a', 'a', ':a', 'metricsa']) {
      expect(fails(name)).toMatch(/start with/);
    }
  });

  it('rejects a missing event type', () => {
    for (const name of ['metrics', 'metrics:', 'value_sum:']) fails(name);
  });

  it('rejects an odd number of filter parts', () => {
    for (const name of ['metrics:a:country', 'metrics:a:country:DE:plan', 'metrics:a:']) {
      expect(fails(name)).toMatch(/pairs/);
    }
  });

  it('rejects an empty dimension name', () => {
    fails('metrics:a::value');
  });

  it(`rejects a topic longer than ${TOPIC_MAX_LENGTH} characters`, () => {
    const prefix = 'metrics:a:k:';
    expect(fails(prefix + 'v'.repeat(TOPIC_MAX_LENGTH - prefix.length + 1))).toMatch(/longer/);
  });

  it('rejects more than 8 filters', () => {
    const name = `metrics:a${Array.from({ length: 9 }, (_, i) => `:k${i}:v${i}`).join('')}`;
    expect(fails(name)).toMatch(/at most 8/);
  });

  it('rejects invalid percent-encoding', () => {
    for (const name of ['metrics:a:k:%', 'metrics:a:k:%zz', 'metrics:%E0%A4%A:x:y', 'metrics:a:%FF:v']) {
      expect(fails(name)).toMatch(/percent-encoding/);
    }
  });
});

describe('topicMatches', () => {
  const dims = { country: 'DE', plan: 'pro', url: 'https://x.test:1/' };

  it('matches the named event type only', () => {
    const topic = ok('metrics:page_view');
    expect(topicMatches(topic, 'page_view', dims)).toBe(true);
    expect(topicMatches(topic, 'click', dims)).toBe(false);
  });

  it('matches every event type for *', () => {
    const topic = ok('metrics:*');
    expect(topicMatches(topic, 'page_view', {})).toBe(true);
    expect(topicMatches(topic, 'anything', dims)).toBe(true);
  });

  it('requires every filter to equal the event dimension', () => {
    expect(topicMatches(ok('metrics:*:country:DE:plan:pro'), 'x', dims)).toBe(true);
    expect(topicMatches(ok('metrics:*:country:DE:plan:free'), 'x', dims)).toBe(false);
    expect(topicMatches(ok('metrics:*:country:DE:missing:x'), 'x', dims)).toBe(false);
    expect(topicMatches(ok('metrics:*:country:de'), 'x', dims)).toBe(false);
  });

  it('compares decoded filter values', () => {
    expect(topicMatches(ok(`metrics:*:url:${encodeURIComponent('https://x.test:1/')}`), 'x', dims)).toBe(true);
  });

  it('treats an empty filter value as "dimension present and empty", not "absent"', () => {
    const topic = ok('metrics:*:ref:');
    expect(topicMatches(topic, 'x', { ref: '' })).toBe(true);
    expect(topicMatches(topic, 'x', {})).toBe(false);
  });

  it('does not match inherited Object.prototype members', () => {
    expect(topicMatches(ok('metrics:*:constructor:x'), 'x', {})).toBe(false);
    expect(topicMatches(ok('metrics:*:toString:x'), 'x', {})).toBe(false);
  });
});
