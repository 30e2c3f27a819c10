import type { Context } from 'hono';
import { readConfig } from '../core/config.ts';
import { parseBackpressure } from '../core/backpressure.ts';
import type { EnrichedEvent } from '../core/enrich.ts';
import { validateBatch, type EventRejection } from '../core/events.ts';
import { uuidv7 } from '../core/ids.ts';
import { groupByShard, shardObjectName } from '../core/shard.ts';
import type { KeyRecord } from '../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from './app-env.ts';
import { enrichBatch } from './enrichment.ts';
import { ApiError } from './errors.ts';

/** Seconds a rate-limited client should wait: the limiter's period. */
const RATE_LIMIT_RETRY_AFTER_S = 10;

/** Per write key; runs before the body is read, so a limited request costs no parsing and no shard call. */
export async function enforceRateLimit(c: Context<AppEnv>, auth: KeyRecord, keyHash: string): Promise<void> {
  const { success } = await c.env.INGEST_RATE_LIMITER.limit({ key: `${auth.projectId}:${keyHash}` });
  if (!success) {
    throw new ApiError(429, 'rate_limited', 'Too many requests for this key; slow down.', { 'Retry-After': String(RATE_LIMIT_RETRY_AFTER_S) });
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
 * Validates raw events and hands them to their shards, one RPC per shard.
 * Answers 202 only when every shard durably took its part; when a shard
 * fails, answers 503 naming the events to retry (the others are counted, and
 * retrying them anyway is harmless: event ids are deduplicated).
 */
export async function ingestItems(c: Context<AppEnv>, auth: KeyRecord, items: readonly unknown[]): Promise<Response> {
  const config = readConfig(c.env);
  if (items.length > config.maxEventsPerRequest) {
    throw new ApiError(413, 'too_many_events', `A request may carry at most ${config.maxEventsPerRequest} events.`);
  }
  const receivedAt = Date.now();
  const { accepted, acceptedIndexes, rejected } = validateBatch(items, { nowMs: receivedAt, newEventId: () => uuidv7(receivedAt) });
  const enriched = await enrichBatch(c, auth, accepted, receivedAt);
  const indexed = enriched.map((event, i) => ({ event, index: acceptedIndexes[i] ?? -1 }));

  // Events of one user (or visitor) share a shard, so per-shard uniques partition users.
  const byShard = groupByShard(indexed, ({ event }) => event.userId, config.shardCount);
  const shards = [...byShard];
  const tooOld = rejected.filter((rejection) => rejection.code === 'timestamp_too_old').length;
  // Too-old rejections are counted per window by a shard; any shard will do, even one with no events.
  if (tooOld > 0 && shards.length === 0) shards.push([0, []]);
  const dimensionPolicy = { declared: auth.project.declaredDimensions };
  const results = await Promise.allSettled(
    shards.map(([shard, group], i) => {
      const stub = c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(auth.projectId, shard)));
      const events: EnrichedEvent[] = group.map(({ event }) => event);
      // One JSON string per shard: serializing and sending it costs far less than structured-cloning an array of event objects.
      const eventsJson = JSON.stringify(events);
      return stub.ingest({ projectId: auth.projectId, shard, eventsJson, dimensionPolicy, ...(i === 0 && tooOld > 0 ? { rejectedTooOld: tooOld } : {}) });
    }),
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
