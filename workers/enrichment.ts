import type { Context } from 'hono';
import { isBot } from '../core/bots.ts';
import { createEnricher, type EnrichedEvent } from '../core/enrich.ts';
import type { ValidEvent } from '../core/events.ts';
import { geoFromCf } from '../core/geo.ts';
import { saltDay, visitorId } from '../core/visitor-id.ts';
import type { KeyRecord } from '../durable-objects/ProjectRegistry.ts';
import { REGISTRY_NAME } from '../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from './app-env.ts';

/** Server keys may forward their end user's IP and User-Agent so visitor ids still work. */
export const FORWARDED_IP_HEADER = 'X-Edgepulse-Client-Ip';
export const FORWARDED_UA_HEADER = 'X-Edgepulse-User-Agent';

/** Resolved salts by day (values, not promises: a promise must not outlive the request whose I/O settles it). */
const saltCache = new Map<string, string>();

/** Today's salt, fetched from the registry once per isolate per day. */
export async function dailySalt(env: Env, day: string): Promise<string> {
  const cached = saltCache.get(day);
  if (cached !== undefined) return cached;
  const salt = await env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName(REGISTRY_NAME)).dailySalt(day);
  if (saltCache.size >= 4) saltCache.clear();
  saltCache.set(day, salt);
  return salt;
}

/**
 * Request-level enrichment computed once, applied to every event: geo from
 * request.cf, bot verdict, and the cookie-free visitor id (a keyed hash of the
 * day's salt, IP, User-Agent and project). The IP is never stored or logged:
 * it exists here only as HMAC input. Server keys: their own IP, UA and cf
 * describe the customer's backend, so only what it forwards about its end
 * user is used (FORWARDED_IP_HEADER, FORWARDED_UA_HEADER), and no cf geo.
 */
export async function enrichBatch(c: Context<AppEnv>, auth: KeyRecord, events: readonly ValidEvent[], receivedAtMs: number): Promise<EnrichedEvent[]> {
  if (auth.kind === 'read') throw new Error('enrichBatch: read keys cannot ingest');
  const keyKind = auth.kind;
  const request = c.req.raw;
  const userAgent = keyKind === 'public' ? request.headers.get('User-Agent') : request.headers.get(FORWARDED_UA_HEADER);
  const ip = keyKind === 'public' ? request.headers.get('CF-Connecting-IP') : request.headers.get(FORWARDED_IP_HEADER);
  const cf: unknown = request.cf;
  const bot = isBot(userAgent, cf, keyKind);
  let visitor: string | null = null;
  if (ip !== null && userAgent !== null && events.some((event) => event.userId === null)) {
    try {
      visitor = await visitorId({ salt: await dailySalt(c.env, saltDay(receivedAtMs)), ip, userAgent, projectId: auth.projectId });
    } catch (error) {
      // Without a salt, uniques fall back to event ids for this request; never fail ingestion for it.
      console.warn('Visitor id unavailable:', error instanceof Error ? error.message : error);
    }
  }
  const enrich = createEnricher({
    receivedAtMs,
    keyKind,
    userAgent,
    geo: keyKind === 'public' ? geoFromCf(cf) : geoFromCf(undefined),
    visitorId: visitor,
    bot,
    // City, colo, time zone and ASN go to events_raw only, so they travel only when raw events are kept.
    rawGeo: c.env.RAW_EVENTS === '1',
  });
  return events.map(enrich);
}
