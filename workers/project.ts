import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';

/**
 * The project a request belongs to. Until per-project keys exist (edge
 * ingestion issue), every request belongs to the configured default project.
 */
export function resolveProjectId(c: Context<AppEnv>): string {
  return c.env.DEFAULT_PROJECT_ID;
}
