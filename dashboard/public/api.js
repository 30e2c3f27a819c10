// @ts-check
/** The query API: same origin, optional bearer read key, errors as `{ error: { code, message } }`. */

const REQUEST_TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} status HTTP status, 0 when the request never got an answer
   */
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/**
 * @typedef {{ eventTypes: string[], dimensions: string[], demo: boolean }} Catalog
 * @typedef {{ time: number, value: number }} DataPoint
 */

export class Api {
  /** @param {string | null} key */
  constructor(key) {
    this.key = key;
    /** Server clock minus local clock, from the HTTP Date header (1 s resolution). */
    this.dateHeaderOffsetMs = /** @type {number | null} */ (null);
  }

  /**
   * @param {string} path
   * @param {Record<string, string>} [params]
   * @returns {Promise<unknown>}
   */
  async get(path, params = {}) {
    const url = new URL(path, location.href);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      throw new ApiError(timedOut ? 'timeout' : 'network_error', timedOut ? 'The request timed out.' : 'The API could not be reached.', 0);
    }
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) this.dateHeaderOffsetMs = date - Date.now();

    let body = /** @type {unknown} */ (null);
    const text = await response.text();
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
    return body;
  }

  /** @returns {Promise<Catalog>} */
  async catalog() {
    const body = await this.get('/v1/catalog');
    const o = asObject(body);
    if (!o || !Array.isArray(o.eventTypes)) throw new ApiError('invalid_response', 'The catalog has no eventTypes list.', 200);
    return { eventTypes: stringList(o.eventTypes), dimensions: stringList(o.dimensions), demo: o.demo === true };
  }

  /**
   * One zero-filled series of 1-minute points.
   * @param {'events' | 'value_sum'} metric
   * @param {string} eventType
   * @param {number} startMs
   * @param {number} endMs exclusive
   * @returns {Promise<DataPoint[]>}
   */
  async metrics(metric, eventType, startMs, endMs) {
    const body = await this.get('/v1/metrics', {
      metric,
      eventType,
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      resolution: '1m',
    });
    const points = asObject(body)?.dataPoints;
    if (!Array.isArray(points)) throw new ApiError('invalid_response', 'The answer has no dataPoints array.', 200);
    /** @type {DataPoint[]} */
    const out = [];
    for (const p of points) {
      const o = asObject(p);
      const time = typeof o?.time === 'string' ? Date.parse(o.time) : NaN;
      const value = o?.value;
      if (Number.isFinite(time) && typeof value === 'number' && Number.isFinite(value)) out.push({ time, value });
    }
    return out;
  }
}

/**
 * @param {unknown} body
 * @returns {{ code: string, message: string } | null}
 */
export function readError(body) {
  const error = asObject(asObject(body)?.error);
  if (!error) return null;
  const code = typeof error.code === 'string' || typeof error.code === 'number' ? String(error.code) : 'error';
  const message = typeof error.message === 'string' ? error.message : 'Unknown error.';
  return { code, message };
}

/**
 * @param {unknown} value
 * @returns {Record<string, unknown> | null}
 */
export function asObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? /** @type {Record<string, unknown>} */ (value) : null;
}

/** @param {unknown} value */
function stringList(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === 'string' && v.length > 0) : [];
}
