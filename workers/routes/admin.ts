import type { Context } from 'hono';
import { isPlainObject } from '../../core/events.ts';
import { hashKey, looksLikeKey, type KeyKind } from '../../core/keys.ts';
import { REGISTRY_NAME, type CreateProjectInput } from '../../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from '../app-env.ts';
import { readJsonBody } from '../body.ts';
import { ApiError } from '../errors.ts';

function registry(c: Context<AppEnv>) {
  return c.env.PROJECT_REGISTRY.get(c.env.PROJECT_REGISTRY.idFromName(REGISTRY_NAME));
}

/** POST /v1/admin/projects: creates a project and returns its three keys (shown once). */
export async function createProject(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonBody(c.req.raw, 64 * 1024);
  if (!isPlainObject(body)) throw new ApiError(400, 'invalid_body', 'Send a JSON object.');
  const input: CreateProjectInput = {
    projectId: typeof body.projectId === 'string' ? body.projectId : '',
    ...(typeof body.name === 'string' ? { name: body.name } : {}),
    ...(Array.isArray(body.allowedOrigins) ? { allowedOrigins: body.allowedOrigins.filter((o): o is string => typeof o === 'string') } : {}),
    ...(Array.isArray(body.declaredDimensions)
      ? { declaredDimensions: body.declaredDimensions.filter((d): d is string => typeof d === 'string') }
      : {}),
  };
  const result = await registry(c).createProject(input);
  if (!result.ok) throw new ApiError(result.code === 'project_exists' ? 409 : 400, result.code, result.message);
  return c.json({ project: result.project, keys: result.keys }, 201);
}

/** POST /v1/admin/projects/:projectId/keys {kind}: mints another key, e.g. for rotation. */
export async function createKey(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonBody(c.req.raw, 4096);
  const kind = isPlainObject(body) ? body.kind : undefined;
  if (kind !== 'public' && kind !== 'server' && kind !== 'read') throw new ApiError(400, 'invalid_kind', 'kind must be public, server or read.');
  const key = await registry(c).createKey(c.req.param('projectId') ?? '', kind satisfies KeyKind);
  if (key === null) throw new ApiError(404, 'project_not_found', 'No such project.');
  return c.json({ key, kind }, 201);
}

/** POST /v1/admin/keys/revoke {key}: edges stop accepting it within their cache TTL (30 s). */
export async function revokeKey(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonBody(c.req.raw, 4096);
  const key = isPlainObject(body) ? body.key : undefined;
  if (typeof key !== 'string' || !looksLikeKey(key)) throw new ApiError(400, 'invalid_key', 'Send { "key": "<the key to revoke>" }.');
  const revoked = await registry(c).revokeKey(await hashKey(key));
  if (!revoked) throw new ApiError(404, 'key_not_found', 'No active key matches.');
  return c.json({ revoked: true });
}
