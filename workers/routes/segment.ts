import type { Context } from 'hono';
import { configOf } from '../../core/config.ts';
import { isPlainObject, type EventRejection } from '../../core/events.ts';
import { WRITE_KINDS } from '../../core/keys.ts';
import {
  mapSegmentMessage,
  parseSegmentBatch,
  parseSegmentSingle,
  SEGMENT_MAX_BATCH_BYTES,
  SEGMENT_MAX_EVENT_BYTES,
  SEGMENT_ROUTE_TYPES,
  segmentWriteKey,
  type SegmentBody,
  type SegmentRawEvent,
  type SegmentType,
} from '../../core/segment.ts';
import type { AppEnv } from '../app-env.ts';
import { authenticate, extractKey, type AuthenticatedKey } from '../auth.ts';
import { readJsonBody } from '../body.ts';
import { ApiError } from '../errors.ts';
import { enforceRateLimit, ingestItems } from '../ingest.ts';

/**
 * Segment HTTP Tracking API compatibility (mapping rules in core/segment.ts).
 * Answers 200 `{ success: true, accepted, duplicates, rejected }` (Segment's
 * SDKs treat any 2xx as delivered) when every shard took its part; a partial
 * shard failure stays a 503 with the error shape, so SDKs retry the batch and
 * messageId dedup drops what was already counted.
 */

/** POST /v1/batch and /v1/b: `{ batch: [...], writeKey?, sentAt?, context? }`, up to 500 KB. */
export function postSegmentBatch(c: Context<AppEnv>): Promise<Response> {
  return ingestSegment(c, parseSegmentBatch, SEGMENT_MAX_BATCH_BYTES, undefined);
}

/** /v1/track, /v1/t, /v1/page, /v1/p, ...: exact paths (no pattern can then match a longer one). */
export const SEGMENT_MESSAGE_PATHS: string[] = Object.keys(SEGMENT_ROUTE_TYPES).map((call) => `/v1/${call}`);

/** POST /v1/track, /v1/t, /v1/page, /v1/p, ...: one message, up to 32 KB; the path sets its type. */
export function postSegmentMessage(c: Context<AppEnv>): Promise<Response> {
  const call = c.req.path.slice('/v1/'.length);
  const type = Object.hasOwn(SEGMENT_ROUTE_TYPES, call) ? SEGMENT_ROUTE_TYPES[call] : undefined;
  if (type === undefined) throw new ApiError(404, 'not_found', `No route for ${c.req.method} ${c.req.path}.`);
  return ingestSegment(c, parseSegmentSingle, SEGMENT_MAX_EVENT_BYTES, type);
}

async function ingestSegment(
  c: Context<AppEnv>,
  parse: (body: unknown) => SegmentBody,
  segmentLimitBytes: number,
  type: SegmentType | undefined,
): Promise<Response> {
  const receivedAtMs = Date.now();
  const maxBytes = Math.min(segmentLimitBytes, configOf(c.env).maxBodyBytes);
  const { auth, body } = await authenticateSegment(c, maxBytes);
  const shape = parse(body);
  if (!shape.ok) throw new ApiError(400, shape.code, shape.message);

  const items: SegmentRawEvent[] = [];
  /** Position in the request of each item passed on, so ingest's indexes can be mapped back. */
  const positions: number[] = [];
  const rejected: EventRejection[] = [];
  shape.messages.forEach((message, index) => {
    const mapped = mapSegmentMessage(message, { receivedAtMs, type, batchContext: shape.context, batchSentAt: shape.sentAt });
    if (mapped.ok) {
      items.push(mapped.event);
      positions.push(index);
    } else rejected.push({ index, code: mapped.code, message: mapped.message });
  });
  if (items.length === 0) return c.json({ success: true, accepted: 0, duplicates: 0, rejected }, 200);

  const response = await ingestItems(c, auth, items);
  const answer: unknown = await response.json();
  const outcome = readIngestOutcome(answer);
  if (outcome === null) {
    // An error without counts (nothing was stored): pass it on as it is.
    if (!response.ok) return new Response(JSON.stringify(answer), { status: response.status, headers: response.headers });
    throw new Error(`ingestItems answered ${response.status} with an unexpected body`);
  }
  const toRequestIndex = (index: number): number => positions[index] ?? index;
  for (const rejection of outcome.rejected) rejected.push({ ...rejection, index: toRequestIndex(rejection.index) });
  rejected.sort((a, b) => a.index - b.index);
  const counts = { accepted: outcome.accepted, duplicates: outcome.duplicates, rejected };

  if (response.status >= 200 && response.status < 300) return c.json({ success: true, ...counts }, 200);
  // Not all shards took their part: keep the status and Retry-After so SDKs retry.
  const failed = outcome.failed.map(toRequestIndex).sort((a, b) => a - b);
  const error = outcome.error ?? { code: 'ingest_unavailable', message: 'Some events could not be stored; retry the batch.' };
  return new Response(JSON.stringify({ error, success: false, ...counts, failed }), { status: response.status, headers: response.headers });
}

/**
 * The write key comes from Basic auth (key as user; server SDKs), Bearer, or
 * ?writeKey= (beacons), checked and rate-limited before the body is read; only
 * when none is there is the body read first, for its `writeKey` (analytics.js).
 */
async function authenticateSegment(c: Context<AppEnv>, maxBytes: number): Promise<{ auth: AuthenticatedKey; body: unknown }> {
  const headerKey = extractKey(c.req.raw);
  if (headerKey !== null) {
    const auth = await authenticate(c, WRITE_KINDS, headerKey);
    await enforceRateLimit(c, auth);
    return { auth, body: await readJsonBody(c.req.raw, maxBytes) };
  }
  const body = await readJsonBody(c.req.raw, maxBytes);
  const bodyKey = segmentWriteKey(body);
  const auth = await authenticate(c, WRITE_KINDS, bodyKey);
  await enforceRateLimit(c, auth);
  return { auth, body };
}

interface IngestOutcome {
  accepted: number;
  duplicates: number;
  rejected: EventRejection[];
  failed: number[];
  error: { code: string; message: string } | null;
}

/** ingestItems' JSON answer (202 IngestResponseBody, or 503 with error and failed), checked field by field. */
function readIngestOutcome(body: unknown): IngestOutcome | null {
  if (!isPlainObject(body)) return null;
  const { accepted, duplicates, rejected, failed, error } = body;
  if (typeof accepted !== 'number' || typeof duplicates !== 'number' || !Array.isArray(rejected)) return null;
  const rejections: EventRejection[] = [];
  for (const item of rejected) {
    if (!isPlainObject(item) || typeof item.index !== 'number' || typeof item.code !== 'string' || typeof item.message !== 'string') return null;
    rejections.push({ index: item.index, code: item.code, message: item.message });
  }
  const failedIndexes = Array.isArray(failed) ? failed.filter((index): index is number => typeof index === 'number') : [];
  const errorBody =
    isPlainObject(error) && typeof error.code === 'string' && typeof error.message === 'string' ? { code: error.code, message: error.message } : null;
  return { accepted, duplicates, rejected: rejections, failed: failedIndexes, error: errorBody };
}
