/**
 * `npm run dev` (and `npm run demo`): the whole local stack in one command.
 * dashboard build (vite build --watch) -> ClickHouse dev server (embedded
 * chdb engine) -> migrations -> Worker with local Durable Objects (wrangler
 * dev) serving the API and the dashboard -> optional synthetic traffic.
 * scripts/lib/local-stack.ts does the starting; Ctrl-C stops everything.
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startChild } from './lib/child-process.ts';
import { startLocalStack, type LocalStack } from './lib/local-stack.ts';
import { ensureDemoProject, ensureDevVars } from './lib/demo-project.ts';

const { values: flags } = parseArgs({
  options: {
    demo: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.PORT ?? '8787' },
    'clickhouse-port': { type: 'string', default: process.env.CLICKHOUSE_DEV_PORT ?? '8123' },
    'clickhouse-data': { type: 'string', default: process.env.CLICKHOUSE_DEV_DATA ?? '.data/clickhouse' },
    rate: { type: 'string', default: '40' },
  },
});

const root = join(import.meta.dirname, '..');
const node = process.execPath;
let running: LocalStack | null = null;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nStopping the local stack…');
    // Reverse order: traffic, then the Worker, then ClickHouse last so pending flushes can finish.
    await running?.stop();
  }
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// If whatever started us (npm, a terminal) goes away without a signal, do not leave servers behind.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) void shutdown(0);
}, 1000).unref();

async function main(): Promise<void> {
  // Secrets live in .dev.vars locally (gitignored); the dev ClickHouse has no password.
  const { adminToken } = ensureDevVars(join(root, '.dev.vars'));
  mkdirSync(join(root, '.data'), { recursive: true });
  const stack = await startLocalStack({
    port: Number(flags.port),
    clickhouse: { dataDir: join(root, flags['clickhouse-data']), port: Number(flags['clickhouse-port']) },
    persistTo: join(root, '.data/wrangler'),
    // Raw events locally, so 10 s charts and `npm run recount` work out of the box.
    vars: { DEMO_MODE: flags.demo ? '1' : '0', RAW_EVENTS: '1' },
    // The dashboard is rebuilt on every change under dashboard/; wrangler dev serves dashboard/dist.
    dashboard: 'watch',
    verbose: true,
    onUnexpectedExit: (name, code) => {
      if (stopping) return;
      console.error(`${name} exited unexpectedly (${code}); stopping the stack.`);
      void shutdown(1);
    },
  });
  running = stack;
  const clickhouseUrl = stack.clickhouseUrl;
  const workerUrl = stack.workerUrl;
  const demo = await ensureDemoProject(workerUrl, adminToken, join(root, '.data/demo-project.json'));

  if (flags.demo) {
    stack.adopt(
      'demo traffic',
      await startChild(node, [join(root, 'scripts/demo-traffic.ts'), '--url', workerUrl, '--rate', flags.rate, '--key', demo.server], {
        ready: /./,
        timeoutMs: 30_000,
        label: 'demo',
        cwd: root,
      }),
    );
  }

  console.log(`
  edgepulse is running
    Dashboard   ${workerUrl}/?key=${demo.read}
    Ingest      POST ${workerUrl}/v1/events
    Metrics     GET  ${workerUrl}/v1/metrics?metric=events&eventType=page_view
    Live        ws://127.0.0.1:${flags.port}/v1/live?key=<read key>
    ClickHouse  ${clickhouseUrl}  (data in ${flags['clickhouse-data']})

  Demo project "${demo.projectId}" (keys saved in .data/demo-project.json):
    public write key  ${demo.public}
    server write key  ${demo.server}
    read key          ${demo.read}
  ${flags.demo ? 'Demo traffic is being sent. ' : ''}Press Ctrl-C to stop.

  Try:  curl -X POST ${workerUrl}/v1/events -H 'Authorization: Bearer ${demo.server}' \\
          -H 'Content-Type: application/json' \\
          -d '{"eventType":"page_view","timestamp":'$(date +%s)',"dimensions":{"country":"US"}}'
`);
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await shutdown(1);
});
