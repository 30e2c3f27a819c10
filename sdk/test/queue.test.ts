import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type EdgepulseError } from '../src/index.ts';
import { accepted, drain, fakeFetch } from './fake-fetch.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('queue bound', () => {
  it('drops the oldest events beyond maxQueueSize and reports them once per burst', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const errors: EdgepulseError[] = [];
    const client = createClient({ endpoint: 'https://i.example', writeKey: 'wk', fetch, maxQueueSize: 5, onError: (error) => errors.push(error) });
    const ids = Array.from({ length: 8 }, () => client.track('e'));
    await drain();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('queue_overflow');
    expect(errors[0]?.events.map((event) => event.eventId)).toEqual(ids.slice(0, 3));
    await vi.advanceTimersByTimeAsync(50);
    expect(requests.map((request) => request.eventIds)).toEqual([ids.slice(3)]);
  });

  it('bounds memory while the server is down: in flight plus queued never exceeds the limits', async () => {
    const { fetch, requests } = fakeFetch(() => new Promise<Response>(() => {})); // never answers
    const errors: EdgepulseError[] = [];
    const client = createClient({
      endpoint: 'https://i.example',
      writeKey: 'wk',
      fetch,
      maxQueueSize: 100,
      maxBatchSize: 10,
      maxConcurrentRequests: 2,
      requestTimeoutMs: 60_000,
      onError: (error) => errors.push(error),
    });
    for (let i = 0; i < 1000; i++) client.track('e');
    await drain();
    expect(requests).toHaveLength(2);
    const dropped = errors.reduce((sum, error) => sum + error.events.length, 0);
    expect(dropped).toBe(1000 - 2 * 10 - 100);
  });
});
