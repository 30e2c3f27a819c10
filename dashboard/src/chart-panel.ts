/**
 * The chart's panel: what it shows (metric and filters, in words), the
 * 24-hour total, a readout of the minute under the cursor, the chart, and the
 * anomalies as a list of buttons (keyboard- and phone-friendly, and each one
 * opens the drill-down for its minute).
 */
import { TimeSeriesChart } from './chart.ts';
import { FILTER_DIMENSIONS, type ChartMetric, type Filters } from './config.ts';
import { button, el, setText } from './dom.ts';
import { formatClock, formatCount, formatMoney, humanize } from './format.ts';
import type { MinuteSeries } from './series.ts';
import { MINUTE_MS } from './time.ts';

export interface ChartPanelCallbacks {
  onRange: (startMs: number, endMs: number) => void;
  /** The visible window changed (minutes), to keep it in the URL. */
  onWindow: (minutes: number) => void;
}

const MAX_LISTED_ANOMALIES = 8;
export const VIEW_WINDOWS: ReadonlyArray<{ minutes: number; label: string }> = [
  { minutes: 60, label: '1 h' },
  { minutes: 360, label: '6 h' },
  { minutes: 1440, label: '24 h' },
];
const COLORS: Record<ChartMetric, string> = { events: '#5b9cff', value_sum: '#34d399' };

export class ChartPanel {
  private readonly title: HTMLElement;
  private readonly query: HTMLElement;
  private readonly total: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly anomalyList: HTMLElement;
  private readonly anomalyCount: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly chart: TimeSeriesChart;
  private hoverMs: number | null = null;
  private lastEmptyText: string | null = null;
  private lastLoading = false;
  private lastAnomalyKey = '';
  private series: MinuteSeries | null = null;
  private metric: ChartMetric = 'events';
  private visibleMinutes: number;
  private readonly windowButtons = new Map<number, HTMLButtonElement>();

  constructor(root: HTMLElement, visibleMinutes: number, private readonly callbacks: ChartPanelCallbacks) {
    this.visibleMinutes = visibleMinutes;
    const head = el('header', 'panel-head');
    const titles = el('div', 'panel-titles');
    this.title = el('h2', 'panel-title', 'Events per minute');
    this.query = el('p', 'panel-sub');
    this.query.dataset.testid = 'chart-query';
    titles.append(this.title, this.query);
    const stats = el('div', 'panel-stats');
    this.total = el('span', 'panel-total');
    this.total.dataset.testid = 'chart-total';
    this.anomalyCount = el('span', 'anomaly-count');
    this.anomalyCount.hidden = true;
    const windows = el('div', 'segmented segmented--small');
    windows.setAttribute('role', 'group');
    windows.setAttribute('aria-label', 'Time window');
    for (const { minutes, label } of VIEW_WINDOWS) {
      const b = button('segmented-item', label, () => this.setWindow(minutes));
      b.dataset.window = String(minutes);
      this.windowButtons.set(minutes, b);
      windows.append(b);
    }
    stats.append(this.anomalyCount, this.total, windows);
    head.append(titles, stats);

    this.readout = el('div', 'chart-readout');
    this.readout.setAttribute('aria-live', 'off');
    const box = el('div', 'chart-box');
    box.dataset.testid = 'chart';
    this.notice = el('p', 'panel-note');
    this.notice.hidden = true;
    this.anomalyList = el('ul', 'anomaly-list');
    this.anomalyList.dataset.testid = 'anomalies';
    this.anomalyList.setAttribute('aria-label', 'Anomalies');
    const hint = el('p', 'panel-hint', 'Drag across the chart, or click a minute, to break it down by another dimension. Shaded: the expected range; red dots: anomalies.');

    root.append(head, this.readout, box, this.anomalyList, this.notice, hint);
    this.chart = new TimeSeriesChart(box, {
      onRange: (start, end) => this.callbacks.onRange(start, end),
      onHover: (t) => {
        this.hoverMs = t;
        this.renderReadout();
      },
    });
  }

  private setWindow(minutes: number): void {
    this.visibleMinutes = minutes;
    this.callbacks.onWindow(minutes);
    this.updateTitle();
    if (this.series) this.render(this.series, this.lastEmptyText, this.lastLoading);
  }

  private updateTitle(): void {
    const label = VIEW_WINDOWS.find((w) => w.minutes === this.visibleMinutes)?.label ?? '24 h';
    setText(this.title, `${this.metric === 'value_sum' ? 'Revenue' : 'Events'} per minute · last ${label}`);
    for (const [minutes, b] of this.windowButtons) {
      b.classList.toggle('is-active', minutes === this.visibleMinutes);
      b.setAttribute('aria-pressed', String(minutes === this.visibleMinutes));
    }
  }

  /** What the chart shows, as words and as attributes tests and people can read. */
  describe(metric: ChartMetric, filters: Filters, topic: string): void {
    this.metric = metric;
    this.updateTitle();
    const parts = [filters.eventType === null ? 'all event types' : humanize(filters.eventType)];
    for (const { key, label } of FILTER_DIMENSIONS) {
      const value = filters.dims[key];
      if (value !== undefined) parts.push(`${label.toLowerCase()} ${value}`);
    }
    setText(this.query, parts.join(' · '));
    this.query.dataset.topic = topic;
    this.chart.clearSelection();
    this.lastAnomalyKey = '';
  }

  setNote(text: string | null): void {
    this.notice.hidden = text === null;
    setText(this.notice, text ?? '');
  }

  clearSelection(): void {
    this.chart.clearSelection();
  }

  showSelection(startMs: number, endMs: number): void {
    this.chart.showSelection(startMs, endMs);
  }

  render(series: MinuteSeries, emptyText: string | null, loading = false): void {
    this.series = series;
    this.lastEmptyText = emptyText;
    this.lastLoading = loading;
    const format = this.format();
    this.chart.update({ columns: series.columns(), headMs: series.headMs, color: COLORS[this.metric], formatValue: compactAxis, emptyText, visibleMinutes: this.visibleMinutes });
    const total = series.total();
    const known = !loading && total.unknown < series.minutes;
    setText(this.total, known ? `${format(total.sum)} in 24 h` : '');
    this.total.title = 'Total over the whole 24-hour series';
    this.total.dataset.value = known ? String(total.sum) : '';
    this.renderAnomalies(series);
    this.renderReadout();
  }

  private format(): (v: number | null) => string {
    return this.metric === 'value_sum' ? formatMoney : formatCount;
  }

  private renderReadout(): void {
    const series = this.series;
    if (!series) return;
    const t = this.hoverMs ?? series.headMs;
    const format = this.format();
    const value = series.valueAt(t);
    const band = series.bandAt(t);
    const parts = [`${formatClock(t)}${t === series.headMs ? ' (now, still counting)' : ''}`, value === null ? 'no data' : format(value)];
    if (band) parts.push(`expected ${format(band.lower)}–${format(band.upper)}`);
    setText(this.readout, parts.join(' · '));
    this.readout.classList.toggle('is-anomaly', series.isAnomaly(t));
  }

  private renderAnomalies(series: MinuteSeries): void {
    const anomalies = series.anomalies();
    const format = this.format();
    const key = anomalies.map((w) => `${w}:${series.valueAt(w) ?? ''}`).join(',');
    this.anomalyCount.hidden = anomalies.length === 0;
    setText(this.anomalyCount, `${anomalies.length} anomal${anomalies.length === 1 ? 'y' : 'ies'}`);
    if (key === this.lastAnomalyKey) return;
    this.lastAnomalyKey = key;
    // Every flagged window, also those beyond the listed newest few (for tools and tests).
    this.anomalyList.dataset.windows = anomalies.map((w) => new Date(w).toISOString()).join(' ');
    const items = anomalies.slice(-MAX_LISTED_ANOMALIES).reverse().map((w) => {
      const band = series.bandAt(w);
      const value = series.valueAt(w);
      const text = `${formatClock(w)} · ${format(value)}${band ? ` (expected ${format(band.lower)}–${format(band.upper)})` : ''}`;
      const li = el('li', 'anomaly');
      li.dataset.window = new Date(w).toISOString();
      const b = button('anomaly-button', text, () => {
        this.chart.showSelection(w, w + MINUTE_MS);
        this.callbacks.onRange(w, w + MINUTE_MS);
      });
      b.prepend(el('span', 'anomaly-dot'));
      li.append(b);
      return li;
    });
    this.anomalyList.replaceChildren(...items);
  }
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
function compactAxis(v: number): string {
  return compact.format(v);
}
