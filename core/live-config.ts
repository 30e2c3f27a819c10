/**
 * Settings of the live fan-out (Broadcast root, Combiner, LiveRelay, the
 * /v1/live routes), read from the Worker's string vars. Pure; bad values fail
 * loudly, like core/config.ts. `LiveLimits` may also be overridden per project
 * at runtime (Broadcast.configureLive), validated by parseLiveLimits.
 */
import { integerVar } from './config.ts';
import { readConfig, type ConfigVars } from './config.ts';
import { planCombiners, DO_MAX_WEBSOCKETS, type CombinerPlan } from './fanout-math.ts';
import { isPlainObject } from './events.ts';
import { MAX_SNAPSHOT_MINUTES } from './live-protocol.ts';

export interface LiveVars extends ConfigVars {
  LIVE_TICK_MS?: string;
  RELAY_MAX_VIEWERS?: string;
  COMBINER_FANIN?: string;
  LIVE_SNAPSHOT_MINUTES?: string;
  LIVE_VIEWER_QUEUE_MAX?: string;
  LIVE_VIEWER_SILENCE_SECONDS?: string;
  LIVE_TOKEN_TTL_SECONDS?: string;
}

/** Per-project viewer-side limits (the shard -> combiner mapping is deliberately not among them). */
export interface LiveLimits {
  /** Viewers per relay object. */
  relayMaxViewers: number;
  /** Minutes of history a subscription's snapshot carries unless the viewer asks otherwise. */
  snapshotMinutes: number;
  /** Distinct (topic, window) deltas a flow-controlled viewer may have waiting before it is closed. */
  viewerQueueMax: number;
  /**
   * A viewer without flow control that sends nothing (no heartbeat, ack or
   * subscribe) for this long while deltas go to it is closed (LIVE_CLOSE.silentViewer):
   * the relay cannot see its send queue, so silence is what bounds it.
   */
  viewerSilenceSeconds: number;
}

export interface LiveConfig {
  /** Batching interval of combiners and the root: at most one push per tick. */
  tickMs: number;
  combiners: CombinerPlan;
  limits: LiveLimits;
  /** Default lifetime of a minted viewer token. */
  tokenTtlSeconds: number;
}

/** Sockets one relay may hold: the runtime's cap, less headroom for sockets still closing (getWebSockets counts them). */
export const MAX_RELAY_VIEWERS = DO_MAX_WEBSOCKETS - 2768;
export const MAX_TOKEN_TTL_SECONDS = 3600;
export const MIN_VIEWER_SILENCE_SECONDS = 5;
export const MAX_VIEWER_SILENCE_SECONDS = 3600;
export const MIN_TOKEN_TTL_SECONDS = 10;

export function readLiveConfig(vars: LiveVars): LiveConfig {
  const { shardCount } = readConfig(vars);
  const tickMs = integerVar('LIVE_TICK_MS', vars.LIVE_TICK_MS, 250, 10, 10_000);
  return {
    tickMs,
    combiners: planCombiners(shardCount, tickMs, integerVar('COMBINER_FANIN', vars.COMBINER_FANIN, 16, 1, 4096)),
    limits: {
      relayMaxViewers: integerVar('RELAY_MAX_VIEWERS', vars.RELAY_MAX_VIEWERS, 5000, 1, MAX_RELAY_VIEWERS),
      snapshotMinutes: integerVar('LIVE_SNAPSHOT_MINUTES', vars.LIVE_SNAPSHOT_MINUTES, 10, 0, MAX_SNAPSHOT_MINUTES),
      viewerQueueMax: integerVar('LIVE_VIEWER_QUEUE_MAX', vars.LIVE_VIEWER_QUEUE_MAX, 256, 1, 100_000),
      viewerSilenceSeconds: integerVar('LIVE_VIEWER_SILENCE_SECONDS', vars.LIVE_VIEWER_SILENCE_SECONDS, 120, MIN_VIEWER_SILENCE_SECONDS, MAX_VIEWER_SILENCE_SECONDS),
    },
    tokenTtlSeconds: integerVar('LIVE_TOKEN_TTL_SECONDS', vars.LIVE_TOKEN_TTL_SECONDS, 300, MIN_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS),
  };
}

export type LimitsParse = { ok: true; limits: LiveLimits } | { ok: false; message: string };

/** A partial override of `base`; unknown keys and out-of-range values are refused. */
export function parseLiveLimits(input: unknown, base: LiveLimits): LimitsParse {
  if (!isPlainObject(input)) return { ok: false, message: 'limits must be an object.' };
  const bounds: Record<keyof LiveLimits, [number, number]> = {
    relayMaxViewers: [1, MAX_RELAY_VIEWERS],
    snapshotMinutes: [0, MAX_SNAPSHOT_MINUTES],
    viewerQueueMax: [1, 100_000],
    viewerSilenceSeconds: [MIN_VIEWER_SILENCE_SECONDS, MAX_VIEWER_SILENCE_SECONDS],
  };
  const limits: LiveLimits = { ...base };
  for (const [key, value] of Object.entries(input)) {
    if (!isLimitKey(key)) return { ok: false, message: `unknown limit ${JSON.stringify(key)}.` };
    const [min, max] = bounds[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return { ok: false, message: `${key} must be an integer in [${min}, ${max}].` };
    }
    limits[key] = value;
  }
  return { ok: true, limits };
}

function isLimitKey(key: string): key is keyof LiveLimits {
  return key === 'relayMaxViewers' || key === 'snapshotMinutes' || key === 'viewerQueueMax' || key === 'viewerSilenceSeconds';
}

