import type { Context, MiddlewareHandler } from 'hono';
import { hashKey, isOriginAllowed, looksLikeKey, type KeyKind } from '../core/keys.ts';
import { LruMap } from '../core/lru.ts';
import type { KeyRecord } from '../durable-objects/ProjectRegistry.ts';
import { REGISTRY_NAME } from '../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';

/** How long an isolate trusts a key lookup: revocation reaches every edge within this. */
const KEY_CACHE_TTL_MS = 30_000;
const NEGATIVE_CACHE_TTL_MS = 5_000;

/** A resolved key: its project and kind, plus its SHA-256 (the rate limiter's key; never the key itself). */
export interface AuthenticatedKey extends KeyRecord {
  keyHash: string;
}

/**
 * Two caches, so unknown keys can never push out known ones: a flood of
 * random keys only churns `unknownKeys`. Keyed by the key itself, so a hit
 * costs no hashing; the keys are in every request anyway, and only in memory.
 */
const knownKeys = new LruMap<string, { auth: AuthenticatedKey; expiresAt: number }>(10_000);
const unknownKeys = new LruMap<string, number>(2_000);

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

/** Resolves a key to its project, with short per-isolate caches in front of the registry. */
export async function resolveKey(env: Env, key: string): Promise<AuthenticatedKey | null> {
  const now = Date.now();
  const known = knownKeys.get(key);
  if (known !== undefined && known.expiresAt > now) return known.auth;
  const unknownUntil = unknownKeys.peek(key);
  if (unknownUntil !== undefined && unknownUntil > now) return null;
  if (!looksLikeKey(key)) return null;
  const keyHash = await hashKey(key);
  const registry = env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName(REGISTRY_NAME));
  const record = await registry.lookupKey(keyHash);
  if (record === null) {
    knownKeys.delete(key);
    unknownKeys.set(key, now + NEGATIVE_CACHE_TTL_MS);
    return null;
  }
  const auth: AuthenticatedKey = { ...record, keyHash };
  knownKeys.set(key, { auth, expiresAt: now + KEY_CACHE_TTL_MS });
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
