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
}

interface TrieNode {
  next: Map<string, Map<string, TrieNode>> | null;
  out: GovernedKey | null;
}

/** Distinct dimension sets remembered per window before that window's cache starts over. */
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
  private lastWindow = Number.NaN;
  private last: { root: TrieNode; size: number } | null = null;
  private readonly canonicalKey: (dimensions: Readonly<Record<string, string>>) => string;

  constructor(canonicalKey: (dimensions: Readonly<Record<string, string>>) => string) {
    this.canonicalKey = canonicalKey;
  }

  govern(windowStart: number, dimensions: Readonly<Record<string, string>>, policy: CompiledPolicy, admitted: AdmittedValues): GovernedKey {
    if (policy.signature !== this.policy) {
      this.clear();
      this.policy = policy.signature;
    }
    let cache = windowStart === this.lastWindow ? this.last : this.windows.get(windowStart);
    if (cache === undefined || cache === null || cache.size >= MAX_CACHED_SETS) {
      if (cache === undefined || cache === null) {
        // Evict the oldest window (insertion order) when full.
        const oldest = this.windows.keys().next();
        if (this.windows.size >= MAX_CACHED_WINDOWS && oldest.done !== true) this.windows.delete(oldest.value);
      }
      cache = { root: { next: null, out: null }, size: 0 };
      this.windows.set(windowStart, cache);
    }
    this.lastWindow = windowStart;
    this.last = cache;
    let node = cache.root;
    for (const dimension in dimensions) {
      node.next ??= new Map();
      let byValue = node.next.get(dimension);
      if (byValue === undefined) {
        byValue = new Map();
        node.next.set(dimension, byValue);
      }
      const value = dimensions[dimension] ?? '';
      let child = byValue.get(value);
      if (child === undefined) {
        child = { next: null, out: null };
        byValue.set(value, child);
      }
      node = child;
    }
    if (node.out === null) {
      const governed = governDimensions(windowStart, dimensions, policy, admitted);
      node.out = { ...governed, dimsKey: this.canonicalKey(governed.dimensions) };
      cache.size++;
    }
    return node.out;
  }

  clear(): void {
    this.windows.clear();
    this.lastWindow = Number.NaN;
    this.last = null;
  }
}
