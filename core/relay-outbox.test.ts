import { describe, expect, it } from 'vitest';
import type { LiveDelta } from './protocol.ts';
import { RelayOutbox } from './relay-outbox.ts';

const delta = (seq: number): LiveDelta => ({ topic: 't', windowStart: 'w', windowEnd: 'e', value: seq, timestamp: 'x', seq, anomaly: false });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('RelayOutbox', () => {
  it('keeps one call in flight and sends everything queued meanwhile in the next one, in order', async () => {
    const calls: number[][] = [];
    let release: () => void = () => undefined;
    const outbox = new RelayOutbox(
      async (deltas) => {
        calls.push(deltas.map((d) => d.seq));
        if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { maxQueued: 100, maxFailures: 3, wait: async () => undefined, onGiveUp: () => undefined },
    );
    outbox.enqueue([delta(1)]);
    outbox.enqueue([delta(2)]);
    outbox.enqueue([delta(3), delta(4)]);
    await settle();
    expect(calls).toEqual([[1]]);
    release();
    await settle();
    expect(calls).toEqual([[1], [2, 3, 4]]);
  });

  it('retries a failed batch in front of newer deltas, and gives up after maxFailures', async () => {
    const calls: number[][] = [];
    let gaveUp = 0;
    let failing = true;
    const outbox = new RelayOutbox(
      async (deltas) => {
        calls.push(deltas.map((d) => d.seq));
        if (failing) throw new Error('relay down');
      },
      { maxQueued: 3, maxFailures: 3, wait: async () => undefined, onGiveUp: () => gaveUp++ },
    );
    outbox.enqueue([delta(1), delta(2)]);
    await settle();
    expect(calls).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect(gaveUp).toBe(1);
    expect(outbox.queued).toBe(0);
    failing = false;
    // Bounded: the oldest go first (the relay sees a seq gap and resyncs).
    outbox.enqueue([delta(3), delta(4), delta(5), delta(6)]);
    await settle();
    expect(calls.at(-1)).toEqual([4, 5, 6]);
  });
});
