/** Parsing of GET /v1/metrics parameters and zero-filling of the series. Pure. */
import { parseTimestamp } from './events.ts';

export type Measure = 'events' | 'value_sum';

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
}

export type MetricsQueryParse = { ok: true; query: MetricsQuery } | { ok: false; code: string; message: string };

const RESOLUTIONS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };
const RESERVED = new Set(['metric', 'eventType', 'start', 'end', 'resolution', 'key']);
const DIMENSION_NAME = /^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$/;
const MAX_FILTERS = 8;
const MAX_POINTS = 10_000;
const DEFAULT_RANGE_MS = 3_600_000;

export function parseMetricsQuery(params: URLSearchParams, nowMs: number): MetricsQueryParse {
  const metric = params.get('metric');
  if (metric === null || metric === '') return fail('missing_metric', 'metric is required (events, value_sum, or an event type).');
  if (!DIMENSION_NAME.test(metric)) return fail('invalid_metric', 'metric must be an identifier of at most 64 characters.');

  let measure: Measure = 'events';
  let eventType: string | null = params.get('eventType');
  if (metric === 'value_sum') measure = 'value_sum';
  else if (metric !== 'events') {
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

  const filters: Record<string, string> = {};
  for (const [key, value] of params) {
    if (RESERVED.has(key)) continue;
    if (!DIMENSION_NAME.test(key) || key === '__proto__') return fail('invalid_filter', `"${key.slice(0, 64)}" is not a valid dimension name.`);
    if (value.length > 256) return fail('invalid_filter', `Filter value for "${key}" is longer than 256 characters.`);
    filters[key] = value;
  }
  if (Object.keys(filters).length > MAX_FILTERS) return fail('too_many_filters', `At most ${MAX_FILTERS} dimension filters.`);

  return { ok: true, query: { metric, measure, eventType, filters, startMs, endMs, stepMs, resolutionLabel } };
}

function parseTimeParam(raw: string): number | null {
  if (/^\d+(\.\d+)?$/.test(raw)) return parseTimestamp(Number(raw));
  return parseTimestamp(raw);
}

function fail(code: string, message: string): { ok: false; code: string; message: string } {
  return { ok: false, code, message };
}

/** One point per step from the bucket containing start up to end, zeros where nothing was counted. */
export function fillSeries(query: MetricsQuery, buckets: ReadonlyArray<{ time: number; value: number }>): Array<{ time: string; value: number }> {
  const byTime = new Map(buckets.map((bucket) => [bucket.time, bucket.value]));
  const points: Array<{ time: string; value: number }> = [];
  const first = query.startMs - (query.startMs % query.stepMs);
  for (let time = first; time < query.endMs; time += query.stepMs) {
    points.push({ time: new Date(time).toISOString(), value: byTime.get(time) ?? 0 });
  }
  return points;
}
