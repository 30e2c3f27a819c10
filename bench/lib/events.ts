/**
 * Realistic ingest bodies, made cheaply: a pool of event templates (several
 * event types with their own dimensions and values, ~10k users with a skewed
 * distribution, 10% anonymous) is rendered once into JSON fragments; each
 * batch only splices in a fresh unique eventId and a current timestamp, so
 * the load generator spends microseconds per batch, not the server's cores.
 */

/** xorshift32: the same templates every run. */
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

const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'NL', 'ES', 'IT', 'AU', 'PL', 'SE', 'MX', 'KR', 'TR', 'ID', 'CH', 'BE'];
const DEVICES = ['MOBILE', 'DESKTOP', 'TABLET'];
const PATHS = ['/', '/pricing', '/docs', '/blog', '/signup', '/login', '/checkout', '/cart', '/product/1', '/product/2', '/product/3', '/search', '/about', '/careers', '/contact'];
const BUTTONS = ['buy', 'add_to_cart', 'signup', 'subscribe', 'share', 'play'];
const CAMPAIGNS = Array.from({ length: 40 }, (_, i) => `camp_${5500 + i}`);
const ERRORS = ['TypeError', 'NetworkError', 'TimeoutError', 'ChunkLoadError'];

/** Index in [0, n) with a Zipf-like skew (a few hot values, a long tail). */
function skewed(rng: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(n * rng() ** 3));
}

export interface BatchFactoryOptions {
  batchSize: number;
  /** Distinct prefix of this run's event ids, so ids never repeat across runs or loops. */
  runId: string;
  users?: number;
  /**
   * 0 (default): every event has its own user from the pool (a server-side
   * integration batching many users). N > 0: a batch carries N users (a
   * browser SDK batch is one visitor: 1), so it touches at most N shards.
   */
  usersPerBatch?: number;
  templates?: number;
  seed?: number;
}

/** Returns a function producing the next batch body: a JSON array of `batchSize` events. */
export function makeBatchFactory(options: BatchFactoryOptions): () => string {
  const rng = makeRng(options.seed ?? 20261123);
  const users = options.users ?? 10_000;
  const templateCount = options.templates ?? 4096;
  const pick = <T>(items: readonly T[], skew = false): T => {
    const item = items[skew ? skewed(rng, items.length) : Math.floor(rng() * items.length)];
    if (item === undefined) throw new Error('empty pool');
    return item;
  };
  // Each template is the tail of an event after its id and timestamp.
  const templates: string[] = [];
  const userParts: string[] = [];
  const dimParts: string[] = [];
  const ageMs: number[] = [];
  for (let i = 0; i < templateCount; i++) {
    const r = rng();
    const dims: Record<string, string> = { country: pick(COUNTRIES, true), deviceType: pick(DEVICES) };
    let eventType: string;
    let value: number | undefined;
    if (r < 0.5) {
      eventType = 'page_view';
      dims.path = pick(PATHS, true);
    } else if (r < 0.7) {
      eventType = 'click';
      dims.button = pick(BUTTONS);
      dims.path = pick(PATHS, true);
    } else if (r < 0.8) {
      eventType = 'ad_click';
      dims.campaignId = pick(CAMPAIGNS, true);
    } else if (r < 0.85) {
      eventType = 'purchase';
      value = Math.round(rng() * 20_000) / 100;
      dims.currency = 'USD';
    } else if (r < 0.9) {
      eventType = 'error';
      dims.errorType = pick(ERRORS);
    } else {
      eventType = 'web_vital_lcp';
      value = Math.round(500 + rng() * 3000);
    }
    const userId = rng() < 0.9 ? `usr_${skewed(rng, users).toString(36).padStart(4, '0')}` : undefined;
    let tail = `,"eventType":"${eventType}"`;
    if (value !== undefined) tail += `,"value":${value}`;
    templates.push(tail);
    userParts.push(userId !== undefined ? `,"userId":"${userId}"` : '');
    dimParts.push(`,"dimensions":${JSON.stringify(dims)}}`);
    // Up to 20 s old: realistic client batching delay, all inside the accepted window.
    ageMs.push(Math.floor(rng() * 20_000));
  }
  let sequence = 0;
  let cursor = 0;
  const prefix = `{"eventId":"${options.runId}-`;
  const perBatch = options.usersPerBatch ?? 0;
  let batchNo = 0;
  return () => {
    const now = Date.now();
    const parts: string[] = new Array<string>(options.batchSize);
    // With usersPerBatch, this batch's users: consecutive ids, a fresh set per batch.
    const batchUsers = Array.from({ length: perBatch }, (_, k) => `,"userId":"usr_${((batchNo * perBatch + k) % users).toString(36).padStart(4, '0')}"`);
    batchNo++;
    for (let i = 0; i < options.batchSize; i++) {
      const t = cursor;
      cursor = (cursor + 1) % templateCount;
      const user = perBatch > 0 ? (batchUsers[i % perBatch] ?? '') : (userParts[t] ?? '');
      parts[i] = `${prefix}${(sequence++).toString(36)}","timestamp":${now - (ageMs[t] ?? 0)}${templates[t] ?? ''}${user}${dimParts[t] ?? ''}`;
    }
    // Step through the pool at a stride so consecutive batches differ in mix.
    cursor = (cursor + 37) % templateCount;
    return `[${parts.join(',')}]`;
  };
}
