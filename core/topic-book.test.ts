import { describe, expect, it } from 'vitest';
import { LiveTotals, MINUTE_MS } from './live-totals.ts';
import { seqBase, TopicBook } from './topic-book.ts';
import { parseTopic, type Topic } from './topics.ts';

const T0 = Date.UTC(2026, 5, 7, 11, 25);
const topic = (name: string): Topic => {
  const parsed = parseTopic(name);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.topic;
};
const partial = (minute: number, events: number, valueSum: number, eventType = 'ad_click', dimsKey = 'campaignId=c1') => ({
  windowStart: T0 + minute * MINUTE_MS,
  eventType,
  dimsKey,
  events,
  valueSum,
});

describe('TopicBook', () => {
  it('computes a topic from the totals when first attached, then incrementally', () => {
    const totals = new LiveTotals();
    const book = new TopicBook(seqBase(1));
    totals.merge(0, [partial(0, 5, 50), partial(0, 1, 1, 'purchase', '')], T0);
    const snapshot = book.attach(topic('metrics:ad_click:campaignId:c1'), 'relay-a', totals);
    expect(snapshot).toEqual({ topic: 'metrics:ad_click:campaignId:c1', seq: seqBase(1) + 1, minutes: [{ minuteStart: T0, value: 5 }], recent: [] });
    book.apply(totals.merge(0, [partial(0, 7, 70), partial(0, 3, 3, 'purchase', '')], T0));
    const deltas = book.flush(T0 + 1000);
    expect(deltas).toEqual([
      {
        topic: 'metrics:ad_click:campaignId:c1',
        windowStart: new Date(T0).toISOString(),
        windowEnd: new Date(T0 + MINUTE_MS).toISOString(),
        value: 7,
        timestamp: new Date(T0 + 1000).toISOString(),
        seq: seqBase(1) + 2,
        // No earlier minutes: a zero baseline (mean 0, σ floored at 1), so 7 is far above it.
        anomaly: true,
        lower: 0,
        upper: 2,
      },
    ]);
    expect(book.flush(T0 + 2000)).toEqual([]);
  });

  it('computes only subscribed topics, wildcards included, one delta per changed minute', () => {
    const totals = new LiveTotals();
    const book = new TopicBook(0);
    book.attach(topic('metrics:*'), 'r', totals);
    book.attach(topic('value_sum:purchase'), 'r', totals);
    book.apply(totals.merge(0, [partial(0, 1, 10, 'purchase', ''), partial(1, 2, 5, 'purchase', ''), partial(1, 4, 0)], T0));
    const deltas = book.flush(T0);
    expect(deltas.map((d) => [d.topic, d.windowStart, d.value]).sort()).toEqual([
      ['metrics:*', new Date(T0).toISOString(), 1],
      ['metrics:*', new Date(T0 + MINUTE_MS).toISOString(), 6],
      ['value_sum:purchase', new Date(T0).toISOString(), 10],
      ['value_sum:purchase', new Date(T0 + MINUTE_MS).toISOString(), 5],
    ]);
    // Seqs are consecutive per topic.
    expect(deltas.filter((d) => d.topic === 'metrics:*').map((d) => d.seq)).toEqual([2, 3]);
    // A change that does not move a value_sum (count only) sends nothing for it.
    book.apply(totals.merge(0, [partial(1, 5, 0)], T0));
    expect(book.flush(T0).map((d) => d.topic)).toEqual(['metrics:*']);
  });

  it('stops computing a topic once its last relay leaves, and a re-created topic never reuses a seq', () => {
    const totals = new LiveTotals();
    const book = new TopicBook(100);
    const t = topic('metrics:ad_click');
    book.attach(t, 'a', totals);
    book.attach(t, 'b', totals);
    book.apply(totals.merge(0, [partial(0, 1, 1)], T0));
    const [first] = book.flush(T0);
    expect(book.detach('metrics:ad_click', 'a')).toBe(false);
    expect([...book.relaysOf('metrics:ad_click')]).toEqual(['b']);
    expect(book.detach('metrics:ad_click', 'b')).toBe(true);
    book.apply(totals.merge(0, [partial(0, 2, 2)], T0));
    expect(book.flush(T0)).toEqual([]);
    const again = book.attach(t, 'a', totals);
    expect(again.seq).toBeGreaterThan(first?.seq ?? Infinity);
    expect(again.minutes).toEqual([{ minuteStart: T0, value: 2 }]);
  });
});

describe('TopicBook after a root restart', () => {
  it('announces a re-attached topic once, so relays see the new epoch even without a change', () => {
    const totals = new LiveTotals();
    totals.merge(0, [partial(0, 3, 3)], T0);
    const book = new TopicBook(seqBase(2));
    const snapshot = book.attach(topic('metrics:ad_click'), 'r', totals, { announceAtMs: T0 + 5000 });
    const deltas = book.flush(T0);
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toMatchObject({ windowStart: new Date(T0).toISOString(), value: 3 });
    expect(deltas[0]?.seq).toBe(snapshot.seq + 1);
    expect(deltas[0]?.seq).toBeGreaterThan(seqBase(2));
    expect(book.flush(T0)).toEqual([]);
  });

  it('flags each delta against the topic\'s own previous 30 minutes', () => {
    const totals = new LiveTotals();
    const book = new TopicBook(0);
    book.attach(topic('metrics:ad_click'), 'r', totals);
    book.attach(topic('metrics:purchase'), 'r', totals);
    const steady = Array.from({ length: 30 }, (_, i) => [partial(i - 30, 10, 0), partial(i - 30, 10, 0, 'purchase', '')]).flat();
    book.apply(totals.merge(0, steady, T0));
    book.flush(T0);
    // The current minute: a spike for ad_click, a normal minute for purchase.
    book.apply(totals.merge(0, [partial(0, 60, 0), partial(0, 11, 0, 'purchase', '')], T0 + 20_000));
    const deltas = book.flush(T0 + 20_000);
    expect(deltas.find((d) => d.topic === 'metrics:ad_click')).toMatchObject({ value: 60, anomaly: true, lower: 3.68, upper: 16.32 });
    expect(deltas.find((d) => d.topic === 'metrics:purchase')).toMatchObject({ value: 11, anomaly: false, lower: 3.68, upper: 16.32 });
  });

  it('hands out its recent deltas with every snapshot, so a relay can resume viewers without a ring of its own', () => {
    const totals = new LiveTotals();
    const book = new TopicBook(0);
    book.attach(topic('metrics:ad_click'), 'r', totals);
    for (let events = 1; events <= 3; events++) {
      book.apply(totals.merge(0, [partial(0, events, 0)], T0));
      book.flush(T0 + events);
    }
    const later = book.attach(topic('metrics:ad_click'), 'r2', totals);
    expect(later.seq).toBe(4);
    expect(later.recent?.map((d) => [d.seq, d.value])).toEqual([[2, 1], [3, 2], [4, 3]]);
  });
});
