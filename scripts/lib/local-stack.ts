/**
 * The whole local stack in one call: the dashboard build (once, or `vite
 * build --watch`), the ClickHouse dev server (chdb) + migrations, and the
 * Worker with its Durable Objects under `wrangler dev`. Used by `npm run dev`
 * (scripts/dev.ts) and by the browser tests (test/browser/), which start it on
 * free ports with a fresh ClickHouse data dir and fresh DO storage.
 *
 * Every process runs in its own process group; `stop()` ends them in reverse
 * order (ClickHouse last, so pending flushes can finish), and a process-exit
 * hook kills whatever is left if the caller dies without calling it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { applyMigrations } from '../migrate.ts';
import { startChild, type StartedChild } from './child-process.ts';
import { spawnClickHouseDevServer } from './spawn-clickhouse.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');
const VITE_CONFIG = join(ROOT, 'dashboard/vite.config.ts');

export type DashboardBuild = 'once' | 'watch' | 'skip';

export interface LocalStackOptions {
  /** Worker port; 0 picks a free one. */
  port: number;
  clickhouse: { dataDir: string; port?: number };
  /** Durable Object storage directory (`wrangler dev --persist-to`). */
  persistTo: string;
  /** Extra `--var NAME:value` for the Worker (CLICKHOUSE_URL is set for you). */
  vars?: Readonly<Record<string, string>>;
  /** 'once' before the Worker starts (tests), 'watch' to keep rebuilding (dev), 'skip' if already built. */
  dashboard: DashboardBuild;
  /** Prefix and forward the children's output (dev); tests keep quiet. */
  verbose: boolean;
  /** Called when a child exits while the stack is supposed to be running. */
  onUnexpectedExit?: (name: string, code: number | null) => void;
}

export interface LocalStack {
  workerUrl: string;
  clickhouseUrl: string;
  /** Every started child, in start order. */
  children: ReadonlyArray<{ name: string; process: StartedChild }>;
  /** Starts one more child that belongs to the stack (e.g. demo traffic); stopped first. */
  adopt(name: string, started: StartedChild): void;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the usual race is acceptable for local tools). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no free port'))));
    });
  });
}

/** `vite build` of the dashboard into dashboard/dist, as a child process; rejects with its output on failure. */
export function buildDashboard(options: { verbose: boolean }): Promise<void> {
  return new Promise((resolveBuild, reject) => {
    const child = spawn(process.execPath, [VITE, 'build', '--config', VITE_CONFIG, '--logLevel', options.verbose ? 'info' : 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', options.verbose ? 'inherit' : 'pipe', options.verbose ? 'inherit' : 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveBuild() : reject(new Error(`vite build failed (${code}):\n${output}`))));
  });
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const children: Array<{ name: string; process: StartedChild }> = [];
  let stopping = false;
  const killOnExit = (): void => {
    for (const { process: p } of children) {
      if (p.child.pid !== undefined && p.child.exitCode === null && p.child.signalCode === null) {
        try {
          process.kill(-p.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  process.once('exit', killOnExit);

  const adopt = (name: string, started: StartedChild): void => {
    children.push({ name, process: started });
    started.child.once('exit', (code) => {
      if (!stopping) options.onUnexpectedExit?.(name, code);
    });
  };
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const { process: p } of [...children].reverse()) await p.stop();
    process.removeListener('exit', killOnExit);
  };

  try {
    if (options.dashboard === 'once') await buildDashboard({ verbose: options.verbose });
    if (options.dashboard === 'watch') {
      // The first build must finish before wrangler starts: [assets] needs dashboard/dist.
      adopt('dashboard build', await startChild(process.execPath, [VITE, 'build', '--watch', '--config', VITE_CONFIG], {
        ready: /built in/,
        timeoutMs: 120_000,
        cwd: ROOT,
        label: options.verbose ? 'dashboard' : undefined,
      }));
    }

    const clickhouse = await spawnClickHouseDevServer({
      dataDir: options.clickhouse.dataDir,
      port: options.clickhouse.port ?? 0,
      label: options.verbose ? 'clickhouse' : undefined,
    });
    adopt('ClickHouse dev server', clickhouse.process);
    const migrations = await applyMigrations({ url: clickhouse.url });
    if (options.verbose) console.log(`[migrate] applied ${migrations.applied.length}, already applied ${migrations.skipped.length}`);

    const port = options.port === 0 ? await freePort() : options.port;
    const inspectorPort = await freePort();
    const vars: Record<string, string> = { ...options.vars, CLICKHOUSE_URL: clickhouse.url };
    const args = [
      WRANGLER, 'dev',
      '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
      '--persist-to', options.persistTo,
      '--show-interactive-dev-session=false',
      ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
    ];
    adopt('wrangler dev', await startChild(process.execPath, args, {
      ready: /Ready on (http:\/\/\S+)/,
      timeoutMs: 120_000,
      label: options.verbose ? 'worker' : undefined,
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', WRANGLER_SEND_METRICS: 'false' },
    }));
    return { workerUrl: `http://127.0.0.1:${port}`, clickhouseUrl: clickhouse.url, children, adopt, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ProjectKeys {
  projectId: string;
  public: string;
  server: string;
  read: string;
}

/** A new project through the admin API (`POST /v1/admin/projects`). */
export async function createProject(workerUrl: string, adminToken: string, projectId: string): Promise<ProjectKeys> {
  const response = await fetch(`${workerUrl}/v1/admin/projects`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ projectId, allowedOrigins: ['*'] }),
  });
  if (response.status !== 201) throw new Error(`Could not create project ${projectId}: ${response.status} ${await response.text()}`);
  const body: unknown = await response.json();
  const keys = typeof body === 'object' && body !== null && 'keys' in body ? body.keys : null;
  if (typeof keys !== 'object' || keys === null) throw new Error('The admin API answered without keys.');
  const pick = (kind: string): string => {
    const value: unknown = kind in keys ? Reflect.get(keys, kind) : undefined;
    if (typeof value !== 'string') throw new Error(`The admin API answered without a ${kind} key.`);
    return value;
  };
  return { projectId, public: pick('public'), server: pick('server'), read: pick('read') };
}
