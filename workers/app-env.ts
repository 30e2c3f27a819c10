import type { AuthenticatedKey } from './auth.ts';

/** Hono's environment for this Worker: bindings come from the generated Env. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The authenticated key's project and kind, set by requireKey. */
    auth: AuthenticatedKey;
  };
}
