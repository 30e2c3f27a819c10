/**
 * Resume cursors of the live client, per topic: the highest seq it holds, so
 * a reconnect subscribes with `lastSeq` and the relay replays exactly the
 * missed deltas (or answers with a fresh snapshot when its ring cannot prove
 * it has them all); and a filter that drops a delta the client already holds,
 * so none is applied twice. Pure.
 *
 * Server rules it relies on (docs/fanout.md): a topic's seqs grow by one per
 * delta and never go back, even across a root restart; `subscribed` carries
 * the seq of the state the following snapshot and current-value delta describe
 * (both at that same seq); `resumed: true` means the deltas after our lastSeq
 * follow; a relay's resync `snapshot` replaces the state at its own seq.
 */
import { asObject, finiteNumber } from './json.ts';

export interface SubscribeMessage {
  action: 'subscribe';
  topic: string;
  lastSeq?: number;
}

export class TopicCursors {
  private readonly seqs = new Map<string, number>();
  /** Fresh subscriptions whose current-value delta (sent at the subscribed seq itself) is still due. */
  private readonly currentDue = new Set<string>();

  lastSeq(topic: string): number | null {
    return this.seqs.get(topic) ?? null;
  }

  /** The subscribe frame for a topic: with lastSeq when we hold some of it (a reconnect). */
  subscribeMessage(topic: string): SubscribeMessage {
    const lastSeq = this.seqs.get(topic);
    return lastSeq === undefined ? { action: 'subscribe', topic } : { action: 'subscribe', topic, lastSeq };
  }

  /** An unsubscribed topic starts from scratch if it comes back. */
  forget(topic: string): void {
    this.seqs.delete(topic);
    this.currentDue.delete(topic);
  }

  /** Notes one server item; false for a delta the client already has (drop it). */
  accept(item: unknown): boolean {
    const o = asObject(item);
    if (!o || typeof o.topic !== 'string') return true;
    const topic = o.topic;
    const seq = finiteNumber(o.seq);
    if (seq === null) return true;
    if (o.type === 'subscribed') {
      // Resumed: the missed deltas after our own lastSeq follow, so keep it. Fresh: the state is at `seq`.
      if (o.resumed !== true) {
        this.seqs.set(topic, seq);
        this.currentDue.add(topic);
      }
      return true;
    }
    if (o.type === 'snapshot') {
      this.seqs.set(topic, Math.max(seq, this.seqs.get(topic) ?? seq));
      return true;
    }
    if (o.type !== undefined) return true;
    const held = this.seqs.get(topic);
    if (held === undefined || seq > held) {
      this.seqs.set(topic, seq);
      this.currentDue.delete(topic);
      return true;
    }
    if (seq === held && this.currentDue.delete(topic)) return true;
    return false;
  }
}
