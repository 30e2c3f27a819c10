import type { Context } from 'hono';
import { configOf } from '../core/config.ts';
import { parseBackpressure } from '../core/backpressure.ts';
import type { EnrichedEvent } from '../core/enrich.ts';
import { validateBatch, type EventRejection } from '../core/events.ts';
import { uuidv7 } from '../core/ids.ts';
import { LruMap } from '../core/lru.ts';
import type { ShardIngestRequest } from '../core/protocol.ts';
import { groupByShard, shardObjectName } from '../core/shard.ts';
import { clientRateKey, saltDay } from '../core/visitor-id.ts';
import type { KeyRecord } from '../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from './app-env.ts';
import type { AuthenticatedKey } from './auth.ts';
import { dailySalt, enrichBatch } from './enrichment.ts';
import { ApiError } from './errors.ts';

/** Seconds a rate-limited client should wait: the limiters' period. */
const RATE_LIMIT_RETRY_AFTER_S = 10;

/**
 * Two limits, both before the body is read when the key came in a header (a
 * limited request then costs no parsing and no shard call):
 * - per (public key, client): one browser, or one script with a site's
 *   public key, cannot use up the whole site's budget. The client is a keyed
 *   hash of its IP with the day's salt (core/visitor-id.ts clientRateKey),
 *   never the IP. Checked first, so its refusals do not count against the key.
 * - per key: the whole site (or server integration).
 */
export async function enforceRateLimit(c: Context<AppEnv>, auth: AuthenticatedKey): Promise<void> {
  if (auth.kind === 'public') {
    const ip = c.req.header('CF-Connecting-IP');
    // No client address (local tools, tests): nothing to tell clients apart by; the key's limit still applies.
    const client = ip === undefined || ip === '' ? null : await clientKey(c.env, auth.projectId, ip);
    if (client !== null) {
      const { success } = await c.env.INGEST_VISITOR_RATE_LIMITER.limit({ key: `${auth.projectId}:${auth.keyHash}:${client}` });
      if (!success) {
        throw new ApiError(429, 'rate_limited', 'Too many requests from this client for this key; slow down.', { 'Retry-After': String(RATE_LIMIT_RETRY_AFTER_S) });
      }
    }
  }
  const { success } = await c.env.INGEST_RATE_LIMITER.limit({ key: `${auth.projectId}:${auth.keyHash}` });
  if (!success) {
    throw new ApiError(429, 'rate_limited', 'Too many requests for this key; slow down.', { 'Retry-After': String(RATE_LIMIT_RETRY_AFTER_S) });
  }
}

async function clientKey(env: Env, projectId: string, ip: string): Promise<string | null> {
  try {
    return await clientRateKey({ salt: await dailySalt(env, saltDay(Date.now())), ip, projectId });
  } catch (error) {
    // Without the salt there is no private name for the client; the key's own limit still holds.
    console.warn('Client rate-limit key unavailable:', error instanceof Error ? error.message : error);
    return null;
  }
}

export interface IngestResponseBody {
  status: 'ACCEPTED';
  receivedAt: string;
  accepted: number;
  duplicates: number;
  rejected: EventRejection[];
}

/**
 * Shard object ids by name. An id is a plain value (not an I/O object), so it
 * may outlive the request that derived it; deriving one hashes the name, and a
 * 16-shard request would otherwise do that 16 times.
 */
const shardIds = new LruMap<string, DurableObjectId>(4096);

function shardStub(env: Env, projectId: string, shard: number) {
  const name = shardObjectName(projectId, shard);
  let id = shardIds.get(name);
  if (id === undefined) {
    id = env.SHARD_AGGREGATOR.idFromName(name);
    shardIds.set(name, id);
  }
  return env.SHARD_AGGREGATOR.get(id);
}

/**
 * Validates raw events and hands them to their shards, one RPC per shard.
 * Answers 202 only when every shard durably took its part; when a shard
 * fails, answers 503 naming the events to retry (the others are counted, and
 * retrying them anyway is harmless: event ids are deduplicated).
 */
export async function ingestItems(c: Context<AppEnv>, auth: KeyRecord, items: readonly unknown[]): Promise<Response> {
  const config = configOf(c.env);
  if (items.length > config.maxEventsPerRequest) {
    throw new ApiError(413, 'too_many_events', `A request may carry at most ${config.maxEventsPerRequest} events.`);
  }
  const receivedAt = Date.now();
  const { accepted, acceptedIndexes, rejected } = validateBatch(items, {
    nowMs: receivedAt,
    maxFutureSkewMs: config.maxFutureSkewMs,
    maxEventAgeMs: config.maxEventAgeMs,
    newEventId: () => uuidv7(receivedAt),
  });
  const enriched = await enrichBatch(c, auth, accepted, receivedAt);
  const indexed = enriched.map((event, i) => ({ event, index: acceptedIndexes[i] ?? -1 }));

  // Events of one user (or visitor) share a shard, so per-shard uniques partition users.
  const shards = [...groupByShard(indexed, ({ event }) => event.userId, config.shardCount)];
  const tooOld = rejected.filter((rejection) => rejection.code === 'timestamp_too_old').length;
  // Omitted = every dimension (the shard's default); most projects declare none.
  const dimensionPolicy = auth.project.declaredDimensions === null ? undefined : { declared: auth.project.declaredDimensions };
  const shardRequest = (shard: number, events: readonly EnrichedEvent[], rejectedTooOld: number): ShardIngestRequest => ({
    projectId: auth.projectId,
    shard,
    // One JSON string per shard: serializing and sending it costs far less than structured-cloning an array of event objects.
    eventsJson: JSON.stringify(events),
    ...(dimensionPolicy !== undefined ? { dimensionPolicy } : {}),
    ...(rejectedTooOld > 0 ? { rejectedTooOld } : {}),
  });

  if (tooOld > 0 && shards.length === 0) {
    // Only too-old events: their count is a health statistic, not data. Sent
    // after the answer and never awaited by it, so a shard's failure here can
    // never turn a request with nothing to retry into a 503.
    const send = shardStub(c.env, auth.projectId, 0)
      .ingest(shardRequest(0, [], tooOld))
      .then(
        () => undefined,
        (error: unknown) => console.warn(`Too-old count of ${auth.projectId} not recorded:`, error instanceof Error ? error.message : error),
      );
    c.executionCtx.waitUntil(send);
  }

  const results = await Promise.allSettled(
    // Too-old counts ride along with the first shard's call: no extra RPC.
    shards.map(([shard, group], i) => shardStub(c.env, auth.projectId, shard).ingest(shardRequest(shard, group.map(({ event }) => event), i === 0 ? tooOld : 0))),
  );

  let duplicates = 0;
  let acceptedCount = 0;
  let retryAfterSeconds = 1;
  const failed: number[] = [];
  results.forEach((result, i) => {
    const group = shards[i]?.[1] ?? [];
    if (result.status === 'fulfilled') {
      duplicates += result.value.duplicates;
      acceptedCount += result.value.accepted;
      return;
    }
    // A full backlog records nothing and says how long to wait; anything else is a plain failure.
    const backpressure = parseBackpressure(result.reason);
    if (backpressure !== null) retryAfterSeconds = Math.max(retryAfterSeconds, backpressure.retryAfterSeconds);
    else console.error(`Shard ${shards[i]?.[0]} of ${auth.projectId} failed`, result.reason);
    failed.push(...group.map(({ index }) => index));
  });
  const body: IngestResponseBody = {
    status: 'ACCEPTED',
    receivedAt: new Date(receivedAt).toISOString(),
    accepted: acceptedCount,
    duplicates,
    rejected,
  };
  if (failed.length > 0) {
    failed.sort((a, b) => a - b);
    return c.json(
      {
        error: { code: 'partially_accepted', message: `${failed.length} events could not be stored; retry just those (see "failed").` },
        ...body,
        failed,
      },
      503,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
  return c.json(body, 202);
}
