/**
 * Edge cache for read answers (Cache API): a thousand viewers of one chart
 * cost one ClickHouse query (or one shard fan-out) per TTL. The key is the
 * project plus the normalized request, never the API key, so every reader of
 * a project shares it and no project ever sees another's entry.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';

const CACHE_ORIGIN = 'https://query-cache.edgepulse.internal';
/** Ranges touching the last minutes change as windows flush: cache them briefly. */
export const RECENT_TTL_S = 10;
export const HISTORIC_TTL_S = 300;
const RECENT_MS = 10 * 60_000;
export const CACHE_STATUS_HEADER = 'X-Edgepulse-Cache';

/** Path plus sorted parameters (without `key`): the same question in any parameter order shares an entry. */
export function cacheKey(projectId: string, url: URL, pathname: string = url.pathname): Request {
  const params = [...url.searchParams].filter(([name]) => name !== 'key').sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  const query = new URLSearchParams(params).toString();
  return new Request(`${CACHE_ORIGIN}/${encodeURIComponent(projectId)}${pathname}?${query}`);
}

/** One entry per project for answers that take no parameters (catalog, health). */
export function projectCacheKey(projectId: string, name: string): Request {
  return new Request(`${CACHE_ORIGIN}/${encodeURIComponent(projectId)}/${name}`);
}

export function ttlFor(endMs: number, nowMs: number): number {
  return endMs > nowMs - RECENT_MS ? RECENT_TTL_S : HISTORIC_TTL_S;
}

/**
 * Answers from the edge cache when it holds `key`; otherwise runs `produce`,
 * stores its 200 answer for `ttlSeconds` (after the response, in waitUntil)
 * and answers it. `X-Edgepulse-Cache: HIT|MISS` tells which. A producer
 * that sets its own Cache-Control (e.g. `no-store` for a partial answer)
 * is not stored.
 */
export async function cachedAnswer(c: Context<AppEnv>, key: Request, ttlSeconds: number, produce: () => Promise<Response>): Promise<Response> {
  const cache = caches.default;
  const cached = await cache.match(key);
  if (cached !== undefined) return withCacheStatus(cached, 'HIT');
  const response = await produce();
  if (response.status !== 200 || response.headers.has('Cache-Control')) return withCacheStatus(response, 'MISS');
  response.headers.set('Cache-Control', `max-age=${ttlSeconds}`);
  c.executionCtx.waitUntil(cache.put(key, response.clone()));
  return withCacheStatus(response, 'MISS');
}

function withCacheStatus(response: Response, status: 'HIT' | 'MISS'): Response {
  const copy = new Response(response.body, response);
  copy.headers.set(CACHE_STATUS_HEADER, status);
  return copy;
}
