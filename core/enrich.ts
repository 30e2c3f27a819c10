/**
 * Edge enrichment of a validated event: server receive time, bot flag, an
 * identity for uniques and sharding, and device/browser/OS/geo dimensions.
 * Pure and synchronous: the async parts (visitor-id HMAC, salt lookup) and the
 * request-level parts (cf geo, bot check) are computed once per request by the
 * caller and passed in `context`.
 *
 * Which value wins for a dimension key:
 * - public (browser) keys: the edge's value (User-Agent, request.cf geo)
 *   overrides what the client sent, where the edge has one (see mergeGeo for
 *   geo, which is replaced as a whole); a bot's deviceType is 'BOT'.
 * - server keys: the client's values win; enrichment only fills absent keys,
 *   from the UA the caller passes (null = none), and never from cf geo (it would
 *   locate the customer's server).
 *
 * Bounds: values are <= DIMENSION_VALUE_MAX_LENGTH and an event never exceeds
 * MAX_DIMENSIONS. Client dimensions always keep their place; new enrichment
 * keys are added in ENRICHMENT_KEYS order while there is room, the rest are
 * dropped (deterministically: same input, same output).
 */
import type { IngestKeyKind } from './bots.ts';
import type { ValidEvent } from './events.ts';
import { type EdgeGeo, GEO_OVERRIDE_KEYS, isLocated } from './geo.ts';
import { DIMENSION_VALUE_MAX_LENGTH, MAX_DIMENSIONS } from './limits.ts';
import { parseUserAgent } from './user-agent.ts';

/** Enrichment dimension keys, highest priority first (what survives when room is short). */
export const ENRICHMENT_KEYS = ['deviceType', 'browser', 'os', 'country', 'region', 'continent'] as const;
export type EnrichmentKey = (typeof ENRICHMENT_KEYS)[number];
const GEO_OVERRIDE_SET: ReadonlySet<string> = new Set(GEO_OVERRIDE_KEYS);

/** Where `userId` came from: uniques over 'event' ids count events, not people. */
export type IdentitySource = 'user' | 'visitor' | 'event';

export type EnrichedEvent = Omit<ValidEvent, 'userId'> & {
  /** Server receive time, epoch ms (the event's own time stays in timestampMs). */
  receivedAtMs: number;
  /** Counted separately and kept out of human metrics. */
  bot: boolean;
  /** userId ?? visitorId ?? eventId: always set, so sharding and uniques need no fallback. */
  userId: string;
  identity: IdentitySource;
};

export interface EnrichmentContext {
  receivedAtMs: number;
  keyKind: IngestKeyKind;
  /** The request's User-Agent (server keys: a forwarded end-user UA, or null). */
  userAgent: string | null;
  /** geoFromCf(request.cf); ignored for server keys. */
  geo: EdgeGeo;
  /** visitorId(...) for the request, or null (no salt, or the client sends userIds). */
  visitorId: string | null;
  /** isBot(...) for the request. */
  bot: boolean;
}

export function enrichEvent(event: ValidEvent, context: EnrichmentContext): EnrichedEvent {
  const edgeWins = context.keyKind === 'public';
  const edge = edgeValues(context);

  // The edge's location replaces the client's as a whole (no mixed country/city).
  const dropClientGeo = edgeWins && isLocated(context.geo);
  // Copied key by key rather than spread + delete: delete would turn the object
  // into a slow dictionary, and this runs for every event.
  const dimensions: Record<string, string> = {};
  let count = 0;
  for (const key in event.dimensions) {
    if (!Object.hasOwn(event.dimensions, key)) continue;
    if (dropClientGeo && GEO_OVERRIDE_SET.has(key)) continue;
    const value = event.dimensions[key];
    if (value === undefined) continue;
    dimensions[key] = value;
    count++;
  }

  for (const key of ENRICHMENT_KEYS) {
    const value = edge[key];
    if (value === undefined || value === '') continue;
    if (Object.hasOwn(dimensions, key)) {
      if (edgeWins) dimensions[key] = bound(value);
    } else if (count < MAX_DIMENSIONS) {
      dimensions[key] = bound(value);
      count++;
    }
  }

  let userId: string;
  let identity: IdentitySource;
  if (event.userId !== null) {
    userId = event.userId;
    identity = 'user';
  } else if (context.visitorId !== null) {
    userId = context.visitorId;
    identity = 'visitor';
  } else {
    userId = event.eventId;
    identity = 'event';
  }

  return {
    eventId: event.eventId,
    eventType: event.eventType,
    timestampMs: event.timestampMs,
    value: event.value,
    userId,
    identity,
    dimensions,
    receivedAtMs: context.receivedAtMs,
    bot: context.bot,
  };
}

/** The edge's candidate value for each enrichment key. */
function edgeValues(context: EnrichmentContext): Partial<Record<EnrichmentKey, string>> {
  const values: Partial<Record<EnrichmentKey, string>> = {};
  if (context.userAgent !== null) {
    const ua = parseUserAgent(context.userAgent);
    values.deviceType = context.bot ? 'BOT' : ua.deviceType;
    values.browser = ua.browser;
    values.os = ua.os;
  } else if (context.bot) {
    values.deviceType = 'BOT';
  }
  // A server's cf geo is its own data centre's neighbourhood, not the user's.
  if (context.keyKind === 'public') {
    if (context.geo.country !== undefined) values.country = context.geo.country;
    if (context.geo.region !== undefined) values.region = context.geo.region;
    if (context.geo.continent !== undefined) values.continent = context.geo.continent;
  }
  return values;
}

function bound(value: string): string {
  return value.length > DIMENSION_VALUE_MAX_LENGTH ? value.slice(0, DIMENSION_VALUE_MAX_LENGTH) : value;
}
