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
import { grownInt32 } from './typed-arrays.ts';

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
   * Within one `generation` slots and dims keys are one to one (sets that list
   * the same dimensions in another order share the slot); numbers of other
   * generations (other windows, a cache cleared) mean nothing here.
   */
  slot: number;
  /** The cache instance that numbered `slot` (never reused), 0 when uncached. */
  generation: number;
}

const NO_DIMENSIONS: Readonly<Record<string, string>> = Object.freeze({});

/** A governed set as the cache hands it out: one object shape for cached and uncached answers. */
class CachedKey implements GovernedKey {
  dimsKey = '';
  slot = -1;
  generation = 0;
  dimensions: Readonly<Record<string, string>> = NO_DIMENSIONS;
  folded: string[] = NONE;
  dropped: string[] = NONE;
}

/** Distinct dimension sets remembered per window; further sets are governed uncached. */
const MAX_CACHED_SETS = 30_000;
/** Distinct (dimension, value) pairs numbered per window: a dimension sent with unbounded values (a user id) stops here. */
const MAX_CACHED_PAIRS = 1 << 16;
/** Windows cached at once: events around a minute boundary (and late ones) interleave windows. */
const MAX_CACHED_WINDOWS = 3;
/** Dimensions a cached set has at most (the edge allows 32). */
const MAX_CACHED_DIMENSIONS = 64;

/**
 * One window's cached sets. A set is the sequence of its (dimension, value)
 * pairs in the event's order, each pair numbered on first sight through a
 * small per-dimension table; the sequence's hash finds the set in one open
 * addressing table, checked against the stored sequence. Per event: a lookup
 * per dimension in tables of a few hundred values (hot in cache) and one
 * probe, instead of a walk through a node per dimension (a cache miss each).
 */
let nextGeneration = 1;

/**
 * A table entry (WindowKeys.table), ENTRY_STRIDE numbers: the set's number + 1
 * (0: an empty entry), its sequence hash, its pair count and clean mark
 * (META_CLEAN: nothing folded or dropped), its slot, where its pairs past the
 * inline ones start in `sequences`, then its first INLINE_PAIRS pairs. What a
 * lookup checks and answers sits in the entry it probes: one cache miss per
 * event, not one for the table and one for the set.
 */
const ENTRY_SET = 0;
const ENTRY_HASH = 1;
const ENTRY_META = 2;
const ENTRY_SLOT = 3;
const ENTRY_REST = 4;
const ENTRY_INLINE = 5;
const INLINE_PAIRS = 3;
const ENTRY_STRIDE = 8;
const META_LENGTH = 0xff;
const META_CLEAN = 0x100;

class WindowKeys {
  readonly generation = nextGeneration++;
  /** Pair numbers (1..) by dimension, then value: null-prototype objects, the fastest string lookup here. */
  private readonly pairsByDimension = new Map<string, Record<string, number>>();
  /** The pair tables of the dimensions at each position of the last event that had them: events repeat their key order. */
  private readonly positionNames: string[] = [];
  private readonly positionPairs: Array<Record<string, number>> = [];
  private pairCount = 0;
  /** Entries by sequence hash, linear probing, at most half full: see ENTRY_SET .. ENTRY_INLINE. */
  private table = new Int32Array(1024 * ENTRY_STRIDE);
  /** Pairs past the first INLINE_PAIRS of longer sets. */
  private sequences = new Int32Array(1024);
  private sequencesEnd = 0;
  readonly keys: CachedKey[] = [];
  /** Per set, its dims key: what GovernedKeyCache's `lastDimsKey` answers without a visit to the set's object. */
  readonly dimsKeys: string[] = [];
  /** Slot by canonical key: sets of one key share a slot. */
  private readonly slotByDimsKey = new Map<string, number>();
  /** The set `find` found last, and where its entry is in `table`. */
  found = -1;
  private foundAt = 0;
  /** The event being looked up: its pairs, and their count (-1: a pair the window has no number for). */
  private readonly pairs = new Int32Array(MAX_CACHED_DIMENSIONS);
  private pairsLength = 0;
  private hash = 0;

  get size(): number {
    return this.keys.length;
  }

  /** The cached set of `dimensions`, else undefined with the event's pairs kept for `insert` (when they could all be numbered). */
  find(dimensions: Readonly<Record<string, string>>, numberNew: boolean): CachedKey | undefined {
    const pairs = this.pairs;
    let length = 0;
    let hash = 0x811c9dc5;
    for (const dimension in dimensions) {
      let byValue = this.positionNames[length] === dimension ? this.positionPairs[length] : undefined;
      if (byValue === undefined) {
        if (length >= MAX_CACHED_DIMENSIONS) return this.unnumbered();
        byValue = this.pairsByDimension.get(dimension);
        if (byValue === undefined) {
          byValue = Object.create(null) as Record<string, number>;
          this.pairsByDimension.set(dimension, byValue);
        }
        this.positionNames[length] = dimension;
        this.positionPairs[length] = byValue;
      }
      const value = dimensions[dimension] ?? '';
      let pair = byValue[value];
      if (pair === undefined) {
        // A pair never numbered is in no cached set.
        if (!numberNew || this.pairCount >= MAX_CACHED_PAIRS) return this.unnumbered();
        pair = ++this.pairCount;
        byValue[value] = pair;
      }
      pairs[length++] = pair;
      hash = Math.imul(hash ^ pair, 0x01000193);
    }
    hash ^= hash >>> 15;
    this.pairsLength = length;
    this.hash = hash;
    const table = this.table;
    const mask = table.length / ENTRY_STRIDE - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = i * ENTRY_STRIDE;
      const set = (table[at + ENTRY_SET] ?? 0) - 1;
      if (set < 0) return undefined;
      if (table[at + ENTRY_HASH] === hash && ((table[at + ENTRY_META] ?? 0) & META_LENGTH) === length && this.sameSequence(at)) {
        this.found = set;
        this.foundAt = at;
        return this.keys[set];
      }
    }
  }

  /** Caches `key` as the set `find` just missed (its pairs all numbered); gives it its dims key's slot, or the next one. */
  insert(key: CachedKey): void {
    if (this.pairsLength < 0) throw new Error('unreachable: insert after a find that could not number its pairs');
    const set = this.keys.length;
    let slot = this.slotByDimsKey.get(key.dimsKey);
    if (slot === undefined) {
      slot = this.slotByDimsKey.size;
      this.slotByDimsKey.set(key.dimsKey, slot);
    }
    key.slot = slot;
    key.generation = this.generation;
    this.keys.push(key);
    this.dimsKeys.push(key.dimsKey);
    this.found = set;
    if (2 * this.keys.length > this.table.length / ENTRY_STRIDE) this.rehash((2 * this.table.length) / ENTRY_STRIDE);
    const length = this.pairsLength;
    let rest = 0;
    if (length > INLINE_PAIRS) {
      rest = this.sequencesEnd;
      const more = length - INLINE_PAIRS;
      if (this.sequencesEnd + more > this.sequences.length) this.sequences = grownInt32(this.sequences, this.sequencesEnd + more);
      this.sequences.set(this.pairs.subarray(INLINE_PAIRS, length), this.sequencesEnd);
      this.sequencesEnd += more;
    }
    const at = freeEntry(this.table, this.hash);
    const table = this.table;
    table[at + ENTRY_SET] = set + 1;
    table[at + ENTRY_HASH] = this.hash;
    table[at + ENTRY_META] = length | (key.folded.length === 0 && key.dropped.length === 0 ? META_CLEAN : 0);
    table[at + ENTRY_SLOT] = slot;
    table[at + ENTRY_REST] = rest;
    for (let i = 0; i < Math.min(length, INLINE_PAIRS); i++) table[at + ENTRY_INLINE + i] = this.pairs[i] ?? 0;
    this.foundAt = at;
  }

  /** Whether the last `find` numbered every pair of its set (else the set cannot be cached). */
  get numbered(): boolean {
    return this.pairsLength >= 0;
  }

  private unnumbered(): undefined {
    this.pairsLength = -1;
    return undefined;
  }

  /** The slot of the set found (or inserted) last, and whether nothing of it was folded or dropped. */
  get foundSlot(): number {
    return this.table[this.foundAt + ENTRY_SLOT] ?? -1;
  }

  get foundClean(): boolean {
    return ((this.table[this.foundAt + ENTRY_META] ?? 0) & META_CLEAN) !== 0;
  }

  /** Whether the entry at `at` has the looked-up pairs (its hash and length already matched). */
  private sameSequence(at: number): boolean {
    const table = this.table;
    const pairs = this.pairs;
    const length = this.pairsLength;
    const inline = Math.min(length, INLINE_PAIRS);
    for (let i = 0; i < inline; i++) if (table[at + ENTRY_INLINE + i] !== pairs[i]) return false;
    const rest = table[at + ENTRY_REST] ?? 0;
    const sequences = this.sequences;
    for (let i = INLINE_PAIRS; i < length; i++) if (sequences[rest + i - INLINE_PAIRS] !== pairs[i]) return false;
    return true;
  }

  /** The entries moved to a table of `entries` entries (a power of two). */
  private rehash(entries: number): void {
    const old = this.table;
    const table = new Int32Array(entries * ENTRY_STRIDE);
    for (let at = 0; at < old.length; at += ENTRY_STRIDE) {
      if ((old[at + ENTRY_SET] ?? 0) === 0) continue;
      const to = freeEntry(table, old[at + ENTRY_HASH] ?? 0);
      for (let i = 0; i < ENTRY_STRIDE; i++) table[to + i] = old[at + i] ?? 0;
    }
    this.table = table;
  }
}

/** Where the first free entry for `hash` is (the table has room). */
function freeEntry(table: Int32Array, hash: number): number {
  const mask = table.length / ENTRY_STRIDE - 1;
  let i = hash & mask;
  while ((table[i * ENTRY_STRIDE + ENTRY_SET] ?? 0) !== 0) i = (i + 1) & mask;
  return i * ENTRY_STRIDE;
}

/**
 * Memoizes governance + canonical key per (window, policy, dimension set).
 * Sound because decisions are permanent within a window: admitted sets only
 * grow, so an admitted value stays admitted, and a folded value met a full
 * set that can never admit it later. A miss runs governDimensions (which
 * admits), so a dropped cache (eviction, rollback) changes no outcome.
 * Looks sets up in the event's own key order, so no sort per event;
 * different orders just cache twice.
 */
export class GovernedKeyCache {
  private readonly windows = new Map<number, WindowKeys>();
  private policy = '';
  /** The policy object last seen: requests compile a new one, so signatures are compared once per policy object, not per event. */
  private lastPolicy: CompiledPolicy | null = null;
  private lastWindow = Number.NaN;
  private last: WindowKeys | null = null;
  private readonly canonicalKey: (dimensions: Readonly<Record<string, string>>) => string;

  constructor(canonicalKey: (dimensions: Readonly<Record<string, string>>) => string) {
    this.canonicalKey = canonicalKey;
  }

  /**
   * The last govern call's answer in fields of this (hot) object, for a
   * caller that runs per event: reading them costs no visit to the answer's
   * own object. `lastClean`: nothing was folded or dropped.
   */
  lastDimsKey = '';
  lastSlot = -1;
  lastGeneration = 0;
  lastClean = true;

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
      cache = new WindowKeys();
      this.windows.set(windowStart, cache);
    }
    this.lastWindow = windowStart;
    this.last = cache;
    // A full window keeps the sets it has (the frequent ones come first) and answers new ones uncached:
    // starting over would drop the frequent sets with the rare ones.
    const full = cache.size >= MAX_CACHED_SETS;
    let key = cache.find(dimensions, !full);
    if (key === undefined) {
      const governed = governDimensions(windowStart, dimensions, policy, admitted);
      key = new CachedKey();
      key.dimensions = governed.dimensions;
      key.folded = governed.folded;
      key.dropped = governed.dropped;
      key.dimsKey = this.canonicalKey(governed.dimensions);
      if (full || !cache.numbered) {
        this.lastDimsKey = key.dimsKey;
        this.lastSlot = -1;
        this.lastGeneration = 0;
        this.lastClean = key.folded.length === 0 && key.dropped.length === 0;
        return key;
      }
      cache.insert(key);
    }
    this.lastDimsKey = cache.dimsKeys[cache.found] ?? '';
    this.lastSlot = cache.foundSlot;
    this.lastGeneration = cache.generation;
    this.lastClean = cache.foundClean;
    return key;
  }

  clear(): void {
    this.windows.clear();
    this.lastWindow = Number.NaN;
    this.last = null;
    this.lastPolicy = null;
  }
}
