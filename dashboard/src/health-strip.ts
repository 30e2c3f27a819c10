/**
 * The pipeline-health strip: connection state, data freshness (now minus the
 * newest delta), flush lag and the store's status, plus the stale alarm. Its
 * state is also put on <body data-health> so the whole page dims when stale.
 */
import { button, el, setText } from './dom.ts';
import { formatAge, formatDuration } from './format.ts';
import type { Freshness } from './freshness.ts';
import type { Health } from './api.ts';
import type { LiveStatus } from './live.ts';

export interface HealthView {
  live: LiveStatus;
  freshness: Freshness;
  staleAfterMs: number;
  /** null: not asked yet; 'unavailable': the API has no health endpoint; 'error': the last call failed. */
  health: Health | null | 'unavailable' | 'error';
  now: number;
}

interface Item {
  root: HTMLElement;
  value: HTMLElement;
}

export class HealthStrip {
  private readonly connection: Item;
  private readonly freshness: Item;
  private readonly flushLag: Item;
  private readonly store: Item;
  private readonly alarm: HTMLElement;
  private readonly alarmText: HTMLElement;
  private readonly announce: HTMLElement;
  private announced = '';

  constructor(strip: HTMLElement, alarm: HTMLElement, onReconnect: () => void) {
    this.connection = item('Connection', 'connection');
    this.freshness = item('Data freshness', 'freshness');
    this.flushLag = item('Flush lag', 'flush-lag');
    this.store = item('Pipeline', 'pipeline');
    this.announce = el('span', 'visually-hidden');
    this.announce.setAttribute('role', 'status');
    strip.append(this.connection.root, this.freshness.root, this.flushLag.root, this.store.root, this.announce);

    this.alarm = alarm;
    this.alarmText = el('span', 'stale-alarm-text');
    const retry = button('stale-alarm-retry', 'Reconnect now', onReconnect);
    this.alarm.append(el('span', 'stale-alarm-icon', '!'), this.alarmText, retry);
  }

  render(view: HealthView): void {
    const { live, freshness, now } = view;
    document.body.dataset.health = freshness.state;

    // Connection
    let connection: string;
    if (live.state === 'open') connection = 'Live';
    else if (live.state === 'connecting') connection = 'Connecting…';
    else {
      const wait = live.retryAt === null ? 0 : Math.ceil((live.retryAt - now) / 1000);
      connection = wait > 0 ? `Reconnecting in ${wait} s` : 'Reconnecting…';
    }
    setText(this.connection.value, connection);
    this.connection.root.dataset.state = live.state;
    this.connection.root.title = live.lastClose ? `Last close: ${live.lastClose}; failed attempts: ${live.attempt}` : '';

    // Freshness
    const f = freshness.freshnessMs;
    setText(this.freshness.value, f === null ? 'no data yet' : formatAge(f));
    this.freshness.root.dataset.state = freshness.alarm ? 'stale' : f === null ? 'unknown' : 'ok';
    this.freshness.root.title = `Now minus the arrival of the newest live update. Stale after ${formatDuration(view.staleAfterMs)} (?staleAfter=).`;

    // Flush lag and store
    const h = view.health;
    if (h === null) {
      setText(this.flushLag.value, '…');
      setText(this.store.value, '…');
    } else if (h === 'unavailable') {
      setText(this.flushLag.value, 'n/a');
      setText(this.store.value, 'n/a');
      this.store.root.title = 'This API version has no /v1/health endpoint.';
    } else if (h === 'error') {
      setText(this.flushLag.value, 'unknown');
      setText(this.store.value, 'unreachable');
      this.store.root.dataset.state = 'stale';
    } else {
      setText(this.flushLag.value, h.flushLagMs === null ? 'idle' : formatDuration(h.flushLagMs));
      this.flushLag.root.dataset.state = h.flushLagMs !== null && h.flushLagMs > 60_000 ? 'stale' : 'ok';
      const pending = h.shards.reduce((sum, s) => sum + s.sealedBatches, 0);
      setText(this.store.value, `${h.status === 'ok' ? 'OK' : h.status}${pending > 0 ? ` · ${pending} batch${pending === 1 ? '' : 'es'} queued` : ''}`);
      this.store.root.dataset.state = h.status === 'ok' ? 'ok' : 'stale';
      this.store.root.title = `${h.shards.length} shards${h.freshnessMs !== null ? `; server-side freshness ${formatDuration(h.freshnessMs)}` : ''}`;
    }

    // The alarm: plain words, impossible to miss.
    this.alarm.hidden = !freshness.alarm;
    if (freshness.alarm) {
      const age = f === null ? 'No live data has arrived' : `The newest data is ${formatAge(f)} old`;
      const why = live.state === 'open' ? 'The connection is open, but nothing new is arriving.' : 'The live connection is down; reconnecting.';
      setText(this.alarmText, `Stale data — ${age} (limit ${formatDuration(view.staleAfterMs)}). ${why} The numbers below are not live.`);
    }
    document.title = freshness.alarm ? '⚠ Stale · edgepulse' : 'edgepulse · live';

    // Screen readers hear state changes, not the seconds ticking.
    const spoken = freshness.alarm ? 'Data is stale' : freshness.state === 'live' ? 'Live' : connection;
    if (spoken !== this.announced) {
      this.announced = spoken;
      this.announce.textContent = spoken;
    }
  }
}

function item(label: string, testid: string): Item {
  const root = el('div', 'health-item');
  root.dataset.testid = testid;
  const value = el('span', 'health-value', '…');
  root.append(el('span', 'health-dot'), el('span', 'health-label', label), value);
  return { root, value };
}
