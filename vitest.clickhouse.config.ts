// TEMPORARY (clickhouse work): removed once the owner wires vitest.config.ts projects.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['scripts/**/*.test.ts'],
    globalSetup: ['test/clickhouse.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
