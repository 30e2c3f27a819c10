import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from './live-totals.ts';
import type { LiveDelta } from './protocol.ts';
import { RelayTopic } from './relay-topics.ts';

const T0 = Date.UTC(2026, 5, 7, 11, 25);
const delta = (seq: number, minute: number, value: number): LiveDelta => ({
  topic: 'metrics:a',
  windowStart: new Date(T0 + minute * MINUTE_MS).toISOString(),
  windowEnd: new Date(T0 + (minute + 1) * MINUTE_MS).toISOString(),
  value,
  timestamp: new Date(T0).toISOString(),
  seq,
  anomaly: false,
});

describe('RelayTopic', () => {
  it('serves snapshots of the last N minutes, zero-filled, and the current minute as a delta', () => {
    const topic = new RelayTopic('metrics:a', { topic: 'metrics:a', seq: 10, minutes: [{ minuteStart: T0 - MINUTE_MS, value: 4 }] });
    expect(topic.apply(delta(11, 0, 7))).toBe('applied');
    const snapshot = topic.snapshotMessage(3, T0 + 5000);
    expect(snapshot).toMatchObject({ type: 'snapshot', topic: 'metrics:a', seq: 11, from: new Date(T0 - 2 * MINUTE_MS).toISOString(), to: new Date(T0 + MINUTE_MS).toISOString() });
    expect(snapshot.points.map((p) => p.value)).toEqual([0, 4, 7]);
    expect(topic.currentDelta(T0 + 5000)).toMatchObject({ value: 7, seq: 11, windowStart: new Date(T0).toISOString() });
  });

  it('resumes from its ring, reports gaps and stale repeats, and resyncs from a snapshot', () => {
    const topic = new RelayTopic('metrics:a', { topic: 'metrics:a', seq: 10, minutes: [] });
    topic.apply(delta(11, 0, 1));
    topic.apply(delta(12, 0, 2));
    expect(topic.since(10)?.map((d) => d.seq)).toEqual([11, 12]);
    expect(topic.since(9)).toBeNull();
    expect(topic.apply(delta(12, 0, 2))).toBe('stale');
    expect(topic.apply(delta(20, 0, 9))).toBe('gap');
    topic.resync({ topic: 'metrics:a', seq: 25, minutes: [{ minuteStart: T0, value: 12 }] });
    expect(topic.seq).toBe(25);
    expect(topic.since(12)).toBeNull();
    expect(topic.currentDelta(T0).value).toBe(12);
  });

  it('flags the current minute as the root flags its deltas, and forgets minutes past the retention', () => {
    const steady = Array.from({ length: 30 }, (_, i) => ({ minuteStart: T0 - (30 - i) * MINUTE_MS, value: 10 }));
    const topic = new RelayTopic('metrics:a', { topic: 'metrics:a', seq: 10, minutes: [...steady, { minuteStart: T0, value: 60 }] });
    expect(topic.currentDelta(T0 + 5000)).toMatchObject({ value: 60, anomaly: true, lower: 3.68, upper: 16.32 });
    topic.apply(delta(11, 0, 12));
    expect(topic.currentDelta(T0 + 5000)).toMatchObject({ value: 12, anomaly: false });
    // An hour later the steady minutes are gone: a new minute prunes them.
    topic.apply(delta(12, 61, 3));
    expect(topic.snapshotMessage(60, T0 + 61 * MINUTE_MS).points.reduce((sum, p) => sum + p.value, 0)).toBe(3);
  });

  it('seeds its resume ring from the root’s recent deltas: a re-created relay state still replays what a viewer missed', () => {
    const recent = [delta(11, 0, 1), delta(12, 0, 2), delta(13, 0, 3)];
    const topic = new RelayTopic('metrics:a', { topic: 'metrics:a', seq: 13, minutes: [{ minuteStart: T0, value: 3 }], recent });
    expect(topic.since(11)?.map((d) => d.seq)).toEqual([12, 13]);
    expect(topic.since(10)?.map((d) => d.seq)).toEqual([11, 12, 13]);
    expect(topic.since(9)).toBeNull();
    expect(topic.apply(delta(14, 0, 4))).toBe('applied');
    // Recent deltas that do not lead up to the snapshot's seq are not trusted.
    const broken = new RelayTopic('metrics:a', { topic: 'metrics:a', seq: 20, minutes: [], recent });
    expect(broken.since(12)).toBeNull();
    expect(broken.since(20)).toEqual([]);
    // A resync keeps resume possible across the gap that caused it.
    topic.resync({ topic: 'metrics:a', seq: 16, minutes: [], recent: [delta(15, 0, 5), delta(16, 0, 6)] });
    expect(topic.since(14)?.map((d) => d.seq)).toEqual([15, 16]);
  });
});
