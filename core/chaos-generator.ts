/**
 * The ground-truth chaos test's pure half (issue 7): a seeded generator of an
 * event stream and a fault schedule, and the ground truth that stream must
 * leave in ClickHouse. No I/O and no clock: the runner (test/chaos/runner.ts,
 * inside workerd) sends the batches through the real edge Worker and executes
 * the faults; it passes each batch's actual send time to `materializeBatch`,
 * which turns the plan's relative timings into timestamps and tells the
 * `GroundTruth` what the batch must add.
 *
 * Same seed and options, same plan: event ids, users, event types, dimensions,
 * values, malformed events, resends and faults. What depends on the run is
 * only where the stream lands on the clock (timestamps are relative to the
 * moment a batch is first sent), so the truth is exact for every run.
 *
 * The stream (per project, one batch every `batchIntervalMs`):
 * - users drawn from a Zipf(s = 1.1) distribution, a few anonymous events
 *   (their event id is their identity) and some with `userId` inside
 *   `dimensions` (the seed format; it is not a dimension);
 * - `in-order` events: timestamp = send + inOrderLeadMs (+ position in the
 *   batch), so they rise with the stream and their 1-s window is still open
 *   when they arrive (ALLOWED_LATENESS_SECONDS = 0 in tests);
 * - `out-of-order` (rates.outOfOrder): timestamp = send + a lead below the
 *   in-order lead, i.e. earlier than events already sent, yet still on time;
 * - `late` (rates.late): timestamp = send - an age of at least lateMinAgeMs,
 *   in seconds that already had traffic and were flushed: beyond the
 *   lateness bound. Out-of-order and late events are assigned by quota, so
 *   their shares of the valid events are the rates up to an event or two,
 *   in short runs too (late ones only once lateMinAgeMs + 1 s has passed). README ("late events"): counted, as `late_events`, in
 *   additive adjustment rows of their own minute; never dropped. So the truth
 *   counts them in `events`/`value_sum` AND in `late_events`;
 * - malformed events (rates.malformed): each defect has the exact rejection
 *   code the edge must answer; none may be counted;
 * - resends (rates.resend): a client re-sending an earlier batch's exact body
 *   (it never saw the answer): every event is a duplicate, nothing counts;
 * - values are multiples of 0.25 (or integers), so float sums are exact in
 *   any order and value sums can be compared with ===.
 */
import { dimensionsKey, parseDimensionsKey } from './dimensions.ts';
import { USER_SKETCH_PRECISION } from './panes.ts';
import { parseTopic, topicMatches, type Topic } from './topics.ts';

export const MINUTE_MS = 60_000;
/** HLL precision of the stored user sketches (12). */
export const SKETCH_PRECISION = USER_SKETCH_PRECISION;
/** Relative standard error of an HLL with 2^p registers: 1.04 / sqrt(2^p), 1.625 % at p = 12. */
export const SKETCH_STANDARD_ERROR = 1.04 / Math.sqrt(2 ** USER_SKETCH_PRECISION);

/** Per-cell probability the uniques bound may be exceeded by chance. */
export const UNIQUES_TAIL = 1e-9;

/**
 * The uniques bound the chaos test holds each merged sketch to:
 * |estimate - exact| <= max(3, 4 standard errors (p = 12: 4 x 1.625 % x n),
 * the small-set collision tail). For small sets the estimate is linear
 * counting over registers, so its error is (expected - actual) register
 * collisions, and collisions among n users in m = 4096 registers are about
 * Poisson(lambda = n^2 / 2m): the tail term is the smallest k with
 * P(|X - lambda| > k) <= 1e-9, plus 1 for rounding. It matters where 4 SE is
 * smaller than the collision noise: n = 55 gives 9 (a set of 55 came back as
 * 51 in a long run), n = 10 gives 4, n = 10,000 gives 650 (4 SE).
 * This bound is statistical; the test's exact check is that the stored
 * registers equal those of a sketch of the exact user set.
 */
export function uniquesBound(exact: number): number {
  const m = 1 << SKETCH_PRECISION;
  const lambda = (exact * exact) / (2 * m);
  // The collision model holds while the sketch counts linearly (n up to about m); beyond it 4 SE is the bound.
  const collisions = exact <= m ? collisionDeviation(lambda, UNIQUES_TAIL) + 1 : 0;
  return Math.max(3, 4 * SKETCH_STANDARD_ERROR * exact, collisions);
}

/** Smallest integer k with P(|X - lambda| > k) <= tail for X ~ Poisson(lambda). */
export function collisionDeviation(lambda: number, tail: number): number {
  if (lambda <= 0) return 0;
  // Beyond this the normal approximation is tight; z = 6.11 leaves 1e-9 in both tails together.
  if (lambda > 50) return Math.ceil(6.11 * Math.sqrt(lambda));
  const top = Math.ceil(lambda + 40 * Math.sqrt(lambda) + 40);
  const probabilities: number[] = [];
  let p = Math.exp(-lambda);
  for (let x = 0; x <= top; x++) {
    probabilities.push(p);
    p *= lambda / (x + 1);
  }
  for (let k = 0; k <= top; k++) {
    let outside = 0;
    probabilities.forEach((px, x) => {
      if (Math.abs(x - lambda) > k) outside += px;
    });
    if (outside <= tail) return k;
  }
  return top;
}

// ---------------------------------------------------------------- randomness

/** sfc32: a small, fast, well-distributed 32-bit PRNG; fully determined by the seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Picks by weight: [[item, weight], ...]. */
  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, weight] of entries) {
      r -= weight;
      if (r < 0) return item;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new RangeError('weighted pick from an empty list');
    return last[0];
  }
}

/** Ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1)^s. */
export class Zipf {
  readonly n: number;
  private readonly cdf: Float64Array;

  constructor(n: number, s: number) {
    this.n = n;
    if (!Number.isInteger(n) || n < 1) throw new RangeError('Zipf needs n >= 1');
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let k = 0; k < n; k++) {
      total += 1 / (k + 1) ** s;
      this.cdf[k] = total;
    }
    for (let k = 0; k < n; k++) this.cdf[k] = (this.cdf[k] ?? 0) / total;
  }

  sample(rng: Rng): number {
    const r = rng.next();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cdf[mid] ?? 1) > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

// ---------------------------------------------------------------- options

/** One chaos run, as the workers test receives it (npm test: the short variant; npm run chaos: the long one). */
export interface ChaosRunParams {
  variant: 'short' | 'long';
  seed: number;
  /** Items sent (valid + malformed), resends not included. */
  events: number;
  durationMs: number;
  projects: number;
}


export interface ChaosRates {
  /** Valid events sent earlier (in event time) than events already sent, still on time. */
  outOfOrder: number;
  /** Valid events for windows that had already closed and been flushed. */
  late: number;
  /** Batches a client sends a second time, unchanged. */
  resend: number;
  /** Items the edge must reject. */
  malformed: number;
  /** Valid events without any userId (the event id is the identity). */
  anonymous: number;
  /** Valid events carrying userId inside dimensions (seed format). */
  userIdInDimensions: number;
}

export interface ChaosTiming {
  /** in-order timestamp = send + this (+ the event's position within the batch interval). */
  inOrderLeadMs: number;
  /** out-of-order timestamp = send + uniform [min, max]; max < inOrderLeadMs - batchIntervalMs. */
  outOfOrderLeadMs: readonly [number, number];
  /** A late event's timestamp is at least this long before its send time. */
  lateMinAgeMs: number;
  /** ... and at most this long (and never before the run started). */
  lateMaxAgeMs: number;
}

export interface ChaosFaultCounts {
  clickhouseDown: number;
  lostResponse: number;
  abortMidWindow: number;
  abortMidFlush: number;
  duplicateAlarm: number;
  viewerDisconnect: number;
}

export interface ChaosOptions {
  seed: number;
  /** Items to send (valid + malformed), resends not included. */
  events: number;
  /** How long the stream is sent for. */
  durationMs: number;
  projects: number;
  shardCount: number;
  batchIntervalMs: number;
  rates: ChaosRates;
  timing: ChaosTiming;
  faults: ChaosFaultCounts;
  /** Outage length range for clickhouse-down faults. */
  outageMs: readonly [number, number];
}

export const DEFAULT_RATES: ChaosRates = { outOfOrder: 0.05, late: 0.01, resend: 0.02, malformed: 0.01, anonymous: 0.03, userIdInDimensions: 0.1 };

export const DEFAULT_TIMING: ChaosTiming = { inOrderLeadMs: 4500, outOfOrderLeadMs: [2000, 3500], lateMinAgeMs: 4000, lateMaxAgeMs: 10 * MINUTE_MS };

/** Faults scale with the run: about this many per minute of stream (at least the short variant's). */
export function defaultFaultCounts(durationMs: number): ChaosFaultCounts {
  const minutes = durationMs / MINUTE_MS;
  const scaled = (perMinute: number, atLeast: number): number => Math.max(atLeast, Math.round(perMinute * minutes));
  return {
    clickhouseDown: scaled(1, 1),
    lostResponse: scaled(4, 2),
    abortMidWindow: scaled(6, 3),
    abortMidFlush: scaled(2, 1),
    duplicateAlarm: scaled(4, 2),
    viewerDisconnect: scaled(3, 2),
  };
}

export function resolveOptions(partial: Partial<ChaosOptions> & Pick<ChaosOptions, 'seed' | 'events' | 'durationMs'>): ChaosOptions {
  const durationMs = partial.durationMs;
  const options: ChaosOptions = {
    seed: partial.seed,
    events: partial.events,
    durationMs,
    projects: partial.projects ?? 3,
    shardCount: partial.shardCount ?? 4,
    batchIntervalMs: partial.batchIntervalMs ?? 250,
    rates: { ...DEFAULT_RATES, ...partial.rates },
    timing: { ...DEFAULT_TIMING, ...partial.timing },
    faults: partial.faults ?? defaultFaultCounts(durationMs),
    outageMs: partial.outageMs ?? (durationMs <= 30_000 ? [3000, 4000] : [5000, 12_000]),
  };
  const { timing } = options;
  if (timing.outOfOrderLeadMs[1] >= timing.inOrderLeadMs - options.batchIntervalMs) {
    throw new RangeError('out-of-order leads must stay below the in-order lead of the previous batch');
  }
  if (timing.outOfOrderLeadMs[0] < 1000) throw new RangeError('out-of-order events need >= 1 s of lead to stay on time');
  if (options.projects < 1 || options.projects > 26) throw new RangeError('projects must be in 1..26');
  return options;
}

// ---------------------------------------------------------------- plan

export type TimestampFormat = 'ms' | 'seconds' | 'iso';
export type EventTiming = 'in-order' | 'out-of-order' | 'late';
export type DimensionValue = string | number | boolean;

export interface PlannedEvent {
  kind: 'valid';
  eventId: string;
  eventType: string;
  /** null: anonymous. */
  userId: string | null;
  userIdInDimensions: boolean;
  /** null: the field is omitted (counts as 0). */
  value: number | null;
  /** As sent: numbers and booleans become strings at the edge; undeclared keys are dropped by the shard. */
  dimensions: Record<string, DimensionValue>;
  timing: EventTiming;
  /** timestamp = send time + offsetMs (negative for late events). */
  offsetMs: number;
  format: TimestampFormat;
}

export type Defect =
  | 'bad_event_type'
  | 'missing_event_type'
  | 'unparsable_timestamp'
  | 'future_timestamp'
  | 'too_old_timestamp'
  | 'string_value'
  | 'huge_value'
  | 'nested_dimension'
  | 'too_many_dimensions'
  | 'empty_event_id'
  | 'numeric_user_id'
  | 'bad_dimension_key'
  | 'not_an_object';

/** The code the edge answers for each defect (core/events.ts). */
export const DEFECT_CODES: Readonly<Record<Defect, string>> = {
  bad_event_type: 'invalid_event_type',
  missing_event_type: 'invalid_event_type',
  unparsable_timestamp: 'invalid_timestamp',
  future_timestamp: 'timestamp_in_future',
  too_old_timestamp: 'timestamp_too_old',
  string_value: 'invalid_value',
  huge_value: 'invalid_value',
  nested_dimension: 'invalid_dimension_value',
  too_many_dimensions: 'too_many_dimensions',
  empty_event_id: 'invalid_event_id',
  numeric_user_id: 'invalid_user_id',
  bad_dimension_key: 'invalid_dimension_key',
  not_an_object: 'invalid_event',
};

const DEFECTS = Object.keys(DEFECT_CODES) as Defect[];

export interface PlannedMalformed {
  kind: 'malformed';
  defect: Defect;
  expectedCode: string;
  /** The string event id it carries, if any: it must never reach ClickHouse. */
  eventId: string | null;
  offsetMs: number;
}

export type PlannedItem = PlannedEvent | PlannedMalformed;

export interface PlannedBatch {
  /** Unique over the plan; ids of its events derive from it. */
  id: number;
  project: number;
  /** When to send it, relative to the run's start. */
  sendAtMs: number;
  /** Set on a resend: the id of the batch whose exact body is sent again. */
  resendOf: number | null;
  /** Empty for resends. */
  items: PlannedItem[];
}

export type PlannedFault =
  | { kind: 'clickhouse-down'; atMs: number; project: number; durationMs: number }
  | { kind: 'lost-response'; atMs: number; project: number; shard: number; count: number }
  | { kind: 'abort-mid-window'; atMs: number; project: number; shard: number }
  | { kind: 'abort-mid-flush'; atMs: number; project: number; shard: number }
  | { kind: 'duplicate-alarm'; atMs: number; project: number; shard: number }
  | { kind: 'viewer-disconnect'; atMs: number; viewer: number; downMs: number; resume: boolean };

export type FaultKind = PlannedFault['kind'];

export interface ProjectSpec {
  label: string;
  /** null: every dimension is kept. */
  declaredDimensions: string[] | null;
}

export interface ViewerSpec {
  project: number;
  topics: string[];
}

export interface PlanCounts {
  items: number;
  valid: number;
  malformed: number;
  inOrder: number;
  outOfOrder: number;
  late: number;
  anonymous: number;
  userIdInDimensions: number;
  batches: number;
  resends: number;
  resentItems: number;
  byDefect: Partial<Record<Defect, number>>;
}

export interface ChaosPlan {
  options: ChaosOptions;
  projects: ProjectSpec[];
  viewers: ViewerSpec[];
  /** Sorted by sendAtMs (then id). */
  batches: PlannedBatch[];
  /** Sorted by atMs. */
  faults: PlannedFault[];
  counts: PlanCounts;
}

const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'IN', 'BR', 'JP', 'CA', 'AU', 'NL', 'ES', 'SE'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
/** Values that need percent-encoding in dims keys and topics. */
const PATHS = ['/', '/pricing', '/docs', '/checkout?step=2', '/blog/a:b', '/café', '/search?q=x&y=1', '/about', '/login', '/signup', '/cart', '/account'];
const ELEMENTS = ['buy', 'nav', 'hero', 'footer', 'search', 'share', 'like', 'close'];
const PLANS = ['free', 'pro', 'team'];
const CURRENCIES = ['USD', 'EUR', 'JPY'];
const ERROR_CODES = [400, 401, 404, 429, 500, 503];
const REGIONS = ['eu-west', 'us-east', 'ap-south', 'sa-east', 'af-north'];
/** Every dimension the generator uses, except the declared project's undeclared one. */
export const KNOWN_DIMENSIONS = ['path', 'country', 'device', 'element', 'beta', 'plan', 'currency', 'tier', 'code', 'region'];
export const UNDECLARED_DIMENSION = 'experiment';

const EVENT_TYPES: ReadonlyArray<readonly [string, number]> = [
  ['page_view', 45],
  ['click', 25],
  ['purchase', 8],
  ['signup', 5],
  ['error', 7],
  ['metric.latency', 10],
];

function projectSpecs(count: number): ProjectSpec[] {
  // The last project (when there are several) declares its dimensions: events also carry an undeclared one, which is dropped.
  return Array.from({ length: count }, (_, i) => ({ label: `p${i}`, declaredDimensions: count > 1 && i === count - 1 ? [...KNOWN_DIMENSIONS] : null }));
}

function viewerSpecs(projects: ProjectSpec[]): ViewerSpec[] {
  const viewers: ViewerSpec[] = projects.map((project, index) => ({
    project: index,
    topics: [
      'metrics:*',
      'metrics:page_view',
      'value_sum:purchase',
      'metrics:click:country:DE',
      'value_sum:metric.latency:region:eu-west',
      `metrics:page_view:path:${encodeURIComponent('/checkout?step=2')}`,
      ...(project.declaredDimensions !== null ? [`metrics:*:${UNDECLARED_DIMENSION}:A`] : []),
    ],
  }));
  // A second viewer on the first project, sharing one topic with the first viewer.
  viewers.push({ project: 0, topics: ['metrics:*', 'value_sum:*', 'metrics:signup:plan:pro', 'metrics:error:code:500'] });
  return viewers;
}

interface ProjectState {
  users: Zipf;
  countries: Zipf;
  paths: Zipf;
}

function plannedEvent(rng: Rng, state: ProjectState, spec: ProjectSpec, eventId: string, timing: EventTiming, offsetMs: number, rates: ChaosRates): PlannedEvent {
  const eventType = rng.weighted(EVENT_TYPES);
  const country = COUNTRIES[state.countries.sample(rng)] ?? 'US';
  let dimensions: Record<string, DimensionValue>;
  let value: number | null = null;
  switch (eventType) {
    case 'page_view':
      dimensions = { path: PATHS[state.paths.sample(rng)] ?? '/', country, device: rng.pick(DEVICES) };
      break;
    case 'click':
      dimensions = { element: rng.pick(ELEMENTS), country, device: rng.pick(DEVICES), beta: rng.chance(0.3) };
      value = 1;
      break;
    case 'purchase': {
      const cents = rng.int(4, 2000) * 0.25;
      value = rng.chance(0.05) ? -cents : cents;
      dimensions = { plan: rng.pick(PLANS), country, currency: rng.pick(CURRENCIES), tier: rng.int(1, 3) };
      break;
    }
    case 'signup':
      dimensions = { plan: rng.pick(PLANS), country };
      value = rng.chance(0.5) ? 0 : null;
      break;
    case 'error':
      dimensions = { code: rng.pick(ERROR_CODES), device: rng.pick(DEVICES) };
      break;
    default:
      dimensions = { region: rng.pick(REGIONS) };
      value = rng.int(1, 2000);
  }
  if (spec.declaredDimensions !== null && rng.chance(0.4)) dimensions[UNDECLARED_DIMENSION] = rng.pick(['A', 'B']);
  const anonymous = rng.chance(rates.anonymous);
  const userId = anonymous ? null : `${spec.label}-u${state.users.sample(rng)}`;
  const userIdInDimensions = userId !== null && rng.chance(rates.userIdInDimensions);
  const format = rng.weighted<TimestampFormat>([['ms', 60], ['iso', 25], ['seconds', 15]]);
  return { kind: 'valid', eventId, eventType, userId, userIdInDimensions, value, dimensions, timing, offsetMs, format };
}

export function generateChaosPlan(options: ChaosOptions): ChaosPlan {
  const rng = new Rng(options.seed);
  const projects = projectSpecs(options.projects);
  const viewers = viewerSpecs(projects);
  const { rates, timing, batchIntervalMs, durationMs } = options;
  const perProjectItems = options.events / options.projects;
  const states: ProjectState[] = projects.map(() => ({
    users: new Zipf(Math.max(40, Math.round(perProjectItems / 8)), 1.1),
    countries: new Zipf(COUNTRIES.length, 1.2),
    paths: new Zipf(PATHS.length, 1.0),
  }));

  // Slots: one per project per interval; items spread over them at random (empty slots send nothing).
  const slotsPerProject = Math.max(1, Math.floor(durationMs / batchIntervalMs));
  const slotCount = slotsPerProject * options.projects;
  if (options.events / slotCount > 900) throw new RangeError('too many events per batch: lower events or raise durationMs / lower batchIntervalMs');
  const sizes = new Uint32Array(slotCount);
  for (let i = 0; i < options.events; i++) {
    const slot = Math.floor(rng.next() * slotCount);
    sizes[slot] = (sizes[slot] ?? 0) + 1;
  }

  const counts: PlanCounts = {
    items: 0, valid: 0, malformed: 0, inOrder: 0, outOfOrder: 0, late: 0, anonymous: 0, userIdInDimensions: 0,
    batches: 0, resends: 0, resentItems: 0, byDefect: {},
  };
  const batches: PlannedBatch[] = [];
  let nextId = 1;
  for (let project = 0; project < options.projects; project++) {
    const spec = projects[project];
    const state = states[project];
    if (spec === undefined || state === undefined) throw new Error('unreachable');
    // Projects start a little apart so their requests interleave.
    const phase = Math.round((project * batchIntervalMs) / options.projects);
    // Timing kinds by quota, not by coin: each valid event adds its rate to what is owed, and an event
    // takes the kind when a whole one is owed (random phase per project). The realized shares are the
    // planned ones up to one event, whatever the run's length. A late event needs closed, flushed
    // seconds of this run behind it, so only batches sent after lateEligibleMs can carry one; they
    // carry the whole project's late share (rates.late x items / eligible items).
    const lateEligibleMs = timing.lateMinAgeMs + 1000;
    const eligibleSlot = (slot: number): boolean => slot * batchIntervalMs + phase >= lateEligibleMs;
    let projectItems = 0;
    let eligibleItems = 0;
    for (let slot = 0; slot < slotsPerProject; slot++) {
      const size = sizes[project * slotsPerProject + slot] ?? 0;
      projectItems += size;
      if (eligibleSlot(slot)) eligibleItems += size;
    }
    const lateQuota = eligibleItems > 0 ? Math.min(1, (rates.late * projectItems) / eligibleItems) : 0;
    let lateOwed = rng.next();
    let outOfOrderOwed = rng.next();
    for (let slot = 0; slot < slotsPerProject; slot++) {
      const size = sizes[project * slotsPerProject + slot] ?? 0;
      if (size === 0) continue;
      const sendAtMs = slot * batchIntervalMs + phase + rng.int(0, Math.floor(batchIntervalMs / 5));
      const id = nextId++;
      const items: PlannedItem[] = [];
      for (let i = 0; i < size; i++) {
        const eventId = `e${id}.${i}`;
        if (rng.chance(rates.malformed)) {
          const defect = rng.pick(DEFECTS);
          const carriesId = defect !== 'empty_event_id' && defect !== 'not_an_object';
          items.push({ kind: 'malformed', defect, expectedCode: DEFECT_CODES[defect], eventId: carriesId ? `${eventId}.bad` : null, offsetMs: timing.inOrderLeadMs });
          counts.malformed++;
          counts.byDefect[defect] = (counts.byDefect[defect] ?? 0) + 1;
          continue;
        }
        const lateAge = Math.min(sendAtMs, timing.lateMaxAgeMs);
        if (eligibleSlot(slot)) lateOwed += lateQuota;
        outOfOrderOwed += rates.outOfOrder;
        let kind: EventTiming;
        let offsetMs: number;
        if (lateOwed >= 1) {
          lateOwed -= 1;
          kind = 'late';
          offsetMs = -Math.round(rng.between(timing.lateMinAgeMs, lateAge));
        } else if (outOfOrderOwed >= 1) {
          outOfOrderOwed -= 1;
          kind = 'out-of-order';
          offsetMs = Math.round(rng.between(timing.outOfOrderLeadMs[0], timing.outOfOrderLeadMs[1]));
        } else {
          kind = 'in-order';
          offsetMs = timing.inOrderLeadMs + Math.floor((i * batchIntervalMs) / size);
        }
        const event = plannedEvent(rng, state, spec, eventId, kind, offsetMs, rates);
        items.push(event);
        counts.valid++;
        if (kind === 'late') counts.late++;
        else if (kind === 'out-of-order') counts.outOfOrder++;
        else counts.inOrder++;
        if (event.userId === null) counts.anonymous++;
        if (event.userIdInDimensions) counts.userIdInDimensions++;
      }
      counts.items += size;
      counts.batches++;
      batches.push({ id, project, sendAtMs, resendOf: null, items });
      if (rng.chance(rates.resend)) {
        batches.push({ id: nextId++, project, sendAtMs: sendAtMs + rng.int(300, 3000), resendOf: id, items: [] });
        counts.resends++;
        counts.resentItems += size;
      }
    }
  }
  batches.sort((a, b) => a.sendAtMs - b.sendAtMs || a.id - b.id);
  const faults = planFaults(rng, options, viewers.length);
  return { options, projects, viewers, batches, faults, counts };
}

function planFaults(rng: Rng, options: ChaosOptions, viewerCount: number): PlannedFault[] {
  const { durationMs, projects, shardCount, faults: n } = options;
  const faults: PlannedFault[] = [];
  const time = (): number => Math.round(rng.between(1000, Math.max(1500, durationMs - 2000)));
  const outages: Array<{ project: number; from: number; to: number }> = [];
  for (let i = 0; i < n.clickhouseDown; i++) {
    const project = i % projects;
    const durationOfOutage = Math.round(rng.between(options.outageMs[0], options.outageMs[1]));
    const atMs = Math.round(rng.between(1000, Math.max(1500, durationMs - durationOfOutage - 1000)));
    faults.push({ kind: 'clickhouse-down', atMs, project, durationMs: durationOfOutage });
    outages.push({ project, from: atMs - 1500, to: atMs + durationOfOutage + 1500 });
  }
  // Faults that set a fault-proxy rule on a shard stay clear of their project's outages (one rule per shard).
  const clearProject = (atMs: number): number => {
    const start = rng.int(0, projects - 1);
    for (let k = 0; k < projects; k++) {
      const project = (start + k) % projects;
      if (!outages.some((o) => o.project === project && atMs >= o.from && atMs <= o.to)) return project;
    }
    return start;
  };
  for (let i = 0; i < n.lostResponse; i++) {
    const atMs = time();
    faults.push({ kind: 'lost-response', atMs, project: clearProject(atMs), shard: rng.int(0, shardCount - 1), count: rng.int(1, 2) });
  }
  for (let i = 0; i < n.abortMidFlush; i++) {
    const atMs = time();
    faults.push({ kind: 'abort-mid-flush', atMs, project: clearProject(atMs), shard: rng.int(0, shardCount - 1) });
  }
  for (let i = 0; i < n.abortMidWindow; i++) faults.push({ kind: 'abort-mid-window', atMs: time(), project: rng.int(0, projects - 1), shard: rng.int(0, shardCount - 1) });
  for (let i = 0; i < n.duplicateAlarm; i++) faults.push({ kind: 'duplicate-alarm', atMs: time(), project: rng.int(0, projects - 1), shard: rng.int(0, shardCount - 1) });
  for (let i = 0; i < n.viewerDisconnect; i++) {
    faults.push({ kind: 'viewer-disconnect', atMs: time(), viewer: i % viewerCount, downMs: rng.int(1000, 3000), resume: i % 2 === 0 });
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

// ---------------------------------------------------------------- materialize

/** What the edge and the shard make of one valid event: the truth's unit. */
export interface ExpectedEvent {
  /** Index in the request body. */
  index: number;
  eventId: string;
  eventType: string;
  timestampMs: number;
  value: number;
  /** userId ?? eventId (server keys send no IP/UA, so no visitor id). */
  userKey: string;
  /** Canonical key after the edge's coercion and the shard's dimension policy. */
  dimsKey: string;
  timing: EventTiming;
}

export interface ExpectedRejection {
  index: number;
  code: string;
  eventId: string | null;
}

export interface MaterializedBatch {
  batchId: number;
  project: number;
  sendMs: number;
  /** The JSON body's events, in order. */
  body: unknown[];
  events: ExpectedEvent[];
  rejections: ExpectedRejection[];
  /** Rejections with code timestamp_too_old (the edge reports them to a shard for governance_1m). */
  tooOld: number;
  /** Valid events carrying a dimension the project did not declare (dropped, counted in governance_1m). */
  undeclared: number;
}

function renderTimestamp(ms: number, format: TimestampFormat): { raw: number | string; parsedMs: number } {
  if (format === 'iso') return { raw: new Date(ms).toISOString(), parsedMs: ms };
  if (format === 'seconds') {
    // Whole seconds: fractional seconds would not round-trip through float exactly.
    const seconds = Math.floor(ms / 1000);
    return { raw: seconds, parsedMs: seconds * 1000 };
  }
  return { raw: ms, parsedMs: ms };
}

function edgeDimensions(dimensions: Readonly<Record<string, DimensionValue>>, declared: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(dimensions)) {
    if (key === 'userId') continue;
    if (declared !== null && !declared.includes(key)) continue;
    out[key] = String(value);
  }
  return out;
}

function malformedBody(item: PlannedMalformed, sendMs: number): unknown {
  const base = { eventId: item.eventId, eventType: 'page_view', timestamp: sendMs + item.offsetMs, userId: 'u-malformed', dimensions: { country: 'US' } };
  switch (item.defect) {
    case 'bad_event_type':
      return { ...base, eventType: 'page view!' };
    case 'missing_event_type': {
      const { eventType: _dropped, ...rest } = base;
      return rest;
    }
    case 'unparsable_timestamp':
      return { ...base, timestamp: 'yesterday' };
    case 'future_timestamp':
      return { ...base, timestamp: sendMs + 10 * MINUTE_MS };
    case 'too_old_timestamp':
      return { ...base, timestamp: sendMs - 8 * 24 * 3_600_000 };
    case 'string_value':
      return { ...base, value: 'ten' };
    case 'huge_value':
      return { ...base, value: 1e16 };
    case 'nested_dimension':
      return { ...base, dimensions: { country: 'US', nested: { a: 1 } } };
    case 'too_many_dimensions':
      return { ...base, dimensions: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`d${i}`, 'x'])) };
    case 'empty_event_id':
      return { ...base, eventId: '' };
    case 'numeric_user_id':
      return { ...base, userId: 42 };
    case 'bad_dimension_key':
      return { ...base, dimensions: { 'bad key': 'x' } };
    case 'not_an_object':
      return 'page_view';
  }
}

/** Turns a batch's relative timings into a request body, given when it is first sent. */
export function materializeBatch(plan: ChaosPlan, batch: PlannedBatch, sendMs: number): MaterializedBatch {
  if (batch.resendOf !== null) throw new RangeError('a resend re-sends the body of its original batch');
  const spec = plan.projects[batch.project];
  if (spec === undefined) throw new RangeError(`no project ${batch.project}`);
  const body: unknown[] = [];
  const events: ExpectedEvent[] = [];
  const rejections: ExpectedRejection[] = [];
  let tooOld = 0;
  let undeclared = 0;
  batch.items.forEach((item, index) => {
    if (item.kind === 'malformed') {
      body.push(malformedBody(item, sendMs));
      rejections.push({ index, code: item.expectedCode, eventId: item.eventId });
      if (item.expectedCode === 'timestamp_too_old') tooOld++;
      return;
    }
    const { raw, parsedMs } = renderTimestamp(sendMs + item.offsetMs, item.format);
    const dimensions: Record<string, DimensionValue> = { ...item.dimensions };
    const json: Record<string, unknown> = { eventId: item.eventId, eventType: item.eventType, timestamp: raw };
    if (item.userId !== null) {
      if (item.userIdInDimensions) dimensions.userId = item.userId;
      else json.userId = item.userId;
    }
    if (item.value !== null) json.value = item.value;
    json.dimensions = dimensions;
    body.push(json);
    if (spec.declaredDimensions !== null && Object.keys(item.dimensions).some((key) => !spec.declaredDimensions?.includes(key))) undeclared++;
    events.push({
      index,
      eventId: item.eventId,
      eventType: item.eventType,
      timestampMs: parsedMs,
      value: item.value ?? 0,
      userKey: item.userId ?? item.eventId,
      dimsKey: dimensionsKey(edgeDimensions(item.dimensions, spec.declaredDimensions)),
      timing: item.timing,
    });
  });
  return { batchId: batch.id, project: batch.project, sendMs, body, events, rejections, tooOld, undeclared };
}

/** The seal window (1 s in tests) an event lands in ends here; on-time events must be stored before it. */
export function windowEndOf(timestampMs: number, windowMs: number): number {
  return Math.floor(timestampMs / windowMs) * windowMs + windowMs;
}

// ---------------------------------------------------------------- ground truth

export interface TruthCell {
  project: number;
  eventType: string;
  dimsKey: string;
  minuteMs: number;
  events: number;
  valueSum: number;
  lateEvents: number;
  users: Set<string>;
}

export function cellKey(project: number, eventType: string, dimsKey: string, minuteMs: number): string {
  return `${project}\u0000${eventType}\u0000${dimsKey}\u0000${minuteMs}`;
}

/** What ClickHouse must hold once everything is flushed: per (project, event type, dims, minute). */
export class GroundTruth {
  readonly cells = new Map<string, TruthCell>();
  readonly undeclaredDrops = new Map<number, number>();
  readonly acceptedIds = new Map<number, Set<string>>();
  readonly rejectedIds = new Map<number, Set<string>>();
  readonly tooOld = new Map<number, number>();

  /** A fresh batch's events, added once (resends and retries add nothing). */
  add(batch: MaterializedBatch): void {
    const accepted = this.setOf(this.acceptedIds, batch.project);
    for (const event of batch.events) {
      if (accepted.has(event.eventId)) throw new Error(`event id ${event.eventId} planned twice`);
      accepted.add(event.eventId);
      const minuteMs = Math.floor(event.timestampMs / MINUTE_MS) * MINUTE_MS;
      const key = cellKey(batch.project, event.eventType, event.dimsKey, minuteMs);
      let cell = this.cells.get(key);
      if (cell === undefined) {
        cell = { project: batch.project, eventType: event.eventType, dimsKey: event.dimsKey, minuteMs, events: 0, valueSum: 0, lateEvents: 0, users: new Set() };
        this.cells.set(key, cell);
      }
      cell.events++;
      cell.valueSum += event.value;
      if (event.timing === 'late') cell.lateEvents++;
      cell.users.add(event.userKey);
    }
    this.undeclaredDrops.set(batch.project, (this.undeclaredDrops.get(batch.project) ?? 0) + batch.undeclared);
    const rejected = this.setOf(this.rejectedIds, batch.project);
    for (const rejection of batch.rejections) if (rejection.eventId !== null) rejected.add(rejection.eventId);
    this.tooOld.set(batch.project, (this.tooOld.get(batch.project) ?? 0) + batch.tooOld);
  }

  totals(project: number): { events: number; valueSum: number; lateEvents: number; users: number } {
    let events = 0;
    let valueSum = 0;
    let lateEvents = 0;
    const users = new Set<string>();
    for (const cell of this.cells.values()) {
      if (cell.project !== project) continue;
      events += cell.events;
      valueSum += cell.valueSum;
      lateEvents += cell.lateEvents;
      for (const user of cell.users) users.add(user);
    }
    return { events, valueSum, lateEvents, users: users.size };
  }

  /** Exact users per (project, event type, minute), over every dimension set. */
  usersByTypeMinute(): Map<string, { project: number; eventType: string; minuteMs: number; users: Set<string> }> {
    const out = new Map<string, { project: number; eventType: string; minuteMs: number; users: Set<string> }>();
    for (const cell of this.cells.values()) {
      const key = `${cell.project}\u0000${cell.eventType}\u0000${cell.minuteMs}`;
      let entry = out.get(key);
      if (entry === undefined) {
        entry = { project: cell.project, eventType: cell.eventType, minuteMs: cell.minuteMs, users: new Set() };
        out.set(key, entry);
      }
      for (const user of cell.users) entry.users.add(user);
    }
    return out;
  }

  private setOf(map: Map<number, Set<string>>, project: number): Set<string> {
    let set = map.get(project);
    if (set === undefined) {
      set = new Set();
      map.set(project, set);
    }
    return set;
  }
}

// ---------------------------------------------------------------- comparison

/** A row of events_1m aggregated with sum() per (project, event type, dims, minute). */
export interface ObservedCell {
  project: number;
  eventType: string;
  dimsKey: string;
  minuteMs: number;
  events: number;
  valueSum: number;
  lateEvents: number;
  botEvents: number;
}

export type CellField = 'events' | 'valueSum' | 'lateEvents' | 'botEvents';

export interface CellDifference {
  project: number;
  eventType: string;
  dimsKey: string;
  minuteMs: number;
  field: CellField;
  expected: number;
  actual: number;
}

/**
 * Every (cell, field) where ClickHouse differs from the truth, including
 * cells only one side has. Exact equality, value sums too (values are
 * multiples of 0.25, so their sums are exact in any order). `skipLate`
 * names cells whose late count cannot be predicted (an on-time event stored
 * after its window closed): their events and sums are still compared.
 */
export function compareCells(truth: Iterable<TruthCell>, observed: Iterable<ObservedCell>, skipLate: ReadonlySet<string> = new Set()): CellDifference[] {
  const zero = { events: 0, valueSum: 0, lateEvents: 0, botEvents: 0 };
  const sides = new Map<string, { id: Omit<ObservedCell, CellField>; expected: Record<CellField, number>; actual: Record<CellField, number> }>();
  for (const cell of truth) {
    const key = cellKey(cell.project, cell.eventType, cell.dimsKey, cell.minuteMs);
    sides.set(key, {
      id: { project: cell.project, eventType: cell.eventType, dimsKey: cell.dimsKey, minuteMs: cell.minuteMs },
      expected: { events: cell.events, valueSum: cell.valueSum, lateEvents: cell.lateEvents, botEvents: 0 },
      actual: zero,
    });
  }
  for (const cell of observed) {
    const key = cellKey(cell.project, cell.eventType, cell.dimsKey, cell.minuteMs);
    const entry = sides.get(key) ?? { id: { project: cell.project, eventType: cell.eventType, dimsKey: cell.dimsKey, minuteMs: cell.minuteMs }, expected: zero, actual: zero };
    entry.actual = { events: cell.events, valueSum: cell.valueSum, lateEvents: cell.lateEvents, botEvents: cell.botEvents };
    sides.set(key, entry);
  }
  const differences: CellDifference[] = [];
  for (const [key, { id, expected, actual }] of sides) {
    for (const field of ['events', 'valueSum', 'lateEvents', 'botEvents'] as const) {
      if (field === 'lateEvents' && skipLate.has(key)) continue;
      if (expected[field] !== actual[field]) differences.push({ ...id, field, expected: expected[field], actual: actual[field] });
    }
  }
  return differences.sort((a, b) => a.project - b.project || a.minuteMs - b.minuteMs || a.eventType.localeCompare(b.eventType) || a.dimsKey.localeCompare(b.dimsKey));
}

/** Per-minute values of a live topic over cells (truth or ClickHouse): what a viewer's final state must show. */
export function topicSeries(topicName: string, cells: Iterable<{ eventType: string; dimsKey: string; minuteMs: number; events: number; valueSum: number }>): Map<number, number> {
  const parsed = parseTopic(topicName);
  if (!parsed.ok) throw new RangeError(`bad topic ${topicName}: ${parsed.message}`);
  const topic: Topic = parsed.topic;
  const series = new Map<number, number>();
  for (const cell of cells) {
    if (!topicMatches(topic, cell.eventType, parseDimensionsKey(cell.dimsKey))) continue;
    const add = topic.measure === 'metrics' ? cell.events : cell.valueSum;
    series.set(cell.minuteMs, (series.get(cell.minuteMs) ?? 0) + add);
  }
  return series;
}
