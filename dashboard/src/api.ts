/**
 * The query API: same origin, bearer read key, errors as `{ error: { code, message } }`.
 * Every answer is validated here; the rest of the dashboard sees typed values.
 *
 * Graceful degradation: an API without `anomaly`/`groupBy` support treats
 * unknown parameters as dimension filters and echoes them in `dimensions`.
 * When that happens the parameter is dropped, the request repeated, and the
 * caller told which features are unsupported.
 */
import { asObject, finiteNumber, isoMs, readError, stringList } from './json.ts';
import { parsePoints } from './delta.ts';
import type { SnapshotPoint } from './series.ts';

const REQUEST_TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  readonly code: string;
  /** HTTP status, 0 when the request never got an answer. */
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500 || this.code === 'invalid_response';
  }

  get needsKey(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('client_error', err instanceof Error ? err.message : String(err), 0);
}

export interface Catalog {
  projectId: string | null;
  demo: boolean;
  eventTypes: string[];
  dimensions: string[];
}

export type MetricName = 'events' | 'value_sum' | 'unique_users' | 'rate';
export type Resolution = '10s' | '1m' | '5m' | '15m' | '1h' | '1d';

export interface MetricsRequest {
  metric: MetricName;
  eventType: string | null;
  startMs: number;
  endMs: number;
  resolution: Resolution;
  filters: Readonly<Record<string, string>>;
  groupBy?: string;
  limit?: number;
  anomaly?: boolean;
}

export interface MetricsGroup {
  key: string;
  total: number;
  points: SnapshotPoint[];
}

export interface MetricsResponse {
  points: SnapshotPoint[];
  /** Over the whole range; for unique_users the merged-sketch estimate. null when absent. */
  total: number | null;
  groups: MetricsGroup[] | null;
  /** Control parameters this API version did not understand (and that were dropped). */
  unsupported: string[];
}

export interface HealthShard {
  shard: number;
  pendingGroups: number;
  sealedBatches: number;
  flushLagMs: number | null;
}

export interface Health {
  status: string;
  freshnessMs: number | null;
  flushLagMs: number | null;
  shards: HealthShard[];
  serverNowMs: number | null;
}

export interface ActiveUsers {
  /** Distinct users in [fromMs, toMs), from the shards' merged sketches. */
  value: number;
  fromMs: number;
  toMs: number;
}

/** Parameters that steer the query rather than filter it. */
const CONTROL_PARAMS = ['anomaly', 'groupBy', 'limit'] as const;
type ControlParam = (typeof CONTROL_PARAMS)[number];

export class Api {
  private readonly key: string | null;
  /** Server clock minus local clock, from the HTTP Date header (1 s resolution). */
  dateHeaderOffsetMs: number | null = null;
  /** Learned once per page: features this API version lacks. */
  private readonly unsupported = new Set<ControlParam>();
  private healthMissing = false;

  constructor(key: string | null) {
    this.key = key;
  }

  private async get(path: string, params: ReadonlyArray<readonly [string, string]> = []): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, location.href);
    for (const [k, v] of params) url.searchParams.append(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      throw new ApiError(timedOut ? 'timeout' : 'network_error', timedOut ? 'The request timed out.' : 'The API could not be reached.', 0);
    }
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) this.dateHeaderOffsetMs = date - Date.now();
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const error = readError(body);
      throw new ApiError(error?.code ?? `http_${response.status}`, error?.message ?? `${response.status} ${response.statusText}`.trim(), response.status);
    }
    if (body === null) throw new ApiError('invalid_response', 'The API answered with something that is not JSON.', response.status);
    return { status: response.status, body };
  }

  async catalog(): Promise<Catalog> {
    const { body } = await this.get('/v1/catalog');
    const o = asObject(body);
    if (!o || !Array.isArray(o.eventTypes)) throw new ApiError('invalid_response', 'The catalog has no eventTypes list.', 200);
    return {
      projectId: typeof o.projectId === 'string' ? o.projectId : null,
      demo: o.demo === true,
      eventTypes: stringList(o.eventTypes),
      dimensions: stringList(o.dimensions),
    };
  }

  async metrics(request: MetricsRequest): Promise<MetricsResponse> {
    const sent = CONTROL_PARAMS.filter((p) => request[p] !== undefined && request[p] !== false && !this.unsupported.has(p));
    const dropped = CONTROL_PARAMS.filter((p) => request[p] !== undefined && request[p] !== false && this.unsupported.has(p));
    const first = await this.get('/v1/metrics', metricsParams(request, sent));
    const echoed = echoedControls(first.body, sent);
    if (echoed.length === 0) return parseMetrics(first.body, dropped);
    // This API took our control parameters for dimension filters: ask again without them.
    for (const p of echoed) this.unsupported.add(p);
    const kept = sent.filter((p) => !echoed.includes(p));
    const second = await this.get('/v1/metrics', metricsParams(request, kept));
    return parseMetrics(second.body, [...dropped, ...echoed]);
  }

  /**
   * `GET /v1/active-users`: users of the last `lastSeconds` from every
   * shard's sliding-window sketch (newest minutes included); null when this
   * API version has no such endpoint.
   */
  async activeUsers(lastSeconds: number, eventType: string | null, filters: Readonly<Record<string, string>>): Promise<ActiveUsers | null> {
    const params: Array<[string, string]> = [['lastSeconds', String(lastSeconds)]];
    if (eventType !== null) params.push(['eventType', eventType]);
    for (const key of Object.keys(filters).sort()) {
      const value = filters[key];
      if (value !== undefined) params.push([key, value]);
    }
    let body: unknown;
    try {
      ({ body } = await this.get('/v1/active-users', params));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
    const o = asObject(body);
    const value = finiteNumber(o?.activeUsers);
    const fromMs = isoMs(o?.from);
    const toMs = isoMs(o?.to);
    if (value === null || fromMs === null || toMs === null) throw new ApiError('invalid_response', 'The active-users answer has no activeUsers, from and to.', 200);
    return { value, fromMs, toMs };
  }

  /** `GET /v1/health`, or null when this API version has none (asked once). */
  async health(): Promise<Health | null> {
    if (this.healthMissing) return null;
    let body: unknown;
    try {
      ({ body } = await this.get('/v1/health'));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        this.healthMissing = true;
        return null;
      }
      throw err;
    }
    const o = asObject(body);
    if (!o) throw new ApiError('invalid_response', 'The health answer is not an object.', 200);
    const shards: HealthShard[] = [];
    if (Array.isArray(o.shards)) {
      for (const item of o.shards) {
        const s = asObject(item);
        const shard = finiteNumber(s?.shard);
        if (!s || shard === null) continue;
        shards.push({
          shard,
          pendingGroups: finiteNumber(s.pendingGroups) ?? 0,
          sealedBatches: finiteNumber(s.sealedBatches) ?? 0,
          flushLagMs: finiteNumber(s.flushLagMs),
        });
      }
    }
    return {
      status: typeof o.status === 'string' ? o.status : 'unknown',
      freshnessMs: finiteNumber(o.freshnessMs),
      flushLagMs: finiteNumber(o.flushLagMs),
      shards,
      serverNowMs: isoMs(o.now),
    };
  }
}

function metricsParams(request: MetricsRequest, controls: readonly ControlParam[]): Array<[string, string]> {
  const params: Array<[string, string]> = [
    ['metric', request.metric],
    ['start', new Date(request.startMs).toISOString()],
    ['end', new Date(request.endMs).toISOString()],
    ['resolution', request.resolution],
  ];
  if (request.eventType !== null) params.push(['eventType', request.eventType]);
  for (const key of Object.keys(request.filters).sort()) {
    const value = request.filters[key];
    if (value !== undefined) params.push([key, value]);
  }
  if (controls.includes('groupBy') && request.groupBy !== undefined) params.push(['groupBy', request.groupBy]);
  if (controls.includes('limit') && request.limit !== undefined) params.push(['limit', String(request.limit)]);
  if (controls.includes('anomaly') && request.anomaly) params.push(['anomaly', '1']);
  return params;
}

/** Control parameters that came back as filters in `dimensions`: the API does not know them. */
function echoedControls(body: unknown, sent: readonly ControlParam[]): ControlParam[] {
  const dimensions = asObject(asObject(body)?.dimensions);
  if (!dimensions) return [];
  return sent.filter((p) => Object.hasOwn(dimensions, p));
}

function parseMetrics(body: unknown, unsupported: readonly string[]): MetricsResponse {
  const o = asObject(body);
  if (!o || !Array.isArray(o.dataPoints)) throw new ApiError('invalid_response', 'The answer has no dataPoints array.', 200);
  let groups: MetricsGroup[] | null = null;
  if (Array.isArray(o.groups)) {
    groups = [];
    for (const item of o.groups) {
      const g = asObject(item);
      const key = g?.key;
      if (!g || (typeof key !== 'string' && typeof key !== 'number')) continue;
      const points = Array.isArray(g.dataPoints) ? parsePoints(g.dataPoints) : [];
      const total = finiteNumber(g.total) ?? points.reduce((sum, p) => sum + p.value, 0);
      groups.push({ key: String(key), total, points });
    }
  }
  return { points: parsePoints(o.dataPoints), total: finiteNumber(o.total), groups, unsupported: [...unsupported] };
}
