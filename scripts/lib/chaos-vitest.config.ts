// Vitest config of `npm run chaos`: the `workers` project of vitest.config.ts
// (same bindings, same ClickHouse dev server + fault proxy global setup),
// narrowed to test/workers/chaos.test.ts, plus a global setup that provides
// the long run's parameters (scripts/lib/chaos-global-setup.ts). Deriving it
// from the root config keeps the two runs on the same code and settings.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import rootConfig from '../../vitest.config.ts';

const ROOT = resolve(import.meta.dirname, '../..');

interface ProjectLike {
  plugins?: unknown[];
  test?: { name?: unknown; globalSetup?: string | string[]; setupFiles?: string | string[] } & Record<string, unknown>;
}

function isWorkersProject(value: unknown): value is ProjectLike {
  if (typeof value !== 'object' || value === null || !('test' in value)) return false;
  const test: unknown = value.test;
  return typeof test === 'object' && test !== null && 'name' in test && test.name === 'workers';
}

const projects: unknown[] = [...(rootConfig.test?.projects ?? [])];
const workers: ProjectLike | undefined = projects.find(isWorkersProject) as ProjectLike | undefined;
if (workers === undefined || workers.test === undefined) throw new Error('vitest.config.ts has no "workers" project');
const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export default defineConfig({
  root: ROOT,
  // The cloudflareTest plugin instance of the workers project: wrangler.toml plus its test bindings.
  plugins: workers.plugins as never,
  test: {
    ...workers.test,
    name: 'workers',
    include: ['test/workers/chaos.test.ts'],
    globalSetup: [...asList(workers.test.globalSetup), 'scripts/lib/chaos-global-setup.ts'],
    setupFiles: asList(workers.test.setupFiles),
    hookTimeout: 180_000,
  },
});
