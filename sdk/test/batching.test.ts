import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type EdgepulseError } from '../src/index.ts';
import { accepted, drain, eventsOf, fakeFetch } from './fake-fetch.ts';

const endpoint = 'https://ingest.example.com/';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends a full batch at once, without waiting for the interval', () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk_1', fetch });
    const ids = Array.from({ length: 100 }, (_, i) => client.track('ad_click', { value: i }));
    expect(requests).toHaveLength(1);
    expect(requests[0]?.eventIds).toEqual(ids);
    expect(requests[0]?.url).toBe('https://ingest.example.com/v1/events');
    expect(requests[0]?.init.headers).toMatchObject({ Authorization: 'Bearer wk_1', 'Content-Type': 'application/json' });
  });

  it('sends a partial batch flushIntervalMs after its first event', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('a');
    await vi.advanceTimersByTimeAsync(30);
    client.track('b');
    await vi.advanceTimersByTimeAsync(19);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(1);
    expect(eventsOf(requests[0]?.init.body ?? '').map((event) => event.eventType)).toEqual(['a', 'b']);
  });

  it('honours custom maxBatchSize and flushIntervalMs', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch, maxBatchSize: 3, flushIntervalMs: 1000 });
    for (let i = 0; i < 7; i++) client.track('e');
    expect(requests.map((request) => request.eventIds.length)).toEqual([3, 3]);
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests.map((request) => request.eventIds.length)).toEqual([3, 3, 1]);
  });

  it('splits batches that would exceed the 1 MiB request limit', () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    // About 17 KB per event (32 dimensions of 256 two-byte characters): 100 of them exceed 1 MiB.
    const dimensions = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`d${i}`, 'é'.repeat(256)]));
    for (let i = 0; i < 100; i++) client.track('big', { dimensions });
    expect(requests.length).toBeGreaterThanOrEqual(1);
    for (const request of requests) expect(new TextEncoder().encode(request.init.body).length).toBeLessThanOrEqual(1_048_576);
    void client.flush();
    const sent = requests.reduce((sum, request) => sum + request.eventIds.length, 0);
    expect(sent).toBe(100);
    expect(requests.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps at most maxConcurrentRequests requests in flight', async () => {
    const answers: ((response: Response) => void)[] = [];
    const { fetch, requests } = fakeFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch, maxBatchSize: 10, maxConcurrentRequests: 2 });
    for (let i = 0; i < 50; i++) client.track('e');
    await vi.advanceTimersByTimeAsync(100);
    expect(requests).toHaveLength(2);
    answers[0]?.(accepted(10));
    await drain();
    expect(requests).toHaveLength(3);
  });

  it('flush() resolves once the server accepted everything queued before it', async () => {
    const answers: ((response: Response) => void)[] = [];
    const { fetch, requests } = fakeFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('a');
    client.track('b');
    let flushed = false;
    const done = client.flush().then(() => {
      flushed = true;
    });
    expect(requests).toHaveLength(1); // flush does not wait for the interval
    const late = client.track('c'); // after the flush: not awaited by it
    await drain();
    expect(flushed).toBe(false);
    answers[0]?.(accepted(2));
    await done;
    expect(flushed).toBe(true);
    const second = client.flush();
    await drain();
    answers[1]?.(accepted(1));
    await second;
    expect(requests[1]?.eventIds).toEqual([late]);
  });

  it('flush() on an empty client resolves at once', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    await createClient({ endpoint, writeKey: 'wk', fetch }).flush();
    expect(requests).toHaveLength(0);
  });

  it('close() flushes and then refuses new events', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('last');
    await client.close();
    expect(requests).toHaveLength(1);
    expect(() => client.track('late')).toThrowError(expect.objectContaining({ code: 'closed' }));
  });

  it('page() tracks page_view with the given path', () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch, maxBatchSize: 1 });
    client.page('/pricing', { dimensions: { country: 'US' } });
    expect(eventsOf(requests[0]?.init.body ?? '')[0]).toMatchObject({ eventType: 'page_view', dimensions: { country: 'US', path: '/pricing' } });
  });

  it('reports per-event rejections from a 202 with their eventIds', async () => {
    const errors: EdgepulseError[] = [];
    const { fetch } = fakeFetch(() =>
      Response.json(
        { status: 'ACCEPTED', accepted: 1, duplicates: 0, rejected: [{ index: 1, code: 'timestamp_too_old', message: 'too old' }] },
        { status: 202 },
      ),
    );
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError: (error) => errors.push(error) });
    client.track('ok');
    const old = client.track('old', { timestamp: 1 });
    await client.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('rejected');
    expect(errors[0]?.rejections).toEqual([{ eventId: old, code: 'timestamp_too_old', message: 'too old' }]);
  });
});
