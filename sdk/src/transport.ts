import type { QueuedEvent } from './event.ts';
import { parseRetryAfter } from './retry.ts';
import type { FetchLike } from './types.ts';

export interface ServerRejection {
  index: number;
  code: string;
  message: string;
}

/** What one POST means for its batch. `rejected`: events the server refused for good (a partial 503 has them too). */
export type PostOutcome =
  | { kind: 'accepted'; status: number; rejected: ServerRejection[] }
  /** `failed`: request indexes the server asks to re-send; absent means all. */
  | { kind: 'retry'; status: number | undefined; retryAfterMs: number; failed: number[] | undefined; rejected: ServerRejection[]; reason: string }
  | { kind: 'failed'; status: number; reason: string };

export function batchBody(items: readonly QueuedEvent[]): string {
  return `{"events":[${items.map((item) => item.json).join(',')}]}`;
}

/** How many items from `from` on fit in one body of at most maxBytes; at least one, so nothing gets stuck. */
export function fitCount(items: readonly QueuedEvent[], from: number, maxCount: number, maxBytes: number): number {
  let count = 0;
  let bytes = 13; // {"events":[]}
  for (let i = from; i < items.length && count < maxCount; i++, count++) {
    bytes += (items[i]?.bytes ?? 0) + 1; // + the comma
    if (count > 0 && bytes > maxBytes) break;
  }
  return count;
}

export async function postBatch(
  fetchFn: FetchLike,
  url: string,
  writeKey: string,
  items: readonly QueuedEvent[],
  timeoutMs: number,
): Promise<PostOutcome> {
  // A hung connection must not hold a request slot forever.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchFn(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${writeKey}` },
      body: batchBody(items),
      signal: controller.signal,
    });
    // Always drain the body: Node's fetch keeps the connection busy until it is read.
    const text = await response.text().catch(() => '');
    return classify(response.status, response.headers.get('Retry-After'), text, items.length);
  } catch (error) {
    return { kind: 'retry', status: undefined, retryAfterMs: 0, failed: undefined, rejected: [], reason: `network error: ${String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

export function classify(status: number, retryAfter: string | null, text: string, count: number): PostOutcome {
  const body = parseJson(text);
  if (status >= 200 && status < 300) return { kind: 'accepted', status, rejected: readRejections(body, count) };
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const reason = `HTTP ${status}${typeof error.code === 'string' ? ` ${error.code}` : ''}${typeof error.message === 'string' ? `: ${error.message}` : ''}`;
  if (status === 429 || status >= 500) {
    return { kind: 'retry', status, retryAfterMs: parseRetryAfter(retryAfter), failed: readFailed(body, count), rejected: readRejections(body, count), reason };
  }
  // Any other answer (4xx, or a redirect fetch did not follow) will not change on a retry.
  return { kind: 'failed', status, reason };
}

function readRejections(body: unknown, count: number): ServerRejection[] {
  if (!isRecord(body) || !Array.isArray(body.rejected)) return [];
  const entries: unknown[] = body.rejected;
  const rejections: ServerRejection[] = [];
  for (const entry of entries) {
    if (isRecord(entry) && isIndex(entry.index, count)) {
      rejections.push({
        index: entry.index,
        code: typeof entry.code === 'string' ? entry.code : 'rejected',
        message: typeof entry.message === 'string' ? entry.message : 'rejected by the server',
      });
    }
  }
  return rejections;
}

function readFailed(body: unknown, count: number): number[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.failed)) return undefined;
  const raw: unknown[] = body.failed;
  const failed = raw.filter((index) => isIndex(index, count));
  // Trust the subset only if all of it is sensible; otherwise re-send everything (dedup makes that safe).
  return failed.length === raw.length ? [...new Set(failed)] : undefined;
}

function isIndex(value: unknown, count: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < count;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
