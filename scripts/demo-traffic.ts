/**
 * Synthetic, realistic-looking traffic for the demo dashboard.
 *
 *   node scripts/demo-traffic.ts [--url http://127.0.0.1:8787] [--key <write key>]
 *     [--rate 40] [--duration 0] [--seed 42] [--seeded-ids]
 *
 * Every ~500 ms it POSTs `{ "events": [...] }` to /v1/events. The traffic is a
 * pure function of the seed and the clock (`DemoTraffic`), so tests and replays
 * see the same mix; event ids are random per run unless --seeded-ids, because
 * the server deduplicates by eventId and a second run with the same ids would
 * (correctly) count nothing.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

export const DEMO_EVENT_TYPES = ['page_view', 'ad_click', 'purchase', 'signup', 'error'] as const;
export type DemoEventType = (typeof DEMO_EVENT_TYPES)[number];
export type DeviceType = 'MOBILE' | 'DESKTOP' | 'TABLET';

export interface DemoEvent {
  eventId: string;
  eventType: DemoEventType;
  /** Epoch milliseconds. */
  timestamp: number;
  /** Purchase revenue, two decimals. */
  value?: number;
  userId: string;
  dimensions: {
    country: string;
    deviceType: DeviceType;
    campaignId?: string;
    path?: string;
  };
}

export interface DemoTrafficOptions {
  /** PRNG seed; the same seed and clock give the same events. Default 42. */
  seed?: number;
  /** Mean events per second before waves and bursts. Default 40. */
  rate?: number;
  /** Distinct users, drawn with a Zipf-like skew. Default 3000. */
  users?: number;
  /** Share of events stamped a few seconds in the past (out of order). Default 0.03. */
  outOfOrderShare?: number;
  /** Event id factory. Default: UUIDs from a PRNG seeded by `seed` (deterministic). */
  newEventId?: () => string;
}

/** Share of each type in calm traffic: page views most, errors rare. */
export const BASE_MIX: Readonly<Record<DemoEventType, number>> = {
  page_view: 0.72,
  ad_click: 0.17,
  signup: 0.05,
  purchase: 0.04,
  error: 0.02,
};

const COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ['US', 30], ['IN', 10], ['DE', 9], ['GB', 8], ['BR', 7], ['FR', 6], ['JP', 5], ['CA', 5],
  ['AU', 3], ['NL', 3], ['ES', 3], ['IT', 3], ['MX', 3], ['KR', 2], ['SE', 2], ['PL', 2],
  ['ID', 2], ['TR', 1.5], ['ZA', 1], ['NG', 1], ['AR', 1], ['SG', 1], ['CH', 1], ['IE', 0.5],
];
const DEVICES: ReadonlyArray<readonly [DeviceType, number]> = [['MOBILE', 56], ['DESKTOP', 37], ['TABLET', 7]];
const CAMPAIGNS: ReadonlyArray<readonly [string, number]> = [
  ['camp_5541', 32], ['camp_5542', 24], ['camp_6010', 16], ['camp_6011', 12], ['camp_7203', 10], ['camp_7777', 6],
];
const PATHS: ReadonlyArray<readonly [string, number]> = [
  ['/', 22], ['/pricing', 10], ['/docs', 9], ['/docs/getting-started', 6], ['/docs/api', 4], ['/blog', 5],
  ['/blog/edge-analytics', 4], ['/products', 10], ['/products/:id', 16], ['/cart', 6], ['/checkout', 3], ['/signup', 5],
];
const PRODUCT_COUNT = 48;

/** Bursts: a campaign goes viral, a flash sale, an incident, or a traffic spike. */
type BurstKind = 'campaign' | 'sale' | 'incident' | 'spike';
interface Burst {
  kind: BurstKind;
  endsAt: number;
  /** Multiplies the weight of each type while the burst lasts. */
  boost: Readonly<Partial<Record<DemoEventType, number>>>;
  campaignId: string | null;
}
const MEAN_BURST_GAP_MS = 3 * 60_000;

/** Gentle "time of day" in minutes instead of hours so a 30-minute chart shows it. */
const WAVE_PERIOD_MS = 16 * 60_000;
const WAVE_AMPLITUDE = 0.3;
const RIPPLE_PERIOD_MS = 3.7 * 60_000;
const RIPPLE_AMPLITUDE = 0.08;

/** sfc32 seeded through splitmix32: small, fast, and good enough for traffic. */
export function createRandom(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** RFC 4122 version-4 UUIDs from a seeded PRNG. */
export function seededUuidFactory(seed: number): () => string {
  const random = createRandom(seed ^ 0x5eed1d5);
  return () => {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = Math.floor(random() * 256);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

class WeightedPicker<T> {
  readonly items: readonly T[];
  private readonly cumulative: Float64Array;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    this.items = entries.map(([item]) => item);
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    entries.forEach(([, weight], i) => {
      sum += weight;
      this.cumulative[i] = sum;
    });
  }

  pick(random: () => number): T {
    const total = this.cumulative[this.cumulative.length - 1] ?? 0;
    const target = random() * total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    const item = this.items[lo];
    if (item === undefined) throw new Error('WeightedPicker is empty');
    return item;
  }
}

interface DemoUser {
  id: string;
  country: string;
  device: DeviceType;
}

/**
 * The traffic model. `batch(now, interval)` returns the events of the
 * interval ending at `now`; calling it with the same sequence of clocks on a
 * generator with the same options returns the same events.
 */
export class DemoTraffic {
  readonly rate: number;
  private readonly random: () => number;
  private readonly newEventId: () => string;
  private readonly outOfOrderShare: number;
  private readonly users: DemoUser[];
  private readonly userPicker: WeightedPicker<number>;
  private readonly countries = new WeightedPicker(COUNTRIES);
  private readonly devices = new WeightedPicker(DEVICES);
  private readonly campaigns = new WeightedPicker(CAMPAIGNS);
  private readonly paths = new WeightedPicker(PATHS);
  private readonly wavePhase: number;
  private burst: Burst | null = null;

  constructor(options: DemoTrafficOptions = {}) {
    const seed = options.seed ?? 42;
    const userCount = options.users ?? 3000;
    this.rate = options.rate ?? 40;
    this.outOfOrderShare = options.outOfOrderShare ?? 0.03;
    if (!Number.isInteger(seed)) throw new RangeError('seed must be an integer');
    if (!(this.rate > 0) || !Number.isFinite(this.rate)) throw new RangeError('rate must be a positive number');
    if (!Number.isInteger(userCount) || userCount < 1) throw new RangeError('users must be a positive integer');
    if (!(this.outOfOrderShare >= 0 && this.outOfOrderShare <= 1)) throw new RangeError('outOfOrderShare must be in [0, 1]');

    this.random = createRandom(seed);
    this.newEventId = options.newEventId ?? seededUuidFactory(seed);
    this.wavePhase = this.random() * WAVE_PERIOD_MS;

    // Users have a home country and a main device; ids are shuffled so the
    // heaviest users are not simply usr_1, usr_2, ...
    const ids = Array.from({ length: userCount }, (_, i) => i + 1);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j] ?? 0, ids[i] ?? 0];
    }
    this.users = ids.map((n) => ({
      id: `usr_${n}`,
      country: this.countries.pick(this.random),
      device: this.devices.pick(this.random),
    }));
    // Zipf-like: the user at rank k is active in proportion to 1 / k^0.75, so
    // the top 1 % of users make about a fifth of the traffic.
    this.userPicker = new WeightedPicker(this.users.map((_, rank) => [rank, 1 / (rank + 1) ** 0.75] as const));
  }

  /** Expected events per second at `nowMs`, waves and any running burst included. */
  rateAt(nowMs: number): number {
    return this.rate * this.waveAt(nowMs) * this.burstFactor();
  }

  /** Events of the interval (nowMs - intervalMs, nowMs]. */
  batch(nowMs: number, intervalMs: number): DemoEvent[] {
    this.updateBurst(nowMs, intervalMs);
    const count = poisson(this.random, (this.rateAt(nowMs) * intervalMs) / 1000);
    const weights = this.typeWeights();
    const types = new WeightedPicker(DEMO_EVENT_TYPES.map((t) => [t, weights[t]] as const));
    const events: DemoEvent[] = [];
    for (let i = 0; i < count; i++) events.push(this.event(types.pick(this.random), nowMs, intervalMs));
    return events;
  }

  /** The burst running after the last `batch` call, for status lines. */
  currentBurst(): { kind: BurstKind; endsAt: number } | null {
    return this.burst ? { kind: this.burst.kind, endsAt: this.burst.endsAt } : null;
  }

  private event(eventType: DemoEventType, nowMs: number, intervalMs: number): DemoEvent {
    const user = this.users[this.userPicker.pick(this.random)];
    if (!user) throw new Error('no users');
    // Most events happened during the interval; a few arrive seconds late.
    const late = this.random() < this.outOfOrderShare;
    const timestamp = late
      ? Math.floor(nowMs - intervalMs - 1000 - this.random() * 6000)
      : Math.floor(nowMs - this.random() * intervalMs);
    const deviceType = this.random() < 0.9 ? user.device : this.devices.pick(this.random);
    const event: DemoEvent = {
      eventId: this.newEventId(),
      eventType,
      timestamp,
      userId: user.id,
      dimensions: { country: user.country, deviceType },
    };
    if (eventType === 'page_view') event.dimensions.path = this.pickPath();
    if (eventType === 'ad_click' || eventType === 'purchase' || eventType === 'signup') {
      const focus = this.burst?.campaignId;
      event.dimensions.campaignId = focus && this.random() < 0.6 ? focus : this.campaigns.pick(this.random);
    }
    if (eventType === 'purchase') event.value = this.purchaseValue();
    return event;
  }

  private pickPath(): string {
    const path = this.paths.pick(this.random);
    return path === '/products/:id' ? `/products/${1 + Math.floor(this.random() * PRODUCT_COUNT)}` : path;
  }

  /** Log-normal around 45 with a long tail, clamped to 5..300, in cents. */
  private purchaseValue(): number {
    const amount = Math.exp(Math.log(45) + 0.75 * gaussian(this.random));
    return Math.round(Math.min(300, Math.max(5, amount)) * 100) / 100;
  }

  private waveAt(nowMs: number): number {
    const slow = Math.sin((2 * Math.PI * (nowMs + this.wavePhase)) / WAVE_PERIOD_MS);
    const ripple = Math.sin((2 * Math.PI * nowMs) / RIPPLE_PERIOD_MS + 1);
    return 1 + WAVE_AMPLITUDE * slow + RIPPLE_AMPLITUDE * ripple;
  }

  private typeWeights(): Record<DemoEventType, number> {
    const weights = { ...BASE_MIX };
    for (const type of DEMO_EVENT_TYPES) weights[type] *= this.burst?.boost[type] ?? 1;
    return weights;
  }

  /** Total weight relative to calm traffic: a burst adds events, it does not steal them. */
  private burstFactor(): number {
    const weights = this.typeWeights();
    let sum = 0;
    for (const type of DEMO_EVENT_TYPES) sum += weights[type];
    return sum;
  }

  private updateBurst(nowMs: number, intervalMs: number): void {
    if (this.burst && nowMs >= this.burst.endsAt) this.burst = null;
    if (this.burst || this.random() >= intervalMs / MEAN_BURST_GAP_MS) return;
    const endsAt = nowMs + 10_000 + this.random() * 35_000;
    const strength = 1.8 + this.random() * 1.7;
    const roll = this.random();
    if (roll < 0.35) {
      this.burst = { kind: 'campaign', endsAt, boost: { ad_click: strength * 1.5, signup: strength }, campaignId: this.campaigns.pick(this.random) };
    } else if (roll < 0.6) {
      this.burst = { kind: 'sale', endsAt, boost: { purchase: strength * 1.6, page_view: 1.3 }, campaignId: null };
    } else if (roll < 0.8) {
      this.burst = { kind: 'incident', endsAt, boost: { error: strength * 3 }, campaignId: null };
    } else {
      const all = { page_view: strength, ad_click: strength, purchase: strength, signup: strength, error: strength };
      this.burst = { kind: 'spike', endsAt, boost: all, campaignId: null };
    }
  }
}

/** Batches of a simulated clock: for tests and for backfilling history. */
export function* generateDemoEvents(
  options: DemoTrafficOptions & { startMs: number; intervalMs?: number },
): Generator<DemoEvent[], never, void> {
  const traffic = new DemoTraffic(options);
  const interval = options.intervalMs ?? 500;
  for (let now = options.startMs; ; now += interval) yield traffic.batch(now, interval);
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

// ---------------------------------------------------------------------------
// Sending

export interface SendStats {
  generated: number;
  /** Events in requests the server answered (2xx or a final 4xx). */
  sent: number;
  accepted: number;
  /** Per-event rejections reported in a 2xx answer, plus events of batches refused with a 4xx. */
  rejected: number;
  duplicates: number;
  /** Failed requests: network errors, timeouts and non-2xx answers (each retry counts). */
  httpErrors: number;
  /** Events given up on because the queue overflowed while the server was unreachable. */
  dropped: number;
  lastError: string | null;
}

export interface DemoSenderOptions {
  url: string;
  key?: string | null;
  /** Largest request, in events; the Worker's MAX_EVENTS_PER_REQUEST is 1000. */
  maxBatch?: number;
  /** Queued events beyond this are dropped, oldest first. */
  maxQueuedEvents?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  requestTimeoutMs?: number;
}

type SendOutcome =
  | { kind: 'done'; accepted: number; rejected: number; duplicates: number }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'retry'; message: string; retryAfterMs: number | null };

/**
 * Delivers batches in order, one request at a time. A failed batch is retried
 * unchanged (same event ids, so the server's dedup makes the retry harmless)
 * with full-jitter backoff; a refused one (4xx) is not retried.
 */
export class DemoSender {
  readonly stats: SendStats = {
    generated: 0, sent: 0, accepted: 0, rejected: 0, duplicates: 0, httpErrors: 0, dropped: 0, lastError: null,
  };
  /** Failed attempts in a row; 0 while the server is healthy. */
  failures = 0;
  private readonly queue: DemoEvent[][] = [];
  private queuedEvents = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly endpoint: string;
  private readonly options: Required<Omit<DemoSenderOptions, 'key'>> & { key: string | null };

  constructor(options: DemoSenderOptions) {
    this.endpoint = new URL('/v1/events', options.url).toString();
    this.options = {
      url: options.url,
      key: options.key ?? null,
      maxBatch: options.maxBatch ?? 500,
      maxQueuedEvents: options.maxQueuedEvents ?? 20_000,
      fetch: options.fetch ?? globalThis.fetch,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      backoffBaseMs: options.backoffBaseMs ?? 250,
      backoffCapMs: options.backoffCapMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    };
  }

  get pendingEvents(): number {
    return this.queuedEvents;
  }

  enqueue(events: DemoEvent[]): void {
    this.stats.generated += events.length;
    for (let i = 0; i < events.length; i += this.options.maxBatch) {
      const chunk = events.slice(i, i + this.options.maxBatch);
      this.queue.push(chunk);
      this.queuedEvents += chunk.length;
    }
    while (this.queuedEvents > this.options.maxQueuedEvents && this.queue.length > 1) {
      const oldest = this.queue.splice(1, 1)[0] ?? []; // index 0 may be in flight
      this.queuedEvents -= oldest.length;
      this.stats.dropped += oldest.length;
    }
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Waits until the queue is empty or `timeoutMs` passed; then stops retrying. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = this.running ? this.running.then(() => true) : Promise.resolve(true);
    const flushed = await Promise.race([done, timeout]);
    clearTimeout(timer);
    this.stopped = true;
    return flushed && this.queuedEvents === 0;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue[0];
      if (!batch) break;
      const outcome = await this.post(batch);
      if (outcome.kind === 'retry') {
        this.failures++;
        this.stats.httpErrors++;
        this.stats.lastError = outcome.message;
        const ceiling = Math.min(this.options.backoffCapMs, this.options.backoffBaseMs * 2 ** (this.failures - 1));
        await this.options.sleep(Math.max(outcome.retryAfterMs ?? 0, Math.random() * ceiling));
        continue;
      }
      this.queue.shift();
      this.queuedEvents -= batch.length;
      this.failures = 0;
      this.stats.sent += batch.length;
      if (outcome.kind === 'done') {
        this.stats.accepted += outcome.accepted;
        this.stats.rejected += outcome.rejected;
        this.stats.duplicates += outcome.duplicates;
      } else {
        this.stats.httpErrors++;
        this.stats.rejected += batch.length;
        this.stats.lastError = `HTTP ${outcome.status}: ${outcome.message}`;
      }
    }
  }

  private async post(batch: DemoEvent[]): Promise<SendOutcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      text = await response.text();
    } catch (err) {
      return { kind: 'retry', message: describeNetworkError(err), retryAfterMs: null };
    }
    const body = parseJson(text);
    if (response.ok) return { kind: 'done', ...countResult(body, batch.length) };
    const message = errorMessage(body) ?? (response.statusText || 'error');
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        kind: 'retry',
        message: `HTTP ${response.status}: ${message}`,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : null,
      };
    }
    return { kind: 'refused', status: response.status, message };
  }
}

/**
 * Reads the ingest answer leniently: `accepted` as a count, `rejected` (or
 * `rejections`) as a count or a list, `duplicates` as a count.
 */
export function countResult(body: unknown, sent: number): { accepted: number; rejected: number; duplicates: number } {
  const o = isRecord(body) ? body : {};
  const listOrCount = (v: unknown): number | null => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : null);
  const rejected = listOrCount(o.rejected) ?? listOrCount(o.rejections) ?? 0;
  const accepted = typeof o.accepted === 'number' ? o.accepted : Math.max(0, sent - rejected);
  const duplicates = typeof o.duplicates === 'number' ? o.duplicates : 0;
  return { accepted, rejected, duplicates };
}

function errorMessage(body: unknown): string | null {
  if (!isRecord(body) || !isRecord(body.error)) return null;
  const { code, message } = body.error;
  return [typeof code === 'string' ? code : null, typeof message === 'string' ? message : null].filter(Boolean).join(': ') || null;
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'request timed out';
    const cause: unknown = err.cause;
    if (isRecord(cause) && typeof cause.code === 'string') return cause.code;
    return err.message;
  }
  return String(err);
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------
// CLI

const USAGE = `Usage: node scripts/demo-traffic.ts [options]
  --url <url>        edgepulse base URL (default http://127.0.0.1:8787)
  --key <key>        write key, sent as "Authorization: Bearer <key>" (default $EDGEPULSE_WRITE_KEY)
  --rate <n>         mean events per second (default 40)
  --duration <s>     seconds to run, 0 = until Ctrl-C (default 0)
  --seed <n>         PRNG seed for the traffic shape (default 42)
  --seeded-ids       derive event ids from the seed too (a rerun is then fully deduplicated)`;

interface CliOptions {
  url: string;
  key: string | null;
  rate: number;
  durationS: number;
  seed: number;
  seededIds: boolean;
}

export function parseCli(argv: string[], env: Readonly<Record<string, string | undefined>>): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8787' },
      key: { type: 'string' },
      rate: { type: 'string', default: '40' },
      duration: { type: 'string', default: '0' },
      seed: { type: 'string', default: '42' },
      'seeded-ids': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: ${values.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http(s)');
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) throw new UsageError('--rate must be a number in (0, 100000]');
  const durationS = Number(values.duration);
  if (!Number.isFinite(durationS) || durationS < 0) throw new UsageError('--duration must be a number >= 0');
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError('--seed must be an integer');
  const key = values.key ?? env.EDGEPULSE_WRITE_KEY ?? null;
  return { url: url.toString(), key: key || null, rate, durationS, seed, seededIds: values['seeded-ids'] };
}

class UsageError extends Error {}

const TICK_MS = 500;
const STATUS_EVERY_MS = 5000;

async function main(): Promise<void> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (message) console.error(`demo-traffic: ${message}\n`);
    console.error(USAGE);
    process.exitCode = message ? 2 : 0;
    return;
  }

  const traffic = new DemoTraffic({
    seed: cli.seed,
    rate: cli.rate,
    ...(cli.seededIds ? {} : { newEventId: randomUUID }),
  });
  const sender = new DemoSender({ url: cli.url, key: cli.key, maxQueuedEvents: Math.max(2000, cli.rate * 60) });
  const startedAt = Date.now();
  const until = cli.durationS > 0 ? `for ${cli.durationS} s` : 'until Ctrl-C';
  console.log(
    `demo-traffic → ${new URL('/v1/events', cli.url).toString()} · ${cli.rate} events/s · seed ${cli.seed} · ${until}` +
      (cli.key ? ' · with write key' : ''),
  );

  let last = Date.now();
  let lastStatusAt = last;
  let lastSent = 0;
  let stopping = false;

  const printStatus = (final: boolean): void => {
    const now = Date.now();
    const s = sender.stats;
    const perSecond = ((s.sent - lastSent) * 1000) / Math.max(1, now - lastStatusAt);
    lastSent = s.sent;
    lastStatusAt = now;
    const burst = traffic.currentBurst();
    const parts = [
      `${new Date(now).toLocaleTimeString()}`,
      `sent ${s.sent}${final ? '' : ` (${perSecond.toFixed(1)}/s)`}`,
      `accepted ${s.accepted}`,
      `rejected ${s.rejected}`,
      ...(s.duplicates > 0 ? [`duplicates ${s.duplicates}`] : []),
      `http errors ${s.httpErrors}`,
      ...(sender.failures > 0 || sender.pendingEvents > cli.rate ? [`queued ${sender.pendingEvents}`] : []),
      ...(s.dropped > 0 ? [`dropped ${s.dropped}`] : []),
      ...(burst && !final ? [`burst: ${burst.kind}`] : []),
      ...(sender.failures > 0 && s.lastError ? [`server unreachable (${s.lastError}), retrying`] : []),
    ];
    console.log(parts.join(' · '));
  };

  const timer = setInterval(() => {
    const now = Date.now();
    // Generate for the time that really passed, so a late timer does not lower the rate.
    sender.enqueue(traffic.batch(now, now - last));
    last = now;
    if (now - lastStatusAt >= STATUS_EVERY_MS) printStatus(false);
    if (cli.durationS > 0 && now - startedAt >= cli.durationS * 1000) void stop('duration reached');
  }, TICK_MS);

  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    const flushed = await sender.flush(why === 'interrupted' ? 3000 : 15_000);
    printStatus(true);
    if (!flushed) console.log(`stopped (${why}) with ${sender.pendingEvents} events not delivered`);
    else console.log(`stopped (${why})`);
    // A request still in flight would otherwise hold the process open until its timeout.
    process.exit(0);
  };

  process.on('SIGINT', () => {
    if (stopping) process.exit(130); // second Ctrl-C: do not wait for the flush
    void stop('interrupted');
  });
  process.on('SIGTERM', () => void stop('terminated'));
}

if (import.meta.main) await main();
