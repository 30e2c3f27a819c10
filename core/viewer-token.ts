/**
 * Short-lived viewer tokens for the live WebSocket: a dashboard server (or
 * the query API, with a read key) mints one; the edge checks it on the
 * upgrade, before any Durable Object is touched. Format:
 * `base64url(JSON claims) "." base64url(HMAC-SHA256(secret, claims part))`.
 */
import { base64url } from './keys.ts';

export interface ViewerClaims {
  /** Project the token is valid for. */
  projectId: string;
  /** Topics the viewer may subscribe to must start with this ('' = any). */
  topicPrefix: string;
  /** Expiry, epoch seconds. */
  exp: number;
  v: 1;
}

export const MAX_VIEWER_TOKEN_TTL_S = 24 * 3600;
const MAX_TOKEN_LENGTH = 2048;

export type TokenCheck = { ok: true; claims: ViewerClaims } | { ok: false; code: 'malformed_token' | 'bad_signature' | 'token_expired'; message: string };

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    if (keyCache.size > 8) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

export async function mintViewerToken(secret: string, claims: Omit<ViewerClaims, 'v'>): Promise<string> {
  if (secret.length < 16) throw new Error('Viewer token secret must be at least 16 characters.');
  const body = base64url(encoder.encode(JSON.stringify({ ...claims, v: 1 })));
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(body)));
  return `${body}.${base64url(signature)}`;
}

export async function verifyViewerToken(secret: string, token: string, nowMs: number): Promise<TokenCheck> {
  if (token.length > MAX_TOKEN_LENGTH) return malformed();
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return malformed();
  const body = token.slice(0, dot);
  const signature = fromBase64url(token.slice(dot + 1));
  if (signature === null) return malformed();
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, encoder.encode(body));
  if (!valid) return { ok: false, code: 'bad_signature', message: 'The viewer token is not valid.' };
  const bytes = fromBase64url(body);
  if (bytes === null) return malformed();
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return malformed();
  }
  if (!isClaims(claims)) return malformed();
  if (claims.exp * 1000 <= nowMs) return { ok: false, code: 'token_expired', message: 'The viewer token has expired.' };
  return { ok: true, claims };
}

function isClaims(value: unknown): value is ViewerClaims {
  if (typeof value !== 'object' || value === null) return false;
  const record: Record<string, unknown> = { ...value };
  return (
    record.v === 1 &&
    typeof record.projectId === 'string' &&
    typeof record.topicPrefix === 'string' &&
    typeof record.exp === 'number' &&
    Number.isFinite(record.exp)
  );
}

function malformed(): TokenCheck {
  return { ok: false, code: 'malformed_token', message: 'The viewer token is malformed.' };
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}
