/**
 * Dashboard settings from the page URL, so every view is a shareable link:
 * `?key=` read key, `?staleAfter=` freshness alarm threshold in seconds,
 * `?eventType=` and one parameter per filter dimension, `?metric=`.
 */

export interface FilterDimension {
  key: string;
  label: string;
  /** The "no filter" choice. */
  all: string;
}

/** The filters the dashboard offers (seed 001: country, device; seed 003: campaign). */
export const FILTER_DIMENSIONS: readonly FilterDimension[] = [
  { key: 'country', label: 'Country', all: 'All countries' },
  { key: 'deviceType', label: 'Device', all: 'All devices' },
  { key: 'campaignId', label: 'Campaign', all: 'All campaigns' },
];

export type ChartMetric = 'events' | 'value_sum';

export interface Filters {
  /** null: every event type (`*` on the live topic). */
  eventType: string | null;
  /** Dimension -> value; only FILTER_DIMENSIONS keys. */
  dims: Readonly<Record<string, string>>;
}

export interface DashboardConfig {
  key: string | null;
  staleAfterMs: number;
  filters: Filters;
  metric: ChartMetric;
  /** Event type whose value sum is revenue. */
  revenueEventType: string;
  /** Event type counted as an error for the error rate. */
  errorEventType: string;
  /** Minutes of the 24-hour series the chart shows (`?window=1h|6h|24h`). */
  visibleMinutes: number;
  /** Names in the URL that were not valid identifiers, to tell the user. */
  ignored: string[];
}

export const DEFAULT_STALE_AFTER_MS = 10_000;
const MIN_STALE_AFTER_MS = 1000;
const MAX_STALE_AFTER_MS = 3_600_000;
/** Same rule as the ingest validator, so we never ask for a topic the server must refuse. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const MAX_VALUE_LENGTH = 256;

export function readConfig(search: string): DashboardConfig {
  const params = new URLSearchParams(search);
  const ignored: string[] = [];
  const identifier = (name: string, fallback: string | null): string | null => {
    const raw = params.get(name)?.trim();
    if (raw === undefined || raw === '' || raw === '*') return fallback;
    if (IDENTIFIER.test(raw)) return raw;
    ignored.push(`${name}=${raw}`);
    return fallback;
  };

  const dims: Record<string, string> = {};
  for (const { key } of FILTER_DIMENSIONS) {
    const value = params.get(key);
    if (value === null || value === '') continue;
    if (value.length > MAX_VALUE_LENGTH) ignored.push(`${key}=…`);
    else dims[key] = value;
  }

  return {
    key: params.get('key')?.trim() || null,
    staleAfterMs: parseStaleAfter(params.get('staleAfter')),
    filters: { eventType: identifier('eventType', null), dims },
    metric: params.get('metric') === 'value_sum' ? 'value_sum' : 'events',
    revenueEventType: identifier('revenueEvent', 'purchase') ?? 'purchase',
    errorEventType: identifier('errorEvent', 'error') ?? 'error',
    visibleMinutes: parseWindow(params.get('window')),
    ignored,
  };
}

const WINDOWS: Readonly<Record<string, number>> = { '1h': 60, '6h': 360, '24h': 1440 };

export function parseWindow(raw: string | null): number {
  return (raw !== null ? WINDOWS[raw] : undefined) ?? 1440;
}

export function windowParam(minutes: number): string | null {
  const entry = Object.entries(WINDOWS).find(([, m]) => m === minutes);
  return entry && entry[0] !== '24h' ? entry[0] : null;
}

/** Seconds ("10", "2.5", "10s"); anything else is the default. */
export function parseStaleAfter(raw: string | null): number {
  if (raw === null) return DEFAULT_STALE_AFTER_MS;
  const match = /^\s*(\d+(?:\.\d+)?)\s*s?\s*$/.exec(raw);
  if (!match?.[1]) return DEFAULT_STALE_AFTER_MS;
  const ms = Number(match[1]) * 1000;
  return Math.min(MAX_STALE_AFTER_MS, Math.max(MIN_STALE_AFTER_MS, ms));
}

/** The current URL with the view's state, keeping `key`, `staleAfter` and the rest. */
export function hrefWithView(href: string, filters: Filters, metric: ChartMetric, visibleMinutes: number): string {
  const url = new URL(href);
  setOrDelete(url.searchParams, 'window', windowParam(visibleMinutes));
  setOrDelete(url.searchParams, 'eventType', filters.eventType);
  for (const { key } of FILTER_DIMENSIONS) setOrDelete(url.searchParams, key, filters.dims[key] ?? null);
  setOrDelete(url.searchParams, 'metric', metric === 'events' ? null : metric);
  return url.pathname + url.search + url.hash;
}

function setOrDelete(params: URLSearchParams, name: string, value: string | null): void {
  if (value === null || value === '') params.delete(name);
  else params.set(name, value);
}

export function sameFilters(a: Filters, b: Filters): boolean {
  if (a.eventType !== b.eventType) return false;
  return FILTER_DIMENSIONS.every(({ key }) => (a.dims[key] ?? null) === (b.dims[key] ?? null));
}
