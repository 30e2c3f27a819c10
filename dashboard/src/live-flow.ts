/**
 * The live client's per-connection rules, pure so they are unit-tested in
 * Node: the server's hello, flow-control acks, the heartbeat, and the
 * reconnect backoff.
 */
import { asObject, finiteNumber } from './json.ts';

/**
 * Flow control the dashboard asks for (`?ack=`): at most this many delta
 * frames unacknowledged, acked every half window. A viewer that stops
 * processing then has its deltas coalesced by the relay (newest value per
 * topic and minute) and is closed with 4001 beyond the queue bound, instead
 * of piling up frames in the runtime's send queue. Half-window acks keep a
 * healthy viewer from ever waiting, at one billed incoming message per 16
 * frames (docs/fanout.md, cost).
 */
export const DASHBOARD_ACK_WINDOW = 32;
/** Heartbeat period: the server asks for one at least every 30 s (proxies drop idle connections). */
export const HEARTBEAT_INTERVAL_MS = 25_000;
/** What the server's hello names when an older server does not (the relay's auto-response pair). */
export const DEFAULT_HEARTBEAT = '{"action":"ping"}';

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
const BACKOFF_FLOOR_MS = 250;

export interface Hello {
  relay: string;
  tickMs: number | null;
  /** The exact text to send as heartbeat (the runtime answers it without waking the relay). */
  heartbeat: string;
  /** Present when the server accepted flow control. */
  ackWindow: number | null;
}

export function parseHello(message: unknown): Hello | null {
  const o = asObject(message);
  if (!o || o.type !== 'hello' || typeof o.relay !== 'string') return null;
  const ackWindow = finiteNumber(o.ackWindow);
  return {
    relay: o.relay,
    tickMs: finiteNumber(o.tickMs),
    heartbeat: typeof o.heartbeat === 'string' && o.heartbeat.length > 0 ? o.heartbeat : DEFAULT_HEARTBEAT,
    ackWindow: ackWindow !== null && Number.isInteger(ackWindow) && ackWindow >= 1 ? ackWindow : null,
  };
}

/** Counts processed delta frames; says when to ack and how many. */
export class AckCounter {
  private unacked = 0;
  readonly every: number;

  constructor(window: number) {
    this.every = Math.max(1, Math.ceil(window / 2));
  }

  /** One delta frame processed: the `frames` to acknowledge now, or null. */
  frameProcessed(): number | null {
    this.unacked++;
    if (this.unacked < this.every) return null;
    const frames = this.unacked;
    this.unacked = 0;
    return frames;
  }
}

/**
 * Half-open connections (a laptop waking up, a NAT that forgot us) never
 * fire `close` on their own. Every interval the client pings; if nothing at
 * all arrived since the previous ping, the connection is dead.
 */
export class HeartbeatClock {
  private pingSentAt: number | null = null;
  private lastMessageAt = Number.NEGATIVE_INFINITY;

  messageReceived(now: number): void {
    this.lastMessageAt = now;
  }

  /** Called once per HEARTBEAT_INTERVAL_MS. */
  tick(now: number): 'ping' | 'dead' {
    if (this.pingSentAt !== null && this.lastMessageAt < this.pingSentAt) return 'dead';
    this.pingSentAt = now;
    return 'ping';
  }
}

/**
 * Full-jitter exponential backoff: a fleet of dashboards that lost the same
 * server does not come back in lockstep. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, random: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.max(BACKOFF_FLOOR_MS, random * ceiling);
}
