/** Validation of untrusted JSON (API answers, socket frames): type guards, never casts. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asObject(value: unknown): JsonObject | null {
  return isObject(value) ? value : null;
}

export function finiteNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const item of value) if (typeof item === 'string' && item.length > 0) out.push(item);
  return out;
}

/** Milliseconds of an ISO-8601 string, or null. */
export function isoMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export interface ErrorBody {
  code: string;
  message: string;
}

/** The API's and the socket's error shape: `{ error: { code, message } }`. */
export function readError(body: unknown): ErrorBody | null {
  const error = asObject(asObject(body)?.error);
  if (!error) return null;
  const code = typeof error.code === 'string' || typeof error.code === 'number' ? String(error.code) : 'error';
  const message = typeof error.message === 'string' ? error.message : 'Unknown error.';
  return { code, message };
}
