import { describe, expect, it } from 'vitest';
import type { LiveDelta } from './protocol.ts';
import { ViewerQueue } from './viewer-queue.ts';

const delta = (topic: string, minute: number, seq: number, value = seq): LiveDelta => ({
  topic,
  windowStart: new Date(minute * 60_000).toISOString(),
  windowEnd: new Date((minute + 1) * 60_000).toISOString(),
  value,
  timestamp: 'x',
  seq,
  anomaly: false,
});

describe('ViewerQueue', () => {
  it('sends at once without flow control, however many frames are unacknowledged', () => {
    const queue = new ViewerQueue(Number.POSITIVE_INFINITY, 2);
    for (let seq = 1; seq <= 100; seq++) expect(queue.offer([delta('a', 0, seq)]).kind).toBe('send');
    expect(queue.queued).toBe(0);
  });

  it('queues beyond the ack window and coalesces: the newest value per (topic, window) wins', () => {
    const queue = new ViewerQueue(2, 10);
    expect(queue.offer([delta('a', 0, 1)]).kind).toBe('send');
    expect(queue.offer([delta('a', 0, 2)]).kind).toBe('send');
    // Window full: everything after this waits, one entry per (topic, window).
    for (let seq = 3; seq <= 50; seq++) expect(queue.offer([delta('a', 0, seq), delta('b', 0, seq)]).kind).toBe('queued');
    expect(queue.queued).toBe(2);
    expect(queue.offer([delta('a', 1, 51)]).kind).toBe('queued');
    expect(queue.queued).toBe(3);
    const next = queue.ack(1);
    expect(next?.map((d) => [d.topic, d.seq])).toEqual([['a', 50], ['b', 50], ['a', 51]]);
    expect(queue.queued).toBe(0);
    // A topic's deltas leave in seq order even after coalescing moved them.
    const seqsOfA = next?.filter((d) => d.topic === 'a').map((d) => d.seq);
    expect(seqsOfA).toEqual([...(seqsOfA ?? [])].sort((x, y) => x - y));
  });

  it('reports overflow once more distinct windows wait than the bound', () => {
    const queue = new ViewerQueue(1, 3);
    queue.offer([delta('a', 0, 1)]);
    expect(queue.offer([delta('a', 1, 2), delta('a', 2, 3), delta('a', 3, 4)]).kind).toBe('queued');
    expect(queue.offer([delta('a', 4, 5)]).kind).toBe('overflow');
  });

  it('an ack with nothing queued frees the window for the next tick', () => {
    const queue = new ViewerQueue(1, 3);
    expect(queue.offer([delta('a', 0, 1)]).kind).toBe('send');
    expect(queue.ack(1)).toBeNull();
    expect(queue.unacknowledged).toBe(0);
    expect(queue.offer([delta('a', 0, 2)]).kind).toBe('send');
  });
});
