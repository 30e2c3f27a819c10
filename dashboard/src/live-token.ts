/**
 * Viewer tokens for the live socket: the dashboard trades its read key for a
 * short-lived token (`POST /v1/live/token`, bearer read key) and puts only the
 * token in the WebSocket URL (URLs end up in proxy and server logs; the key
 * stays in an Authorization header). Tokens gate connecting only, so a token
 * is renewed ahead of its expiry for the next (re)connect, never for the open
 * socket. A server that cannot mint tokens (no VIEWER_TOKEN_SECRET: 503
 * `live_tokens_unavailable`, or an older server: 404) gets `?key=` as before.
 * Pure apart from the injected fetch and clock, so it is unit-tested in Node.
 */
import { asObject, isoMs, readError } from './json.ts';

export type LiveCredential =
  | { kind: 'token'; path: string; expiresAtMs: number }
  | { kind: 'key'; key: string }
  /** No read key configured: the server will refuse, and the page already says why. */
  | { kind: 'none' };

export class TokenError extends Error {
  readonly code: string;
  /** HTTP status, 0 when no answer came. */
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
    this.status = status;
  }
}

/** How long a server without token support is believed before asking again. */
const FALLBACK_RECHECK_MS = 5 * 60_000;
/** A token is renewed once this share of its lifetime has passed... */
const REFRESH_AT_SHARE = 0.8;
/** ...and at the latest this long before it expires. */
const REFRESH_MARGIN_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** `{ url, expiresAt }` of a 201 answer, validated: the URL must be the live route. */
export function parseTokenAnswer(body: unknown): { path: string; expiresAtMs: number } | null {
  const o = asObject(body);
  if (!o || typeof o.token !== 'string' || o.token.length === 0 || typeof o.url !== 'string' || !o.url.startsWith('/v1/live?')) return null;
  const expiresAtMs = isoMs(o.expiresAt);
  return expiresAtMs === null ? null : { path: o.url, expiresAtMs };
}

/** When a token obtained at `obtainedAtMs` should be replaced. */
export function refreshDueAt(obtainedAtMs: number, expiresAtMs: number): number {
  const lifetime = Math.max(0, expiresAtMs - obtainedAtMs);
  return Math.min(obtainedAtMs + lifetime * REFRESH_AT_SHARE, expiresAtMs - REFRESH_MARGIN_MS);
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ViewerTokenOptions {
  key: string | null;
  /** Where the API is (the page's location). */
  baseHref: string;
  fetch: FetchLike;
  now: () => number;
}

export class ViewerTokens {
  private readonly options: ViewerTokenOptions;
  private token: { path: string; expiresAtMs: number; dueAtMs: number } | null = null;
  private fallbackUntilMs = Number.NEGATIVE_INFINITY;
  private pending: Promise<LiveCredential> | null = null;

  constructor(options: ViewerTokenOptions) {
    this.options = options;
  }

  /** When the held token should be renewed; null without one. */
  get dueAtMs(): number | null {
    return this.token?.dueAtMs ?? null;
  }

  /** What to connect with now: a fresh-enough token, minted if needed (concurrent callers share one request). */
  credential(): Promise<LiveCredential> {
    const { key, now } = this.options;
    if (key === null) return Promise.resolve({ kind: 'none' });
    const held = this.token;
    if (held !== null && now() < held.dueAtMs) return Promise.resolve({ kind: 'token', path: held.path, expiresAtMs: held.expiresAtMs });
    if (now() < this.fallbackUntilMs) return Promise.resolve({ kind: 'key', key });
    this.pending ??= this.mint(key).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async mint(key: string): Promise<LiveCredential> {
    const { fetch, now, baseHref } = this.options;
    const requestedAt = now();
    let response: Response;
    try {
      response = await fetch(new URL('/v1/live/token', baseHref).toString(), {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      // A token that is due for renewal but not expired still opens a socket.
      const held = this.token;
      if (held !== null && now() < held.expiresAtMs - 1000) return { kind: 'token', path: held.path, expiresAtMs: held.expiresAtMs };
      throw new TokenError('network_error', 'The viewer token could not be fetched.', 0);
    }
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.status === 201) {
      const answer = parseTokenAnswer(body);
      if (answer === null) throw new TokenError('invalid_response', 'The token answer is not what the live route expects.', response.status);
      this.token = { ...answer, dueAtMs: refreshDueAt(requestedAt, answer.expiresAtMs) };
      return { kind: 'token', ...answer };
    }
    const error = readError(body);
    if (response.status === 404 || (response.status === 503 && error?.code === 'live_tokens_unavailable')) {
      this.token = null;
      this.fallbackUntilMs = now() + FALLBACK_RECHECK_MS;
      return { kind: 'key', key };
    }
    throw new TokenError(error?.code ?? `http_${response.status}`, error?.message ?? `POST /v1/live/token answered ${response.status}.`, response.status);
  }
}

/** `ws(s)://<same host>/v1/live?…` for a credential, with flow control when `ackWindow` is set. */
export function liveSocketUrl(location: Location | URL, credential: LiveCredential, ackWindow: number | null): string {
  const url = new URL(credential.kind === 'token' ? credential.path : '/v1/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (credential.kind === 'key') url.searchParams.set('key', credential.key);
  if (ackWindow !== null) url.searchParams.set('ack', String(ackWindow));
  return url.toString();
}
