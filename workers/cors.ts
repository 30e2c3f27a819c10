import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';

const ALLOW_METHODS = 'GET,POST,OPTIONS';
const ALLOW_HEADERS = 'Content-Type,Content-Encoding,Authorization';
const EXPOSE_HEADERS = 'Retry-After';
const MAX_AGE_S = '86400';

/**
 * CORS for the API. Keys, not cookies, authorize every call, so any origin
 * may make the request (public keys are then held to their project's Origin
 * allow-list by auth). Written out rather than hono/cors: that one touches
 * `c.res` before the handler runs, which builds a throw-away Response and
 * copies its headers on every request; here headers are added once, after.
 */
export function apiCors(): MiddlewareHandler<AppEnv> {
  return async function cors(c, next) {
    const origin = c.req.header('Origin');
    if (c.req.method === 'OPTIONS') {
      const headers: Record<string, string> = {
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Expose-Headers': EXPOSE_HEADERS,
        'Access-Control-Max-Age': MAX_AGE_S,
        Vary: 'Origin',
      };
      if (origin !== undefined) headers['Access-Control-Allow-Origin'] = origin;
      return c.body(null, 204, headers);
    }
    await next();
    let headers = c.res.headers;
    try {
      // The allowed origin varies per request, so shared caches must key on it.
      headers.append('Vary', 'Origin');
    } catch {
      // Immutable headers (a response from fetch or the cache): copy it once.
      c.res = new Response(c.res.body, c.res);
      headers = c.res.headers;
      headers.append('Vary', 'Origin');
    }
    if (origin !== undefined) {
      headers.set('Access-Control-Allow-Origin', origin);
      headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}
