import type { Context, MiddlewareHandler } from 'hono';
import { KeyLookupCache } from '../core/key-cache.ts';
import { hashKey, hasValidTag, isOriginAllowed, keyFormat, type KeyKind } from '../core/keys.ts';
import type { KeyCheck, KeyRecord } from '../durable-objects/ProjectRegistry.ts';
import { REGISTRY_NAME } from '../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';

/** How long an isolate trusts a key lookup: revocation reaches every edge within this. */
const KEY_CACHE_TTL_MS = 30_000;
const NEGATIVE_CACHE_TTL_MS = 5_000;
/** How often an isolate re-asks whether keys from before tags are still active (while any are). */
const LEGACY_RECHECK_MS = 60_000;

/** A resolved key: its project and kind, plus its SHA-256 (the rate limiter's key; never the key itself). */
export interface AuthenticatedKey extends KeyRecord {
  keyHash: string;
}

/**
 * Keyed by the key itself, so a hit costs no hashing; the keys are in every
 * request anyway, and only in memory. Known and unknown answers are cached
 * apart (core/key-cache.ts): unknown keys cannot push out known ones.
 */
const lookups = new KeyLookupCache<AuthenticatedKey>({ knownCapacity: 10_000, unknownCapacity: 2_000, knownTtlMs: KEY_CACHE_TTL_MS, unknownTtlMs: NEGATIVE_CACHE_TTL_MS });

/** The registry's tag secret and legacy flag, as last fetched (values, never promises shared across requests). */
let keyCheck: { check: KeyCheck; recheckAt: number } | null = null;

/** How this isolate answered keys; tests read it to see which were refused without a registry lookup. */
export const keyLookupStats = { registryLookups: 0, refusedByTag: 0, refusedLegacy: 0 };

function registry(env: Env) {
  return env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName(REGISTRY_NAME));
}

async function currentKeyCheck(env: Env, nowMs: number): Promise<KeyCheck> {
  if (keyCheck !== null && keyCheck.recheckAt > nowMs) return keyCheck.check;
  const check = await registry(env).keyCheck();
  // No new key is ever minted untagged, so once none is active that stays true.
  keyCheck = { check, recheckAt: check.legacyKeys ? nowMs + LEGACY_RECHECK_MS : Number.POSITIVE_INFINITY };
  return check;
}

/**
 * The API key of a request: `Authorization: Bearer <key>`, Basic auth with
 * the key as user name (Segment SDKs), or `?key=` / `?writeKey=` for
 * sendBeacon and WebSockets, which cannot set headers.
 */
export function extractKey(request: Request): string | null {
  const authorization = request.headers.get('Authorization');
  if (authorization !== null) {
    const [scheme, value] = authorization.split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer' && value) return value.trim();
    if (scheme?.toLowerCase() === 'basic' && value) {
      try {
        const decoded = atob(value.trim());
        return decoded.split(':', 1)[0] ?? null;
      } catch {
        return null;
      }
    }
    return null;
  }
  const url = new URL(request.url);
  return url.searchParams.get('key') ?? url.searchParams.get('writeKey');
}

/**
 * Resolves a key to its project. Cached answers first; then a made-up key is
 * refused locally: a tagged key whose tag the registry's secret does not give
 * (one HMAC), or an untagged key once no untagged key is active. Only keys
 * that pass reach the single registry.
 */
export async function resolveKey(env: Env, key: string): Promise<AuthenticatedKey | null> {
  const now = Date.now();
  const cached = lookups.get(key, now);
  if (cached.hit) return cached.value;
  const format = keyFormat(key);
  if (format === null) return null;
  const check = await currentKeyCheck(env, now);
  if (format === 'tagged' && !(await hasValidTag(key, check.tagSecret))) {
    // Not cached: checking again costs what a cache would, and a flood of such keys then fills nothing.
    keyLookupStats.refusedByTag++;
    return null;
  }
  if (format === 'legacy' && !check.legacyKeys) {
    keyLookupStats.refusedLegacy++;
    return null;
  }
  const keyHash = await hashKey(key);
  keyLookupStats.registryLookups++;
  const record = await registry(env).lookupKey(keyHash);
  const auth = record === null ? null : { ...record, keyHash };
  lookups.remember(key, auth, now);
  return auth;
}

/** Checks a key against the kinds an endpoint accepts; throws the right 401/403. */
export async function authenticate(c: Context<AppEnv>, kinds: readonly KeyKind[], key: string | null = extractKey(c.req.raw)): Promise<AuthenticatedKey> {
  if (key === null || key === '') throw new ApiError(401, 'missing_key', 'Send an API key: Authorization: Bearer <key>.');
  const record = await resolveKey(c.env, key);
  if (record === null) throw new ApiError(401, 'invalid_key', 'The API key is unknown or revoked.');
  if (!kinds.includes(record.kind)) {
    const message = kinds.includes('read')
      ? 'This endpoint needs a read key; write keys cannot read.'
      : 'This endpoint needs a write key (public or server); read keys cannot write.';
    throw new ApiError(403, 'wrong_key_kind', message);
  }
  // Browser keys are public by nature; the Origin allow-list keeps other sites from using them.
  if (record.kind === 'public' && !isOriginAllowed(c.req.header('Origin') ?? null, record.project.allowedOrigins)) {
    throw new ApiError(403, 'origin_not_allowed', 'This key may not be used from this origin.');
  }
  return record;
}

/** Middleware form: the resolved key is available as c.get('auth'). */
export function requireKey(kinds: readonly KeyKind[]): MiddlewareHandler<AppEnv> {
  return async function requireApiKey(c, next) {
    c.set('auth', await authenticate(c, kinds));
    await next();
  };
}

/** Admin endpoints: a deployment secret, compared in constant time. Unset = admin API disabled. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminToken(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) throw new ApiError(403, 'admin_disabled', 'The admin API is disabled (no ADMIN_TOKEN is set).');
    const given = c.req.header('Authorization')?.replace(/^Bearer\s+/i, '') ?? '';
    if (!(await constantTimeEqual(given, expected))) throw new ApiError(401, 'invalid_admin_token', 'Invalid admin token.');
    await next();
  };
}

async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // Comparing digests keeps timing independent of where the strings differ and of their lengths.
  const [da, db] = await Promise.all([a, b].map((s) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))));
  const x = new Uint8Array(da ?? new ArrayBuffer(0));
  const y = new Uint8Array(db ?? new ArrayBuffer(0));
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0 && x.length === y.length;
}
