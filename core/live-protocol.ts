/**
 * The live WebSocket protocol between a viewer and its LiveRelay (docs/fanout.md
 * has the full spec). Pure types, parsers and serializers: no runtime imports.
 *
 * Client -> server (JSON text frames, at most MAX_CLIENT_FRAME_BYTES):
 *   { "action": "subscribe", "topic": T, "lastSeq"?: n, "snapshotMinutes"?: m }
 *   { "action": "unsubscribe", "topic": T }
 *   { "action": "ack", "frames": k }        flow-controlled viewers (?ack=<window>) only
 *   {"action":"ping"}                        heartbeat, answered by the runtime
 * Server -> client: `hello`, `subscribed`, `snapshot`, `unsubscribed`, `pong`,
 * error frames `{ error: { code, message }, topic? }`, and delta frames: a JSON
 * array of LiveDelta, one frame per tick.
 */
import { isPlainObject } from './events.ts';
import type { LiveDelta } from './protocol.ts';

/** Client frames larger than this (UTF-8 bytes) are refused with `frame_too_large`. */
export const MAX_CLIENT_FRAME_BYTES = 4096;

/**
 * The heartbeat. The relay registers this exact pair with
 * ctx.setWebSocketAutoResponse, so the runtime answers it without waking the
 * object (and without billing duration). The match is byte-exact: any other
 * spelling reaches webSocketMessage, which answers the same pong.
 */
export const HEARTBEAT_REQUEST = '{"action":"ping"}';
export const HEARTBEAT_RESPONSE = '{"type":"pong"}';
/** Clients should ping at least this often; proxies drop idle connections after ~100 s. */
export const HEARTBEAT_INTERVAL_MS = 30_000;

/**
 * Close codes the server sends. 1008 is RFC 6455's policy violation; 4xxx
 * are application codes (RFC 6455 §7.4.2 reserves 4000-4999 for them).
 */
export const LIVE_CLOSE = {
  /** Repeated bad frames (LIVE_ABUSE.maxStrikes within LIVE_ABUSE.windowMs): do not reconnect in a loop. */
  abuse: 1008,
  /** The viewer's queue overflowed (it did not ack): reconnect and resume with lastSeq. */
  slowViewer: 4001,
  /** A viewer without flow control sent nothing (not even the heartbeat) for LiveLimits.viewerSilenceSeconds while deltas went to it: reconnect and resume with lastSeq. */
  silentViewer: 4002,
} as const;

export const LIVE_ABUSE = {
  /** Error frames tolerated per window before the socket is closed with LIVE_CLOSE.abuse. */
  maxStrikes: 10,
  windowMs: 60_000,
} as const;

/** Topics one connection may hold, and their total length: the list lives in the socket attachment (<= 16 KB). */
export const MAX_TOPICS_PER_VIEWER = 64;
export const MAX_TOPIC_CHARS_PER_VIEWER = 6000;
/** Flow control (`?ack=<window>`): delta frames a viewer may leave unacknowledged before its deltas queue (and coalesce). */
export const MAX_ACK_WINDOW_FRAMES = 64;
export const MAX_SNAPSHOT_MINUTES = 60;

export type LiveClientMessage =
  | { action: 'subscribe'; topic: string; lastSeq: number | null; snapshotMinutes: number | null }
  | { action: 'unsubscribe'; topic: string }
  | { action: 'ack'; frames: number }
  | { action: 'ping' };

export type LiveErrorCode =
  | 'binary_frame'
  | 'frame_too_large'
  | 'malformed_json'
  | 'invalid_message'
  | 'unknown_action'
  | 'invalid_field'
  | 'invalid_topic'
  | 'topic_not_allowed'
  | 'too_many_topics'
  | 'rate_limited'
  | 'topic_unavailable';

export type LiveClientParse = { ok: true; message: LiveClientMessage } | { ok: false; code: LiveErrorCode; message: string; topic?: string };

export function parseLiveClientMessage(frame: string | ArrayBuffer): LiveClientParse {
  if (typeof frame !== 'string') return { ok: false, code: 'binary_frame', message: 'Frames must be JSON text.' };
  // Characters undercount UTF-8 bytes up to 3x: measure bytes only when it could matter.
  if (frame.length > MAX_CLIENT_FRAME_BYTES || (frame.length * 3 > MAX_CLIENT_FRAME_BYTES && new TextEncoder().encode(frame).byteLength > MAX_CLIENT_FRAME_BYTES)) {
    return { ok: false, code: 'frame_too_large', message: `Frames must be at most ${MAX_CLIENT_FRAME_BYTES} bytes.` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return { ok: false, code: 'malformed_json', message: 'Frame is not valid JSON.' };
  }
  if (!isPlainObject(parsed)) return { ok: false, code: 'invalid_message', message: 'Frame must be a JSON object.' };
  const { action } = parsed;
  switch (action) {
    case 'ping':
      return { ok: true, message: { action } };
    case 'ack': {
      const frames = parsed.frames;
      if (!isCount(frames, 1, 1_000_000)) return { ok: false, code: 'invalid_field', message: 'frames must be an integer in [1, 1000000].' };
      return { ok: true, message: { action, frames } };
    }
    case 'subscribe':
    case 'unsubscribe': {
      const { topic } = parsed;
      if (typeof topic !== 'string') return { ok: false, code: 'invalid_topic', message: 'topic must be a string.' };
      if (action === 'unsubscribe') return { ok: true, message: { action, topic } };
      const lastSeq = parsed.lastSeq ?? null;
      if (lastSeq !== null && !isCount(lastSeq, 0, Number.MAX_SAFE_INTEGER)) {
        return { ok: false, code: 'invalid_field', message: 'lastSeq must be a non-negative integer.', topic };
      }
      const snapshotMinutes = parsed.snapshotMinutes ?? null;
      if (snapshotMinutes !== null && !isCount(snapshotMinutes, 0, MAX_SNAPSHOT_MINUTES)) {
        return { ok: false, code: 'invalid_field', message: `snapshotMinutes must be an integer in [0, ${MAX_SNAPSHOT_MINUTES}].`, topic };
      }
      return { ok: true, message: { action, topic, lastSeq, snapshotMinutes } };
    }
    default:
      return { ok: false, code: 'unknown_action', message: 'action must be "subscribe", "unsubscribe", "ack" or "ping".' };
  }
}

function isCount(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** A token's topic prefix ('' = any topic). */
export function topicAllowed(topic: string, prefix: string): boolean {
  return topic.startsWith(prefix);
}

// ---------- server -> client ----------

export interface HelloMessage {
  type: 'hello';
  relay: string;
  tickMs: number;
  /** Send this exact text as the heartbeat; the answer is HEARTBEAT_RESPONSE. */
  heartbeat: string;
  /** Present when the viewer asked for flow control (?ack=<window>): ack delta frames before this many are outstanding. */
  ackWindow?: number;
}

export interface SubscribedMessage {
  type: 'subscribed';
  topic: string;
  /** The topic's seq as of this subscription; resume later with the highest seq seen. */
  seq: number;
  /** True when lastSeq was honoured: the missed deltas follow, no snapshot. */
  resumed: boolean;
}

export interface SnapshotPointMessage {
  time: string;
  value: number;
}

/** The last N minutes of a topic, zero-filled, minute by minute over [from, to). */
export interface SnapshotMessage {
  type: 'snapshot';
  topic: string;
  from: string;
  to: string;
  seq: number;
  points: SnapshotPointMessage[];
}

export interface ErrorFrame {
  error: { code: LiveErrorCode; message: string };
  topic?: string;
}

export function errorFrame(code: LiveErrorCode, message: string, topic?: string): ErrorFrame {
  return topic === undefined ? { error: { code, message } } : { error: { code, message }, topic };
}

/** Deltas are serialized once per tick and spliced into every viewer's frame. */
export function serializeDelta(delta: LiveDelta): string {
  return JSON.stringify(delta);
}

export function frameOf(serializedDeltas: readonly string[]): string {
  return `[${serializedDeltas.join(',')}]`;
}
