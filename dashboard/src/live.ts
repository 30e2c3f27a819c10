/**
 * The live WebSocket: subscribe on every open, reconnect with full-jitter
 * exponential backoff, report its state for the pipeline-health strip.
 */

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
/** A connection that stayed up this long counts as healthy and resets the backoff. */
const STABLE_AFTER_MS = 10_000;

export type LiveState = 'connecting' | 'open' | 'reconnecting';

export interface LiveStatus {
  state: LiveState;
  /** Failed attempts since the last healthy connection. */
  attempt: number;
  /** Local time of the next attempt while reconnecting. */
  retryAt: number | null;
  /** Local time the current socket opened. */
  openedAt: number | null;
  /** e.g. "1006" or "1008 unauthorized". */
  lastClose: string | null;
}

export interface LiveOptions {
  url: string;
  /** Topics to subscribe to on every open. */
  topics: () => readonly string[];
  /** One parsed JSON value per frame. */
  onMessage: (message: unknown) => void;
  /** After the subscriptions were sent. */
  onOpen: (isReconnect: boolean) => void;
  onStatus: (status: LiveStatus) => void;
}

export class LiveConnection {
  private readonly options: LiveOptions;
  private socket: WebSocket | null = null;
  status: LiveStatus = { state: 'connecting', attempt: 0, retryAt: null, openedAt: null, lastClose: null };
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: LiveOptions) {
    this.options = options;
    window.addEventListener('online', () => this.retryNow());
  }

  start(): void {
    this.connect();
  }

  /** Skip the remaining backoff (the browser came back online, or the user asked). */
  retryNow(): void {
    if (this.status.state !== 'reconnecting' || this.socket !== null) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  subscribe(topic: string): void {
    this.send({ action: 'subscribe', topic });
  }

  unsubscribe(topic: string): void {
    this.send({ action: 'unsubscribe', topic });
  }

  private connect(): void {
    this.setStatus({ state: this.everOpened || this.status.attempt > 0 ? 'reconnecting' : 'connecting', retryAt: null });
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url);
    } catch {
      // Only a malformed URL throws here; keep retrying rather than dying.
      this.scheduleReconnect('invalid URL');
      return;
    }
    this.socket = socket;

    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      const isReconnect = this.everOpened;
      this.everOpened = true;
      for (const topic of this.options.topics()) this.subscribe(topic);
      this.setStatus({ state: 'open', retryAt: null, openedAt: Date.now() });
      this.stableTimer = setTimeout(() => this.setStatus({ attempt: 0 }), STABLE_AFTER_MS);
      this.options.onOpen(isReconnect);
    });

    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return; // not ours to judge: a non-JSON frame is ignored
      }
      this.options.onMessage(parsed);
    });

    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.stableTimer);
      this.scheduleReconnect(event.reason ? `${event.code} ${event.reason}` : String(event.code));
    });
    // 'error' is always followed by 'close', which does the work.
  }

  private scheduleReconnect(lastClose: string): void {
    const attempt = this.status.attempt + 1;
    // Full jitter: a fleet of dashboards that lost the same server does not return in lockstep.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const delay = Math.max(250, Math.random() * ceiling);
    this.setStatus({ state: 'reconnecting', attempt, retryAt: Date.now() + delay, openedAt: null, lastClose });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private send(message: unknown): void {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private setStatus(patch: Partial<LiveStatus>): void {
    this.status = { ...this.status, ...patch };
    this.options.onStatus(this.status);
  }
}

/**
 * `ws(s)://<same host>/v1/live`, with `?key=` when a read key is configured
 * (browsers cannot set headers on a WebSocket handshake).
 */
export function liveUrl(location: Location | URL, key: string | null): string {
  const url = new URL('/v1/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (key) url.searchParams.set('key', key);
  return url.toString();
}
