// Vitest globalSetup: a private ClickHouse (chdb dev server) per test run.
// The server runs as a CHILD PROCESS: chdb allows one data directory per
// process, and tests must never share the dev stack's .data/clickhouse.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../scripts/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
  }
}

const ROOT = resolve(import.meta.dirname, '..');
const SERVER_SCRIPT = join(ROOT, 'scripts/clickhouse-dev-server.ts');
const READY_RE = /clickhouse-dev-server listening on (http:\/\/\S+)/;
const START_TIMEOUT_MS = 60_000;

export interface SpawnedClickHouse {
  url: string;
  child: ChildProcess;
  /** SIGTERM (SIGKILL after 10 s) and wait for exit. */
  stop(): Promise<void>;
}

/** A Node that runs .ts directly: this one if new enough, else the repo's node_modules/.bin/node. */
function tsCapableNode(): string {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const local = join(ROOT, 'node_modules/.bin/node');
  return major > 22 || (major === 22 && minor >= 18) || !existsSync(local) ? process.execPath : local;
}

export async function spawnClickHouseDevServer(options: {
  dataDir: string;
  user?: string;
  password?: string;
}): Promise<SpawnedClickHouse> {
  const args = [SERVER_SCRIPT, '--port', '0', '--data', options.dataDir];
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.password !== undefined) args.push('--password', options.password);
  const child = spawn(tsCapableNode(), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`clickhouse-dev-server did not report ready within ${START_TIMEOUT_MS / 1000} s.\nstderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = READY_RE.exec(stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        ready(m[1]);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`could not spawn clickhouse-dev-server: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`clickhouse-dev-server exited before ready (code ${code}, signal ${signal}).\nstderr:\n${stderr}`));
    });
  });

  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
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
