// @ts-check
/**
 * The live WebSocket: subscribe on every open, reconnect with full-jitter
 * exponential backoff, report state for the freshness indicator.
 */

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
/** A connection that stayed up this long counts as healthy and resets the backoff. */
const STABLE_AFTER_MS = 10_000;

/**
 * @typedef {'connecting' | 'open' | 'reconnecting'} LiveState
 * @typedef {object} LiveStatus
 * @property {LiveState} state
 * @property {number} attempt failed attempts since the last healthy connection
 * @property {number | null} retryAt local time of the next attempt while reconnecting
 * @property {number | null} openedAt local time the current socket opened
 * @property {string | null} lastClose e.g. "1006" or "1008 unauthorized"
 */

export class LiveConnection {
  /**
   * @param {object} options
   * @param {string} options.url ws:// or wss:// URL
   * @param {() => string[]} options.topics topics to subscribe to on every open
   * @param {(message: unknown) => void} options.onMessage one parsed JSON value per frame
   * @param {(isReconnect: boolean) => void} options.onOpen after subscriptions were sent
   * @param {(status: LiveStatus) => void} options.onStatus
   */
  constructor(options) {
    this.options = options;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {LiveStatus} */
    this.status = { state: 'connecting', attempt: 0, retryAt: null, openedAt: null, lastClose: null };
    this.everOpened = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.stableTimer = undefined;
    window.addEventListener('online', () => this.retryNow());
  }

  start() {
    this.connect();
  }

  /** Skip the remaining backoff, e.g. when the browser comes back online. */
  retryNow() {
    if (this.status.state !== 'reconnecting') return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    this.setStatus({ state: this.everOpened || this.status.attempt > 0 ? 'reconnecting' : 'connecting', retryAt: null });
    let socket;
    try {
      socket = new WebSocket(this.options.url);
    } catch (err) {
      // Only a malformed URL throws here; keep retrying rather than dying.
      console.error('WebSocket could not be created', err);
      this.scheduleReconnect('invalid URL');
      return;
    }
    this.socket = socket;

    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      const isReconnect = this.everOpened;
      this.everOpened = true;
      for (const topic of this.options.topics()) this.send({ action: 'subscribe', topic });
      this.setStatus({ state: 'open', retryAt: null, openedAt: Date.now() });
      this.stableTimer = setTimeout(() => this.setStatus({ attempt: 0 }), STABLE_AFTER_MS);
      this.options.onOpen(isReconnect);
    });

    socket.addEventListener('message', (event) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      let parsed;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        console.warn('Ignoring a non-JSON live frame');
        return;
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

  /** @param {string} lastClose */
  scheduleReconnect(lastClose) {
    const attempt = this.status.attempt + 1;
    // Full jitter: a dashboard fleet that lost the same server does not return in lockstep.
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const delay = Math.max(250, Math.random() * ceiling);
    this.setStatus({ state: 'reconnecting', attempt, retryAt: Date.now() + delay, openedAt: null, lastClose });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** @param {unknown} message */
  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** @param {Partial<LiveStatus>} patch */
  setStatus(patch) {
    this.status = { ...this.status, ...patch };
    this.options.onStatus(this.status);
  }
}

/**
 * `ws(s)://<same host>/v1/live`, with `?key=` when a read key is configured
 * (browsers cannot set headers on a WebSocket handshake).
 * @param {Location} location
 * @param {string | null} key
 */
export function liveUrl(location, key) {
  const url = new URL('/v1/live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (key) url.searchParams.set('key', key);
  return url.toString();
}
