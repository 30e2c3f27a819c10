/**
 * Segment Tracking API compatibility: maps Segment messages (track, page,
 * screen, identify, group, alias) to the raw event shape that validateEvent
 * (core/events.ts) accepts, so existing Segment SDKs can point at us.
 * Pure: runs in workerd and in Node.
 *
 * Principle: a message Segment would accept must not become invalid here, so
 * the mapping sanitizes (drops or normalizes fields) instead of rejecting.
 * Only what is truly malformed is rejected: not an object, an unknown type, a
 * track without an event name, or a message over Segment's 32 KB limit.
 *
 * Mapping rules:
 * - eventType: track -> normalizeEventName(event) ("Order Completed" ->
 *   "order_completed"); page -> page_view; screen -> screen_view; identify,
 *   group, alias -> their own name.
 * - eventId: messageId (the dedup key). A numeric messageId is stringified;
 *   one longer than our 128-char id limit becomes "seg_" + its 64-bit hash, so
 *   retries still dedup; absent or empty -> the server mints one.
 * - userId: userId ?? anonymousId (strings, or numbers stringified); a value
 *   over 256 chars or with broken Unicode is skipped rather than rejected.
 * - timestamp: see segmentTimestamp (Segment's clock-skew correction).
 * - value: see segmentValue (properties.revenue, else properties.value).
 * - dimensions: see segmentDimensions.
 */
import { isPlainObject, isWellFormedText, parseTimestamp } from './events.ts';
import { hash64Hex } from './hash64.ts';
import {
  DIMENSION_KEY_MAX_LENGTH,
  DIMENSION_VALUE_MAX_LENGTH,
  EVENT_ID_MAX_LENGTH,
  EVENT_TYPE_MAX_LENGTH,
  MAX_DIMENSIONS,
  USER_ID_MAX_LENGTH,
} from './limits.ts';
import { fnv1a32 } from './shard.ts';

export const SEGMENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** Path segment after /v1/ -> message type: the long names and analytics.js's one-letter short paths. */
export const SEGMENT_ROUTE_TYPES: Readonly<Record<string, SegmentType>> = Object.freeze({
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  identify: 'identify',
  i: 'identify',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
});

/** Segment's documented limits: 500 KB per batch request, 32 KB per message (and per single call). */
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;
export const SEGMENT_MAX_EVENT_BYTES = 32 * 1024;

/** Largest |value| validateEvent accepts. */
const MAX_ABS_VALUE = 1e15;
/** Last instant toISOString writes with a 4-digit year (what parseTimestamp reads). */
const MAX_ISO_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.\-]*$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Properties that are not dimensions: the value itself, and userId (validateEvent would read it as the user). */
const NON_DIMENSION_PROPERTIES = new Set(['revenue', 'value', 'userId']);
/**
 * analytics.js adds these to every page call: full URLs whose query strings
 * carry tokens and emails, and whose cardinality is unbounded; `path` stays.
 */
const PAGE_URL_PROPERTIES = new Set(['url', 'search', 'referrer']);
/** Plain decimal only: no exponent, hex, whitespace or "Infinity". */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

const EVENT_TYPES: Readonly<Record<SegmentType, string | null>> = {
  track: null, // from the message's `event`
  page: 'page_view',
  screen: 'screen_view',
  identify: 'identify',
  group: 'group',
  alias: 'alias',
};

/** What validateEvent accepts (timestamp as ISO-8601 so no epoch-seconds guess applies). */
export interface SegmentRawEvent {
  eventId?: string;
  eventType: string;
  timestamp: string | null;
  value?: number;
  userId?: string;
  dimensions: Record<string, string>;
}

export type SegmentMapResult = { ok: true; event: SegmentRawEvent } | { ok: false; code: string; message: string };

export interface SegmentMapOptions {
  /** Server receive time of the request, epoch ms. */
  receivedAtMs: number;
  /** Set by single-message routes (/v1/track, /v1/t, ...): the path decides, as in Segment. */
  type?: SegmentType;
  /** A batch's top-level context, merged under each message's own. */
  batchContext?: unknown;
  /** A batch's top-level sentAt, used where a message has none. */
  batchSentAt?: unknown;
}

/** One Segment message -> a raw event, or a per-message rejection. */
export function mapSegmentMessage(message: unknown, options: SegmentMapOptions): SegmentMapResult {
  if (!isPlainObject(message)) return reject('invalid_event', 'A Segment message must be a JSON object.');
  const size = jsonByteLength(message);
  if (size === null) return reject('invalid_event', 'The message could not be serialized (nested too deeply).');
  if (size > SEGMENT_MAX_EVENT_BYTES) {
    return reject('event_too_large', `The message is ${size} bytes; Segment's limit is ${SEGMENT_MAX_EVENT_BYTES} bytes per message.`);
  }

  const type = options.type ?? segmentType(message.type);
  if (type === null) {
    return reject('unknown_type', `type must be one of ${SEGMENT_TYPES.join(', ')}.`);
  }
  let eventType = EVENT_TYPES[type];
  if (eventType === null) {
    const name = own(message, 'event');
    if (typeof name !== 'string' || name.trim() === '') return reject('missing_event', 'A track call needs an event name in "event".');
    eventType = normalizeEventName(name);
  }

  const context = mergeContext(options.batchContext, own(message, 'context'));
  const event: SegmentRawEvent = {
    eventType,
    timestamp: segmentTimestamp(message, options.receivedAtMs, options.batchSentAt),
    dimensions: segmentDimensions(type, message, context),
  };
  const eventId = segmentMessageId(own(message, 'messageId'));
  if (eventId !== undefined) event.eventId = eventId;
  const userId = identity(own(message, 'userId')) ?? identity(own(message, 'anonymousId'));
  if (userId !== null) event.userId = userId;
  if (type === 'track' || type === 'page' || type === 'screen') {
    const value = segmentValue(own(message, 'properties'));
    if (value !== undefined) event.value = value;
  }
  return { ok: true, event };
}

export function segmentType(raw: unknown): SegmentType | null {
  return SEGMENT_TYPES.find((type) => type === raw) ?? null;
}

/**
 * A Segment event name -> our eventType identifier:
 * 1. lower-case, then Unicode-decompose and drop combining marks ("Café" -> "cafe");
 * 2. every run of characters outside [a-z0-9_.-] becomes one '_', and runs of '_' collapse;
 * 3. '_', '.', '-' are trimmed from both ends;
 * 4. a leading digit gets a '_' prefix (identifiers start with a letter or '_');
 * 5. cut to 64 characters (then trimmed again at the end).
 * A name with nothing left (e.g. only CJK or emoji) becomes "event_" + the
 * 8-hex FNV-1a hash of the original, so distinct names stay distinct.
 * Names differing only in case, spacing or punctuation share a type, on purpose.
 */
export function normalizeEventName(name: string): string {
  let normalized = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[_.-]+|[_.-]+$/g, '');
  if (normalized === '') return `event_${fnv1a32(name).toString(16).padStart(8, '0')}`;
  if (/^[0-9]/.test(normalized)) normalized = `_${normalized}`;
  if (normalized.length > EVENT_TYPE_MAX_LENGTH) normalized = normalized.slice(0, EVENT_TYPE_MAX_LENGTH).replace(/[_.-]+$/, '');
  return normalized;
}

/**
 * The event time, as Segment computes its `timestamp`:
 * - `timestamp` and `originalTimestamp` both given: `timestamp` was already
 *   corrected upstream (a replay), use it as is;
 * - otherwise the client's time is `timestamp` ?? `originalTimestamp`; when the
 *   message (or its batch) carries `sentAt`, the client's clock skew is
 *   removed: receivedAt - (sentAt - clientTime). Without sentAt it is used as is;
 * - no usable time at all: receivedAt.
 * Unparseable values count as absent (Segment would not drop the message).
 * A time outside our accepted range still fails validation per event, with
 * its reason: late data is never silently moved to "now".
 */
export function segmentTimestamp(message: Record<string, unknown>, receivedAtMs: number, batchSentAt?: unknown): string | null {
  const timestamp = parseTimestamp(own(message, 'timestamp'));
  const original = parseTimestamp(own(message, 'originalTimestamp'));
  if (timestamp !== null && original !== null) return isoOrNull(timestamp);
  const clientTime = timestamp ?? original;
  if (clientTime === null) return isoOrNull(receivedAtMs);
  const sentAt = parseTimestamp(own(message, 'sentAt')) ?? parseTimestamp(batchSentAt);
  if (sentAt === null) return isoOrNull(clientTime);
  const corrected = receivedAtMs - (sentAt - clientTime);
  return isoOrNull(corrected >= 0 && corrected <= MAX_ISO_MS ? corrected : clientTime);
}

/**
 * properties.revenue, else properties.value: the first that is a finite
 * number with |n| <= 1e15, or a plain decimal string ("19.99": Segment's spec
 * says Number, but form and template values often arrive as strings, and
 * destinations coerce them too). Anything else (objects, "1e3", "abc",
 * out-of-range) is ignored: the event still counts, with value 0.
 */
export function segmentValue(properties: unknown): number | undefined {
  if (!isPlainObject(properties)) return undefined;
  for (const key of ['revenue', 'value']) {
    const value = toValue(own(properties, key));
    if (value !== null) return value;
  }
  return undefined;
}

/**
 * Dimensions, at most MAX_DIMENSIONS, chosen deterministically:
 * 1. derived first, in this order: page/screen `name` and `category` (the
 *    call's own fields, else properties.*), page `path` (properties.path, else
 *    context.page.path), context.campaign.{source,medium,name,term,content} as
 *    utm_{source,medium,campaign,term,content}, context.device.type as device_type;
 * 2. then track/page/screen properties in sorted key order: only string,
 *    number and boolean values; keys that are not identifiers (<= 64 chars of
 *    [A-Za-z0-9_.-], not starting with a digit), objects, arrays and nulls are
 *    skipped, as are revenue/value (the value), userId, and on page calls
 *    url, search and referrer (query strings carry tokens and emails).
 * Strings are cut to 256 characters (never inside a surrogate pair); values
 * with broken Unicode are skipped. identify/group traits are never dimensions
 * (emails, names, phone numbers).
 */
export function segmentDimensions(type: SegmentType, message: Record<string, unknown>, context: Record<string, unknown>): Record<string, string> {
  const dimensions: Record<string, string> = {};
  let count = 0;
  const add = (key: string, raw: unknown): void => {
    if (count >= MAX_DIMENSIONS || Object.hasOwn(dimensions, key)) return;
    const text = dimensionText(raw);
    if (text === null) return;
    dimensions[key] = text;
    count++;
  };

  const properties = own(message, 'properties');
  const props = isPlainObject(properties) ? properties : {};
  if (type === 'page' || type === 'screen') {
    add('name', own(message, 'name') ?? own(props, 'name'));
    add('category', own(message, 'category') ?? own(props, 'category'));
  }
  if (type === 'page') add('path', own(props, 'path') ?? own(objectAt(context, 'page'), 'path'));
  const campaign = objectAt(context, 'campaign');
  add('utm_source', own(campaign, 'source'));
  add('utm_medium', own(campaign, 'medium'));
  add('utm_campaign', own(campaign, 'name'));
  add('utm_term', own(campaign, 'term'));
  add('utm_content', own(campaign, 'content'));
  add('device_type', own(objectAt(context, 'device'), 'type'));

  if (type === 'track' || type === 'page' || type === 'screen') {
    const keys = Object.keys(props)
      .filter((key) => isDimensionKey(key) && !(type === 'page' && PAGE_URL_PROPERTIES.has(key)))
      .sort();
    for (const key of keys) add(key, props[key]);
  }
  return dimensions;
}

/**
 * A batch's top-level context under a message's own, as Segment merges them:
 * the message wins key by key, and for keys whose values are objects on both
 * sides (campaign, device, page, ...) one level deeper.
 */
export function mergeContext(batchContext: unknown, messageContext: unknown): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const source of [batchContext, messageContext]) {
    if (!isPlainObject(source)) continue;
    for (const [key, value] of Object.entries(source)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      const existing = merged[key];
      merged[key] = isPlainObject(value) && isPlainObject(existing) ? { ...existing, ...value } : value;
    }
  }
  return merged;
}

export type SegmentBody =
  | { ok: true; messages: unknown[]; sentAt: unknown; context: unknown }
  | { ok: false; code: 'invalid_body' | 'empty_batch'; message: string };

/** POST /v1/batch (and /v1/b): `{ batch: [...], writeKey?, sentAt?, context? }`. */
export function parseSegmentBatch(body: unknown): SegmentBody {
  if (!isPlainObject(body) || !Array.isArray(body.batch)) {
    return { ok: false, code: 'invalid_body', message: 'Body must be { "batch": [ ...Segment messages ] }.' };
  }
  if (body.batch.length === 0) return { ok: false, code: 'empty_batch', message: 'The batch contains no messages.' };
  return { ok: true, messages: body.batch, sentAt: own(body, 'sentAt'), context: own(body, 'context') };
}

/** POST /v1/track, /v1/t, ...: the body is one message (its sentAt and context are its own). */
export function parseSegmentSingle(body: unknown): SegmentBody {
  if (!isPlainObject(body)) return { ok: false, code: 'invalid_body', message: 'Body must be one Segment message (a JSON object).' };
  return { ok: true, messages: [body], sentAt: undefined, context: undefined };
}

/** The `writeKey` a body carries (analytics.js in browsers sends it only there), or null. */
export function segmentWriteKey(body: unknown): string | null {
  const key = own(body, 'writeKey');
  return typeof key === 'string' && key !== '' ? key : null;
}

/** UTF-8 size of the message as JSON; null when it cannot be serialized (stack overflow on deep nesting). */
export function jsonByteLength(value: unknown): number | null {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return null;
  }
  return json === undefined ? null : utf8Length(json);
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function segmentMessageId(raw: unknown): string | undefined {
  let id: string;
  if (typeof raw === 'string') id = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) id = String(raw);
  else return undefined;
  if (id === '') return undefined;
  if (id.length <= EVENT_ID_MAX_LENGTH && isWellFormedText(id)) return id;
  // Still a stable function of the client's id, so a retried message dedups.
  return `seg_${hash64Hex(id)}`;
}

function identity(raw: unknown): string | null {
  let id: string;
  if (typeof raw === 'string') id = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) id = String(raw);
  else return null;
  return id !== '' && id.length <= USER_ID_MAX_LENGTH && isWellFormedText(id) ? id : null;
}

function toValue(raw: unknown): number | null {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && raw.length <= 40 && DECIMAL.test(raw)) value = Number(raw);
  else return null;
  return Number.isFinite(value) && Math.abs(value) <= MAX_ABS_VALUE ? value : null;
}

function isDimensionKey(key: string): boolean {
  return !NON_DIMENSION_PROPERTIES.has(key) && !FORBIDDEN_KEYS.has(key) && key.length <= DIMENSION_KEY_MAX_LENGTH && IDENTIFIER.test(key);
}

function dimensionText(raw: unknown): string | null {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'boolean') text = String(raw);
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else return null;
  if (text.length > DIMENSION_VALUE_MAX_LENGTH) {
    const lastCode = text.charCodeAt(DIMENSION_VALUE_MAX_LENGTH - 1);
    const cut = lastCode >= 0xd800 && lastCode <= 0xdbff ? DIMENSION_VALUE_MAX_LENGTH - 1 : DIMENSION_VALUE_MAX_LENGTH;
    text = text.slice(0, cut);
  }
  return isWellFormedText(text) ? text : null;
}

function isoOrNull(ms: number): string | null {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_ISO_MS ? new Date(ms).toISOString() : null;
}

/** An own property only: a missing "constructor" must not read Object.prototype's. */
function own(object: unknown, key: string): unknown {
  return isPlainObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

function objectAt(object: unknown, key: string): Record<string, unknown> | undefined {
  const value = own(object, key);
  return isPlainObject(value) ? value : undefined;
}

function reject(code: string, message: string): { ok: false; code: string; message: string } {
  return { ok: false, code, message };
}
