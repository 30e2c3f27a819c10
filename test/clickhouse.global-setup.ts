// Vitest globalSetup: a private ClickHouse (chdb dev server) per test run.
// The server runs as a CHILD PROCESS: chdb allows one data directory per
// process, and tests must never share the dev stack's .data/clickhouse.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../scripts/migrate.ts';
import { startFaultProxy, type FaultProxy } from '../scripts/lib/fault-proxy.ts';
import { spawnClickHouseDevServer, type SpawnedClickHouse } from '../scripts/lib/spawn-clickhouse.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
    /** The same server behind scripts/lib/fault-proxy.ts (pass-through unless a test sets a fault). */
    clickhouseProxyUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-clickhouse-test-'));
  let server: SpawnedClickHouse | undefined;
  let proxy: FaultProxy | undefined;
  try {
    server = await spawnClickHouseDevServer({ dataDir });
    await applyMigrations({ url: server.url });
    proxy = await startFaultProxy({ target: server.url });
  } catch (e) {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  project.provide('clickhouseUrl', server.url);
  project.provide('clickhouseProxyUrl', proxy.url);
  const running = server;
  const runningProxy = proxy;
  return async () => {
    await runningProxy.close();
    await running.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
