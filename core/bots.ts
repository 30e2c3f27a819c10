/**
 * Bot detection for ingested traffic. Pure: runs in workerd and in Node.
 *
 * A request is a bot when either signal says so:
 * - the User-Agent matches isbot's maintained pattern list (crawlers, HTTP
 *   libraries such as curl, headless browsers), via the cached parse in
 *   core/user-agent.ts so each distinct UA is matched once per isolate;
 * - Cloudflare Bot Management, when the zone has it (`request.cf.botManagement`):
 *   `verifiedBot` (a known good crawler) or a score of 1..29 ("likely
 *   automated"). Score 0 / absent means "not scored" and is ignored.
 *
 * Decisions:
 * - Browser (public) keys: both signals, on the request itself.
 * - Server keys: the request is the customer's backend, so its own UA (an HTTP
 *   library) and Bot Management (which scores the customer's server) say
 *   nothing about the end user. When the backend forwards its end user's
 *   User-Agent (X-Edgepulse-User-Agent), that UA is checked against the list;
 *   without one, nothing is known and the event is not a bot.
 * - A public-key request with no or an empty User-Agent is a bot: every browser
 *   sends one (fetch and sendBeacon cannot remove it), so only scripts omit it.
 * - Bare HTTP-library UAs count as bots, as isbot's list has them: this includes
 *   "okhttp/4.x", the default of React Native on Android. A native app sending
 *   with a public key should set a UA with a platform comment, e.g.
 *   "MyApp/1.2 (Linux; Android 14; Pixel 8)", which is not flagged.
 *
 * Bot events are still accepted and counted, but separately, and kept out of
 * human metrics (the `bot` flag on the enriched event).
 */
import { parseUserAgent } from './user-agent.ts';

export type IngestKeyKind = 'public' | 'server';

/** Cloudflare's own "likely automated" threshold: scores 1..29. */
export const BOT_SCORE_THRESHOLD = 30;

/**
 * `ua`: the request's User-Agent for public keys, the forwarded end-user UA
 * (or null) for server keys. `cf` is `request.cf` (or any object with
 * `botManagement: { score?, verifiedBot? }`); it is read defensively since it
 * may be absent, partial or a local placeholder, and ignored for server keys.
 */
export function isBot(ua: string | null, cf?: unknown, keyKind: IngestKeyKind = 'public'): boolean {
  if (keyKind === 'server') return ua !== null && ua.trim() !== '' && parseUserAgent(ua).deviceType === 'BOT';
  if (ua === null || ua.trim() === '') return true;
  if (cloudflareSaysBot(cf)) return true;
  return parseUserAgent(ua).deviceType === 'BOT';
}

/** True when Bot Management ran and judged the request automated. */
export function cloudflareSaysBot(cf: unknown): boolean {
  if (typeof cf !== 'object' || cf === null || !('botManagement' in cf)) return false;
  const bm = cf.botManagement;
  if (typeof bm !== 'object' || bm === null) return false;
  if ('verifiedBot' in bm && bm.verifiedBot === true) return true;
  if ('score' in bm) {
    const score = bm.score;
    // 0 = not scored (e.g. internal endpoints); only 1..29 means "automated".
    if (typeof score === 'number' && Number.isFinite(score) && score >= 1 && score < BOT_SCORE_THRESHOLD) return true;
  }
  return false;
}
