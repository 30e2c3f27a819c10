/**
 * Edge cache for query results (Cache API): a thousand viewers of one chart
 * cost one ClickHouse query per TTL. The key is the project plus the
 * normalized query, never the API key, so every reader of a project shares it.
 */
const CACHE_ORIGIN = 'https://query-cache.edgepulse.internal';
/** Ranges touching the last minutes change as windows flush: cache them briefly. */
export const RECENT_TTL_S = 10;
export const HISTORIC_TTL_S = 300;
const RECENT_MS = 10 * 60_000;

export function cacheKey(projectId: string, url: URL): Request {
  const params = [...url.searchParams].filter(([name]) => name !== 'key').sort(([a, av], [b, bv]) => (a === b ? av.localeCompare(bv) : a.localeCompare(b)));
  const query = new URLSearchParams(params).toString();
  return new Request(`${CACHE_ORIGIN}/${encodeURIComponent(projectId)}${url.pathname}?${query}`);
}

export function ttlFor(endMs: number, nowMs: number): number {
  return endMs > nowMs - RECENT_MS ? RECENT_TTL_S : HISTORIC_TTL_S;
}
