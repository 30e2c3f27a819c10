/**
 * API keys. A key is shown once, when minted; only its SHA-256 is stored.
 * The prefix tells a human (and a secret scanner) what kind of key leaked.
 */
export type KeyKind = 'public' | 'server' | 'read';

export const KEY_PREFIX: Record<KeyKind, string> = {
  public: 'ep_pub_',
  server: 'ep_srv_',
  read: 'ep_read_',
};

const KEY_PATTERN = /^ep_(pub|srv|read)_[A-Za-z0-9_-]{32}$/;

/** Kinds allowed to send events; read keys may only query. */
export const WRITE_KINDS: readonly KeyKind[] = ['public', 'server'];
export const READ_KINDS: readonly KeyKind[] = ['read'];

export function mintKey(kind: KeyKind, random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(24);
  random(bytes);
  return KEY_PREFIX[kind] + base64url(bytes);
}

/** Cheap shape check before any lookup, so garbage never reaches storage. */
export function looksLikeKey(candidate: string): boolean {
  return KEY_PATTERN.test(candidate);
}

export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{1,62}$/;

export function isValidProjectId(candidate: unknown): candidate is string {
  return typeof candidate === 'string' && PROJECT_ID.test(candidate);
}

/** Origins are compared exactly (scheme://host[:port]); '*' allows any. */
export function isOriginAllowed(origin: string | null, allowedOrigins: readonly string[]): boolean {
  if (origin === null) return true;
  return allowedOrigins.includes('*') || allowedOrigins.includes(origin);
}

export function isValidOrigin(candidate: unknown): candidate is string {
  if (candidate === '*') return true;
  if (typeof candidate !== 'string' || candidate.length > 256) return false;
  try {
    const url = new URL(candidate);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === candidate;
  } catch {
    return false;
  }
}
