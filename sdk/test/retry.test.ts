import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type EdgepulseError } from '../src/index.ts';
import { parseRetryAfter, retryDelayMs } from '../src/retry.ts';
import { accepted, drain, errorResponse, fakeFetch } from './fake-fetch.ts';

const endpoint = 'https://ingest.example.com';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function collectErrors(): { errors: EdgepulseError[]; onError: (error: EdgepulseError) => void } {
  const errors: EdgepulseError[] = [];
  return { errors, onError: (error) => errors.push(error) };
}

describe('retries', () => {
  it('re-sends the same eventIds after a 503, no sooner than Retry-After', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // jitter 0: the delay is Retry-After alone
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(503, 'ingest_unavailable', { 'Retry-After': '2' }) : accepted(3)));
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError });
    const ids = [client.track('a'), client.track('b'), client.track('c')];
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(2);
    await done;
    expect(requests[0]?.eventIds).toEqual(ids);
    expect(requests[1]?.eventIds).toEqual(ids);
    expect(requests[1]?.init.body).toBe(requests[0]?.init.body);
    expect(errors).toEqual([]);
  });

  it('backs off exponentially with full jitter (Math.random pinned at 0.5)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const times: number[] = [];
    const { fetch } = fakeFetch((call) => {
      times.push(Date.now());
      return call < 4 ? errorResponse(500, 'internal') : accepted(1);
    });
    const start = Date.now();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, retryBaseMs: 100, retryMaxDelayMs: 300, onError: () => {} });
    client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    // Delays 0.5 * min(300, 100 * 2^n): 50, 100, 150 (capped), 150 (capped).
    expect(times.map((time) => time - start)).toEqual([0, 50, 150, 300, 450]);
  });

  it('keeps every delay within [Retry-After, max(Retry-After, min(cap, base * 2^attempt))]', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 200 * 2 ** attempt);
      for (const random of [0, 0.25, 0.999_999]) {
        const delay = retryDelayMs(attempt, 200, 30_000, 0, () => random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
        expect(retryDelayMs(attempt, 200, 30_000, 45_000, () => random)).toBe(45_000);
      }
    }
  });

  it('parses Retry-After as seconds or as an HTTP-date', () => {
    const now = Date.parse('2026-06-07T11:26:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 07 Jun 2026 11:26:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 07 Jun 2026 11:25:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBe(0);
  });

  it('retries 429 honouring Retry-After', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(429, 'rate_limited', { 'Retry-After': '5' }) : accepted(1)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    const id = client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(4999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(requests.map((request) => request.eventIds)).toEqual([[id], [id]]);
  });

  it.each([500, 502, 504])('retries %i', async (status) => {
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(status, 'upstream') : accepted(1)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests).toHaveLength(2);
  });

  it('retries network errors with the same eventIds', async () => {
    const { fetch, requests } = fakeFetch((call) => {
      if (call === 0) throw new TypeError('fetch failed');
      return accepted(1);
    });
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError });
    const id = client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests.map((request) => request.eventIds)).toEqual([[id], [id]]);
    expect(errors).toEqual([]);
  });

  it('aborts a request that hangs past requestTimeoutMs and retries it', async () => {
    const { fetch, requests } = fakeFetch((call, request) =>
      call === 0
        ? new Promise<Response>((_, reject) => request.init.signal.addEventListener('abort', () => reject(new Error('aborted'))))
        : accepted(1),
    );
    const client = createClient({ endpoint, writeKey: 'wk', fetch, requestTimeoutMs: 1000 });
    client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests).toHaveLength(2);
  });

  it('gives up after maxRetries and reports the events', async () => {
    const { fetch, requests } = fakeFetch(() => errorResponse(503, 'ingest_unavailable'));
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, maxRetries: 2, onError });
    const id = client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    await done;
    expect(requests).toHaveLength(3);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'retries_exhausted', status: 503 });
    expect(errors[0]?.events.map((event) => event.eventId)).toEqual([id]);
    expect(errors[0]?.message).toContain('ingest_unavailable');
  });

  it('stops retrying before the server\'s 10-minute dedup window could be exceeded', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { fetch, requests } = fakeFetch(() => errorResponse(503, 'ingest_unavailable', { 'Retry-After': '240' }));
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError });
    client.track('a');
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    await done;
    // Attempts at 0, 4 and 8 minutes; one at 12 minutes could be counted twice.
    expect(requests).toHaveLength(3);
    expect(errors[0]?.code).toBe('retries_exhausted');
    expect(errors[0]?.message).toContain('dedup window');
  });

  it('re-sends only the events a 503 lists in `failed`', async () => {
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(503, 'ingest_unavailable', {}, { failed: [1, 3] }) : accepted(2)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    const ids = ['a', 'b', 'c', 'd'].map((type) => client.track(type));
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests.map((request) => request.eventIds)).toEqual([ids, [ids[1], ids[3]]]);
  });

  it('reports events a partial 503 rejected and does not re-send them', async () => {
    const { fetch, requests } = fakeFetch((call) =>
      call === 0
        ? errorResponse(503, 'partially_accepted', { 'Retry-After': '1' }, { rejected: [{ index: 0, code: 'timestamp_too_old', message: 'old' }], failed: [1] })
        : accepted(1),
    );
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError });
    const ids = [client.track('a', { timestamp: 1 }), client.track('b'), client.track('c')];
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests.map((request) => request.eventIds)).toEqual([ids, [ids[1]]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'rejected', status: 503, rejections: [{ eventId: ids[0], code: 'timestamp_too_old', message: 'old' }] });
  });

  it('re-sends the whole batch when `failed` is not a sensible list of indexes', async () => {
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(503, 'ingest_unavailable', {}, { failed: [1, 9] }) : accepted(2)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    const ids = [client.track('a'), client.track('b')];
    const done = client.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(requests.map((request) => request.eventIds)).toEqual([ids, ids]);
  });
});

describe('4xx responses', () => {
  it.each([400, 401, 403, 404, 408, 409, 413, 415, 422])('never retries %i and reports it via onError', async (status) => {
    const { fetch, requests } = fakeFetch(() => errorResponse(status, 'nope'));
    const { errors, onError } = collectErrors();
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError });
    const id = client.track('a');
    await client.flush();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await drain();
    expect(requests).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'request_failed', status });
    expect(errors[0]?.message).toContain(`HTTP ${status} nope`);
    expect(errors[0]?.events.map((event) => event.eventId)).toEqual([id]);
  });

  it('a throwing onError does not break delivery', async () => {
    const { fetch, requests } = fakeFetch((call) => (call === 0 ? errorResponse(400, 'invalid_body') : accepted(1)));
    const client = createClient({
      endpoint,
      writeKey: 'wk',
      fetch,
      onError: () => {
        throw new Error('observer bug');
      },
    });
    client.track('a');
    await client.flush();
    client.track('b');
    await client.flush();
    expect(requests).toHaveLength(2);
  });
});
