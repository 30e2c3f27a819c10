/**
 * Cookie-less visitor ids, as Plausible does: where a client sends no userId,
 * the visitor is HMAC-SHA256(daily secret salt, project | IP | User-Agent).
 * Uniques work within a day without cookies or any stored personal data.
 * Pure: Web Crypto only (`crypto.subtle`), available in workerd and Node 24.
 *
 * Privacy:
 * - The raw IP is used only as HMAC input, in memory, for this one call. It is
 *   never stored, logged, returned or put in an error message, and the id
 *   cannot be reversed to it (a keyed hash of a secret the data never holds).
 * - The salt is a random secret per UTC day (saltDay of the receive time). The
 *   project registry (durable-objects/ProjectRegistry.ts) keeps only today's
 *   and yesterday's and deletes older ones, so once a salt is gone nobody,
 *   operators included, can recompute that day's ids from an IP and
 *   User-Agent: a visitor gets a new id every day and cannot be followed
 *   across days. Imported keys are cached in memory only (a few per isolate).
 */

/** Versioned domain tag: changing the construction must change every id. */
const DOMAIN = 'edgepulse.visitor.v1';
/** A different tag: a rate-limit key never equals any visitor id, even for the same IP. */
const RATE_DOMAIN = 'edgepulse.ratelimit-client.v1';
/** Same bound as the UA parser: bounds HMAC input and keeps ids stable for absurd headers. */
const USER_AGENT_MAX_LENGTH = 512;
/** Salts are random secrets of >= 128 bits in any printable encoding (base64url, hex). */
const SALT_MIN_LENGTH = 22;
/** 16 of the 32 HMAC bytes: 128 bits, collision-free at any realistic visitor count. */
const ID_BYTES = 16;
/** Imported HMAC keys per salt; the registry serves today's and yesterday's. */
const KEY_CACHE_SIZE = 4;

export interface VisitorIdInput {
  /** The day's random secret (newSalt(); the registry's hex salts work too). */
  salt: string;
  /** Client IP (CF-Connecting-IP); used as HMAC input only, never stored. */
  ip: string;
  userAgent: string;
  projectId: string;
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** `v_` + 32 hex characters; stable for one (salt, project, IP, User-Agent). */
export async function visitorId(input: VisitorIdInput): Promise<string> {
  if (input.salt.length < SALT_MIN_LENGTH) throw new Error('visitorId: the salt is too short to be a secret.');
  const key = await hmacKey(input.salt);
  const ua = input.userAgent.length > USER_AGENT_MAX_LENGTH ? input.userAgent.slice(0, USER_AGENT_MAX_LENGTH) : input.userAgent;
  // IPv6 text may differ in letter case only; both spell the same address.
  const message = lengthPrefixed([DOMAIN, input.projectId, input.ip.trim().toLowerCase(), ua]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  return `v_${toHex(mac.subarray(0, ID_BYTES))}`;
}

/**
 * The rate limiter's name for one client of a project: a keyed hash of the
 * IP alone (a User-Agent is free to rotate, so it must not buy a new budget),
 * rotating with the day's salt. Like visitorId, the IP is HMAC input only.
 */
export async function clientRateKey(input: Omit<VisitorIdInput, 'userAgent'>): Promise<string> {
  if (input.salt.length < SALT_MIN_LENGTH) throw new Error('clientRateKey: the salt is too short to be a secret.');
  const key = await hmacKey(input.salt);
  const message = lengthPrefixed([RATE_DOMAIN, input.projectId, input.ip.trim().toLowerCase()]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  return `c_${toHex(mac.subarray(0, ID_BYTES))}`;
}

/** The UTC day a salt belongs to, `YYYY-MM-DD`. */
export function saltDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** A fresh salt: 32 random bytes, base64url without padding (43 characters). */
export function newSalt(random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(32);
  random(bytes);
  return toBase64url(bytes);
}

function hmacKey(salt: string): Promise<CryptoKey> {
  const cached = keyCache.get(salt);
  if (cached !== undefined) return cached;
  // The salt's text is the key material, whatever its encoding: no decoding step to get wrong.
  const promise = crypto.subtle.importKey('raw', encoder.encode(salt), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  if (keyCache.size >= KEY_CACHE_SIZE) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) keyCache.delete(oldest.value);
  }
  keyCache.set(salt, promise);
  // A failed import must not stay cached.
  promise.catch(() => keyCache.delete(salt));
  return promise;
}

/**
 * Each field as a 4-byte big-endian byte length followed by its UTF-8 bytes,
 * so no two different field lists give the same message ("a|b" + "c" vs "a" + "b|c").
 */
function lengthPrefixed(fields: readonly string[]): Uint8Array<ArrayBuffer> {
  const encoded = fields.map((field) => encoder.encode(field));
  const total = encoded.reduce((sum, bytes) => sum + 4 + bytes.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const bytes of encoded) {
    view.setUint32(offset, bytes.length);
    out.set(bytes, offset + 4);
    offset += 4 + bytes.length;
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += HEX[byte] ?? '';
  return hex;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function toBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += BASE64URL.charAt((n >> 18) & 63) + BASE64URL.charAt((n >> 12) & 63) + BASE64URL.charAt((n >> 6) & 63) + BASE64URL.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = ((bytes[i] ?? 0) << 16) | ((rest === 2 ? (bytes[i + 1] ?? 0) : 0) << 8);
    out += BASE64URL.charAt((n >> 18) & 63) + BASE64URL.charAt((n >> 12) & 63);
    if (rest === 2) out += BASE64URL.charAt((n >> 6) & 63);
  }
  return out;
}
