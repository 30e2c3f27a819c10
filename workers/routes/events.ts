import type { Context } from 'hono';
import { readConfig } from '../../core/config.ts';
import { extractEventList, validateBatch, type ValidEvent } from '../../core/events.ts';
import { uuidv7 } from '../../core/ids.ts';
import type { ShardIngestResult } from '../../core/protocol.ts';
import { groupByShard, shardObjectName } from '../../core/shard.ts';
import type { AppEnv } from '../app-env.ts';
import { readJsonBody } from '../body.ts';
import { ApiError } from '../errors.ts';
import { resolveProjectId } from '../project.ts';

/** POST /v1/events: validate, group by shard, one RPC per shard, 202 with per-event rejections. */
export async function postEvents(c: Context<AppEnv>): Promise<Response> {
  const config = readConfig(c.env);
  const projectId = resolveProjectId(c);
  const body = await readJsonBody(c.req.raw, config.maxBodyBytes);
  const shape = extractEventList(body);
  if (!shape.ok) throw new ApiError(400, shape.code, shape.message);
  if (shape.items.length > config.maxEventsPerRequest) {
    throw new ApiError(413, 'too_many_events', `A request may carry at most ${config.maxEventsPerRequest} events.`);
  }
  const receivedAt = Date.now();
  const { accepted, rejected } = validateBatch(shape.items, { nowMs: receivedAt, newEventId: () => uuidv7(receivedAt) });

  // Events of one user share a shard, so per-shard uniques partition users.
  const byShard = groupByShard(accepted, (event: ValidEvent) => event.userId ?? event.eventId, config.shardCount);
  let results: ShardIngestResult[];
  try {
    results = await Promise.all(
      [...byShard].map(([shard, events]) => {
        const stub = c.env.SHARD_AGGREGATOR.get(c.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard)));
        return stub.ingest({ projectId, shard, events });
      }),
    );
  } catch (error) {
    // Some shards may have counted their part; a retry with the same eventIds is deduplicated.
    console.error('Shard ingest failed', error);
    throw new ApiError(503, 'ingest_unavailable', 'Events could not be stored; retry the same batch.', { 'Retry-After': '1' });
  }
  const duplicates = results.reduce((sum, result) => sum + result.duplicates, 0);
  return c.json(
    {
      status: 'ACCEPTED',
      receivedAt: new Date(receivedAt).toISOString(),
      accepted: accepted.length,
      duplicates,
      rejected,
    },
    202,
  );
}
