/**
 * Full jitter, random(0, min(cap, base * 2^attempt)) (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"): spreads retries of many clients after an
 * outage. The server's Retry-After is a floor, never shortened.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  retryAfterMs = 0,
  random: () => number = Math.random,
): number {
  const jitter = random() * Math.min(capMs, baseMs * 2 ** attempt);
  return Math.max(jitter, retryAfterMs);
}

/** Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); 0 when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs: number = Date.now()): number {
  if (header === null) return 0;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : 0;
}
