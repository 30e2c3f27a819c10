// Vitest globalSetup: a private ClickHouse (chdb dev server) per test run.
// The server runs as a CHILD PROCESS: chdb allows one data directory per
// process, and tests must never share the dev stack's .data/clickhouse.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../scripts/migrate.ts';
import { spawnClickHouseDevServer, type SpawnedClickHouse } from '../scripts/lib/spawn-clickhouse.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-clickhouse-test-'));
  let server: SpawnedClickHouse | undefined;
  try {
    server = await spawnClickHouseDevServer({ dataDir });
    await applyMigrations({ url: server.url });
  } catch (e) {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  project.provide('clickhouseUrl', server.url);
  const running = server;
  return async () => {
    await running.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
