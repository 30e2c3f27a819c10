/**
 * The dashboard: loads a snapshot of every series from the query API, then
 * applies live deltas from /v1/live; it never polls the database. Filters and
 * the metric live in the URL; changing them re-plans the live topics.
 */
import { Api, ApiError, toApiError, type Health } from './api.ts';
import { ChartPanel } from './chart-panel.ts';
import { FILTER_DIMENSIONS, hrefWithView, sameFilters, type ChartMetric, type DashboardConfig, type Filters } from './config.ts';
import { parseFrame } from './delta.ts';
import { requireEl } from './dom.ts';
import { DrilldownPanel } from './drilldown.ts';
import { FilterBar } from './filter-bar.ts';
import { formatCount, formatMoney, formatPercent, formatRate } from './format.ts';
import { assessFreshness } from './freshness.ts';
import { HealthStrip } from './health-strip.ts';
import { errorRate, eventsPerSecond, recentSum } from './kpi-math.ts';
import { KpiTiles } from './kpi-tiles.ts';
import { LiveConnection } from './live.ts';
import { Notices } from './notices.ts';
import { MinuteSeries } from './series.ts';
import { DAY_MS, MINUTE_MS, floorToMinute } from './time.ts';
import { ActiveUsers } from './uniques.ts';
import { ERROR_RATE_MINUTES, REVENUE_MINUTES, UNIQUES_MINUTES, planTopics, type Role, type TopicNeed } from './view-topics.ts';

/** A clock this far from the server's (HTTP Date header) would put data in the wrong minute. */
const CLOCK_SKEW_TOLERANCE_MS = 3000;
const SNAPSHOT_RETRY_BASE_MS = 2000;
const SNAPSHOT_RETRY_CAP_MS = 60_000;
/** The health endpoint reads the shard objects, not the database. */
const HEALTH_INTERVAL_MS = 10_000;
const HEALTH_ERROR_INTERVAL_MS = 30_000;
/** Charts redraw at most this often, however fast deltas arrive. */
const MIN_RENDER_INTERVAL_MS = 200;
const FILTER_OPTIONS_LIMIT = 20;

interface TopicEntry {
  need: TopicNeed;
  series: MinuteSeries;
  snapshot: 'loading' | 'ok' | ApiError;
  generation: number;
  retryAttempt: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

export class Dashboard {
  private readonly api: Api;
  private readonly live: LiveConnection;
  private readonly notices: Notices;
  private readonly healthStrip: HealthStrip;
  private readonly kpis: KpiTiles;
  private readonly filterBar: FilterBar;
  private readonly chart: ChartPanel;
  private readonly drilldown: DrilldownPanel;
  private readonly uniques: ActiveUsers;

  private filters: Filters;
  private metric: ChartMetric;
  private visibleMinutes: number;
  private topics = new Map<string, TopicEntry>();
  private roles: Record<Role, string> | null = null;
  /** Server clock minus ours; only corrected when the skew would matter. */
  private clockOffsetMs = 0;
  private headMs: number;
  private readonly startedAt = Date.now();
  /** Local arrival time of the newest delta on any topic. */
  private newestDataAt: number | null = null;
  private health: Health | null | 'unavailable' | 'error' = null;
  private renderQueued = false;
  private lastRenderAt = 0;
  private anomalyNoteShown = false;

  constructor(private readonly config: DashboardConfig) {
    this.api = new Api(config.key);
    this.filters = config.filters;
    this.metric = config.metric;
    this.headMs = floorToMinute(Date.now());
    this.notices = new Notices(requireEl('notices'));
    this.healthStrip = new HealthStrip(requireEl('health'), requireEl('stale-alarm'), () => this.live.retryNow());
    this.kpis = new KpiTiles(requireEl('kpis'));
    this.filterBar = new FilterBar(requireEl('filters'), this.filters, this.metric, {
      onFilters: (filters) => this.setView(filters, this.metric),
      onMetric: (metric) => this.setView(this.filters, metric),
    });
    this.visibleMinutes = config.visibleMinutes;
    this.chart = new ChartPanel(requireEl('chart-panel'), config.visibleMinutes, {
      onRange: (start, end) => this.openDrilldown(start, end),
      onWindow: (minutes) => {
        this.visibleMinutes = minutes;
        history.replaceState(null, '', hrefWithView(location.href, this.filters, this.metric, minutes));
      },
    });
    this.drilldown = new DrilldownPanel(requireEl('drilldown'), this.api, {
      onFilter: (dimension, value) => this.filterBar.apply(withFilter(this.filters, dimension, value)),
      onClose: () => this.chart.clearSelection(),
    });
    this.uniques = new ActiveUsers(this.api, UNIQUES_MINUTES * 60, () => this.scheduleRender());
    this.live = new LiveConnection({
      location,
      key: config.key,
      topics: () => [...this.topics.keys()],
      onMessage: (message) => this.onLiveMessage(message),
      onOpen: (isReconnect) => this.onLiveOpen(isReconnect),
      onStatus: () => this.scheduleRender(),
    });
  }

  async start(): Promise<void> {
    if (this.config.ignored.length > 0) this.notices.show('warn', `Ignored invalid URL parameters: ${this.config.ignored.join(', ')}`, 'ignored');
    if (!this.config.key) this.notices.show('warn', 'No read key in the URL: add ?key=<read key> (npm run dev prints the full link).', 'no-key');
    setInterval(() => this.tick(), 1000);
    this.planTopics();
    this.live.start();
    void this.pollHealth();
    void this.loadCatalog();
    void this.loadFilterOptions();
    this.renderNow();
  }

  private serverNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private syncClock(): void {
    const offset = this.api.dateHeaderOffsetMs;
    if (offset !== null) this.clockOffsetMs = Math.abs(offset) > CLOCK_SKEW_TOLERANCE_MS ? offset : 0;
  }

  // ---------- view and topics ----------

  private setView(filters: Filters, metric: ChartMetric): void {
    if (sameFilters(filters, this.filters) && metric === this.metric) return;
    this.filters = filters;
    this.metric = metric;
    history.replaceState(null, '', hrefWithView(location.href, filters, metric, this.visibleMinutes));
    this.planTopics();
    this.drilldown.refilter(metric, filters);
    this.renderNow();
  }

  /** Subscribes to what the view needs and loads its history; drops the rest. */
  private planTopics(): void {
    const plan = planTopics(this.filters, this.metric, this.config.revenueEventType, this.config.errorEventType);
    for (const [topic, entry] of this.topics) {
      const need = plan.needs.get(topic);
      if (need && need.minutes <= entry.need.minutes && (!need.anomaly || entry.need.anomaly)) continue;
      clearTimeout(entry.retryTimer);
      this.topics.delete(topic);
      if (!need) this.live.unsubscribe(topic);
    }
    for (const need of plan.needs.values()) {
      if (this.topics.has(need.topic)) continue;
      const entry: TopicEntry = { need, series: new MinuteSeries(need.minutes, this.headMs), snapshot: 'loading', generation: 0, retryAttempt: 0, retryTimer: undefined };
      this.topics.set(need.topic, entry);
      // The server answers a subscription with the current minute's value.
      this.live.subscribe(need.topic);
      void this.loadSnapshot(entry);
    }
    this.roles = plan.roles;
    this.chart.describe(this.metric, this.filters, plan.roles.chart);
    void this.uniques.load(this.filters, Date.now());
  }

  private entry(role: Role): TopicEntry | undefined {
    return this.roles ? this.topics.get(this.roles[role]) : undefined;
  }

  private async loadSnapshot(entry: TopicEntry): Promise<void> {
    clearTimeout(entry.retryTimer);
    const generation = ++entry.generation;
    entry.snapshot = 'loading';
    const start = entry.series.startMs;
    const end = entry.series.headMs + MINUTE_MS;
    const requestedAt = Date.now();
    try {
      const response = await this.api.metrics({
        metric: entry.need.measure === 'value_sum' ? 'value_sum' : 'events',
        eventType: entry.need.eventType,
        startMs: start,
        endMs: end,
        resolution: '1m',
        filters: this.filters.dims,
        anomaly: entry.need.anomaly,
      });
      if (generation !== entry.generation || this.topics.get(entry.need.topic) !== entry) return;
      this.syncClock();
      entry.series.applySnapshot(response.points, start, end, requestedAt);
      entry.snapshot = 'ok';
      entry.retryAttempt = 0;
      if (entry.need.anomaly && response.unsupported.includes('anomaly') && !this.anomalyNoteShown) {
        this.anomalyNoteShown = true;
        this.chart.setNote('Anomaly bands need the query API’s anomaly support, which this server does not have yet.');
      }
      this.notices.remove('snapshot');
    } catch (err) {
      if (generation !== entry.generation || this.topics.get(entry.need.topic) !== entry) return;
      const error = toApiError(err);
      entry.snapshot = error;
      if (error.needsKey) this.notices.show('error', `The query API refused the read key: ${error.message} Open the link printed by npm run dev (it has ?key=).`, 'auth');
      else this.notices.show('error', `History unavailable: ${error.message} (${error.code}). Live values keep coming; retrying.`, 'snapshot');
      if (error.retryable) {
        // Transient trouble heals itself; auth and bad-request errors need a person.
        entry.retryAttempt++;
        const delay = Math.min(SNAPSHOT_RETRY_CAP_MS, SNAPSHOT_RETRY_BASE_MS * 2 ** (entry.retryAttempt - 1)) * (0.5 + Math.random() / 2);
        entry.retryTimer = setTimeout(() => void this.loadSnapshot(entry), delay);
      }
    }
    this.scheduleRender();
  }

  private async loadCatalog(): Promise<void> {
    try {
      const catalog = await this.api.catalog();
      this.syncClock();
      if (catalog.demo) {
        this.notices.demoBanner(catalog.projectId);
        document.body.dataset.demo = 'true';
      }
      requireEl('project').textContent = catalog.projectId ?? '';
      this.filterBar.setOptions('eventType', catalog.eventTypes);
    } catch (err) {
      const e = toApiError(err);
      const hint = e.needsKey ? ' Add ?key=<read key> to the URL (npm run dev prints the link).' : '';
      this.notices.show('error', `Could not load the event catalog: ${e.message} (${e.code}).${hint}`, e.needsKey ? 'auth' : 'catalog');
    }
  }

  /** Filter choices: the top values of each dimension over 24 hours. */
  private async loadFilterOptions(): Promise<void> {
    const end = floorToMinute(this.serverNow()) + MINUTE_MS;
    await Promise.all(
      FILTER_DIMENSIONS.map(async ({ key }) => {
        try {
          const response = await this.api.metrics({ metric: 'events', eventType: null, startMs: end - DAY_MS, endMs: end, resolution: '1h', filters: {}, groupBy: key, limit: FILTER_OPTIONS_LIMIT });
          if (response.groups === null) return;
          const values = response.groups.filter((g) => g.key !== '__other__' && g.key !== '' && g.total > 0).sort((a, b) => b.total - a.total).map((g) => g.key);
          this.filterBar.setOptions(key, values);
        } catch {
          // The filter stays usable through the URL (?country=US); the chart reports API trouble.
        }
      }),
    );
  }

  private async pollHealth(): Promise<void> {
    let next = HEALTH_INTERVAL_MS;
    try {
      const health = await this.api.health();
      this.health = health ?? 'unavailable';
    } catch {
      this.health = 'error';
      next = HEALTH_ERROR_INTERVAL_MS;
    }
    this.scheduleRender();
    if (this.health !== 'unavailable') setTimeout(() => void this.pollHealth(), next);
  }

  // ---------- live ----------

  private onLiveOpen(isReconnect: boolean): void {
    for (const entry of this.topics.values()) entry.series.resetSeq();
    if (isReconnect) {
      // Whatever happened while we were away is only in the query API.
      for (const entry of this.topics.values()) void this.loadSnapshot(entry);
      void this.uniques.load(this.filters, Date.now());
    }
    this.scheduleRender();
  }

  private onLiveMessage(message: unknown): void {
    const now = Date.now();
    for (const item of parseFrame(message)) {
      if (item.kind === 'delta') {
        const entry = this.topics.get(item.delta.topic);
        if (!entry) continue; // a topic we just left
        this.newestDataAt = now;
        this.uniques.noteActivity();
        const w = item.delta.windowStartMs;
        // A window newer than our clock's minute means our clock is behind: move every series together.
        if (w > this.headMs && w <= this.headMs + 2 * MINUTE_MS) this.advance(w);
        entry.series.applyDelta(item.delta, now);
      } else if (item.kind === 'snapshot') {
        const entry = this.topics.get(item.topic);
        // Only the minutes the live snapshot covers: zero-filling the whole series would wipe the query API's history.
        const times = item.points.map((point) => point.time);
        const fromMs = item.fromMs ?? (times.length > 0 ? Math.min(...times) : null);
        const toMs = item.toMs ?? (times.length > 0 ? Math.max(...times) + MINUTE_MS : null);
        if (entry && fromMs !== null && toMs !== null) entry.series.applySnapshot(item.points, fromMs, toMs, now);
      } else if (item.kind === 'error') {
        this.notices.show('error', `Live updates: ${item.error.message} (${item.error.code})${item.topic ? ` for ${item.topic}` : ''}`, `live:${item.error.code}`);
      }
    }
    this.scheduleRender();
  }

  private advance(windowStartMs: number): void {
    const now = Date.now();
    const liveCovered = this.live.status.state === 'open';
    for (const entry of this.topics.values()) entry.series.advanceTo(windowStartMs, liveCovered, now);
    this.headMs = Math.max(this.headMs, floorToMinute(windowStartMs));
  }

  private tick(): void {
    const head = floorToMinute(this.serverNow());
    if (head > this.headMs) this.advance(head);
    this.uniques.maybeRefresh(this.filters, Date.now());
    this.renderNow();
  }

  private openDrilldown(startMs: number, endMs: number): void {
    this.drilldown.open({ startMs, endMs, metric: this.metric, filters: this.filters });
  }

  // ---------- rendering ----------

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    const wait = Math.max(0, MIN_RENDER_INTERVAL_MS - (Date.now() - this.lastRenderAt));
    setTimeout(() => requestAnimationFrame(() => this.renderNow()), wait);
  }

  private renderNow(): void {
    this.renderQueued = false;
    this.lastRenderAt = Date.now();
    const now = Date.now();
    const status = this.live.status;
    const freshness = assessFreshness({
      connection: status.state,
      newestDataAt: this.newestDataAt,
      openedAt: status.openedAt,
      startedAt: this.startedAt,
      now,
      staleAfterMs: this.config.staleAfterMs,
    });
    this.healthStrip.render({ live: status, freshness, staleAfterMs: this.config.staleAfterMs, health: this.health, now });
    this.renderKpis();
    const chart = this.entry('chart');
    if (chart) this.chart.render(chart.series, this.chartEmptyText(chart), chart.snapshot === 'loading');
  }

  private chartEmptyText(entry: TopicEntry): string | null {
    const { sum, unknown } = entry.series.total();
    if (entry.snapshot === 'loading' && unknown > 1) return 'Loading 24 hours…';
    if (entry.snapshot instanceof ApiError && unknown > 1) return `History unavailable: ${entry.snapshot.message}`;
    if (sum === 0 && unknown <= 1) return 'No events in the last 24 hours with these filters.';
    return null;
  }

  private renderKpis(): void {
    const serverNow = this.serverNow();
    const rate = this.entry('rate');
    const perSecond = rate ? eventsPerSecond(rate.series, serverNow) : null;
    const thisMinute = rate?.series.valueAt(rate.series.headMs) ?? null;
    this.kpis.set('events-per-second', {
      value: perSecond,
      text: formatRate(perSecond),
      note: thisMinute === null ? 'waiting for data' : `${formatCount(thisMinute)} events this minute`,
    });

    const u = this.uniques.state;
    this.kpis.set('active-users', u.kind === 'ok'
      ? { value: u.value, text: `~${formatCount(Math.round(u.value))}`, note: 'HyperLogLog, every shard merged, last 5 min', window: { fromMs: u.fromMs, toMs: u.toMs } }
      : u.kind === 'unsupported'
        ? { value: null, text: '—', note: 'needs unique_users in the query API', warning: true }
        : u.kind === 'error'
          ? { value: null, text: '—', note: `unavailable: ${u.error.code}`, warning: true }
          : { value: null, text: '…', note: 'loading' });

    const revenue = this.entry('revenue');
    const revenueSum = revenue ? recentSum(revenue.series, REVENUE_MINUTES) : null;
    this.kpis.set('revenue', {
      value: revenueSum?.value ?? null,
      text: formatMoney(revenueSum?.value ?? null),
      note: revenueSum === null ? 'waiting for data' : `${this.config.revenueEventType} value${revenueSum.complete ? '' : ' · some minutes missing'}`,
      warning: revenueSum !== null && !revenueSum.complete,
    });

    const errors = this.entry('errors');
    const all = this.entry('all');
    const rateOfErrors = errors && all ? errorRate(errors.series, all.series, ERROR_RATE_MINUTES) : null;
    const head = all?.series.headMs ?? null;
    this.kpis.set('error-rate', {
      value: rateOfErrors?.rate ?? null,
      window: head === null ? undefined : { fromMs: head - (ERROR_RATE_MINUTES - 1) * MINUTE_MS, toMs: head + MINUTE_MS },
      text: formatPercent(rateOfErrors?.rate ?? null),
      note: rateOfErrors === null ? 'no events yet' : `${formatCount(rateOfErrors.errors)} of ${formatCount(rateOfErrors.events)} events are “${this.config.errorEventType}”`,
      warning: rateOfErrors !== null && rateOfErrors.rate >= 0.05,
    });
  }
}

function withFilter(filters: Filters, dimension: string, value: string): Filters {
  if (dimension === 'eventType') return { ...filters, eventType: value };
  return { ...filters, dims: { ...filters.dims, [dimension]: value } };
}
