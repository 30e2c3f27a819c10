/**
 * The drill-down: a brushed or clicked range broken down by another
 * dimension (`groupBy`, top N plus "__other__"), as ranked bars. A row can
 * become a filter in one click.
 */
import { toApiError, type Api, type MetricsGroup } from './api.ts';
import { FILTER_DIMENSIONS, type ChartMetric, type Filters } from './config.ts';
import { button, el } from './dom.ts';
import { formatCount, formatMoney, formatPercent, formatRange, humanize } from './format.ts';
import { HOUR_MS } from './time.ts';

export interface DrilldownCallbacks {
  onFilter: (dimension: string, value: string) => void;
  onClose: () => void;
}

interface Context {
  startMs: number;
  endMs: number;
  metric: ChartMetric;
  filters: Filters;
}

const TOP_N = 8;
const OTHER = '__other__';

export class DrilldownPanel {
  private context: Context | null = null;
  private dimension: string | null = null;
  private generation = 0;
  private readonly title: HTMLElement;
  private readonly tabs: HTMLElement;
  private readonly body: HTMLElement;

  constructor(private readonly root: HTMLElement, private readonly api: Api, private readonly callbacks: DrilldownCallbacks) {
    root.hidden = true;
    root.dataset.testid = 'drilldown';
    const head = el('header', 'panel-head');
    this.title = el('h2', 'panel-title');
    head.append(this.title, button('drilldown-close', 'Close', () => this.close()));
    this.tabs = el('div', 'segmented drilldown-tabs');
    this.tabs.setAttribute('role', 'group');
    this.tabs.setAttribute('aria-label', 'Break down by');
    this.body = el('div', 'drilldown-body');
    this.body.setAttribute('aria-live', 'polite');
    root.append(head, this.tabs, this.body);
  }

  get isOpen(): boolean {
    return this.context !== null;
  }

  open(context: Context): void {
    const first = this.context === null;
    this.context = context;
    const choices = this.choices(context.filters);
    if (this.dimension === null || !choices.some((c) => c.key === this.dimension)) this.dimension = choices[0]?.key ?? null;
    this.root.hidden = false;
    this.renderTabs(choices);
    this.title.textContent = `Breakdown · ${formatRange(context.startMs, context.endMs)} · ${context.metric === 'value_sum' ? 'revenue' : 'events'}`;
    void this.load();
    if (first && window.matchMedia('(max-width: 760px)').matches) this.root.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  /** The view's filters changed: same range, new numbers. */
  refilter(metric: ChartMetric, filters: Filters): void {
    if (this.context) this.open({ ...this.context, metric, filters });
  }

  close(): void {
    this.context = null;
    this.generation++;
    this.root.hidden = true;
    this.callbacks.onClose();
  }

  /** Dimensions not already pinned by a filter; event type when not filtered on one. */
  private choices(filters: Filters): Array<{ key: string; label: string }> {
    const out = FILTER_DIMENSIONS.filter((d) => filters.dims[d.key] === undefined).map((d) => ({ key: d.key, label: d.label }));
    if (filters.eventType === null) out.push({ key: 'eventType', label: 'Event type' });
    return out;
  }

  private renderTabs(choices: ReadonlyArray<{ key: string; label: string }>): void {
    this.tabs.replaceChildren(
      ...choices.map(({ key, label }) => {
        const b = button('segmented-item', label, () => {
          this.dimension = key;
          this.renderTabs(choices);
          void this.load();
        });
        b.dataset.dimension = key;
        b.classList.toggle('is-active', key === this.dimension);
        b.setAttribute('aria-pressed', String(key === this.dimension));
        return b;
      }),
    );
  }

  private async load(): Promise<void> {
    const context = this.context;
    const dimension = this.dimension;
    if (!context || dimension === null) {
      this.body.replaceChildren(el('p', 'drilldown-empty', 'Every dimension is already filtered.'));
      return;
    }
    const generation = ++this.generation;
    this.root.dataset.state = 'loading';
    this.body.replaceChildren(el('p', 'drilldown-empty', 'Loading…'));
    try {
      const response = await this.api.metrics({
        metric: context.metric,
        eventType: context.filters.eventType,
        startMs: context.startMs,
        endMs: context.endMs,
        resolution: context.endMs - context.startMs <= 3 * HOUR_MS ? '1m' : '15m',
        filters: context.filters.dims,
        groupBy: dimension,
        limit: TOP_N,
      });
      if (generation !== this.generation) return;
      if (response.groups === null) {
        this.root.dataset.state = 'unsupported';
        this.body.replaceChildren(el('p', 'drilldown-empty', 'Breakdowns need the query API’s groupBy support, which this server does not have yet.'));
        return;
      }
      this.root.dataset.state = 'ready';
      this.renderRows(response.groups, dimension, context.metric);
    } catch (err) {
      if (generation !== this.generation) return;
      const e = toApiError(err);
      this.root.dataset.state = 'error';
      const retry = button('retry', 'Retry', () => void this.load());
      const p = el('p', 'drilldown-error', `Could not load the breakdown: ${e.message} (${e.code}) `);
      p.append(retry);
      this.body.replaceChildren(p);
    }
  }

  private renderRows(groups: readonly MetricsGroup[], dimension: string, metric: ChartMetric): void {
    const sorted = [...groups].sort((a, b) => (a.key === OTHER ? 1 : b.key === OTHER ? -1 : b.total - a.total));
    const sum = sorted.reduce((s, g) => s + g.total, 0);
    const max = Math.max(0, ...sorted.map((g) => g.total));
    if (sorted.length === 0 || sum === 0) {
      this.body.replaceChildren(el('p', 'drilldown-empty', 'Nothing in this range.'));
      return;
    }
    const format = metric === 'value_sum' ? formatMoney : formatCount;
    const list = el('ol', 'breakdown');
    for (const group of sorted) {
      const li = el('li', 'breakdown-row');
      li.dataset.key = group.key;
      const name = group.key === OTHER ? 'Other' : dimension === 'eventType' ? humanize(group.key) : group.key;
      const bar = el('span', 'breakdown-bar');
      bar.style.setProperty('--share', String(max > 0 ? group.total / max : 0));
      const label = el('span', 'breakdown-name', name);
      const value = el('span', 'breakdown-value', format(group.total));
      const share = el('span', 'breakdown-share', formatPercent(sum > 0 ? group.total / sum : null));
      li.append(bar, label, value, share);
      if (group.key !== OTHER && group.key !== '') {
        const filter = button('breakdown-filter', 'Filter', () => this.callbacks.onFilter(dimension, group.key));
        filter.setAttribute('aria-label', `Filter to ${name}`);
        li.append(filter);
      } else {
        li.append(el('span', 'breakdown-filter-placeholder'));
      }
      list.append(li);
    }
    this.body.replaceChildren(list);
  }
}
