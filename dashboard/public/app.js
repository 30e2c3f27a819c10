// @ts-check
/**
 * edgepulse live dashboard: snapshot from `GET /v1/metrics`, then live deltas
 * over `/v1/live`. No framework and no build step; served as static assets.
 */
import { Api, ApiError, asObject, readError } from './api.js';
import {
  DEMO_EVENT_TYPES,
  RANGE_CHOICES,
  VALUE_EVENT_TYPES,
  hrefWithMinutes,
  rangeLabel,
  readConfig,
} from './config.js';
import { formatCount, formatDuration, formatMoney, timeZoneName } from './format.js';
import { LiveConnection, liveUrl } from './live.js';
import { MINUTE_MS, floorToMinute, parseDelta } from './series.js';
import { Tile, el } from './tile.js';

/** With an open socket and no delta for this long, the data is called stale. */
const STALE_AFTER_MS = 10_000;
/** More tiles than this stops being a dashboard; `?eventTypes=` picks others. */
const MAX_TILES = 24;
/** A clock this far from the server's (HTTP Date header) would put data in the wrong minute. */
const CLOCK_SKEW_TOLERANCE_MS = 3000;
const SNAPSHOT_RETRY_BASE_MS = 5000;
const SNAPSHOT_RETRY_CAP_MS = 60_000;

/**
 * @typedef {{ tile: Tile, series: import('./series.js').MinuteSeries }} TopicTarget
 * @typedef {'error' | 'warn' | 'info' | 'demo'} NoticeKind
 */

class Dashboard {
  /** @param {import('./config.js').DashboardConfig} config */
  constructor(config) {
    this.config = config;
    this.api = new Api(config.key);
    /** Server clock minus ours; only corrected when the skew would matter. */
    this.clockOffsetMs = 0;
    /** @type {Tile[]} */
    this.tiles = [];
    /** @type {Map<string, TopicTarget>} */
    this.topics = new Map();
    this.headMs = floorToMinute(this.serverNow());
    /** Local time of the last valid delta (or heartbeat) on any topic, 0 if none. */
    this.lastUpdateAt = 0;
    /** @type {Map<Tile, { attempt: number, timer: ReturnType<typeof setTimeout> | undefined }>} */
    this.snapshotRetries = new Map();
    this.renderQueued = false;
    this.announcedState = '';

    this.statusEl = requireEl('status');
    this.statusText = requireEl('status-text');
    this.statusAnnounce = requireEl('status-announce');
    this.noticesEl = requireEl('notices');
    this.summaryEl = requireEl('summary');
    this.tilesEl = requireEl('tiles');

    this.live = new LiveConnection({
      url: liveUrl(location, config.key),
      topics: () => [...this.topics.keys()],
      onMessage: (message) => this.onLiveMessage(message),
      onOpen: (isReconnect) => this.onLiveOpen(isReconnect),
      onStatus: () => this.renderStatus(),
    });
  }

  serverNow() {
    return Date.now() + this.clockOffsetMs;
  }

  async start() {
    this.renderChrome();
    setInterval(() => this.tick(), 1000);
    const eventTypes = await this.resolveEventTypes();
    this.buildTiles(eventTypes);
    this.live.start();
    for (const tile of this.tiles) void this.loadSnapshot(tile);
    this.renderAll();
  }

  /** Range picker, time zone note: everything that does not depend on data. */
  renderChrome() {
    const range = requireEl('range');
    for (const minutes of RANGE_CHOICES) {
      const link = el('a', minutes === this.config.minutes ? 'range-item is-active' : 'range-item', rangeLabel(minutes));
      link.href = hrefWithMinutes(location.href, minutes);
      if (minutes === this.config.minutes) link.setAttribute('aria-current', 'true');
      range.append(link);
    }
    if (!RANGE_CHOICES.includes(this.config.minutes)) {
      const custom = el('span', 'range-item is-active', rangeLabel(this.config.minutes));
      custom.setAttribute('aria-current', 'true');
      range.append(custom);
    }
    requireEl('page-foot').textContent =
      `Times in ${timeZoneName()} · 1-minute windows · the dashed end of each line is the current minute, still counting.`;
    if (this.config.ignoredEventTypes.length > 0) {
      this.notice('warn', `Ignored invalid event type names in ?eventTypes=: ${this.config.ignoredEventTypes.join(', ')}`);
    }
  }

  /** @returns {Promise<string[]>} */
  async resolveEventTypes() {
    const override = this.config.eventTypes;
    /** @type {string[]} */
    let types;
    try {
      const catalog = await this.api.catalog();
      this.syncClock();
      if (catalog.demo) this.demoBanner();
      if (override) types = override;
      else if (catalog.eventTypes.length > 0) types = orderEventTypes(catalog.eventTypes);
      else {
        this.notice('info', 'No events recorded yet; showing the demo event types. Reload once events arrive.', 'catalog-empty');
        types = DEMO_EVENT_TYPES;
      }
    } catch (err) {
      const e = toApiError(err);
      const fallback = override ? 'the event types from the URL' : 'the demo event types';
      const hint = e.status === 401 || e.status === 403 ? ' Add ?key=<read key> to the URL.' : '';
      this.notice('error', `Could not load the event catalog: ${e.message} (${e.code}). Showing ${fallback}.${hint}`, 'catalog');
      types = override ?? DEMO_EVENT_TYPES;
    }
    if (types.length > MAX_TILES) {
      this.notice('info', `Showing the first ${MAX_TILES} of ${types.length} event types; choose others with ?eventTypes=a,b,c.`);
      types = types.slice(0, MAX_TILES);
    }
    return types;
  }

  /** @param {string[]} eventTypes */
  buildTiles(eventTypes) {
    this.tilesEl.replaceChildren();
    eventTypes.forEach((eventType, index) => {
      const tile = new Tile(eventType, {
        minutes: this.config.minutes,
        headMs: this.headMs,
        withValue: VALUE_EVENT_TYPES.has(eventType),
        index,
        onRetry: () => void this.loadSnapshot(tile),
      });
      this.tiles.push(tile);
      this.topics.set(`metrics:${encodeURIComponent(eventType)}`, { tile, series: tile.count });
      if (tile.value) this.topics.set(`value_sum:${encodeURIComponent(eventType)}`, { tile, series: tile.value });
      this.tilesEl.append(tile.element);
    });
    if (eventTypes.length === 0) this.tilesEl.append(el('p', 'placeholder', 'No event types to show.'));
  }

  /** @param {Tile} tile */
  async loadSnapshot(tile) {
    const retry = this.snapshotRetries.get(tile);
    clearTimeout(retry?.timer);
    const generation = ++tile.snapshotGeneration;
    tile.snapshot = 'loading';
    this.scheduleRender();

    const start = tile.count.startMs;
    const end = tile.count.headMs + MINUTE_MS;
    const requestedAt = Date.now();
    const [counts, values] = await Promise.allSettled([
      this.api.metrics('events', tile.eventType, start, end),
      tile.value ? this.api.metrics('value_sum', tile.eventType, start, end) : Promise.resolve([]),
    ]);
    if (generation !== tile.snapshotGeneration) return; // a newer request owns the tile now
    this.syncClock();

    if (counts.status === 'fulfilled') tile.count.applySnapshot(counts.value, start, end, requestedAt);
    if (tile.value && values.status === 'fulfilled') tile.value.applySnapshot(values.value, start, end, requestedAt);
    const failure = counts.status === 'rejected' ? counts.reason : values.status === 'rejected' ? values.reason : null;
    if (failure === null) {
      tile.snapshot = 'ok';
      this.snapshotRetries.delete(tile);
    } else {
      const e = toApiError(failure);
      tile.snapshot = { code: e.code, message: e.message };
      if (isRetryable(e)) {
        // Transient API trouble heals itself; auth and bad-request errors need a person.
        const attempt = (retry?.attempt ?? 0) + 1;
        const delay = Math.min(SNAPSHOT_RETRY_CAP_MS, SNAPSHOT_RETRY_BASE_MS * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.snapshotRetries.set(tile, { attempt, timer: setTimeout(() => void this.loadSnapshot(tile), delay) });
      }
    }
    this.scheduleRender();
  }

  /** @param {boolean} isReconnect */
  onLiveOpen(isReconnect) {
    for (const tile of this.tiles) {
      tile.live = 'pending';
      // A restarted broadcast object may number its deltas from scratch.
      for (const series of tile.series()) series.resetSeq();
    }
    // Whatever happened while we were away is only in the query API.
    if (isReconnect) for (const tile of this.tiles) void this.loadSnapshot(tile);
    this.scheduleRender();
  }

  /** @param {unknown} message one frame: an object or an array of them */
  onLiveMessage(message) {
    const items = Array.isArray(message) ? message : [message];
    const now = Date.now();
    for (const item of items) this.onLiveItem(item, now);
    this.scheduleRender();
  }

  /**
   * @param {unknown} item
   * @param {number} now
   */
  onLiveItem(item, now) {
    const o = asObject(item);
    if (!o) return;
    const target = typeof o.topic === 'string' ? this.topics.get(o.topic) : undefined;

    const error = readError(o);
    if (error) {
      if (target) target.tile.live = error;
      else this.notice('error', `Live updates: ${error.message} (${error.code})`, `live:${error.code}`);
      return;
    }
    if (o.type === 'subscribed') {
      if (target && typeof target.tile.live !== 'object') target.tile.live = 'subscribed';
      return;
    }
    if (o.type === 'heartbeat') {
      // Optional: lets a server with no traffic prove the pipeline is alive.
      this.lastUpdateAt = now;
      return;
    }
    const delta = parseDelta(o);
    if (!delta || !target) return; // unknown frames and topics are not ours to judge
    this.lastUpdateAt = now;
    // A window newer than our clock's current minute means our clock is behind:
    // shift every chart together so their x axes stay aligned.
    if (delta.windowStartMs > this.headMs && delta.windowStartMs <= this.headMs + 2 * MINUTE_MS) {
      this.advance(delta.windowStartMs);
    }
    target.series.applyDelta(delta, now);
  }

  /** @param {number} windowStartMs */
  advance(windowStartMs) {
    const now = Date.now();
    const liveCovered = this.live.status.state === 'open';
    for (const tile of this.tiles) for (const series of tile.series()) series.advanceTo(windowStartMs, liveCovered, now);
    this.headMs = Math.max(this.headMs, floorToMinute(windowStartMs));
  }

  tick() {
    const head = floorToMinute(this.serverNow());
    if (head > this.headMs) this.advance(head);
    this.renderAll();
  }

  /** Adopts the server's clock (HTTP Date) only when ours is clearly off. */
  syncClock() {
    const offset = this.api.dateHeaderOffsetMs;
    if (offset !== null) this.clockOffsetMs = Math.abs(offset) > CLOCK_SKEW_TOLERANCE_MS ? offset : 0;
  }

  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderAll();
    });
  }

  renderAll() {
    const now = Date.now();
    const serverNow = this.serverNow();
    const connected = this.live.status.state === 'open';
    for (const tile of this.tiles) tile.render(serverNow, now, connected);
    this.renderSummary();
    this.renderStatus();
  }

  renderStatus() {
    const now = Date.now();
    const s = this.live.status;
    /** @type {'live' | 'stale' | 'down' | 'connecting'} */
    let state;
    let text;
    if (s.state === 'open') {
      const since = Math.max(this.lastUpdateAt, s.openedAt ?? now);
      const age = now - since;
      if (age > STALE_AFTER_MS) {
        state = 'stale';
        text = `Stale: no update for ${Math.floor(age / 1000)} s`;
      } else {
        state = 'live';
        text = this.lastUpdateAt >= (s.openedAt ?? now)
          ? `Live · last update ${formatDuration((now - this.lastUpdateAt) / 1000)} ago`
          : 'Live · waiting for the first update';
      }
    } else if (s.state === 'reconnecting') {
      state = 'down';
      const wait = s.retryAt === null ? 0 : Math.ceil((s.retryAt - now) / 1000);
      text = wait > 0 ? `Reconnecting… next try in ${wait} s` : 'Reconnecting…';
    } else {
      state = 'connecting';
      text = 'Connecting…';
    }
    this.statusEl.dataset.state = state;
    this.statusText.textContent = text;
    this.statusEl.title = s.lastClose ? `Last close: ${s.lastClose}; failed attempts: ${s.attempt}` : '';
    // Screen readers hear state changes, not the seconds ticking.
    if (state !== this.announcedState) {
      this.announcedState = state;
      this.statusAnnounce.textContent = { live: 'Live', stale: 'Data is stale', down: 'Reconnecting', connecting: 'Connecting' }[state];
    }
  }

  renderSummary() {
    const head = this.headMs;
    let current = 0;
    let previous = 0;
    let rangeTotal = 0;
    let anyRange = false;
    let anyCurrent = false;
    let anyPrevious = false;
    let revenue = 0;
    let anyRevenue = false;
    /** @type {number | null} */
    let errors = null;
    for (const tile of this.tiles) {
      const c = tile.count.valueAt(head);
      if (c !== null) {
        current += c;
        anyCurrent = true;
      }
      const p = tile.count.valueAt(head - MINUTE_MS);
      if (p !== null) {
        previous += p;
        anyPrevious = true;
      }
      const total = tile.count.total();
      rangeTotal += total.sum;
      if (total.unknown < tile.minutes) anyRange = true;
      if (tile.eventType === 'error' && total.unknown < tile.minutes) errors = total.sum;
      if (tile.value) {
        const v = tile.value.total();
        if (v.unknown < tile.minutes) {
          revenue += v.sum;
          anyRevenue = true;
        }
      }
    }
    const range = rangeLabel(this.config.minutes);
    const kpis = [
      ['Events this minute', anyCurrent ? formatCount(current) : '—'],
      ['Events/s · prev. minute', anyPrevious ? (previous / 60).toFixed(1) : '—'],
      [`Events · last ${range}`, anyRange ? formatCount(rangeTotal) : '—'],
    ];
    if (this.tiles.some((t) => t.value)) kpis.push([`Revenue · last ${range}`, anyRevenue ? formatMoney(revenue) : '—']);
    if (this.tiles.some((t) => t.eventType === 'error')) {
      const share = errors !== null && rangeTotal > 0 ? `${((errors / rangeTotal) * 100).toFixed(2)} %` : '—';
      kpis.push([`Error share · ${range}`, share]);
    }
    if (this.summaryEl.childElementCount !== kpis.length) {
      this.summaryEl.replaceChildren(
        ...kpis.map(() => {
          const box = el('div', 'kpi');
          box.append(el('div', 'kpi-label'), el('div', 'kpi-value'));
          return box;
        }),
      );
    }
    kpis.forEach(([label, value], i) => {
      const box = this.summaryEl.children[i];
      if (!box) return;
      const [labelEl, valueEl] = box.children;
      if (labelEl) labelEl.textContent = label ?? '';
      if (valueEl) valueEl.textContent = value ?? '';
    });
  }

  demoBanner() {
    const banner = el('div', 'notice notice--demo');
    banner.append('Demo data — synthetic traffic from ', el('code', '', 'npm run demo'));
    banner.dataset.noticeId = 'demo';
    this.noticesEl.prepend(banner);
  }

  /**
   * Shows a message above the tiles; the same id is shown once.
   * @param {NoticeKind} kind
   * @param {string} text
   * @param {string} [id]
   */
  notice(kind, text, id) {
    if (id && [...this.noticesEl.children].some((n) => n instanceof HTMLElement && n.dataset.noticeId === id)) return;
    this.noticesEl.append(createNotice(kind, text, id));
  }
}

/**
 * @param {NoticeKind} kind
 * @param {string} text
 * @param {string} [id]
 */
function createNotice(kind, text, id) {
  const box = el('div', `notice notice--${kind}`);
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  if (id) box.dataset.noticeId = id;
  const close = el('button', 'notice-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', () => box.remove());
  box.append(el('span', 'notice-text', text), close);
  return box;
}

/**
 * The familiar types in funnel order first, the rest alphabetically.
 * @param {string[]} eventTypes
 */
function orderEventTypes(eventTypes) {
  const rank = (/** @type {string} */ t) => {
    const i = DEMO_EVENT_TYPES.indexOf(t);
    return i === -1 ? DEMO_EVENT_TYPES.length : i;
  };
  return [...eventTypes].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** @param {unknown} err */
function toApiError(err) {
  if (err instanceof ApiError) return err;
  return new ApiError('client_error', err instanceof Error ? err.message : String(err), 0);
}

/** @param {ApiError} e */
function isRetryable(e) {
  return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500 || e.code === 'invalid_response';
}

/** @param {string} id */
function requireEl(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html is missing #${id}`);
  return node;
}

/** Last resort: a broken dashboard says so instead of going blank. */
function showFatal(/** @type {string} */ text) {
  const notices = document.getElementById('notices');
  if (notices && ![...notices.children].some((n) => n instanceof HTMLElement && n.dataset.noticeId === text)) {
    notices.append(createNotice('error', `Dashboard error: ${text}`, text));
  }
}
window.addEventListener('error', (e) => showFatal(e.message || 'unknown error'));
window.addEventListener('unhandledrejection', (e) => showFatal(e.reason instanceof Error ? e.reason.message : String(e.reason)));

new Dashboard(readConfig(location.search)).start().catch((err) => showFatal(err instanceof Error ? err.message : String(err)));
