/**
 * Cardinality governance. Per minute window and dimension a shard keeps at
 * most K distinct values; the first K seen are admitted, later new values
 * fold into `__other__` (counted, and visible as `__other__` rows in the
 * rollups), so a user id sent as a dimension cannot explode storage.
 * Undeclared dimensions are dropped and counted.
 *
 * The bound is per shard: a project sees at most K x SHARD_COUNT distinct
 * values per dimension per minute (fewer in practice: popular values repeat
 * on every shard). Admissions are persisted by the caller, so a rebuilt
 * shard makes the same decisions.
 */

export const OTHER_VALUE = '__other__';

/** Project config for dimensions: declared = null means "every dimension is allowed". */
export interface DimensionPolicy {
  declared: string[] | null;
  maxValuesPerWindow?: number;
}

/** Admitted values per (window, dimension); the DO backs it with SQLite plus a cache. */
export interface AdmittedValues {
  /** The admitted set for a window and dimension (mutable view; `admit` adds to it). */
  get(windowStart: number, dimension: string): ReadonlySet<string>;
  admit(windowStart: number, dimension: string, value: string): void;
}

export interface GovernedDimensions {
  dimensions: Readonly<Record<string, string>>;
  /** Dimensions whose value was folded into `__other__`. */
  folded: string[];
  /** Undeclared dimensions that were removed. */
  dropped: string[];
}

export interface GovernorOptions {
  defaultMaxValues: number;
}

/** A declared-set lookup built once per request, not per event. */
export interface CompiledPolicy {
  declared: ReadonlySet<string> | null;
  maxValues: number;
  /** Equal for equal policies, so caches survive a policy compiled anew per request. */
  signature: string;
}

export function compilePolicy(policy: DimensionPolicy | undefined, defaultMaxValues: number): CompiledPolicy {
  const max = policy?.maxValuesPerWindow;
  const declared = policy === undefined || policy.declared === null ? null : new Set(policy.declared);
  const maxValues = max !== undefined && Number.isInteger(max) && max >= 1 ? max : defaultMaxValues;
  return { declared, maxValues, signature: `${maxValues}|${declared === null ? '*' : JSON.stringify([...declared].sort())}` };
}

const NONE: string[] = [];

export function governDimensions(
  windowStart: number,
  dimensions: Readonly<Record<string, string>>,
  policy: CompiledPolicy,
  admitted: AdmittedValues,
): GovernedDimensions {
  let out: Record<string, string> | null = null;
  let folded = NONE;
  let dropped = NONE;
  for (const dimension in dimensions) {
    const value = dimensions[dimension] ?? '';
    if (policy.declared !== null && !policy.declared.has(dimension)) {
      out ??= copyUpTo(dimensions, dimension);
      if (dropped === NONE) dropped = [];
      dropped.push(dimension);
      continue;
    }
    const values = admitted.get(windowStart, dimension);
    let kept = value;
    if (!values.has(value)) {
      if (values.size < policy.maxValues) admitted.admit(windowStart, dimension, value);
      else kept = OTHER_VALUE;
    }
    if (kept !== value) {
      out ??= copyUpTo(dimensions, dimension);
      if (folded === NONE) folded = [];
      folded.push(dimension);
    }
    if (out !== null) out[dimension] = kept;
  }
  // The common case (nothing dropped or folded) copies nothing.
  return { dimensions: out ?? dimensions, folded, dropped };
}

/** A copy of the dimensions that come before `stop` in iteration order. */
function copyUpTo(dimensions: Readonly<Record<string, string>>, stop: string): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const key in dimensions) {
    if (key === stop) break;
    copy[key] = dimensions[key] ?? '';
  }
  return copy;
}

/** An in-memory AdmittedValues (tests, benches; the DO persists its own). */
export class MemoryAdmittedValues implements AdmittedValues {
  private readonly windows = new Map<number, Map<string, Set<string>>>();
  /** Events of a batch mostly share a window: skip the (double-keyed, slow) outer lookup. */
  private lastWindow = Number.NaN;
  private lastByDimension: Map<string, Set<string>> | null = null;

  get(windowStart: number, dimension: string): ReadonlySet<string> {
    return this.set(windowStart, dimension);
  }

  admit(windowStart: number, dimension: string, value: string): void {
    this.set(windowStart, dimension).add(value);
  }

  /** Forgets windows that started before `cutoff`. */
  prune(cutoff: number): void {
    for (const windowStart of this.windows.keys()) if (windowStart < cutoff) this.windows.delete(windowStart);
    this.lastWindow = Number.NaN;
    this.lastByDimension = null;
  }

  private set(windowStart: number, dimension: string): Set<string> {
    let byDimension = windowStart === this.lastWindow ? this.lastByDimension : this.windows.get(windowStart);
    if (byDimension === undefined || byDimension === null) {
      byDimension = new Map();
      this.windows.set(windowStart, byDimension);
    }
    this.lastWindow = windowStart;
    this.lastByDimension = byDimension;
    let values = byDimension.get(dimension);
    if (values === undefined) {
      values = new Set();
      byDimension.set(dimension, values);
    }
    return values;
  }
}

/** A governed dimension set and its canonical key. */
export interface GovernedKey extends GovernedDimensions {
  dimsKey: string;
  /**
   * This key's number in its window's cache (dense from 0), or -1 when uncached:
   * lets a consumer keep per-key data in an array rather than a map by dimsKey.
   * Keys of different windows share numbers and one dims key can have several,
   * so a consumer checks the dims key of what it finds.
   */
  slot: number;
}

const NO_DIMENSIONS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One step of the cache's trie. Events of a project nearly always list the
 * same dimensions in the same order, so a node branches on one dimension
 * (the first one seen there) by value alone: one map lookup per dimension.
 * Other dimensions at that position go through `others`. A node is also the
 * key of the dimension set that ends at it (once `isKey`): one object, so the
 * key an event finds is the node the walk just read, not another memory access.
 */
class TrieNode implements GovernedKey {
  dimension: string | null = null;
  byValue: Map<string, TrieNode> | null = null;
  others: Map<string, Map<string, TrieNode>> | null = null;
  isKey = false;
  dimsKey = '';
  slot = -1;
  dimensions: Readonly<Record<string, string>> = NO_DIMENSIONS;
  folded: string[] = NONE;
  dropped: string[] = NONE;
}

/** The children of `node` for `dimension`, if there are any. */
function existingBranch(node: TrieNode, dimension: string): Map<string, TrieNode> | undefined {
  return node.dimension === dimension && node.byValue !== null ? node.byValue : node.others?.get(dimension);
}

/** The children of `node` for `dimension`, created on first use. */
function branch(node: TrieNode, dimension: string): Map<string, TrieNode> {
  if (node.dimension === dimension && node.byValue !== null) return node.byValue;
  if (node.dimension === null) {
    node.dimension = dimension;
    node.byValue = new Map();
    return node.byValue;
  }
  node.others ??= new Map();
  let byValue = node.others.get(dimension);
  if (byValue === undefined) {
    byValue = new Map();
    node.others.set(dimension, byValue);
  }
  return byValue;
}

/** Distinct dimension sets remembered per window; further sets are governed uncached. */
const MAX_CACHED_SETS = 30_000;
/** Windows cached at once: events around a minute boundary (and late ones) interleave windows. */
const MAX_CACHED_WINDOWS = 3;

/**
 * Memoizes governance + canonical key per (window, policy, dimension set).
 * Sound because decisions are permanent within a window: admitted sets only
 * grow, so an admitted value stays admitted, and a folded value met a full
 * set that can never admit it later. A miss runs governDimensions (which
 * admits), so a dropped cache (eviction, rollback) changes no outcome.
 * Walks the event's own key order, so no sort per event; different orders
 * just cache twice.
 */
export class GovernedKeyCache {
  private readonly windows = new Map<number, { root: TrieNode; size: number }>();
  private policy = '';
  /** The policy object last seen: requests compile a new one, so signatures are compared once per policy object, not per event. */
  private lastPolicy: CompiledPolicy | null = null;
  private lastWindow = Number.NaN;
  private last: { root: TrieNode; size: number } | null = null;
  private readonly canonicalKey: (dimensions: Readonly<Record<string, string>>) => string;

  constructor(canonicalKey: (dimensions: Readonly<Record<string, string>>) => string) {
    this.canonicalKey = canonicalKey;
  }

  govern(windowStart: number, dimensions: Readonly<Record<string, string>>, policy: CompiledPolicy, admitted: AdmittedValues): GovernedKey {
    if (policy !== this.lastPolicy) {
      if (policy.signature !== this.policy) {
        this.clear();
        this.policy = policy.signature;
      }
      this.lastPolicy = policy;
    }
    let cache = windowStart === this.lastWindow ? this.last : this.windows.get(windowStart);
    if (cache === undefined || cache === null) {
      // Evict the oldest window (insertion order) when full.
      const oldest = this.windows.keys().next();
      if (this.windows.size >= MAX_CACHED_WINDOWS && oldest.done !== true) this.windows.delete(oldest.value);
      cache = { root: new TrieNode(), size: 0 };
      this.windows.set(windowStart, cache);
    }
    this.lastWindow = windowStart;
    this.last = cache;
    // A full window keeps the sets it has (the frequent ones come first) and answers new ones uncached:
    // starting over would drop the frequent sets with the rare ones.
    const full = cache.size >= MAX_CACHED_SETS;
    let node = cache.root;
    let known = true;
    for (const dimension in dimensions) {
      const byValue: Map<string, TrieNode> | undefined =
        node.dimension === dimension && node.byValue !== null ? node.byValue : full ? existingBranch(node, dimension) : branch(node, dimension);
      const value = dimensions[dimension] ?? '';
      let child = byValue?.get(value);
      if (child === undefined) {
        if (full || byValue === undefined) {
          known = false;
          break;
        }
        child = new TrieNode();
        byValue.set(value, child);
      }
      node = child;
    }
    if (known && node.isKey) return node;
    const governed = governDimensions(windowStart, dimensions, policy, admitted);
    const cached = known && !full;
    // Uncached answers are nodes too, so callers see one object shape.
    const key = cached ? node : new TrieNode();
    key.dimensions = governed.dimensions;
    key.folded = governed.folded;
    key.dropped = governed.dropped;
    key.dimsKey = this.canonicalKey(governed.dimensions);
    if (cached) {
      key.isKey = true;
      key.slot = cache.size;
      cache.size++;
    }
    return key;
  }

  clear(): void {
    this.windows.clear();
    this.lastWindow = Number.NaN;
    this.last = null;
    this.lastPolicy = null;
  }
}
