import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';


/**
 * GET /v1/live: hands the upgrade to the project's Broadcast object. Accepting
 * here (e.g. Hono's upgradeWebSocket) would pin every socket to this Worker
 * and defeat hibernation.
 */
export async function getLive(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError(426, 'upgrade_required', 'GET /v1/live expects a WebSocket upgrade.');
  }
  const projectId = c.get('auth').projectId;
  const broadcast = c.env.BROADCAST.get(c.env.BROADCAST.idFromName(projectId));
  return broadcast.fetch(c.req.raw);
}
