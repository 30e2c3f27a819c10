/**
 * Edge enrichment benchmark: what validating and enriching one event costs in
 * the ingest Worker, over realistic synthetic traffic.
 *
 *   npm run bench -- enrich            (full run, about a minute)
 *   node bench/enrich.ts --quick       (smoke run)
 *
 * Measured (ns per event unless noted; median of several runs):
 * - validate: core/events.ts validateEvent on raw JSON-shaped events;
 * - enrich: per event, the request-level work done as if every request carried
 *   one event (geoFromCf + isBot with the UA parse) plus enrichEvent: the worst case;
 * - enrich, 10 events/request: the request-level work once per 10 events;
 * - enrichEvent alone with a precomputed context (its UA lookup is then a
 *   cache hit or a miss of the Zipf mix, as in production);
 * - UA parse: uncached, all-hits, and a Zipf mix of distinct UAs through the
 *   LRU (the hit rate is reported);
 * - visitor id: one HMAC-SHA256 per request (per (IP, UA) pair), in µs,
 *   awaited one at a time and with 64 in flight.
 *
 * Prints a table, then as the LAST stdout line one JSON object with all figures.
 */
import os from 'node:os';
import { isBot } from '../core/bots.ts';
import { enrichEvent, type EnrichmentContext } from '../core/enrich.ts';
import { validateEvent, type ValidEvent } from '../core/events.ts';
import { geoFromCf, type EdgeGeo } from '../core/geo.ts';
import { createUserAgentParser, parseUserAgent, USER_AGENT_CACHE_SIZE } from '../core/user-agent.ts';
import { newSalt, visitorId } from '../core/visitor-id.ts';

const quick = process.argv.includes('--quick');
const EVENTS = quick ? 20_000 : 200_000;
const REPS = quick ? 3 : 7;
const VISITOR_IDS = quick ? 2_000 : 20_000;
const NOW = Date.now();

/** xorshift32: deterministic inputs across runs. */
function makeRng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}
const rng = makeRng(20261123);
const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('empty pool');
  return item;
};

// ------------------------------------------------------------------ inputs
/** Browser UA templates; {v} becomes a version, so the pool has thousands of distinct UAs as real traffic does. */
const TEMPLATES: ReadonlyArray<{ weight: number; ua: (v: number, w: number) => string }> = [
  { weight: 30, ua: (v, w) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${110 + (v % 20)}.0.${6000 + w}.${v % 200} Safari/537.36` },
  { weight: 25, ua: (v, w) => `Mozilla/5.0 (Linux; Android ${10 + (v % 5)}; ${['K', 'SM-S911B', 'Pixel 8', 'SM-A546B', '2201117TG'][w % 5]}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${115 + (v % 15)}.0.0.0 Mobile Safari/537.36` },
  { weight: 20, ua: (v) => `Mozilla/5.0 (iPhone; CPU iPhone OS ${15 + (v % 4)}_${v % 7} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${15 + (v % 4)}.${v % 7} Mobile/15E148 Safari/604.1` },
  { weight: 8, ua: (v, w) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${110 + (v % 20)}.0.${6000 + w}.${v % 100} Safari/537.36` },
  { weight: 5, ua: (v) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 14.${v % 7}; rv:${115 + (v % 15)}.0) Gecko/20100101 Firefox/${115 + (v % 15)}.0` },
  { weight: 5, ua: (v, w) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${115 + (v % 12)}.0.0.0 Safari/537.36 Edg/${115 + (v % 12)}.0.${2000 + w}.${v % 90}` },
  { weight: 3, ua: (v) => `Mozilla/5.0 (iPad; CPU OS ${15 + (v % 4)}_${v % 6} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${15 + (v % 4)}.${v % 6} Mobile/15E148 Safari/604.1` },
  { weight: 2, ua: () => 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
  { weight: 1, ua: () => 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' },
  { weight: 1, ua: (v) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/${120 + (v % 8)}.0.0.0 Safari/537.36` },
];
const DISTINCT_UAS = quick ? 1_000 : 5_000;
const uaUniverse: string[] = [];
{
  const totalWeight = TEMPLATES.reduce((s, t) => s + t.weight, 0);
  const seen = new Set<string>();
  let attempts = 0;
  while (uaUniverse.length < DISTINCT_UAS && attempts++ < DISTINCT_UAS * 50) {
    let r = rng() * totalWeight;
    let template = TEMPLATES[0];
    for (const t of TEMPLATES) {
      r -= t.weight;
      if (r < 0) {
        template = t;
        break;
      }
    }
    const ua = template?.ua(Math.floor(rng() * 1000), Math.floor(rng() * 500)) ?? '';
    if (!seen.has(ua)) {
      seen.add(ua);
      uaUniverse.push(ua);
    }
  }
}
/** Zipf(s=1.1) over the UA universe: a few UAs are very common, a long tail is not. */
const zipfCdf: number[] = [];
{
  let sum = 0;
  for (let k = 1; k <= uaUniverse.length; k++) {
    sum += 1 / k ** 1.1;
    zipfCdf.push(sum);
  }
  for (let i = 0; i < zipfCdf.length; i++) zipfCdf[i] = (zipfCdf[i] ?? 0) / sum;
}
function zipfUa(): string {
  const r = rng();
  let lo = 0;
  let hi = zipfCdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((zipfCdf[mid] ?? 1) < r) lo = mid + 1;
    else hi = mid;
  }
  return uaUniverse[lo] ?? '';
}

const CF_POOL: readonly Record<string, unknown>[] = [
  { country: 'US', region: 'Texas', city: 'Austin', continent: 'NA', colo: 'DFW', timezone: 'America/Chicago', asn: 7922 },
  { country: 'US', region: 'California', city: 'San Jose', continent: 'NA', colo: 'SJC', timezone: 'America/Los_Angeles', asn: 7018 },
  { country: 'DE', region: 'Hesse', city: 'Frankfurt am Main', continent: 'EU', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 },
  { country: 'FR', region: 'Île-de-France', city: 'Paris', continent: 'EU', colo: 'CDG', timezone: 'Europe/Paris', asn: 3215 },
  { country: 'GB', region: 'England', city: 'London', continent: 'EU', colo: 'LHR', timezone: 'Europe/London', asn: 2856 },
  { country: 'JP', region: 'Tokyo', city: 'Tokyo', continent: 'AS', colo: 'NRT', timezone: 'Asia/Tokyo', asn: 2516 },
  { country: 'IN', region: 'Maharashtra', city: 'Mumbai', continent: 'AS', colo: 'BOM', timezone: 'Asia/Kolkata', asn: 55836 },
  { country: 'BR', region: 'São Paulo', city: 'São Paulo', continent: 'SA', colo: 'GRU', timezone: 'America/Sao_Paulo', asn: 28573 },
  { country: 'AU', region: 'New South Wales', city: 'Sydney', continent: 'OC', colo: 'SYD', timezone: 'Australia/Sydney', asn: 1221 },
  { country: 'US', region: 'Virginia', city: 'Ashburn', continent: 'NA', colo: 'IAD', timezone: 'America/New_York', asn: 14618, botManagement: { score: 1, verifiedBot: false } },
  { country: 'NL', region: 'North Holland', city: 'Amsterdam', continent: 'EU', colo: 'AMS', timezone: 'Europe/Amsterdam', asn: 1136, botManagement: { score: 87, verifiedBot: false } },
];

const EVENT_TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'ad_click', 'purchase', 'error', 'web_vital'] as const;
const PATHS = ['/', '/pricing', '/docs/getting-started', '/blog/edge-analytics', '/products/123', '/checkout', '/account/settings'];
const REFERRERS = ['google.com', 'news.ycombinator.com', 'twitter.com', '', 'duckduckgo.com', 'github.com'];

function rawEvent(i: number): Record<string, unknown> {
  const eventType = pick(EVENT_TYPES);
  const ms = NOW - Math.floor(rng() * 600_000);
  const r = rng();
  const timestamp = r < 0.5 ? Math.floor(ms / 1000) : r < 0.9 ? ms : new Date(ms).toISOString();
  const dimensions: Record<string, unknown> = { path: pick(PATHS) };
  const referrer = pick(REFERRERS);
  if (referrer !== '') dimensions.referrer = referrer;
  if (rng() < 0.5) dimensions.campaignId = `camp_${1000 + Math.floor(rng() * 50)}`;
  if (rng() < 0.3) dimensions.plan = pick(['free', 'pro', 'team']);
  if (rng() < 0.2) dimensions.experiment = `exp_${Math.floor(rng() * 5)}`;
  if (rng() < 0.1) dimensions.country = pick(['US', 'FR', 'DE']); // client-sent, overridden for browser keys
  const event: Record<string, unknown> = { eventType, timestamp, dimensions };
  if (rng() < 0.9) event.eventId = `evt_${i.toString(36)}_${Math.floor(rng() * 1e9).toString(36)}`;
  if (rng() < 0.3) event.userId = `usr_${Math.floor(rng() * 100_000)}`;
  if (eventType === 'purchase' || eventType === 'web_vital') event.value = Math.round(rng() * 50_000) / 100;
  return event;
}

interface SimRequest {
  keyKind: 'public' | 'server';
  userAgent: string | null;
  cf: Record<string, unknown>;
}
function request(): SimRequest {
  if (rng() < 0.15) return { keyKind: 'server', userAgent: rng() < 0.5 ? null : 'node', cf: pick(CF_POOL) };
  return { keyKind: 'public', userAgent: rng() < 0.002 ? null : zipfUa(), cf: pick(CF_POOL) };
}

const raws = Array.from({ length: EVENTS }, (_, i) => rawEvent(i));
const requests = Array.from({ length: EVENTS }, () => request());
let minted = 0;
const validationOptions = { nowMs: NOW, newEventId: () => `minted_${minted++}` };
const valid: ValidEvent[] = raws.map((raw) => {
  const result = validateEvent(raw, validationOptions);
  if (!result.ok) throw new Error(`bench input rejected: ${result.code} ${result.message}`);
  return result.event;
});
const VISITOR_ID = 'v_0123456789abcdef0123456789abcdef';
const contexts: EnrichmentContext[] = requests.map((r) => {
  const geo: EdgeGeo = geoFromCf(r.cf);
  return { receivedAtMs: NOW, keyKind: r.keyKind, userAgent: r.userAgent, geo, visitorId: r.userAgent === null ? null : VISITOR_ID, bot: isBot(r.userAgent, r.cf, r.keyKind) };
});

// ----------------------------------------------------------------- timing
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Median ns per operation over `reps` runs of `fn`, which performs `ops` operations. */
function nsPerOp(ops: number, fn: () => void): number {
  fn(); // warm-up: JIT, caches in steady state
  const runs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / ops);
  }
  return median(runs);
}

let sink = 0;
const started = performance.now();

const validateNs = nsPerOp(EVENTS, () => {
  for (let i = 0; i < EVENTS; i++) {
    const result = validateEvent(raws[i], validationOptions);
    if (result.ok) sink += result.event.timestampMs & 1;
  }
});

/** Per event, as if each request carried one event: the request-level work plus enrichEvent. */
const enrichNs = nsPerOp(EVENTS, () => {
  for (let i = 0; i < EVENTS; i++) {
    const r = requests[i];
    const event = valid[i];
    if (r === undefined || event === undefined) continue;
    const geo = geoFromCf(r.cf);
    const bot = isBot(r.userAgent, r.cf, r.keyKind);
    const enriched = enrichEvent(event, { receivedAtMs: NOW, keyKind: r.keyKind, userAgent: r.userAgent, geo, visitorId: VISITOR_ID, bot });
    sink += enriched.bot ? 1 : 0;
  }
});

/** Requests of BATCH events sharing one UA and cf: the request-level work is paid once per batch. */
const BATCH = 10;
const enrichBatchedNs = nsPerOp(EVENTS, () => {
  for (let start = 0; start < EVENTS; start += BATCH) {
    const r = requests[start];
    if (r === undefined) continue;
    const geo = geoFromCf(r.cf);
    const bot = isBot(r.userAgent, r.cf, r.keyKind);
    const context: EnrichmentContext = { receivedAtMs: NOW, keyKind: r.keyKind, userAgent: r.userAgent, geo, visitorId: VISITOR_ID, bot };
    const end = Math.min(start + BATCH, EVENTS);
    for (let i = start; i < end; i++) {
      const event = valid[i];
      if (event !== undefined) sink += Object.keys(enrichEvent(event, context).dimensions).length;
    }
  }
});

/** enrichEvent alone with a precomputed context (UA parse is then a cache hit). */
const enrichOnlyNs = nsPerOp(EVENTS, () => {
  for (let i = 0; i < EVENTS; i++) {
    const event = valid[i];
    const context = contexts[i];
    if (event === undefined || context === undefined) continue;
    sink += Object.keys(enrichEvent(event, context).dimensions).length;
  }
});

const requestContextNs = nsPerOp(EVENTS, () => {
  for (let i = 0; i < EVENTS; i++) {
    const r = requests[i];
    if (r === undefined) continue;
    sink += isBot(r.userAgent, r.cf, r.keyKind) ? 1 : 0;
    sink += geoFromCf(r.cf).asn ?? 0;
  }
});

// UA parsing on its own.
const publicUas = requests.flatMap((r) => (r.keyKind === 'public' && r.userAgent !== null ? [r.userAgent] : []));
const distinctSample = uaUniverse.slice(0, Math.min(uaUniverse.length, 2_000));
const uncachedParse = createUserAgentParser(0);
/** Enough parses per run for the JIT to settle (bowser walks long regex lists). */
const UNCACHED_OPS = quick ? 10_000 : 40_000;
const uaUncachedNs = nsPerOp(UNCACHED_OPS, () => {
  for (let i = 0; i < UNCACHED_OPS; i++) sink += uncachedParse(distinctSample[i % distinctSample.length] ?? '').browser.length;
});
const hot = uaUniverse.slice(0, 50);
const hotParser = createUserAgentParser(USER_AGENT_CACHE_SIZE);
const HOT_OPS = EVENTS;
const uaCachedNs = nsPerOp(HOT_OPS, () => {
  for (let i = 0; i < HOT_OPS; i++) sink += hotParser(hot[i % hot.length] ?? '').os.length;
});
const uaMixNs = nsPerOp(publicUas.length, () => {
  for (const ua of publicUas) sink += parseUserAgent(ua).os.length;
});
// Hit rate of the same sequence through a fresh LRU of the production size (steady state: second pass).
let hits = 0;
{
  const parser = createUserAgentParser(USER_AGENT_CACHE_SIZE);
  const last = new Map<string, object>();
  for (const ua of publicUas) last.set(ua, parser(ua));
  for (const ua of publicUas) {
    const info = parser(ua);
    if (last.get(ua) === info) hits++;
    last.set(ua, info);
  }
}
const uaHitRate = publicUas.length > 0 ? hits / publicUas.length : 0;

// Visitor id: one HMAC per request. Distinct (IP, UA) pairs, one salt (the day's).
const salt = newSalt();
const pairs = Array.from({ length: VISITOR_IDS }, (_, i) => ({
  ip: i % 3 === 0 ? `2001:db8:${(i >> 8).toString(16)}::${(i & 0xff).toString(16)}` : `198.51.${(i >> 8) & 0xff}.${i & 0xff}`,
  userAgent: uaUniverse[i % uaUniverse.length] ?? '',
}));
async function visitorIdsSequential(): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const pair of pairs) sink += (await visitorId({ salt, ip: pair.ip, userAgent: pair.userAgent, projectId: 'bench' })).length;
  return Number(process.hrtime.bigint() - t0) / 1000 / pairs.length;
}
async function visitorIdsParallel(inFlight: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < pairs.length; i += inFlight) {
    const chunk = pairs.slice(i, i + inFlight);
    const ids = await Promise.all(chunk.map((pair) => visitorId({ salt, ip: pair.ip, userAgent: pair.userAgent, projectId: 'bench' })));
    sink += ids.length;
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / pairs.length;
}
await visitorIdsSequential(); // warm-up (and imports the key once)
const seqRuns: number[] = [];
const parRuns: number[] = [];
for (let r = 0; r < REPS; r++) {
  seqRuns.push(await visitorIdsSequential());
  parRuns.push(await visitorIdsParallel(64));
}
const visitorIdUs = median(seqRuns);
const visitorIdParallelUs = median(parRuns);
const durationSec = (performance.now() - started) / 1000;

// ------------------------------------------------------------------ print
const cpus = os.cpus();
const machine = { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
const botShare = contexts.filter((c) => c.bot).length / contexts.length;
const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

console.log(`Edge enrichment, ${EVENTS.toLocaleString('en-US')} synthetic events, ${uaUniverse.length} distinct UAs (Zipf 1.1), median of ${REPS}${quick ? '  [--quick]' : ''}`);
console.log(`machine: ${machine.cpus} x ${machine.model}, node ${machine.node}`);
console.log(`traffic: ${Math.round(botShare * 1000) / 10}% bot, ${Math.round((publicUas.length / EVENTS) * 100)}% public-key with UA\n`);
const rows: Array<[string, string]> = [
  ['validateEvent', `${validateNs.toFixed(0)} ns/event`],
  ['enrich, 1 event/request (geo + isBot + enrichEvent)', `${enrichNs.toFixed(0)} ns/event`],
  [`enrich, ${BATCH} events/request`, `${enrichBatchedNs.toFixed(0)} ns/event`],
  ['enrichEvent alone (context precomputed)', `${enrichOnlyNs.toFixed(0)} ns/event`],
  ['request context (geoFromCf + isBot)', `${requestContextNs.toFixed(0)} ns/request`],
  ['validate + enrich (1 event/request)', `${(validateNs + enrichNs).toFixed(0)} ns/event`],
  ['UA parse, uncached (bowser + isbot)', `${uaUncachedNs.toFixed(0)} ns/parse`],
  ['UA parse, cache hit', `${uaCachedNs.toFixed(0)} ns/parse`],
  [`UA parse, Zipf mix (LRU ${USER_AGENT_CACHE_SIZE}, hit rate ${(uaHitRate * 100).toFixed(1)}%)`, `${uaMixNs.toFixed(0)} ns/parse`],
  ['visitorId HMAC-SHA256, awaited one by one', `${visitorIdUs.toFixed(2)} µs/request`],
  ['visitorId HMAC-SHA256, 64 in flight', `${visitorIdParallelUs.toFixed(2)} µs/request`],
];
for (const [name, value] of rows) console.log(`  ${name.padEnd(58)} ${value.padStart(16)}`);
console.log(`duration ${durationSec.toFixed(1)} s${sink === -1 ? ' ' : ''}`);

console.log(
  JSON.stringify({
    bench: 'enrich',
    quick,
    validate_ns_per_event: round(validateNs),
    enrich_ns_per_event: round(enrichNs),
    enrich_batch10_ns_per_event: round(enrichBatchedNs),
    enrich_event_only_ns: round(enrichOnlyNs),
    request_context_ns: round(requestContextNs),
    visitor_id_us: round(visitorIdUs),
    visitor_id_parallel_us: round(visitorIdParallelUs),
    ua_parse_uncached_ns: round(uaUncachedNs),
    ua_parse_cached_ns: round(uaCachedNs),
    ua_parse_mix_ns: round(uaMixNs),
    ua_cache_hit_rate: round(uaHitRate),
    ua_cache_size: USER_AGENT_CACHE_SIZE,
    distinct_user_agents: uaUniverse.length,
    events: EVENTS,
    bot_share: round(botShare),
    reps: REPS,
    machine,
    date: new Date().toISOString(),
    durationSec: round(durationSec),
  }),
);
