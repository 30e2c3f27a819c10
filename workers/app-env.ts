import type { KeyRecord } from '../durable-objects/ProjectRegistry.ts';

/** Hono's environment for this Worker: bindings come from the generated Env. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The authenticated key's project and kind, set by requireKey. */
    auth: KeyRecord;
  };
}
