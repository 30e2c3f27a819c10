// Which chaos run the workers test performs: the short variant under `npm
// test`, or what `npm run chaos` (scripts/chaos.ts) provides through
// scripts/lib/chaos-global-setup.ts (vitest provide/inject).
import { inject } from 'vitest';
import { SHORT_CHAOS, type ChaosParams } from './runner.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by `npm run chaos`; absent under `npm test`. */
    chaosParams?: ChaosParams;
  }
}

export function chaosParams(): ChaosParams {
  return inject('chaosParams') ?? SHORT_CHAOS;
}

/** Send time plus setup, drain and checks: generous, the run stops on its own. */
export function chaosTimeoutMs(params: ChaosParams): number {
  return params.variant === 'short' ? 120_000 : params.durationMs * 2 + 300_000;
}
