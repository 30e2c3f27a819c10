/**
 * Filters (event type, country, device, campaign) and the chart's metric.
 * Dimension values come from a 24-hour breakdown (`groupBy`), so the lists
 * show what actually occurs, most frequent first.
 */
import { FILTER_DIMENSIONS, type ChartMetric, type Filters } from './config.ts';
import { button, el } from './dom.ts';
import { humanize } from './format.ts';

export interface FilterBarCallbacks {
  onFilters: (filters: Filters) => void;
  onMetric: (metric: ChartMetric) => void;
}

const ALL = '';

export class FilterBar {
  private readonly eventType: HTMLSelectElement;
  private readonly dims = new Map<string, HTMLSelectElement>();
  private readonly metricButtons = new Map<ChartMetric, HTMLButtonElement>();
  private readonly clear: HTMLButtonElement;
  private filters: Filters;

  constructor(root: HTMLElement, filters: Filters, metric: ChartMetric, private readonly callbacks: FilterBarCallbacks) {
    this.filters = filters;
    this.eventType = this.select(root, 'eventType', 'Event type', 'All event types');
    for (const { key, label, all } of FILTER_DIMENSIONS) this.dims.set(key, this.select(root, key, label, all));

    const metricGroup = el('div', 'segmented');
    metricGroup.setAttribute('role', 'group');
    metricGroup.setAttribute('aria-label', 'Chart metric');
    for (const [value, text] of [['events', 'Events'], ['value_sum', 'Revenue']] as const) {
      const b = button('segmented-item', text, () => this.setMetric(value, true));
      b.dataset.testid = `metric-${value}`;
      this.metricButtons.set(value, b);
      metricGroup.append(b);
    }
    this.clear = button('filter-clear', 'Clear filters', () => this.apply({ eventType: null, dims: {} }));
    root.append(metricGroup, this.clear);

    this.setMetric(metric, false);
    this.setOptions('eventType', filters.eventType === null ? [] : [filters.eventType]);
    for (const { key } of FILTER_DIMENSIONS) this.setOptions(key, []);
    this.sync();
  }

  private select(root: HTMLElement, name: string, label: string, allText: string): HTMLSelectElement {
    const wrap = el('label', 'filter');
    const select = el('select', 'filter-select');
    select.name = name;
    select.dataset.testid = `filter-${name}`;
    select.dataset.allText = allText;
    select.addEventListener('change', () => this.onSelect());
    wrap.append(el('span', 'filter-label', label), select);
    root.append(wrap);
    return select;
  }

  /** Replaces the choices of one filter (`eventType` or a dimension), keeping the current value. */
  setOptions(name: string, values: readonly string[]): void {
    const select = name === 'eventType' ? this.eventType : this.dims.get(name);
    if (!select) return;
    const current = name === 'eventType' ? this.filters.eventType : (this.filters.dims[name] ?? null);
    const all = [...new Set([...values, ...(current === null ? [] : [current])])];
    const options = [new Option(select.dataset.allText ?? 'All', ALL)];
    for (const value of all) options.push(new Option(name === 'eventType' ? humanize(value) : value, value));
    select.replaceChildren(...options);
    select.value = current ?? ALL;
    select.disabled = all.length === 0;
    select.title = all.length === 0 ? 'No values seen yet' : '';
  }

  /** Applies filters from elsewhere (a drill-down row, "Clear filters"). */
  apply(filters: Filters): void {
    this.filters = filters;
    for (const [name, select] of [['eventType', this.eventType] as const, ...this.dims]) {
      const value = name === 'eventType' ? filters.eventType : (filters.dims[name] ?? null);
      if (value !== null && ![...select.options].some((o) => o.value === value)) select.add(new Option(name === 'eventType' ? humanize(value) : value, value));
      select.value = value ?? ALL;
      if (value !== null) select.disabled = false;
    }
    this.sync();
    this.callbacks.onFilters(filters);
  }

  private onSelect(): void {
    const dims: Record<string, string> = {};
    for (const [key, select] of this.dims) if (select.value !== ALL) dims[key] = select.value;
    this.filters = { eventType: this.eventType.value === ALL ? null : this.eventType.value, dims };
    this.sync();
    this.callbacks.onFilters(this.filters);
  }

  private setMetric(metric: ChartMetric, notify: boolean): void {
    for (const [value, b] of this.metricButtons) {
      b.classList.toggle('is-active', value === metric);
      b.setAttribute('aria-pressed', String(value === metric));
    }
    if (notify) this.callbacks.onMetric(metric);
  }

  private sync(): void {
    const active = this.filters.eventType !== null || Object.keys(this.filters.dims).length > 0;
    this.clear.hidden = !active;
    for (const select of [this.eventType, ...this.dims.values()]) select.classList.toggle('is-set', select.value !== ALL);
  }
}
