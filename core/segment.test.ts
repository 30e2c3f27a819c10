import { describe, expect, it } from 'vitest';
import { validateEvent, type ValidEvent } from './events.ts';
import { MAX_DIMENSIONS } from './limits.ts';
import {
  jsonByteLength,
  mapSegmentMessage,
  mergeContext,
  normalizeEventName,
  parseSegmentBatch,
  parseSegmentSingle,
  SEGMENT_MAX_EVENT_BYTES,
  SEGMENT_ROUTE_TYPES,
  segmentTimestamp,
  segmentValue,
  segmentWriteKey,
  type SegmentMapOptions,
  type SegmentRawEvent,
} from './segment.ts';

const NOW = Date.UTC(2026, 10, 7, 12, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

function map(message: unknown, options: Partial<SegmentMapOptions> = {}): SegmentRawEvent {
  const result = mapSegmentMessage(message, { receivedAtMs: NOW, ...options });
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.event;
}

function rejection(message: unknown, options: Partial<SegmentMapOptions> = {}): string {
  const result = mapSegmentMessage(message, { receivedAtMs: NOW, ...options });
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`);
  return result.code;
}

/** The mapped event as the ingest path sees it: it must always pass validation. */
function validated(event: SegmentRawEvent): ValidEvent {
  const result = validateEvent(event, { nowMs: NOW, newEventId: () => 'minted' });
  if (!result.ok) throw new Error(`mapped event failed validation: ${result.code}: ${result.message}`);
  return result.event;
}

describe('mapSegmentMessage: each message type', () => {
  it('track -> normalized event name, messageId, userId, value, properties as dimensions', () => {
    const event = map({
      type: 'track',
      event: 'Order Completed',
      messageId: 'msg-1',
      userId: 'u-1',
      anonymousId: 'anon-1',
      timestamp: iso(NOW - 1000),
      properties: { revenue: 42.5, currency: 'EUR', coupon: 'X', items: [1, 2], nested: { a: 1 }, paid: true, quantity: 3 },
    });
    expect(event).toEqual({
      eventId: 'msg-1',
      eventType: 'order_completed',
      timestamp: iso(NOW - 1000),
      userId: 'u-1',
      value: 42.5,
      dimensions: { coupon: 'X', currency: 'EUR', paid: 'true', quantity: '3' },
    });
    expect(validated(event)).toMatchObject({ eventId: 'msg-1', eventType: 'order_completed', value: 42.5, userId: 'u-1', timestampMs: NOW - 1000 });
  });

  it('page -> page_view with name, category and path (properties.path, else context.page.path)', () => {
    const event = map({
      type: 'page',
      name: 'Pricing',
      category: 'Docs',
      anonymousId: 'anon-7',
      properties: { path: '/pricing', title: 'Pricing', url: 'https://x.example/pricing?token=t', search: '?token=t', referrer: 'https://r.example/?e=a@b.example' },
    });
    expect(event.eventType).toBe('page_view');
    expect(event.userId).toBe('anon-7');
    // Full URLs (query strings: tokens, emails) are not dimensions of page calls; path is.
    expect(event.dimensions).toEqual({ name: 'Pricing', category: 'Docs', path: '/pricing', title: 'Pricing' });
    expect(map({ type: 'track', event: 'Shared', userId: 'u', properties: { url: 'https://x.example/' } }).dimensions).toEqual({ url: 'https://x.example/' });
    const fromContext = map({ type: 'page', anonymousId: 'a', context: { page: { path: '/from-context' } } });
    expect(fromContext.dimensions).toEqual({ path: '/from-context' });
    validated(event);
  });

  it('screen -> screen_view with name; identify, group and alias keep their names and never take traits as dimensions', () => {
    expect(map({ type: 'screen', name: 'Home', userId: 'u' })).toMatchObject({ eventType: 'screen_view', dimensions: { name: 'Home' } });
    const identify = map({ type: 'identify', userId: 'u', traits: { email: 'a@b.example', plan: 'pro' } });
    expect(identify).toMatchObject({ eventType: 'identify', userId: 'u', dimensions: {} });
    expect(map({ type: 'group', userId: 'u', groupId: 'g1', traits: { name: 'ACME' } })).toMatchObject({ eventType: 'group', dimensions: {} });
    expect(map({ type: 'alias', userId: 'new', previousId: 'old' })).toMatchObject({ eventType: 'alias', userId: 'new' });
    // Only track/page/screen carry a value.
    expect(map({ type: 'identify', userId: 'u', properties: { revenue: 5 } }).value).toBeUndefined();
  });

  it('the route type overrides the body type (single-call paths)', () => {
    expect(map({ event: 'Signed Up', userId: 'u' }, { type: 'track' }).eventType).toBe('signed_up');
    expect(map({ type: 'track', userId: 'u' }, { type: 'page' }).eventType).toBe('page_view');
    expect(SEGMENT_ROUTE_TYPES).toMatchObject({ t: 'track', p: 'page', s: 'screen', i: 'identify', g: 'group', a: 'alias', track: 'track' });
  });

  it('userId ?? anonymousId; numbers are stringified; unusable ids are skipped, never fatal', () => {
    expect(map({ type: 'identify', anonymousId: 'anon' }).userId).toBe('anon');
    expect(map({ type: 'identify', userId: 12345 }).userId).toBe('12345');
    expect(map({ type: 'identify', userId: '', anonymousId: 'anon' }).userId).toBe('anon');
    expect(map({ type: 'identify', userId: 'x'.repeat(300), anonymousId: 'anon' }).userId).toBe('anon');
    const none = map({ type: 'identify', userId: { id: 1 } });
    expect(none.userId).toBeUndefined();
    validated(none);
  });

  it('messageId: used as is, numbers stringified, over-long ids hashed stably, absent -> minted later', () => {
    expect(map({ type: 'identify', userId: 'u', messageId: 7 }).eventId).toBe('7');
    const long = 'm'.repeat(500);
    const a = map({ type: 'identify', userId: 'u', messageId: long }).eventId;
    expect(a).toMatch(/^seg_[0-9a-f]{16}$/);
    expect(map({ type: 'identify', userId: 'u', messageId: long }).eventId).toBe(a);
    expect(map({ type: 'identify', userId: 'u', messageId: `${long}x` }).eventId).not.toBe(a);
    expect(map({ type: 'identify', userId: 'u' }).eventId).toBeUndefined();
    expect(map({ type: 'identify', userId: 'u', messageId: '' }).eventId).toBeUndefined();
  });
});

describe('normalizeEventName', () => {
  it.each([
    ['Order Completed', 'order_completed'],
    ['order_completed', 'order_completed'],
    ['  Sign-up  Completed!! ', 'sign-up_completed'],
    ['Checkout Step Viewed (v2)', 'checkout_step_viewed_v2'],
    ['Café Visited', 'cafe_visited'],
    ['a__b   c', 'a_b_c'],
    ['404 Page Seen', '_404_page_seen'],
    ['...leading.dots', 'leading.dots'],
    ['Product/Added', 'product_added'],
  ])('%j -> %j', (name, expected) => {
    expect(normalizeEventName(name)).toBe(expected);
  });

  it('caps at 64 characters without a trailing separator', () => {
    const name = `${'a'.repeat(63)} tail`;
    const normalized = normalizeEventName(name);
    expect(normalized).toBe('a'.repeat(63));
    expect(normalizeEventName('word '.repeat(40)).length).toBeLessThanOrEqual(64);
  });

  it('names with nothing left become a stable hashed identifier', () => {
    const a = normalizeEventName('购买');
    expect(a).toMatch(/^event_[0-9a-f]{8}$/);
    expect(normalizeEventName('购买')).toBe(a);
    expect(normalizeEventName('注册')).not.toBe(a);
    expect(normalizeEventName('🎉')).toMatch(/^event_[0-9a-f]{8}$/);
  });

  it('always yields a valid eventType', () => {
    for (const name of ['Order Completed', '404', '🎉', '-', 'x'.repeat(200), 'İstanbul Trip', 'ﬁle Uploaded', '\u0000\u0001', 'a.b-c_d']) {
      validated(map({ type: 'track', event: name, userId: 'u' }));
    }
  });
});

describe('segmentTimestamp: Segment clock-skew semantics', () => {
  it('corrects the client clock with sentAt: receivedAt - (sentAt - clientTime)', () => {
    // The client's clock runs 10 minutes fast; it sent 2 s after the event.
    const skew = 10 * 60_000;
    const message = { timestamp: iso(NOW + skew - 2000), sentAt: iso(NOW + skew) };
    expect(segmentTimestamp(message, NOW)).toBe(iso(NOW - 2000));
    // The same with originalTimestamp, and with the batch's sentAt.
    expect(segmentTimestamp({ originalTimestamp: iso(NOW + skew - 2000) }, NOW, iso(NOW + skew))).toBe(iso(NOW - 2000));
    // A message's own sentAt wins over the batch's.
    expect(segmentTimestamp({ ...message }, NOW, iso(NOW))).toBe(iso(NOW - 2000));
  });

  it('a skewed browser clock does not make the event invalid', () => {
    const skew = 30 * 60_000;
    const event = map({ type: 'track', event: 'Clicked', userId: 'u', timestamp: iso(NOW + skew), sentAt: iso(NOW + skew + 500) });
    expect(validated(event).timestampMs).toBe(NOW - 500);
  });

  it('without sentAt the client time is used as is; without any time, receivedAt', () => {
    expect(segmentTimestamp({ timestamp: iso(NOW - 60_000) }, NOW)).toBe(iso(NOW - 60_000));
    expect(segmentTimestamp({ originalTimestamp: iso(NOW - 60_000) }, NOW)).toBe(iso(NOW - 60_000));
    expect(segmentTimestamp({}, NOW)).toBe(iso(NOW));
    // Epoch numbers are read as our API reads them (seconds or milliseconds).
    expect(segmentTimestamp({ timestamp: Math.floor((NOW - 5000) / 1000) }, NOW)).toBe(iso(NOW - 5000));
  });

  it('timestamp and originalTimestamp together: timestamp is already corrected (a replay), used as is', () => {
    expect(segmentTimestamp({ timestamp: iso(NOW - 1000), originalTimestamp: iso(NOW + 99_000), sentAt: iso(NOW + 100_000) }, NOW)).toBe(iso(NOW - 1000));
  });

  it('unparseable times count as absent; an unparseable sentAt disables the correction', () => {
    expect(segmentTimestamp({ timestamp: 'yesterday', originalTimestamp: iso(NOW - 3000) }, NOW)).toBe(iso(NOW - 3000));
    expect(segmentTimestamp({ timestamp: 'yesterday' }, NOW)).toBe(iso(NOW));
    expect(segmentTimestamp({ timestamp: iso(NOW - 3000), sentAt: 'soon' }, NOW)).toBe(iso(NOW - 3000));
  });

  it('a time outside the accepted range still fails validation with its reason', () => {
    const old = map({ type: 'track', event: 'Old', userId: 'u', timestamp: iso(NOW - 30 * 24 * 3600_000) });
    expect(validateEvent(old, { nowMs: NOW, newEventId: () => 'x' })).toMatchObject({ ok: false, code: 'timestamp_too_old' });
  });
});

describe('segmentValue', () => {
  it('revenue first, else value; finite numbers and plain decimal strings only', () => {
    expect(segmentValue({ revenue: 10, value: 3 })).toBe(10);
    expect(segmentValue({ value: 3 })).toBe(3);
    expect(segmentValue({ revenue: 0, value: 3 })).toBe(0);
    expect(segmentValue({ revenue: '19.99' })).toBe(19.99);
    expect(segmentValue({ revenue: '-5' })).toBe(-5);
    expect(segmentValue({ revenue: '.5' })).toBe(0.5);
    // Unusable revenue falls through to value.
    expect(segmentValue({ revenue: 'abc', value: 2 })).toBe(2);
    for (const bad of ['1e3', '0x10', ' 12', 'Infinity', '', 1e16, { amount: 1 }, [1], true, null]) {
      expect(segmentValue({ revenue: bad })).toBeUndefined();
    }
    expect(segmentValue(undefined)).toBeUndefined();
    expect(segmentValue([1])).toBeUndefined();
  });

  it('an unusable value never rejects the event', () => {
    const event = map({ type: 'track', event: 'Bought', userId: 'u', properties: { revenue: 1e300 } });
    expect(validated(event).value).toBe(0);
    expect(event.dimensions).toEqual({});
  });
});

describe('segmentDimensions', () => {
  it('maps context.campaign to utm_* and context.device.type to device_type', () => {
    const event = map({
      type: 'track',
      event: 'Clicked',
      userId: 'u',
      context: { campaign: { source: 'google', medium: 'cpc', name: 'spring', term: 'shoes', content: 'ad-1' }, device: { type: 'ios' }, ip: '1.2.3.4' },
    });
    expect(event.dimensions).toEqual({
      utm_source: 'google',
      utm_medium: 'cpc',
      utm_campaign: 'spring',
      utm_term: 'shoes',
      utm_content: 'ad-1',
      device_type: 'ios',
    });
  });

  it('skips non-identifier keys, prototype keys, objects, arrays and nulls; cuts long strings safely', () => {
    const properties = JSON.parse(
      `{"Order ID":"1","9lives":"x","ok.key-1":"y","__proto__":"p","constructor":"c","n":null,"arr":[1],"obj":{"a":1},"long":"${'z'.repeat(255)}😀tail","userId":"props-user"}`,
    );
    const event = map({ type: 'track', event: 'E', properties });
    expect(Object.keys(event.dimensions).sort()).toEqual(['long', 'ok.key-1']);
    expect(event.dimensions.long).toBe('z'.repeat(255));
    expect(event.userId).toBeUndefined();
    expect(Object.getPrototypeOf(event.dimensions)).toBe(Object.prototype);
    validated(event);
  });

  it('skips values with broken Unicode', () => {
    const event = map({ type: 'track', event: 'E', userId: 'u', properties: { bad: 'a\uD800b', good: 'ok' } });
    expect(event.dimensions).toEqual({ good: 'ok' });
  });

  it(`caps at ${MAX_DIMENSIONS}: derived dimensions first, then properties in sorted key order`, () => {
    const properties: Record<string, number> = {};
    // Inserted in reverse so insertion order cannot be what decides.
    for (let i = 59; i >= 0; i--) properties[`p${String(i).padStart(2, '0')}`] = i;
    const message = { type: 'page', name: 'Home', anonymousId: 'a', properties, context: { campaign: { source: 's' }, device: { type: 'mobile' } } };
    const event = map(message);
    const keys = Object.keys(event.dimensions);
    expect(keys).toHaveLength(MAX_DIMENSIONS);
    expect(keys.slice(0, 3)).toEqual(['name', 'utm_source', 'device_type']);
    expect(keys.slice(3)).toEqual(Array.from({ length: MAX_DIMENSIONS - 3 }, (_, i) => `p${String(i).padStart(2, '0')}`));
    expect(map(structuredClone(message)).dimensions).toEqual(event.dimensions);
    validated(event);
  });
});

describe('context merge', () => {
  it('the message wins key by key, one level deep for objects; prototype keys are dropped', () => {
    const merged = mergeContext(
      JSON.parse('{"campaign":{"source":"batch","medium":"email"},"locale":"de-DE","device":{"type":"android"},"__proto__":{"polluted":true}}'),
      { campaign: { source: 'message' }, device: 'not-an-object' },
    );
    expect(merged).toEqual({ campaign: { source: 'message', medium: 'email' }, locale: 'de-DE', device: 'not-an-object' });
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(mergeContext(undefined, [1])).toEqual({});
  });

  it("a batch's context applies to each message", () => {
    const event = map({ type: 'track', event: 'E', userId: 'u', context: { campaign: { name: 'mine' } } }, { batchContext: { campaign: { source: 'newsletter', name: 'batch' } } });
    expect(event.dimensions).toEqual({ utm_source: 'newsletter', utm_campaign: 'mine' });
  });
});

describe('malformed messages and bodies', () => {
  it('rejects non-objects, unknown types, track without an event name, and oversized messages', () => {
    for (const bad of [null, 'track', 42, [{ type: 'track' }]]) expect(rejection(bad)).toBe('invalid_event');
    expect(rejection({ type: 'purchase', userId: 'u' })).toBe('unknown_type');
    expect(rejection({ type: 'Track', event: 'E' })).toBe('unknown_type');
    expect(rejection({ userId: 'u' })).toBe('unknown_type');
    expect(rejection({ type: 'track', userId: 'u' })).toBe('missing_event');
    expect(rejection({ type: 'track', event: '   ', userId: 'u' })).toBe('missing_event');
    expect(rejection({ type: 'track', event: 5, userId: 'u' })).toBe('missing_event');
    const big = { type: 'track', event: 'Big', userId: 'u', properties: { blob: 'x'.repeat(SEGMENT_MAX_EVENT_BYTES) } };
    expect(rejection(big)).toBe('event_too_large');
  });

  it('measures the 32 KB limit in UTF-8 bytes of the JSON', () => {
    expect(jsonByteLength({ a: 'é😀' })).toBe(new TextEncoder().encode(JSON.stringify({ a: 'é😀' })).byteLength);
    // 11,000 three-byte characters: 33,000+ bytes though only 11,000 UTF-16 units.
    expect(rejection({ type: 'track', event: 'E', userId: 'u', properties: { t: '€'.repeat(11_000) } })).toBe('event_too_large');
  });

  it('parses batch and single bodies', () => {
    expect(parseSegmentBatch({ batch: [{ type: 'track' }], sentAt: 's', context: { c: 1 }, writeKey: 'k' })).toEqual({ ok: true, messages: [{ type: 'track' }], sentAt: 's', context: { c: 1 } });
    expect(parseSegmentBatch({ batch: [] })).toMatchObject({ ok: false, code: 'empty_batch' });
    for (const bad of [null, [], { batch: {} }, { events: [] }, 'x']) expect(parseSegmentBatch(bad)).toMatchObject({ ok: false, code: 'invalid_body' });
    expect(parseSegmentSingle({ event: 'E' })).toMatchObject({ ok: true, messages: [{ event: 'E' }] });
    expect(parseSegmentSingle([{}])).toMatchObject({ ok: false, code: 'invalid_body' });
  });

  it('reads the write key from the body only as a non-empty string', () => {
    expect(segmentWriteKey({ writeKey: 'ep_pub_x' })).toBe('ep_pub_x');
    expect(segmentWriteKey({ writeKey: '' })).toBeNull();
    expect(segmentWriteKey({ writeKey: 5 })).toBeNull();
    expect(segmentWriteKey(Object.create({ writeKey: 'inherited' }))).toBeNull();
    expect(segmentWriteKey('x')).toBeNull();
  });
});
