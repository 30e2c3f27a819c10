/**
 * Typed runtime configuration from the Worker's string vars. Pure, so both the
 * edge Worker and the Durable Objects read settings the same way, and bad
 * values fail loudly instead of becoming NaN.
 */
import { DEFAULT_MAX_EVENT_AGE_MS, DEFAULT_MAX_FUTURE_SKEW_MS } from './limits.ts';

export interface RuntimeConfig {
  shardCount: number;
  windowMs: number;
  allowedLatenessMs: number;
  flushIntervalMs: number;
  maxEventsPerRequest: number;
  maxBodyBytes: number;
  /** Events timed further ahead than this are rejected (timestamp_in_future): client clock bugs. */
  maxFutureSkewMs: number;
  /** Events older than this are rejected (timestamp_too_old) and only counted. */
  maxEventAgeMs: number;
}

export interface ConfigVars {
  SHARD_COUNT?: string;
  WINDOW_SECONDS?: string;
  ALLOWED_LATENESS_SECONDS?: string;
  FLUSH_INTERVAL_SECONDS?: string;
  MAX_EVENTS_PER_REQUEST?: string;
  MAX_BODY_BYTES?: string;
  MAX_FUTURE_SKEW_SECONDS?: string;
  MAX_EVENT_AGE_SECONDS?: string;
}

export function readConfig(vars: ConfigVars): RuntimeConfig {
  const windowSeconds = integerVar('WINDOW_SECONDS', vars.WINDOW_SECONDS, 60, 1, 60);
  // Rows in ClickHouse are 1-minute windows: windows must tile a minute exactly.
  if (60 % windowSeconds !== 0) throw new Error(`Configuration WINDOW_SECONDS=${windowSeconds} must divide 60.`);
  return {
    shardCount: integerVar('SHARD_COUNT', vars.SHARD_COUNT, 16, 1, 4096),
    windowMs: integerVar('WINDOW_SECONDS', vars.WINDOW_SECONDS, 60, 1, 3600) * 1000,
    allowedLatenessMs: integerVar('ALLOWED_LATENESS_SECONDS', vars.ALLOWED_LATENESS_SECONDS, 60, 0, 86_400) * 1000,
    flushIntervalMs: integerVar('FLUSH_INTERVAL_SECONDS', vars.FLUSH_INTERVAL_SECONDS, 5, 1, 3600) * 1000,
    maxEventsPerRequest: integerVar('MAX_EVENTS_PER_REQUEST', vars.MAX_EVENTS_PER_REQUEST, 1000, 1, 100_000),
    maxBodyBytes: integerVar('MAX_BODY_BYTES', vars.MAX_BODY_BYTES, 1_048_576, 1024, 100 * 1_048_576),
    maxFutureSkewMs: integerVar('MAX_FUTURE_SKEW_SECONDS', vars.MAX_FUTURE_SKEW_SECONDS, DEFAULT_MAX_FUTURE_SKEW_MS / 1000, 0, 86_400) * 1000,
    // At least a minute (an SDK's batching and retries); at most 30 days, well inside the rollups' TTL.
    maxEventAgeMs: integerVar('MAX_EVENT_AGE_SECONDS', vars.MAX_EVENT_AGE_SECONDS, DEFAULT_MAX_EVENT_AGE_MS / 1000, 60, 30 * 86_400) * 1000,
  };
}

const cachedConfigs = new WeakMap<object, RuntimeConfig>();

/**
 * readConfig for a Worker's env, parsed once per env object: the edge reads
 * its settings on every request, and an isolate keeps one env.
 */
export function configOf(vars: ConfigVars): RuntimeConfig {
  let config = cachedConfigs.get(vars);
  if (config === undefined) {
    config = readConfig(vars);
    cachedConfigs.set(vars, config);
  }
  return config;
}

/** A whole-number Worker var within bounds; bad values fail loudly instead of becoming NaN. */
export function integerVar(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Configuration ${name}=${JSON.stringify(raw)} must be an integer in [${min}, ${max}].`);
  }
  return value;
}
