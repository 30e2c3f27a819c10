/**
 * Edge enrichment of a validated event: server receive time, bot flag, an
 * identity for uniques and sharding, and device/browser/OS/geo dimensions.
 * Pure and synchronous: the async parts (visitor-id HMAC, salt lookup) and the
 * request-level parts (cf geo, bot check) are computed once per request by the
 * caller and passed in `context`; createEnricher derives the rest (UA parse,
 * edge dimension values) once per request too.
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
  /**
   * Where the edge placed the request beyond the geo dimensions (city, colo,
   * timezone, ASN): too many values for rollups, useful per raw event. Only
   * when the context asks for it (raw events on) and the edge knows any.
   */
  geo?: RawGeo;
};

/** The geo fields kept per raw event only (see GEO_DIMENSION_KEYS for the ones that are dimensions). */
export interface RawGeo {
  city?: string;
  colo?: string;
  timezone?: string;
  asn?: number;
}

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
  /** Attach RawGeo to each event (public keys only: a server's cf locates the server). */
  rawGeo?: boolean;
}

export type Enricher = (event: ValidEvent) => EnrichedEvent;

/**
 * The per-event step of a request's enrichment. Everything that depends on
 * the request only (UA parse, geo, bot label) is worked out here, once, so a
 * 1,000-event batch parses its User-Agent once, not 1,000 times.
 */
export function createEnricher(context: EnrichmentContext): Enricher {
  const edgeWins = context.keyKind === 'public';
  const edge = edgeEntries(context);
  // The edge's location replaces the client's as a whole (no mixed country/city).
  const dropClientGeo = edgeWins && isLocated(context.geo);
  const rawGeo = context.rawGeo === true && edgeWins ? rawGeoOf(context.geo) : undefined;
  const { receivedAtMs, bot, visitorId } = context;

  return function enrich(event: ValidEvent): EnrichedEvent {
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
    for (const [key, value] of edge) {
      if (Object.hasOwn(dimensions, key)) {
        if (edgeWins) dimensions[key] = value;
      } else if (count < MAX_DIMENSIONS) {
        dimensions[key] = value;
        count++;
      }
    }

    let userId: string;
    let identity: IdentitySource;
    if (event.userId !== null) {
      userId = event.userId;
      identity = 'user';
    } else if (visitorId !== null) {
      userId = visitorId;
      identity = 'visitor';
    } else {
      userId = event.eventId;
      identity = 'event';
    }

    const enriched: EnrichedEvent = {
      eventId: event.eventId,
      eventType: event.eventType,
      timestampMs: event.timestampMs,
      value: event.value,
      userId,
      identity,
      dimensions,
      receivedAtMs,
      bot,
    };
    if (rawGeo !== undefined) enriched.geo = rawGeo;
    return enriched;
  };
}

/** One event with its own context; for a batch, createEnricher once and call it per event. */
export function enrichEvent(event: ValidEvent, context: EnrichmentContext): EnrichedEvent {
  return createEnricher(context)(event);
}

/** The edge's value for each enrichment key it has, in ENRICHMENT_KEYS order, bounded. */
function edgeEntries(context: EnrichmentContext): Array<[EnrichmentKey, string]> {
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
  const entries: Array<[EnrichmentKey, string]> = [];
  for (const key of ENRICHMENT_KEYS) {
    const value = values[key];
    if (value !== undefined && value !== '') entries.push([key, bound(value)]);
  }
  return entries;
}

function rawGeoOf(geo: EdgeGeo): RawGeo | undefined {
  const raw: RawGeo = {};
  if (geo.city !== undefined) raw.city = geo.city;
  if (geo.colo !== undefined) raw.colo = geo.colo;
  if (geo.timezone !== undefined) raw.timezone = geo.timezone;
  if (geo.asn !== undefined) raw.asn = geo.asn;
  return Object.keys(raw).length > 0 ? raw : undefined;
}

function bound(value: string): string {
  return value.length > DIMENSION_VALUE_MAX_LENGTH ? value.slice(0, DIMENSION_VALUE_MAX_LENGTH) : value;
}
