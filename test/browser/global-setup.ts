// Vitest globalSetup of the `browser` project: builds the dashboard and starts
// the whole local stack (ClickHouse dev server with a fresh data dir,
// migrations, the Worker under `wrangler dev` on a free port with fresh
// Durable Object storage and a random ADMIN_TOKEN), then creates a test
// project through the admin API. Everything is stopped in the teardown, and
// by an exit hook if the run dies first.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createProject, startLocalStack, type LocalStack, type ProjectKeys } from '../../scripts/lib/local-stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    browserStack: { workerUrl: string; keys: ProjectKeys };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tmp = await mkdtemp(join(tmpdir(), 'edgepulse-browser-'));
  const adminToken = randomBytes(18).toString('base64url');
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      port: 0,
      clickhouse: { dataDir: join(tmp, 'clickhouse') },
      persistTo: join(tmp, 'wrangler'),
      vars: {
        ADMIN_TOKEN: adminToken,
        // The dashboard connects with viewer tokens (POST /v1/live/token), as in production.
        VIEWER_TOKEN_SECRET: randomBytes(24).toString('base64url'),
        CLICKHOUSE_PASSWORD: '',
        DEMO_MODE: '1',
        SHARD_COUNT: '4',
        // Late (back-dated) test events reach ClickHouse within about a second.
        FLUSH_INTERVAL_SECONDS: '1',
      },
      dashboard: 'once',
      verbose: process.env.BROWSER_TEST_VERBOSE === '1',
    });
    const keys = await createProject(stack.workerUrl, adminToken, 'browser-test');
    project.provide('browserStack', { workerUrl: stack.workerUrl, keys });
  } catch (error) {
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const running = stack;
  return async () => {
    await running.stop();
    await rm(tmp, { recursive: true, force: true });
  };
}
