import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig, defineProject } from 'vitest/config';

/**
 * Three projects, all run by `npm test`:
 * - unit: pure modules in Node, no I/O;
 * - node-integration: scripts (ClickHouse dev server, migrations, tools) against the real chdb engine;
 * - workers: the Worker and Durable Objects inside workerd, talking to a real ClickHouse dev server.
 * Each project that needs ClickHouse gets its own server process with a fresh data dir.
 */
export default defineConfig({
  test: {
    projects: [
      defineProject({
        test: { name: 'unit', environment: 'node', include: ['core/**/*.test.ts', 'dashboard/**/*.test.{ts,js}', 'sdk/**/*.test.ts', 'scripts/demo-traffic.test.ts'] },
      }),
      defineProject({
        test: {
          name: 'node-integration',
          environment: 'node',
          include: ['scripts/**/*.test.ts', 'test/node/**/*.test.ts'],
          exclude: ['scripts/demo-traffic.test.ts'],
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
                CLICKHOUSE_URL: inject('clickhouseUrl'),
                CLICKHOUSE_PASSWORD: '',
                // Short windows so tests see windows close in about a second.
                WINDOW_SECONDS: '1',
                ALLOWED_LATENESS_SECONDS: '0',
                FLUSH_INTERVAL_SECONDS: '1',
                SHARD_COUNT: '4',
                ADMIN_TOKEN: 'test-admin-token',
              },
              // Low enough that a test can trip it; each test file uses its own keys.
              ratelimits: { INGEST_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 50, period: 10 } } },
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
    ],
  },
});
