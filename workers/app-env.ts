/** Hono's environment for this Worker: bindings come from the generated Env. */
export interface AppEnv {
  Bindings: Env;
}
