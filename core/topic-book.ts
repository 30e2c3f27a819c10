/**
 * The root's live topics: computed only while at least one relay subscribes,
 * kept incrementally (a pane total that moves by `diff` moves every matching
 * topic's minute by `diff`), turned into deltas once per tick. Pure.
 *
 * Seq: each topic's deltas are numbered consecutively. Seqs must never go
 * back for a topic name, or a resuming viewer would be told it is up to date
 * when it is not, so (1) every root incarnation starts at a new epoch base
 * (epoch x 2^32, the epoch persisted and bumped on start) and (2) a topic
 * (re)created inside an incarnation starts just above every seq issued so far.
 *
 * Every delta carries its minute's anomaly flag and band, from the topic's
 * own previous minutes (core/live-anomaly.ts): computed once here, for every
 * relay and viewer.
 *
 * The root also keeps each topic's last DEFAULT_RING_SIZE deltas and hands
 * them out with every snapshot: a relay that lost its own resume ring (it
 * hibernated, was evicted, or resynced after a gap) can still replay exactly
 * what a reconnecting viewer missed.
 */
import { DeltaRing, DEFAULT_RING_SIZE } from './delta-ring.ts';
import { flagLiveMinute } from './live-anomaly.ts';
import type { LiveDelta } from './protocol.ts';
import { LiveTotals, MINUTE_MS, minuteOf, type Counts, type PaneChange } from './live-totals.ts';
import { topicMatches, type Topic } from './topics.ts';

export const SEQ_EPOCH_STRIDE = 2 ** 32;

export function seqBase(epoch: number): number {
  if (!Number.isSafeInteger(epoch * SEQ_EPOCH_STRIDE) || epoch < 0) throw new RangeError('epoch out of range');
  return epoch * SEQ_EPOCH_STRIDE;
}

export interface TopicSnapshot {
  topic: string;
  /** The seq of the state below; deltas after it follow over the relay push. */
  seq: number;
  /** Non-zero minutes within the retention, oldest first. */
  minutes: Array<{ minuteStart: number; value: number }>;
  /** The topic's latest deltas, consecutive and ending at `seq` (absent or empty: none kept). */
  recent?: LiveDelta[];
}

interface RootTopic {
  topic: Topic;
  seq: number;
  values: Map<number, Counts>;
  /** Value last emitted per minute: a change that nets to nothing for this measure sends nothing. */
  sent: Map<number, number>;
  dirty: Set<number>;
  relays: Set<string>;
  ring: DeltaRing;
}

export class TopicBook {
  private readonly topics = new Map<string, RootTopic>();
  private readonly byEventType = new Map<string, Set<RootTopic>>();
  private readonly dirtyTopics = new Set<RootTopic>();
  private highWater: number;

  constructor(seqStart: number) {
    this.highWater = seqStart;
  }

  get size(): number {
    return this.topics.size;
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  relaysOf(name: string): ReadonlySet<string> {
    return this.topics.get(name)?.relays ?? new Set();
  }

  /**
   * Registers `relay` for a topic, creating it (from the current totals) if
   * nobody had it. `announceAtMs` makes the next flush send the newest minute even
   * if unchanged: a restarted root uses it so that relays holding the topic
   * see the new epoch's seq, notice the jump and resync.
   */
  attach(topic: Topic, relay: string, totals: LiveTotals, options: { announceAtMs?: number } = {}): TopicSnapshot {
    let entry = this.topics.get(topic.name);
    if (entry === undefined) {
      const seq = ++this.highWater;
      entry = { topic, seq, values: new Map(), sent: new Map(), dirty: new Set(), relays: new Set(), ring: new DeltaRing(DEFAULT_RING_SIZE, seq) };
      for (const pane of totals.panes()) {
        if (!topicMatches(topic, pane.eventType, pane.dimensions)) continue;
        const counts = entry.values.get(pane.minuteStart) ?? { events: 0, valueSum: 0 };
        counts.events += pane.total.events;
        counts.valueSum += pane.total.valueSum;
        entry.values.set(pane.minuteStart, counts);
      }
      for (const [minute, counts] of entry.values) entry.sent.set(minute, measure(entry.topic, counts));
      this.topics.set(topic.name, entry);
      let index = this.byEventType.get(topic.eventType);
      if (index === undefined) {
        index = new Set();
        this.byEventType.set(topic.eventType, index);
      }
      index.add(entry);
    }
    entry.relays.add(relay);
    if (options.announceAtMs !== undefined) {
      const newest = Math.max(minuteOf(options.announceAtMs), ...entry.values.keys());
      entry.sent.delete(newest);
      if (!entry.values.has(newest)) entry.values.set(newest, { events: 0, valueSum: 0 });
      entry.dirty.add(newest);
      this.dirtyTopics.add(entry);
    }
    return this.snapshotOf(entry);
  }

  /** Unregisters a relay; the topic stops being computed when no relay is left. Returns true when dropped. */
  detach(name: string, relay: string): boolean {
    const entry = this.topics.get(name);
    if (entry === undefined) return false;
    entry.relays.delete(relay);
    if (entry.relays.size > 0) return false;
    this.topics.delete(name);
    this.byEventType.get(entry.topic.eventType)?.delete(entry);
    this.dirtyTopics.delete(entry);
    return true;
  }

  snapshot(name: string): TopicSnapshot | null {
    const entry = this.topics.get(name);
    return entry === undefined ? null : this.snapshotOf(entry);
  }

  /** Folds pane changes into the topics that match them. */
  apply(changes: readonly PaneChange[]): void {
    const wildcard = this.byEventType.get('*');
    for (const { pane, diff } of changes) {
      for (const candidates of [this.byEventType.get(pane.eventType), wildcard]) {
        if (candidates === undefined) continue;
        for (const entry of candidates) {
          if (!topicMatches(entry.topic, pane.eventType, pane.dimensions)) continue;
          const counts = entry.values.get(pane.minuteStart) ?? { events: 0, valueSum: 0 };
          counts.events += diff.events;
          counts.valueSum += diff.valueSum;
          entry.values.set(pane.minuteStart, counts);
          entry.dirty.add(pane.minuteStart);
          this.dirtyTopics.add(entry);
        }
      }
    }
  }

  /** One delta per changed (topic, minute) since the last flush, oldest minute first. */
  flush(nowMs: number): LiveDelta[] {
    const deltas: LiveDelta[] = [];
    const timestamp = new Date(nowMs).toISOString();
    for (const entry of this.dirtyTopics) {
      const valueAt = (minute: number): number => {
        const counts = entry.values.get(minute);
        return counts === undefined ? 0 : measure(entry.topic, counts);
      };
      for (const minute of [...entry.dirty].sort((a, b) => a - b)) {
        if (!entry.values.has(minute)) continue;
        const value = valueAt(minute);
        if (entry.sent.get(minute) === value) continue;
        entry.sent.set(minute, value);
        entry.seq++;
        if (entry.seq > this.highWater) this.highWater = entry.seq;
        const delta: LiveDelta = {
          topic: entry.topic.name,
          windowStart: new Date(minute).toISOString(),
          windowEnd: new Date(minute + MINUTE_MS).toISOString(),
          value,
          timestamp,
          seq: entry.seq,
          ...flagLiveMinute(valueAt, minute, nowMs),
        };
        entry.ring.push(delta);
        deltas.push(delta);
      }
      entry.dirty.clear();
    }
    this.dirtyTopics.clear();
    return deltas;
  }

  prune(oldestMinuteMs: number): void {
    for (const entry of this.topics.values()) {
      for (const map of [entry.values, entry.sent]) {
        for (const minute of map.keys()) if (minute < oldestMinuteMs) map.delete(minute);
      }
      for (const minute of entry.dirty) if (minute < oldestMinuteMs) entry.dirty.delete(minute);
    }
  }

  private snapshotOf(entry: RootTopic): TopicSnapshot {
    const minutes = [...entry.values]
      .map(([minuteStart, counts]) => ({ minuteStart, value: measure(entry.topic, counts) }))
      .filter((point) => point.value !== 0)
      .sort((a, b) => a.minuteStart - b.minuteStart);
    return { topic: entry.topic.name, seq: entry.seq, minutes, recent: entry.ring.since(entry.ring.floor) ?? [] };
  }
}

function measure(topic: Topic, counts: Counts): number {
  return topic.measure === 'metrics' ? counts.events : counts.valueSum;
}
