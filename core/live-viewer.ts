/**
 * Per-viewer state of a LiveRelay and what the edge tells the relay about a
 * viewer. Pure: parsing (never a cast), the abuse counter, the topic budget.
 *
 * The attachment is the only per-socket state that survives hibernation
 * (serializeAttachment keeps it with the socket, at most 16 KB), so it holds
 * everything needed to rebuild the relay's indexes on wake: topics, token
 * prefix, flow control, limits, and the abuse strikes.
 */
import { isPlainObject } from './events.ts';
import { LIVE_ABUSE, MAX_ACK_WINDOW_FRAMES, MAX_SNAPSHOT_MINUTES, MAX_TOPIC_CHARS_PER_VIEWER, MAX_TOPICS_PER_VIEWER } from './live-protocol.ts';
import { MAX_VIEWER_SILENCE_SECONDS, MIN_VIEWER_SILENCE_SECONDS } from './live-config.ts';
import { isRelayHint, type RelayHint } from './relay-placement.ts';

/** Header the edge sets on the upgrade it forwards to a relay (built fresh: a client's own header never passes). */
export const VIEWER_PARAMS_HEADER = 'X-Edgepulse-Viewer';

export interface ViewerParams {
  v: 1;
  projectId: string;
  relay: string;
  hint: RelayHint | null;
  /** From the viewer token ('' for read keys: any topic). */
  topicPrefix: string;
  /** Flow control: delta frames the viewer may leave unacknowledged (?ack=<window>); null = no flow control. */
  ackWindow: number | null;
  /** Relay capacity, checked by the relay itself. */
  capacity: number;
  snapshotMinutes: number;
  queueMax: number;
  /** LiveLimits.viewerSilenceSeconds: applies to viewers without flow control. */
  silenceSeconds: number;
  tickMs: number;
}

export interface ViewerAttachment {
  v: 1;
  projectId: string;
  relay: string;
  topicPrefix: string;
  ackWindow: number | null;
  snapshotMinutes: number;
  queueMax: number;
  silenceSeconds: number;
  topics: string[];
  strikes: number;
  strikeWindowStartMs: number;
}

export function parseViewerParams(raw: string | null): ViewerParams | null {
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isPlainObject(value) || value.v !== 1) return null;
  const { projectId, relay, hint, topicPrefix, ackWindow, capacity, snapshotMinutes, queueMax, silenceSeconds, tickMs } = value;
  if (typeof projectId !== 'string' || typeof relay !== 'string' || typeof topicPrefix !== 'string') return null;
  if (ackWindow !== null && !isInt(ackWindow, 1, MAX_ACK_WINDOW_FRAMES)) return null;
  if (hint !== null && !isRelayHint(hint)) return null;
  if (!isInt(capacity, 1, 32_768) || !isInt(snapshotMinutes, 0, MAX_SNAPSHOT_MINUTES) || !isInt(queueMax, 1, 100_000) || !isInt(tickMs, 1, 60_000)) return null;
  if (!isInt(silenceSeconds, MIN_VIEWER_SILENCE_SECONDS, MAX_VIEWER_SILENCE_SECONDS)) return null;
  return { v: 1, projectId, relay, hint, topicPrefix, ackWindow, capacity, snapshotMinutes, queueMax, silenceSeconds, tickMs };
}

export function newAttachment(params: ViewerParams): ViewerAttachment {
  return {
    v: 1,
    projectId: params.projectId,
    relay: params.relay,
    topicPrefix: params.topicPrefix,
    ackWindow: params.ackWindow,
    snapshotMinutes: params.snapshotMinutes,
    queueMax: params.queueMax,
    silenceSeconds: params.silenceSeconds,
    topics: [],
    strikes: 0,
    strikeWindowStartMs: 0,
  };
}

export function parseAttachment(raw: unknown): ViewerAttachment | null {
  if (!isPlainObject(raw) || raw.v !== 1) return null;
  const { projectId, relay, topicPrefix, ackWindow, snapshotMinutes, queueMax, topics, strikes, strikeWindowStartMs } = raw;
  // Sockets accepted before the silence bound existed carry none: they get the longest.
  const silenceSeconds = raw.silenceSeconds === undefined ? MAX_VIEWER_SILENCE_SECONDS : raw.silenceSeconds;
  if (!isInt(silenceSeconds, MIN_VIEWER_SILENCE_SECONDS, MAX_VIEWER_SILENCE_SECONDS)) return null;
  if (typeof projectId !== 'string' || typeof relay !== 'string' || typeof topicPrefix !== 'string') return null;
  if (ackWindow !== null && !isInt(ackWindow, 1, MAX_ACK_WINDOW_FRAMES)) return null;
  if (!isInt(snapshotMinutes, 0, MAX_SNAPSHOT_MINUTES) || !isInt(queueMax, 1, 100_000) || !isInt(strikes, 0, 1_000_000)) return null;
  if (typeof strikeWindowStartMs !== 'number' || !Array.isArray(topics)) return null;
  const names = topics.filter((topic): topic is string => typeof topic === 'string');
  return { v: 1, projectId, relay, topicPrefix, ackWindow, snapshotMinutes, queueMax, silenceSeconds, topics: names, strikes, strikeWindowStartMs };
}

/** Counts one bad frame; 'close' once LIVE_ABUSE.maxStrikes land within LIVE_ABUSE.windowMs. Mutates. */
export function recordStrike(attachment: ViewerAttachment, nowMs: number): 'warn' | 'close' {
  if (nowMs - attachment.strikeWindowStartMs > LIVE_ABUSE.windowMs) {
    attachment.strikes = 0;
    attachment.strikeWindowStartMs = nowMs;
  }
  attachment.strikes++;
  return attachment.strikes >= LIVE_ABUSE.maxStrikes ? 'close' : 'warn';
}

export type TopicBudget = { ok: true } | { ok: false; message: string };

/** Whether one more topic fits the attachment (count and total length). */
export function topicBudget(topics: readonly string[], name: string): TopicBudget {
  if (topics.includes(name)) return { ok: true };
  if (topics.length >= MAX_TOPICS_PER_VIEWER) return { ok: false, message: `At most ${MAX_TOPICS_PER_VIEWER} topics per connection.` };
  const chars = topics.reduce((sum, topic) => sum + topic.length, name.length);
  if (chars > MAX_TOPIC_CHARS_PER_VIEWER) return { ok: false, message: `Topics of one connection may total at most ${MAX_TOPIC_CHARS_PER_VIEWER} characters.` };
  return { ok: true };
}

/**
 * Control messages (subscribe/unsubscribe) per viewer: a token bucket, so a
 * dashboard re-subscribing its view is fine and a loop is not. In memory only:
 * hibernation refills it, which is harmless.
 */
export class MessageBucket {
  private tokens: number;
  private updatedMs: number;
  readonly capacity: number;
  readonly refillPerSecond: number;

  constructor(capacity = 30, refillPerSecond = 5, nowMs = 0) {
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.tokens = capacity;
    this.updatedMs = nowMs;
  }

  take(nowMs: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.updatedMs) / 1000) * this.refillPerSecond);
    this.updatedMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
