/** Parsing of GET /v1/metrics parameters and zero-filling of the series. Pure. */
import { DEFAULT_ANOMALY_OPTIONS, type AnomalyOptions } from './anomaly.ts';
import { parseTimestamp } from './events.ts';

/** events: count; value_sum: sum of values; rate: events per second; unique_users: merged HLL sketches. */
export type Measure = 'events' | 'value_sum' | 'rate' | 'unique_users';
function isMeasure(name: string): name is Measure {
  return name === 'events' || name === 'value_sum' || name === 'rate' || name === 'unique_users';
}

export interface MetricsQuery {
  /** As the client asked for it (seed 003 uses the event type as the metric name). */
  metric: string;
  measure: Measure;
  eventType: string | null;
  filters: Record<string, string>;
  startMs: number;
  endMs: number;
  stepMs: number;
  resolutionLabel: string;
  /** Drill-down: a breakdown by this dimension (top `limit` values plus `__other__`). */
  groupBy: string | null;
  limit: number;
  /** Null when anomaly flags were not asked for. */
  anomaly: AnomalyOptions | null;
}

export type MetricsQueryParse = { ok: true; query: MetricsQuery } | { ok: false; code: string; message: string };

export const RESOLUTIONS: Readonly<Record<string, number>> = {
  '10s': 10_000,
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};
const RESERVED = new Set(['metric', 'eventType', 'start', 'end', 'resolution', 'key', 'groupBy', 'limit', 'anomaly', 'baseline', 'window', 'days', 'sigma']);
const DIMENSION_NAME = /^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$/;
const MAX_FILTERS = 8;
const MAX_POINTS = 10_000;
/** 10-second buckets come from raw events, which are kept for 7 days. */
const MAX_10S_RANGE_MS = 6 * 3_600_000;
const DEFAULT_RANGE_MS = 3_600_000;
export const DEFAULT_GROUP_LIMIT = 10;
export const MAX_GROUP_LIMIT = 50;
export const OTHER_GROUP = '__other__';

export function parseMetricsQuery(params: URLSearchParams, nowMs: number): MetricsQueryParse {
  const metric = params.get('metric');
  if (metric === null || metric === '') return fail('missing_metric', 'metric is required (events, value_sum, rate, unique_users, or an event type).');
  if (!DIMENSION_NAME.test(metric)) return fail('invalid_metric', 'metric must be an identifier of at most 64 characters.');

  let measure: Measure = 'events';
  let eventType: string | null = params.get('eventType');
  if (isMeasure(metric)) measure = metric;
  else {
    // Seed 003: `metric=ad_clicks` means "count of that event type".
    if (eventType !== null && eventType !== metric) return fail('conflicting_event_type', 'metric names an event type that differs from eventType.');
    eventType = metric;
  }
  if (eventType !== null && !DIMENSION_NAME.test(eventType)) return fail('invalid_event_type', 'eventType must be an identifier of at most 64 characters.');

  const resolutionLabel = params.get('resolution') ?? '1m';
  const stepMs = RESOLUTIONS[resolutionLabel];
  if (stepMs === undefined) return fail('invalid_resolution', `resolution must be one of ${Object.keys(RESOLUTIONS).join(', ')}.`);

  const endRaw = params.get('end');
  const startRaw = params.get('start');
  const endMs = endRaw === null ? nowMs : parseTimeParam(endRaw);
  if (endMs === null) return fail('invalid_end', 'end must be ISO-8601 or epoch seconds/milliseconds.');
  const startMs = startRaw === null ? endMs - DEFAULT_RANGE_MS : parseTimeParam(startRaw);
  if (startMs === null) return fail('invalid_start', 'start must be ISO-8601 or epoch seconds/milliseconds.');
  if (startMs >= endMs) return fail('invalid_range', 'start must be before end.');
  if (Math.ceil(endMs / stepMs) - Math.floor(startMs / stepMs) > MAX_POINTS) return fail('range_too_large', `At most ${MAX_POINTS} points per query; use a coarser resolution.`);
  if (resolutionLabel === '10s' && endMs - startMs > MAX_10S_RANGE_MS) return fail('range_too_large', '10s resolution covers at most 6 hours; use 1m.');

  const groupBy = params.get('groupBy');
  if (groupBy !== null && !DIMENSION_NAME.test(groupBy)) return fail('invalid_group_by', 'groupBy must be a dimension name.');
  const limitRaw = params.get('limit');
  const limit = limitRaw === null ? DEFAULT_GROUP_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GROUP_LIMIT) return fail('invalid_limit', `limit must be an integer in 1..${MAX_GROUP_LIMIT}.`);

  const anomaly = parseAnomalyOptions(params);
  if (typeof anomaly === 'string') return fail('invalid_anomaly', anomaly);

  const filters: Record<string, string> = {};
  for (const [key, value] of params) {
    if (RESERVED.has(key)) continue;
    if (!DIMENSION_NAME.test(key) || key === '__proto__') return fail('invalid_filter', `"${key.slice(0, 64)}" is not a valid dimension name.`);
    if (value.length > 256) return fail('invalid_filter', `Filter value for "${key}" is longer than 256 characters.`);
    filters[key] = value;
  }
  if (Object.keys(filters).length > MAX_FILTERS) return fail('too_many_filters', `At most ${MAX_FILTERS} dimension filters.`);

  return { ok: true, query: { metric, measure, eventType, filters, startMs, endMs, stepMs, resolutionLabel, groupBy, limit, anomaly } };
}

function parseAnomalyOptions(params: URLSearchParams): AnomalyOptions | null | string {
  const flag = params.get('anomaly');
  if (flag === null || flag === '0' || flag === 'false') return null;
  if (flag !== '1' && flag !== 'true') return 'anomaly must be 1 or 0.';
  const baseline = params.get('baseline') ?? DEFAULT_ANOMALY_OPTIONS.baseline;
  if (baseline !== 'trailing' && baseline !== 'daily') return 'baseline must be trailing or daily.';
  const window = integerParam(params.get('window'), DEFAULT_ANOMALY_OPTIONS.window, 4, 1440);
  const days = integerParam(params.get('days'), DEFAULT_ANOMALY_OPTIONS.days, 1, 28);
  const sigma = Number(params.get('sigma') ?? DEFAULT_ANOMALY_OPTIONS.sigma);
  if (window === null) return 'window must be an integer in 4..1440.';
  if (days === null) return 'days must be an integer in 1..28.';
  if (!Number.isFinite(sigma) || sigma < 0.5 || sigma > 10) return 'sigma must be a number in 0.5..10.';
  return { ...DEFAULT_ANOMALY_OPTIONS, baseline, window, days, sigma };
}

function integerParam(raw: string | null, fallback: number, min: number, max: number): number | null {
  if (raw === null) return fallback;
  const value = Number(raw);
  return Number.isInteger(value) && value >= min && value <= max ? value : null;
}

function parseTimeParam(raw: string): number | null {
  if (/^\d+(\.\d+)?$/.test(raw)) return parseTimestamp(Number(raw));
  return parseTimestamp(raw);
}

function fail(code: string, message: string): { ok: false; code: string; message: string } {
  return { ok: false, code, message };
}

/** Bucket start times from the bucket containing start up to end. */
export function bucketTimes(startMs: number, endMs: number, stepMs: number): number[] {
  const times: number[] = [];
  for (let time = startMs - (startMs % stepMs); time < endMs; time += stepMs) times.push(time);
  return times;
}

/** One point per step from the bucket containing start up to end, zeros where nothing was counted. */
export function fillSeries(query: Pick<MetricsQuery, 'startMs' | 'endMs' | 'stepMs'>, buckets: ReadonlyArray<{ time: number; value: number }>): Array<{ time: string; value: number }> {
  const byTime = new Map(buckets.map((bucket) => [bucket.time, bucket.value]));
  return bucketTimes(query.startMs, query.endMs, query.stepMs).map((time) => ({ time: new Date(time).toISOString(), value: byTime.get(time) ?? 0 }));
}
