import type { Context } from 'hono';
import { configOf } from '../../core/config.ts';
import { extractEventList } from '../../core/events.ts';
import { WRITE_KINDS } from '../../core/keys.ts';
import type { AppEnv } from '../app-env.ts';
import { authenticate } from '../auth.ts';
import { readJsonBody } from '../body.ts';
import { ApiError } from '../errors.ts';
import { enforceRateLimit, ingestItems } from '../ingest.ts';

/** POST /v1/events: one event, an array, or { events: [...] } (seed 003 contract). */
export async function postEvents(c: Context<AppEnv>): Promise<Response> {
  const auth = await authenticate(c, WRITE_KINDS);
  await enforceRateLimit(c, auth);
  const body = await readJsonBody(c.req.raw, configOf(c.env).maxBodyBytes);
  const shape = extractEventList(body);
  if (!shape.ok) throw new ApiError(400, shape.code, shape.message);
  return ingestItems(c, auth, shape.items);
}
