import { EdgepulseError } from './errors.ts';
import { MAX_EVENTS_PER_REQUEST } from './limits.ts';
import type { FetchLike } from './types.ts';

export interface ClientOptions {
  /** Base URL of the edgepulse Worker, e.g. `https://ingest.example.com`. */
  endpoint: string;
  writeKey: string;
  /** A partial batch is sent this long after its first event. */
  flushIntervalMs?: number;
  /** A batch is sent as soon as it has this many events (at most 1,000). */
  maxBatchSize?: number;
  /** Events waiting beyond this are dropped oldest first and reported (`queue_overflow`). */
  maxQueueSize?: number;
  /** Retries of one batch after 5xx, 429 or network errors; 4xx are never retried. */
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxDelayMs?: number;
  requestTimeoutMs?: number;
  maxConcurrentRequests?: number;
  /** Defaults to the global `fetch`; in Workers tests, a service binding's fetch. */
  fetch?: FetchLike;
  /** In browsers, hand the queue to `navigator.sendBeacon` when the page is hidden. */
  beaconOnPageHide?: boolean;
  /** Events that were not counted, and why. Defaults to `console.warn`. */
  onError?: (error: EdgepulseError) => void;
}

export type ResolvedOptions = Required<Omit<ClientOptions, 'endpoint'>> & { eventsUrl: string; beaconUrl: string };

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const base = checkEndpoint(options.endpoint);
  if (typeof options.writeKey !== 'string' || options.writeKey === '') fail('writeKey must be a non-empty string');
  const retryBaseMs = number('retryBaseMs', options.retryBaseMs, 200, 1);
  return {
    eventsUrl: `${base}/v1/events`,
    // sendBeacon cannot set headers: the key rides in the query string.
    beaconUrl: `${base}/v1/events?key=${encodeURIComponent(options.writeKey)}`,
    writeKey: options.writeKey,
    flushIntervalMs: number('flushIntervalMs', options.flushIntervalMs, 50, 0),
    maxBatchSize: integer('maxBatchSize', options.maxBatchSize, 100, 1, MAX_EVENTS_PER_REQUEST),
    maxQueueSize: integer('maxQueueSize', options.maxQueueSize, 10_000, 1),
    maxRetries: integer('maxRetries', options.maxRetries, 8, 0),
    retryBaseMs,
    retryMaxDelayMs: number('retryMaxDelayMs', options.retryMaxDelayMs, 30_000, retryBaseMs),
    requestTimeoutMs: number('requestTimeoutMs', options.requestTimeoutMs, 10_000, 1),
    maxConcurrentRequests: integer('maxConcurrentRequests', options.maxConcurrentRequests, 4, 1),
    fetch: callback('fetch', options.fetch) ?? defaultFetch(),
    beaconOnPageHide: options.beaconOnPageHide ?? true,
    onError: callback('onError', options.onError) ?? ((error) => console.warn('[edgepulse]', error)),
  };
}

function checkEndpoint(endpoint: string): string {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    fail('endpoint must be an http(s) URL without query or fragment');
  }
  return endpoint.replace(/\/+$/, '');
}

function defaultFetch(): FetchLike {
  if (typeof fetch !== 'function') fail('no global fetch here: pass options.fetch');
  // Looked up per call and called unbound: browsers throw "Illegal invocation" for fetch called on another object.
  return (url, init) => fetch(url, init);
}

function callback<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') fail(`${name} must be a function`);
  return value;
}

function number(name: string, value: number | undefined, fallback: number, min: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) fail(`${name} must be a number in ${min}..${max}`);
  return value;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max = Infinity): number {
  const result = number(name, value, fallback, min, max);
  if (!Number.isInteger(result)) fail(`${name} must be an integer`);
  return result;
}

function fail(message: string): never {
  throw new EdgepulseError('invalid_options', message);
}
