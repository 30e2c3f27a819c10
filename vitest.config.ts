import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig, defineProject } from 'vitest/config';

/**
 * Four projects, all run by `npm test`:
 * - unit: pure modules in Node, no I/O;
 * - node-integration: scripts (ClickHouse dev server, migrations, tools) against the real chdb engine;
 * - workers: the Worker and Durable Objects inside workerd, talking to a real ClickHouse dev server;
 * - browser: the built dashboard in real Chromium against the whole local stack.
 * Each project that needs ClickHouse gets its own server process with a fresh data dir.
 */
export default defineConfig({
  test: {
    projects: [
      defineProject({
        test: { name: 'unit', environment: 'node', include: ['core/**/*.test.ts', 'dashboard/**/*.test.{ts,js}', 'sdk/**/*.test.ts', 'scripts/demo-traffic.test.ts', 'scripts/bench-report.test.ts', 'scripts/scaling.test.ts'] },
      }),
      defineProject({
        test: {
          name: 'node-integration',
          environment: 'node',
          include: ['scripts/**/*.test.ts', 'test/node/**/*.test.ts'],
          exclude: ['scripts/demo-traffic.test.ts', 'scripts/bench-report.test.ts', 'scripts/scaling.test.ts'],
          globalSetup: ['test/clickhouse.global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      }),
      defineProject({
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                // Through scripts/lib/fault-proxy.ts (pass-through unless a fault test scopes a fault to its project).
                CLICKHOUSE_URL: inject('clickhouseProxyUrl'),
                FAULT_PROXY_URL: inject('clickhouseProxyUrl'),
                CLICKHOUSE_DIRECT_URL: inject('clickhouseUrl'),
                CLICKHOUSE_PASSWORD: '',
                // Short windows and panes so tests see windows close in about a second.
                WINDOW_SECONDS: '1',
                PANE_SECONDS: '1',
                ALLOWED_LATENESS_SECONDS: '0',
                FLUSH_INTERVAL_SECONDS: '1',
                // Raw events on, so tests can recount; a backlog bound a fault test can reach.
                RAW_EVENTS: '1',
                MAX_BACKLOG_ROWS: '5000',
                SHARD_COUNT: '4',
                ADMIN_TOKEN: 'test-admin-token',
                VIEWER_TOKEN_SECRET: 'test-viewer-token-secret-0123456789',
              },
              // Low enough that a test can trip it; each test file uses its own keys.
              ratelimits: {
                INGEST_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 50, period: 10 } },
                // Below the key's limit, so a test can trip it first.
                INGEST_VISITOR_RATE_LIMITER: { namespace_id: '1002', simple: { limit: 20, period: 10 } },
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['test/workers/setup.ts'],
          globalSetup: ['test/clickhouse.global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      }),
      // browser: the built dashboard in Debian's Chromium (playwright-core) against the whole
      // local stack (test/browser/global-setup.ts starts it on free ports, fresh storage).
      defineProject({
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      }),
    ],
  },
});
