/**
 * Geo from Cloudflare's `request.cf`, and the rule for combining it with
 * client-sent geo dimensions. Pure: runs in workerd and in Node.
 *
 * `cf` is read defensively: it is undefined in some local setups, a fixed
 * placeholder in miniflare (Austin, US), and any field may be missing (Cloudflare
 * omits what it cannot determine). Every value is checked and bounded here, so
 * nothing from `cf` reaches a dimension unvalidated.
 */
import type { IngestKeyKind } from './bots.ts';
import { isWellFormedText } from './events.ts';
import { MAX_DIMENSIONS } from './limits.ts';

export interface EdgeGeo {
  /** ISO 3166-1 alpha-2, upper case; also Cloudflare's "T1" for Tor. */
  country?: string;
  /** Region (state, province) name as Cloudflare gives it, e.g. "Texas". */
  region?: string;
  city?: string;
  /** AF, AN, AS, EU, NA, OC or SA. */
  continent?: string;
  /** IATA code of the Cloudflare data centre, e.g. "DFW". */
  colo?: string;
  /** IANA time zone, e.g. "America/Chicago". */
  timezone?: string;
  asn?: number;
}

/** Region and city names are short; the cap keeps a surprise from reaching storage. */
export const GEO_TEXT_MAX_LENGTH = 128;
const CONTINENTS = new Set(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']);
/** Two letters, or Cloudflare's "T1" (Tor). */
const COUNTRY = /^(?:[A-Z]{2}|T1)$/;
const COLO = /^[A-Z]{3}$/;
const TIMEZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

/**
 * Client dimensions that describe where the visitor is. For browser keys the
 * edge's answer replaces all of them together, so an event never mixes the
 * edge's country with a client-sent city.
 */
export const GEO_OVERRIDE_KEYS = ['country', 'region', 'city', 'continent'] as const;
/**
 * Geo written as dimensions, in priority order. City, colo, timezone and ASN
 * stay off the rollups (their cardinality would multiply every row).
 */
export const GEO_DIMENSION_KEYS = ['country', 'region', 'continent'] as const;

export function geoFromCf(cf: unknown): EdgeGeo {
  const geo: EdgeGeo = {};
  if (typeof cf !== 'object' || cf === null) return geo;
  const country = code(read(cf, 'country'));
  // "XX" is Cloudflare's "unknown" in CF-IPCountry; it is not a place.
  if (country !== undefined && COUNTRY.test(country) && country !== 'XX') geo.country = country;
  const region = text(read(cf, 'region'));
  if (region !== undefined) geo.region = region;
  const city = text(read(cf, 'city'));
  if (city !== undefined) geo.city = city;
  const continent = code(read(cf, 'continent'));
  if (continent !== undefined && CONTINENTS.has(continent)) geo.continent = continent;
  const colo = code(read(cf, 'colo'));
  if (colo !== undefined && COLO.test(colo)) geo.colo = colo;
  const timezone = read(cf, 'timezone');
  if (typeof timezone === 'string' && TIMEZONE.test(timezone)) geo.timezone = timezone;
  const asn = read(cf, 'asn');
  if (typeof asn === 'number' && Number.isInteger(asn) && asn > 0 && asn <= 0xffffffff) geo.asn = asn;
  return geo;
}

/** Whether the edge placed the request anywhere (false locally without cf, or for unroutable IPs). */
export function isLocated(geo: EdgeGeo): boolean {
  return geo.country !== undefined || geo.continent !== undefined || geo.region !== undefined || geo.city !== undefined;
}

/** The geo dimensions the edge can supply, in GEO_DIMENSION_KEYS order. */
export function geoDimensionEntries(geo: EdgeGeo): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const key of GEO_DIMENSION_KEYS) {
    const value = geo[key];
    if (value !== undefined) entries.push([key, value]);
  }
  return entries;
}

/**
 * Combines client-sent dimensions with the edge's geo; returns a new object.
 * - `public` (browser) keys: when the edge located the request, its geo wins:
 *   client `country`/`region`/`city`/`continent` are dropped and the edge's
 *   country, region and continent are written. When it did not (no cf, local
 *   dev), the client's values stay: they are the best information there is.
 * - `server` keys: client values win and the edge's geo is not applied at all,
 *   since it locates the customer's server, not the end user.
 * Adding never takes an event past MAX_DIMENSIONS: keys that do not fit are
 * dropped in GEO_DIMENSION_KEYS order.
 */
export function mergeGeo(
  clientDimensions: Readonly<Record<string, string>>,
  geo: EdgeGeo,
  keyKind: IngestKeyKind,
): Record<string, string> {
  const merged: Record<string, string> = { ...clientDimensions };
  if (keyKind === 'server' || !isLocated(geo)) return merged;
  for (const key of GEO_OVERRIDE_KEYS) delete merged[key];
  let count = Object.keys(merged).length;
  for (const [key, value] of geoDimensionEntries(geo)) {
    if (count >= MAX_DIMENSIONS) break;
    merged[key] = value;
    count++;
  }
  return merged;
}

function read(object: object, key: string): unknown {
  return key in object ? Reflect.get(object, key) : undefined;
}

function code(value: unknown): string | undefined {
  return typeof value === 'string' ? value.trim().toUpperCase() : undefined;
}

/** Printable text, trimmed and bounded; undefined when empty. */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  if (cleaned.length > GEO_TEXT_MAX_LENGTH) {
    cleaned = cleaned.slice(0, GEO_TEXT_MAX_LENGTH);
    // Do not leave half of a surrogate pair at the cut.
    if (/[\uD800-\uDBFF]$/.test(cleaned)) cleaned = cleaned.slice(0, -1);
    cleaned = cleaned.trimEnd();
  }
  // Lone surrogates cannot be encoded as UTF-8 downstream.
  if (cleaned === '' || !isWellFormedText(cleaned)) return undefined;
  return cleaned;
}
