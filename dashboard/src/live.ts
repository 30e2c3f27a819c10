/**
 * The live WebSocket client (issue 5.7): connects with a short-lived viewer
 * token (live-token.ts), subscribes on every open and resumes each topic from
 * its last seq after a reconnect (live-cursors.ts: no gap, no duplicate),
 * opts into flow control and acks delta frames, sends the heartbeat the
 * server's hello names (answered by the runtime without waking the relay),
 * detects dead connections, reconnects with full-jitter backoff
 * (live-flow.ts), and reports its state for the pipeline-health strip.
 */
import { TopicCursors } from './live-cursors.ts';
import { AckCounter, backoffDelay, DASHBOARD_ACK_WINDOW, DEFAULT_HEARTBEAT, HEARTBEAT_INTERVAL_MS, HeartbeatClock, parseHello } from './live-flow.ts';
import { liveSocketUrl, TokenError, ViewerTokens } from './live-token.ts';

/** A connection that stayed up this long counts as healthy and resets the backoff. */
const STABLE_AFTER_MS = 10_000;
/** Application close code for a connection the heartbeat found dead (4000-4999 are ours). */
const CLOSE_HEARTBEAT_TIMEOUT = 4000;

export type LiveState = 'connecting' | 'open' | 'reconnecting';

export interface LiveStatus {
  state: LiveState;
  /** Failed attempts since the last healthy connection. */
  attempt: number;
  /** Local time of the next attempt while reconnecting. */
  retryAt: number | null;
  /** Local time the current socket opened. */
  openedAt: number | null;
  /** e.g. "1006", "4001 slow viewer: …" or "token 401 invalid_key". */
  lastClose: string | null;
}

export interface LiveOptions {
  /** The page's location: /v1/live and /v1/live/token are on the same origin. */
  location: Location | URL;
  /** Read key, used only to mint viewer tokens (in the socket URL only if the server has no token support). */
  key: string | null;
  /** Topics to subscribe to on every open. */
  topics: () => readonly string[];
  /** One parsed JSON value per frame, deltas the client already had removed. */
  onMessage: (message: unknown) => void;
  /** After the subscriptions were sent. */
  onOpen: (isReconnect: boolean) => void;
  onStatus: (status: LiveStatus) => void;
}

export class LiveConnection {
  private readonly options: LiveOptions;
  private readonly tokens: ViewerTokens;
  private readonly cursors = new TopicCursors();
  private socket: WebSocket | null = null;
  /** Bumped per attempt: a token request that outlived its attempt must not open a socket. */
  private attemptId = 0;
  status: LiveStatus = { state: 'connecting', attempt: 0, retryAt: null, openedAt: null, lastClose: null };
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: LiveOptions) {
    this.options = options;
    this.tokens = new ViewerTokens({ key: options.key, baseHref: options.location.href, fetch: (url, init) => fetch(url, init), now: () => Date.now() });
    window.addEventListener('online', () => this.retryNow());
  }

  start(): void {
    void this.connect();
  }

  /** Skip the remaining backoff (the browser came back online, or the user asked). */
  retryNow(): void {
    if (this.status.state !== 'reconnecting' || this.socket !== null) return;
    clearTimeout(this.retryTimer);
    void this.connect();
  }

  subscribe(topic: string): void {
    this.send(this.cursors.subscribeMessage(topic));
  }

  unsubscribe(topic: string): void {
    this.cursors.forget(topic);
    this.send({ action: 'unsubscribe', topic });
  }

  private async connect(): Promise<void> {
    const attempt = ++this.attemptId;
    this.setStatus({ state: this.everOpened || this.status.attempt > 0 ? 'reconnecting' : 'connecting', retryAt: null });
    let url: string;
    try {
      url = liveSocketUrl(this.options.location, await this.tokens.credential(), DASHBOARD_ACK_WINDOW);
    } catch (err) {
      if (attempt !== this.attemptId) return;
      this.scheduleReconnect(err instanceof TokenError ? `token ${err.status} ${err.code}` : 'token request failed');
      return;
    }
    if (attempt !== this.attemptId) return;
    this.scheduleTokenRefresh();
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      // Only a malformed URL throws here; keep retrying rather than dying.
      this.scheduleReconnect('invalid URL');
      return;
    }
    this.socket = socket;
    const heartbeat = new HeartbeatClock();
    let heartbeatText = DEFAULT_HEARTBEAT;
    let acks: AckCounter | null = null;

    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      const isReconnect = this.everOpened;
      this.everOpened = true;
      for (const topic of this.options.topics()) this.subscribe(topic);
      this.setStatus({ state: 'open', retryAt: null, openedAt: Date.now() });
      this.stableTimer = setTimeout(() => this.setStatus({ attempt: 0 }), STABLE_AFTER_MS);
      heartbeat.messageReceived(Date.now());
      this.heartbeatTimer = setInterval(() => {
        if (this.socket !== socket) return;
        if (heartbeat.tick(Date.now()) === 'dead') this.drop(socket, CLOSE_HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        else if (socket.readyState === WebSocket.OPEN) socket.send(heartbeatText);
      }, HEARTBEAT_INTERVAL_MS);
      this.options.onOpen(isReconnect);
    });

    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      heartbeat.messageReceived(Date.now());
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return; // not ours to judge: a non-JSON frame is ignored
      }
      const hello = parseHello(parsed);
      if (hello !== null) {
        heartbeatText = hello.heartbeat;
        acks = hello.ackWindow === null ? null : new AckCounter(hello.ackWindow);
      }
      // Every JSON array is a delta frame, and only those count toward the ack window.
      if (Array.isArray(parsed)) {
        const fresh = parsed.filter((item: unknown) => this.cursors.accept(item));
        if (fresh.length > 0) this.options.onMessage(fresh);
        // Acked once processed, duplicates included: the server counts frames, not deltas.
        const frames = acks?.frameProcessed() ?? null;
        if (frames !== null) this.send({ action: 'ack', frames });
      } else {
        this.cursors.accept(parsed);
        this.options.onMessage(parsed);
      }
    });

    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopTimers();
      this.scheduleReconnect(event.reason ? `${event.code} ${event.reason}` : String(event.code));
    });
    // 'error' is always followed by 'close', which does the work.
  }

  /** Gives up on a socket at once (a dead one may take minutes to report its close) and reconnects. */
  private drop(socket: WebSocket, code: number, reason: string): void {
    this.socket = null;
    this.stopTimers();
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
    this.scheduleReconnect(`${code} ${reason}`);
  }

  private stopTimers(): void {
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
  }

  /** Renews the viewer token before it expires, so a reconnect never waits for (or fails on) an expired one. */
  private scheduleTokenRefresh(): void {
    clearTimeout(this.refreshTimer);
    const due = this.tokens.dueAtMs;
    if (due === null) return;
    this.refreshTimer = setTimeout(() => {
      this.tokens.credential().then(
        () => this.scheduleTokenRefresh(),
        () => undefined, // the next connect asks again
      );
    }, Math.max(1000, due - Date.now()));
  }

  private scheduleReconnect(lastClose: string): void {
    const attempt = this.status.attempt + 1;
    const delay = backoffDelay(attempt, Math.random());
    this.setStatus({ state: 'reconnecting', attempt, retryAt: Date.now() + delay, openedAt: null, lastClose });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private send(message: unknown): void {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private setStatus(patch: Partial<LiveStatus>): void {
    this.status = { ...this.status, ...patch };
    this.options.onStatus(this.status);
  }
}
