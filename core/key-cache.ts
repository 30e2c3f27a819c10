/**
 * The edge's per-isolate cache of key lookups, in two parts so that unknown
 * keys can never push out known ones: answers "no such key" live in their own
 * smaller LRU, and a flood of made-up keys only churns that one. Entries
 * expire (revocation must reach every edge within the known TTL).
 */
import { LruMap } from './lru.ts';

export interface KeyCacheOptions {
  knownCapacity: number;
  unknownCapacity: number;
  knownTtlMs: number;
  unknownTtlMs: number;
}

export type CachedLookup<T> = { hit: true; value: T | null } | { hit: false };

export class KeyLookupCache<T> {
  private readonly known: LruMap<string, { value: T; expiresAt: number }>;
  private readonly unknown: LruMap<string, number>;
  private readonly options: KeyCacheOptions;

  constructor(options: KeyCacheOptions) {
    this.options = options;
    this.known = new LruMap(options.knownCapacity);
    this.unknown = new LruMap(options.unknownCapacity);
  }

  get(key: string, nowMs: number): CachedLookup<T> {
    const known = this.known.get(key);
    if (known !== undefined) {
      if (known.expiresAt > nowMs) return { hit: true, value: known.value };
      this.known.delete(key);
    }
    // peek: a negative answer is not kept alive by being asked again.
    const unknownUntil = this.unknown.peek(key);
    if (unknownUntil !== undefined) {
      if (unknownUntil > nowMs) return { hit: true, value: null };
      this.unknown.delete(key);
    }
    return { hit: false };
  }

  remember(key: string, value: T | null, nowMs: number): void {
    if (value === null) {
      this.known.delete(key);
      this.unknown.set(key, nowMs + this.options.unknownTtlMs);
    } else {
      this.unknown.delete(key);
      this.known.set(key, { value, expiresAt: nowMs + this.options.knownTtlMs });
    }
  }

  get sizes(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }
}
