// @ts-check
/** One event type's tile: live numbers, count chart and, for purchases, revenue. */
import { AreaChart } from './chart.js';
import { formatClock, formatCount, formatDuration, formatMoney } from './format.js';
import { rangeLabel } from './config.js';
import { MINUTE_MS, MinuteSeries } from './series.js';

const COLORS = /** @type {Record<string, string>} */ ({
  page_view: '#5b9cff',
  ad_click: '#a78bfa',
  purchase: '#34d399',
  signup: '#fbbf24',
  error: '#f87171',
});
const EXTRA_COLORS = ['#22d3ee', '#f472b6', '#fb923c', '#a3e635', '#818cf8', '#2dd4bf'];
const REVENUE_COLOR = '#2dd4bf';

const TITLES = /** @type {Record<string, string>} */ ({
  page_view: 'Page views',
  ad_click: 'Ad clicks',
  purchase: 'Purchases',
  signup: 'Signups',
  error: 'Errors',
});

/**
 * @typedef {'loading' | 'ok' | { code: string, message: string }} SnapshotState
 * @typedef {'pending' | 'subscribed' | { code: string, message: string }} LiveTopicState
 */

export class Tile {
  /**
   * @param {string} eventType
   * @param {object} options
   * @param {number} options.minutes
   * @param {number} options.headMs
   * @param {boolean} options.withValue also show the value sum (revenue)
   * @param {number} options.index position, for a stable color of unknown types
   * @param {() => void} options.onRetry reload this tile's snapshot
   */
  constructor(eventType, options) {
    this.eventType = eventType;
    this.minutes = options.minutes;
    this.color = COLORS[eventType] ?? EXTRA_COLORS[options.index % EXTRA_COLORS.length] ?? '#5b9cff';
    this.count = new MinuteSeries(options.minutes, options.headMs);
    this.value = options.withValue ? new MinuteSeries(options.minutes, options.headMs) : null;
    /** @type {SnapshotState} */
    this.snapshot = 'loading';
    /** @type {LiveTopicState} */
    this.live = 'pending';
    /** Bumped per snapshot request so a slow old answer cannot overwrite a newer one. */
    this.snapshotGeneration = 0;

    this.element = el('article', 'tile');
    this.element.style.setProperty('--accent', this.color);
    if (this.value) this.element.classList.add('tile--wide');

    const header = el('header', 'tile-head');
    const titles = el('div', 'tile-titles');
    titles.append(el('h2', 'tile-title', TITLES[eventType] ?? humanize(eventType)), el('code', 'tile-type', eventType));
    this.badge = el('span', 'badge');
    header.append(titles, this.badge);

    const stats = el('div', 'stats');
    this.current = stat('This minute', 'stat--primary');
    this.previous = stat('Previous minute');
    this.total = stat(`Last ${rangeLabel(options.minutes)}`);
    stats.append(this.current.root, this.previous.root, this.total.root);
    if (this.value) {
      this.revenueCurrent = stat('Revenue this minute', 'stat--primary stat--revenue');
      this.revenueTotal = stat(`Revenue · last ${rangeLabel(options.minutes)}`, 'stat--revenue');
      stats.append(this.revenueCurrent.root, this.revenueTotal.root);
    }

    const charts = el('div', 'charts');
    this.countChart = this.makeChart(charts, 'Events per minute', {
      color: this.color,
      formatValue: (v) => formatCount(v),
      unit: 'events',
      integer: true,
    });
    this.valueChart = this.value
      ? this.makeChart(charts, 'Revenue per minute (value sum)', {
          color: REVENUE_COLOR,
          formatValue: (v) => formatMoney(v),
          unit: 'revenue',
          integer: false,
        })
      : null;

    this.errorBox = el('div', 'tile-error');
    this.errorBox.hidden = true;
    this.errorText = el('span', 'tile-error-text');
    const retry = el('button', 'retry', 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', options.onRetry);
    this.errorBox.append(this.errorText, retry);

    this.footer = el('footer', 'tile-foot');
    this.element.append(header, stats, charts, this.errorBox, this.footer);
  }

  /**
   * @param {HTMLElement} parent
   * @param {string} caption
   * @param {import('./chart.js').ChartOptions} options
   */
  makeChart(parent, caption, options) {
    const figure = el('figure', 'chart');
    figure.append(el('figcaption', 'chart-caption', caption));
    const box = el('div', 'chart-box');
    figure.append(box);
    parent.append(figure);
    return new AreaChart(box, options);
  }

  series() {
    return this.value ? [this.count, this.value] : [this.count];
  }

  /**
   * Redraws numbers and charts.
   * @param {number} serverNow best estimate of the server clock
   * @param {number} localNow
   * @param {boolean} connected whether the live socket is open
   */
  render(serverNow, localNow, connected) {
    const head = this.count.headMs;
    const secondsIn = Math.min(60, Math.max(0, (serverNow - head) / 1000));
    this.current.label.textContent = `This minute · ${formatClock(head)}`;
    this.current.value.textContent = formatCount(this.count.valueAt(head));
    this.current.note.textContent = `${Math.floor(secondsIn)} s in, still counting`;

    const prev = this.count.valueAt(head - MINUTE_MS);
    this.previous.value.textContent = formatCount(prev);
    this.previous.note.textContent = prev === null ? 'no data' : `≈ ${formatRate(prev / 60)} / s`;

    const total = this.count.total();
    this.total.value.textContent = total.unknown === this.minutes ? '—' : formatCount(total.sum);
    this.total.note.textContent = coverageNote(total.unknown, this.minutes);

    if (this.value && this.revenueCurrent && this.revenueTotal) {
      this.revenueCurrent.value.textContent = formatMoney(this.value.valueAt(head));
      const purchases = this.count.valueAt(head);
      const revenue = this.value.valueAt(head);
      this.revenueCurrent.note.textContent =
        purchases && revenue !== null ? `avg ${formatMoney(revenue / purchases)} per purchase` : 'value sum';
      const revenueTotal = this.value.total();
      this.revenueTotal.value.textContent = revenueTotal.unknown === this.minutes ? '—' : formatMoney(revenueTotal.sum);
      this.revenueTotal.note.textContent = coverageNote(revenueTotal.unknown, this.minutes);
    }

    const empty = this.emptyText(this.count);
    this.countChart.setData(this.count.toChart(), empty);
    if (this.value && this.valueChart) this.valueChart.setData(this.value.toChart(), this.emptyText(this.value));

    this.renderState(localNow, connected);
  }

  /** @param {MinuteSeries} series */
  emptyText(series) {
    const { sum, unknown } = series.total();
    if (this.snapshot === 'loading' && unknown > 0) return 'Loading…';
    if (unknown === this.minutes) return 'No data';
    if (sum === 0 && unknown === 0) return `No events in the last ${rangeLabel(this.minutes)}`;
    return null;
  }

  /**
   * @param {number} localNow
   * @param {boolean} connected
   */
  renderState(localNow, connected) {
    const problem = typeof this.snapshot === 'object' ? this.snapshot : null;
    this.errorBox.hidden = problem === null;
    if (problem) this.errorText.textContent = `History unavailable: ${problem.message} (${problem.code})`;

    const lastDelta = Math.max(this.count.lastDeltaAt, this.value?.lastDeltaAt ?? 0);
    if (!connected) {
      this.badge.className = 'badge';
      this.badge.textContent = 'offline';
      this.badge.title = 'Not connected to live updates; the numbers are as of the last update';
    } else if (typeof this.live === 'object') {
      this.badge.className = 'badge badge--error';
      this.badge.textContent = 'live error';
      this.badge.title = `${this.live.message} (${this.live.code})`;
    } else if (this.live === 'subscribed' || lastDelta > 0) {
      this.badge.className = 'badge badge--live';
      this.badge.textContent = 'live';
      this.badge.title = 'Subscribed to live updates';
    } else {
      this.badge.className = 'badge';
      this.badge.textContent = 'subscribing…';
      this.badge.title = '';
    }

    const parts = [];
    if (lastDelta > 0) parts.push(`last update ${formatDuration((localNow - lastDelta) / 1000)} ago`);
    else parts.push('no live update yet');
    if (typeof this.live === 'object') parts.push(`live: ${this.live.message}`);
    this.footer.textContent = parts.join(' · ');
  }
}

/**
 * @param {number} unknown
 * @param {number} minutes
 */
function coverageNote(unknown, minutes) {
  if (unknown === 0) return 'all minutes';
  if (unknown === minutes) return 'no data';
  return `${unknown} of ${minutes} min missing`;
}

/** @param {number} perSecond */
function formatRate(perSecond) {
  if (perSecond === 0) return '0';
  return perSecond >= 10 ? formatCount(Math.round(perSecond)) : perSecond.toFixed(perSecond >= 1 ? 1 : 2);
}

/** @param {string} name */
function humanize(name) {
  const words = name.replace(/[_.\-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * @param {string} label
 * @param {string} [extraClass]
 */
function stat(label, extraClass = '') {
  const root = el('div', `stat ${extraClass}`.trim());
  const labelEl = el('div', 'stat-label', label);
  const value = el('div', 'stat-value', '—');
  const note = el('div', 'stat-note', '');
  root.append(labelEl, value, note);
  return { root, label: labelEl, value, note };
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} className
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
