import type { Context } from 'hono';
import { isPlainObject } from '../../core/events.ts';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS, readLiveConfig } from '../../core/live-config.ts';
import { TOPIC_MAX_LENGTH } from '../../core/topics.ts';
import { mintViewerToken } from '../../core/viewer-token.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../errors.ts';

const MAX_BODY_CHARS = 4096;

/**
 * POST /v1/live/token (read key): mints a short-lived viewer token, so a
 * browser can watch live values without holding the read key. Body (optional
 * JSON): `{ "topicPrefix": "metrics:ad_click", "ttlSeconds": 300 }`. The
 * token is an HMAC-SHA256 over its claims (core/viewer-token.ts) with the
 * VIEWER_TOKEN_SECRET secret; GET /v1/live?token= checks it at the edge.
 */
export async function postLiveToken(c: Context<AppEnv>): Promise<Response> {
  const secret = c.env.VIEWER_TOKEN_SECRET;
  if (typeof secret !== 'string' || secret.length < 16) {
    throw new ApiError(503, 'live_tokens_unavailable', 'Viewer tokens are not configured (set the VIEWER_TOKEN_SECRET secret, at least 16 characters).');
  }
  const config = readLiveConfig(c.env);
  const request = parseTokenRequest(await c.req.text(), config.tokenTtlSeconds);
  const projectId = c.get('auth').projectId;
  const exp = Math.floor(Date.now() / 1000) + request.ttlSeconds;
  const token = await mintViewerToken(secret, { projectId, topicPrefix: request.topicPrefix, exp });
  const url = `/v1/live?token=${encodeURIComponent(token)}&project=${encodeURIComponent(projectId)}`;
  return c.json({ token, projectId, topicPrefix: request.topicPrefix, expiresAt: new Date(exp * 1000).toISOString(), url }, 201);
}

function parseTokenRequest(text: string, defaultTtlSeconds: number): { topicPrefix: string; ttlSeconds: number } {
  if (text.trim() === '') return { topicPrefix: '', ttlSeconds: defaultTtlSeconds };
  if (text.length > MAX_BODY_CHARS) throw new ApiError(413, 'payload_too_large', `The body must be at most ${MAX_BODY_CHARS} characters.`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'malformed_json', 'The body is not valid JSON.');
  }
  if (!isPlainObject(body)) throw new ApiError(400, 'invalid_body', 'The body must be a JSON object.');
  const { topicPrefix = '', ttlSeconds = defaultTtlSeconds, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ApiError(400, 'invalid_body', `Unknown field ${JSON.stringify(unknown[0])}; allowed: topicPrefix, ttlSeconds.`);
  if (typeof topicPrefix !== 'string' || topicPrefix.length > TOPIC_MAX_LENGTH) {
    throw new ApiError(400, 'invalid_body', `topicPrefix must be a string of at most ${TOPIC_MAX_LENGTH} characters.`);
  }
  if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < MIN_TOKEN_TTL_SECONDS || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new ApiError(400, 'invalid_body', `ttlSeconds must be an integer in [${MIN_TOKEN_TTL_SECONDS}, ${MAX_TOKEN_TTL_SECONDS}].`);
  }
  return { topicPrefix, ttlSeconds };
}
