/**
 * API keys. A key is shown once, when minted; only its SHA-256 is stored.
 * The prefix tells a human (and a secret scanner) what kind of key leaked.
 *
 * Keys minted now carry a tag: `ep_pub_` + 32 random characters (24 bytes,
 * base64url) + 8 characters of HMAC-SHA256(tag secret, prefix + random). The
 * tag secret lives in the ProjectRegistry and is cached by every edge, so a
 * made-up or mistyped key is refused by one local HMAC, without a registry
 * lookup, and nobody without the secret can make one that passes (2^-48 per
 * try). Keys minted before tags (32 characters, no tag) still work through a
 * lookup while any is active (see workers/auth.ts).
 */
export type KeyKind = 'public' | 'server' | 'read';

export const KEY_PREFIX: Record<KeyKind, string> = {
  public: 'ep_pub_',
  server: 'ep_srv_',
  read: 'ep_read_',
};

const RANDOM_CHARS = 32;
const TAG_CHARS = 8;
/** 6 HMAC bytes = 8 base64url characters. */
const TAG_BYTES = 6;
const LEGACY_PATTERN = /^ep_(pub|srv|read)_[A-Za-z0-9_-]{32}$/;
const TAGGED_PATTERN = /^ep_(pub|srv|read)_[A-Za-z0-9_-]{40}$/;

/** Kinds allowed to send events; read keys may only query. */
export const WRITE_KINDS: readonly KeyKind[] = ['public', 'server'];
export const READ_KINDS: readonly KeyKind[] = ['read'];

export type KeyFormat = 'tagged' | 'legacy';

/** Mints a tagged key. `tagSecret` is the registry's (newKeyTagSecret()). */
export async function mintKey(
  kind: KeyKind,
  tagSecret: string,
  random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b),
): Promise<string> {
  const bytes = new Uint8Array((RANDOM_CHARS * 3) / 4);
  random(bytes);
  const untagged = KEY_PREFIX[kind] + base64url(bytes);
  return untagged + (await keyTag(tagSecret, untagged));
}

/** Cheap shape check before any lookup, so garbage never reaches storage. */
export function keyFormat(candidate: string): KeyFormat | null {
  if (TAGGED_PATTERN.test(candidate)) return 'tagged';
  if (LEGACY_PATTERN.test(candidate)) return 'legacy';
  return null;
}

export function looksLikeKey(candidate: string): boolean {
  return keyFormat(candidate) !== null;
}

/** Whether a tagged key's tag is the one the secret gives (constant time in the tag). */
export async function hasValidTag(key: string, tagSecret: string): Promise<boolean> {
  if (keyFormat(key) !== 'tagged') return false;
  const expected = await keyTag(tagSecret, key.slice(0, -TAG_CHARS));
  const given = key.slice(-TAG_CHARS);
  let diff = 0;
  for (let i = 0; i < TAG_CHARS; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}

/** A fresh tag secret: 32 random bytes, base64url. */
export function newKeyTagSecret(random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(32);
  random(bytes);
  return base64url(bytes);
}

/** Imported HMAC keys by secret (values only; a deployment has one secret). */
const tagKeys = new Map<string, CryptoKey>();

async function keyTag(tagSecret: string, untaggedKey: string): Promise<string> {
  if (tagSecret.length < 22) throw new Error('keyTag: the tag secret is too short to be a secret.');
  let key = tagKeys.get(tagSecret);
  if (key === undefined) {
    key = await crypto.subtle.importKey('raw', new TextEncoder().encode(tagSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    if (tagKeys.size >= 4) tagKeys.clear();
    tagKeys.set(tagSecret, key);
  }
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`edgepulse.key.v1|${untaggedKey}`));
  return base64url(new Uint8Array(mac).subarray(0, TAG_BYTES));
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
