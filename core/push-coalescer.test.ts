import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PartialAggregate } from './protocol.ts';
import { columnsOf, partialsOf } from './partial-columns.ts';
import { PushCoalescer } from './push-coalescer.ts';

const group = (eventType: string, events: number): PartialAggregate => ({ windowStart: 60_000, eventType, dimsKey: '', events, valueSum: events * 2 });

describe('PushCoalescer', () => {
  let sent: PartialAggregate[][];
  let pushes: PushCoalescer;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    // Each push as the groups it carries, handed-over ones then fresh ones.
    pushes = new PushCoalescer(250, (_projectId, _shard, push) => sent.push([...push.groups, ...partialsOf(push.columns)]));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the first push at once and coalesces later ones into one trailing push per interval, latest totals winning', () => {
    pushes.add('p', 0, [group('click', 1)]);
    expect(sent).toEqual([[group('click', 1)]]);
    pushes.add('p', 0, [group('click', 2)]);
    pushes.add('p', 0, [group('click', 3), group('view', 1)]);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(250);
    expect(sent).toEqual([[group('click', 1)], [group('click', 3), group('view', 1)]]);
  });

  it('re-sends the groups of a failed push with the next push', () => {
    pushes.add('p', 0, [group('click', 1), group('view', 4)]);
    const failed = sent[0] ?? [];
    pushes.retry('p', 0, failed);
    expect(pushes.pendingCount).toBe(2);
    vi.advanceTimersByTime(250);
    expect(sent[1]).toEqual([group('click', 1), group('view', 4)]);
  });

  it('a retried group never overwrites newer totals already waiting', () => {
    pushes.add('p', 0, [group('click', 1)]);
    pushes.add('p', 0, [group('click', 5)]);
    pushes.retry('p', 0, [group('click', 1), group('view', 2)]);
    vi.advanceTimersByTime(250);
    expect(sent[1]).toEqual([group('click', 5), group('view', 2)]);
  });

  it('retries a group a failed push carried twice with its newest (largest) total', () => {
    pushes.add('p', 0, [group('view', 1)]);
    pushes.retry('p', 0, [group('click', 10), group('click', 11), group('click', 3)]);
    vi.advanceTimersByTime(250);
    expect(sent[1]).toEqual([group('click', 11)]);
  });

  it('ignores a retry for another (project, shard) than the one it pushes for', () => {
    pushes.add('p', 0, [group('click', 1)]);
    pushes.retry('q', 3, [group('click', 9)]);
    expect(pushes.pendingCount).toBe(0);
  });

  describe('with fresh groups built at the push', () => {
    let source: PartialAggregate[];
    let built: number;
    beforeEach(() => {
      source = [];
      built = 0;
      pushes = new PushCoalescer(250, (_projectId, _shard, push) => sent.push([...push.groups, ...partialsOf(push.columns)]), () => {
        built++;
        const taken = source;
        source = [];
        return columnsOf(taken);
      });
    });

    it('takes them once per push, however many batches changed them in between', () => {
      source = [group('click', 1)];
      pushes.changed('p', 0);
      expect(sent).toEqual([[group('click', 1)]]);
      for (let events = 2; events <= 5; events++) {
        source = [group('click', events)];
        pushes.changed('p', 0);
      }
      expect(built).toBe(1);
      vi.advanceTimersByTime(250);
      expect(built).toBe(2);
      expect(sent).toEqual([[group('click', 1)], [group('click', 5)]]);
    });

    it('sends nothing when nothing changed, and lets fresh totals win over retried ones', () => {
      pushes.changed('p', 0);
      expect(sent).toEqual([]);
      source = [group('click', 1), group('view', 2)];
      pushes.changed('p', 0);
      pushes.retry('p', 0, sent[0] ?? []);
      source = [group('click', 4)];
      pushes.changed('p', 0);
      vi.advanceTimersByTime(250);
      expect(built).toBe(3);
      expect(sent).toEqual([[group('click', 1), group('view', 2)], [group('view', 2), group('click', 4)]]);
      expect(pushes.pendingCount).toBe(0);
    });
  });
});
