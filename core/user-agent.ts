/**
 * User-Agent -> device type, browser, OS. Pure: runs in workerd and in Node.
 *
 * Library choice (measured 2026-11 on this project's machines, Node 24; size:
 * esbuild --bundle --minify --format=esm --platform=neutral of a one-call entry,
 * gzip -9; speed: uncached parses cycling over 17 real UAs, bots included):
 *
 *   package            licence     min+gz   µs/parse  notes
 *   bowser 2.15        MIT         7.6 KB   ~10       CHOSEN: maintained (2.15.0, Oct 2026), device type
 *                                                     incl. tablet/tv/bot, real ESM build + types, no deps
 *   ua-parser-js 1.0   MIT         9.0 KB   ~34       the MIT line (1.0.41, Aug 2025); 3.4x slower
 *   ua-parser-js 2.x   AGPL-3.0      -        -       licence rules it out
 *   my-ua-parser 2.0   MIT         7.9 KB   ~28       MIT fork of the 2.0 beta; 2 releases, Dec 2024
 *   detect-browser 5.3 MIT         1.8 KB   ~3.2      no mobile/tablet/desktop type; stale
 *   isbot 5.2          Unlicense   1.5 KB   ~2.8      bot pattern list only (maintained, Nov 2026):
 *                                                     used here for the BOT type
 *
 * Together (bowser + isbot + these modules) the enrichment code is 11.5 KB
 * min+gz. A full uncached parse here (bowser + isbot) is ~19 µs in Node and
 * ~17 µs in workerd on Chrome-heavy UAs; a cache hit is ~0.1 µs (bench/enrich.ts).
 *
 * bowser parses browser, OS and platform (engine parsing is skipped). Bot
 * detection uses isbot's maintained pattern list (plus bowser's own bot
 * platform), so deviceType 'BOT' agrees with core/bots.ts.
 *
 * Bounded work: a UA is cut to 512 characters before parsing, and recent
 * parses sit in a small LRU (one page view sends many events with one UA).
 * Known limit: iPadOS Safari in its default "desktop" mode sends a macOS UA and
 * is counted as DESKTOP; no UA-only parser can tell it apart.
 */
import { getParser } from 'bowser';
import { isbot } from 'isbot';

export type DeviceType = 'MOBILE' | 'TABLET' | 'DESKTOP' | 'BOT' | 'OTHER';

export interface UserAgentInfo {
  deviceType: DeviceType;
  /** '' when unknown. */
  browser: string;
  /** '' when unknown. */
  browserVersion: string;
  /** '' when unknown. */
  os: string;
}

/** Longer UAs are cut: real browsers stay far below this, and regex work stays bounded. */
export const USER_AGENT_MAX_LENGTH = 512;
/**
 * About 350 bytes an entry for typical UAs (at most ~1.5 MB per isolate with
 * 512-character keys). In bench/enrich.ts (5,000 distinct UAs, Zipf 1.1)
 * 2,048 entries hit ~91% of lookups, 1,000 entries ~83%.
 */
export const USER_AGENT_CACHE_SIZE = 2048;
/** Names and versions come from the parser's tables and digit runs; the cap is a safety net. */
const FIELD_MAX_LENGTH = 64;

const UNKNOWN: UserAgentInfo = Object.freeze({ deviceType: 'OTHER', browser: '', browserVersion: '', os: '' });
const UNKNOWN_BOT: UserAgentInfo = Object.freeze({ deviceType: 'BOT', browser: '', browserVersion: '', os: '' });

export type UserAgentParser = (ua: string | null) => UserAgentInfo;

/** A parser with its own LRU of `capacity` entries (results are frozen and shared). */
export function createUserAgentParser(capacity: number = USER_AGENT_CACHE_SIZE): UserAgentParser {
  const cache = new Map<string, UserAgentInfo>();
  return function parse(ua: string | null): UserAgentInfo {
    // No UA says nothing about the device; whether it means a bot is core/bots.ts's call.
    if (ua === null) return UNKNOWN;
    const key = ua.length > USER_AGENT_MAX_LENGTH ? ua.slice(0, USER_AGENT_MAX_LENGTH) : ua;
    if (key.trim() === '') return UNKNOWN;
    const hit = cache.get(key);
    if (hit !== undefined) {
      // Re-insert so Map order is recency order; the first key is the eviction victim.
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const info = parseUncached(key);
    if (capacity > 0) {
      if (cache.size >= capacity) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(key, info);
    }
    return info;
  };
}

/** The shared per-isolate parser. */
export const parseUserAgent: UserAgentParser = createUserAgentParser();

function parseUncached(ua: string): UserAgentInfo {
  let platformType: string | undefined;
  let browser = '';
  let browserVersion = '';
  let os = '';
  try {
    // skipParsing: parse only what we use (engine parsing is a third of the cost).
    const parser = getParser(ua, true);
    const b = parser.parseBrowser();
    browser = clean(b.name);
    browserVersion = clean(b.version);
    os = clean(parser.parseOS().name);
    platformType = parser.parsePlatform().type;
  } catch {
    // A parser bug on odd input must never fail ingestion: fall through as unknown.
    return isbot(ua) ? UNKNOWN_BOT : UNKNOWN;
  }
  const deviceType: DeviceType = isbot(ua) ? 'BOT' : deviceTypeOf(platformType);
  return Object.freeze({ deviceType, browser, browserVersion, os });
}

function deviceTypeOf(platformType: string | undefined): DeviceType {
  switch (platformType) {
    case 'mobile':
      return 'MOBILE';
    case 'tablet':
      return 'TABLET';
    case 'desktop':
      return 'DESKTOP';
    case 'bot':
      return 'BOT';
    default:
      // 'tv' and anything unrecognised.
      return 'OTHER';
  }
}

/** Printable, bounded text (UA headers are Latin-1 bytes; control characters never belong in a dimension). */
function clean(value: string | undefined): string {
  if (value === undefined) return '';
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return text.length > FIELD_MAX_LENGTH ? text.slice(0, FIELD_MAX_LENGTH) : text;
}
