import { join, resolve } from 'node:path';
import { startChild, type StartedChild } from './child-process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER_SCRIPT = join(ROOT, 'scripts/clickhouse-dev-server.ts');
const READY = /clickhouse-dev-server listening on (http:\/\/\S+)/;

export interface SpawnedClickHouse {
  url: string;
  process: StartedChild;
  stop(): Promise<void>;
}

/**
 * Starts the ClickHouse dev server as a child process. chdb allows one data
 * directory per process, so every server (dev stack, each test project) is
 * its own process. Port 0 picks a free port.
 */
export async function spawnClickHouseDevServer(options: {
  dataDir: string;
  port?: number;
  user?: string;
  password?: string;
  label?: string;
}): Promise<SpawnedClickHouse> {
  const args = [SERVER_SCRIPT, '--port', String(options.port ?? 0), '--data', options.dataDir];
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.password !== undefined) args.push('--password', options.password);
  // process.execPath is Node 24 under npm scripts, which runs .ts directly.
  const started = await startChild(process.execPath, args, { ready: READY, timeoutMs: 60_000, cwd: ROOT, label: options.label });
  const url = started.readyMatch[1];
  if (url === undefined) throw new Error('clickhouse-dev-server printed no URL');
  return { url, process: started, stop: () => started.stop() };
}
