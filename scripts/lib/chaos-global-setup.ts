// Vitest globalSetup of `npm run chaos` (scripts/lib/chaos-vitest.config.ts):
// hands the run's parameters, which scripts/chaos.ts passes in CHAOS_PARAMS,
// to test/workers/chaos.test.ts inside workerd (provide/inject; the test
// cannot read the host's environment). Under `npm test` nothing provides
// them and the test runs its short variant.
import type { TestProject } from 'vitest/node';
import type { ChaosRunParams } from '../../core/chaos-generator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chaosParams?: ChaosRunParams;
  }
}

export function parseChaosParams(raw: string | undefined): ChaosRunParams | null {
  if (raw === undefined || raw === '') return null;
  const value: unknown = JSON.parse(raw);
  if (typeof value !== 'object' || value === null) throw new Error('CHAOS_PARAMS must be a JSON object');
  const get = (key: string): unknown => Reflect.get(value, key);
  const positive = (key: string): number => {
    const n = get(key);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`CHAOS_PARAMS.${key} must be a positive integer`);
    return n;
  };
  const seed = get('seed');
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) throw new Error('CHAOS_PARAMS.seed must be a non-negative integer');
  const variant = get('variant') === 'short' ? 'short' : 'long';
  return { variant, seed, events: positive('events'), durationMs: positive('durationMs'), projects: positive('projects') };
}

export default function setup(project: TestProject): void {
  const params = parseChaosParams(process.env.CHAOS_PARAMS);
  if (params !== null) project.provide('chaosParams', params);
}
