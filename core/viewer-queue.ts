/**
 * One viewer's outgoing deltas, bounded. Why it exists: workerd's server-side
 * WebSocket has no `bufferedAmount` and `send()` only appends to an unbounded
 * in-process queue (src/workerd/api/web-socket.c++, WebSocket::send), so a
 * relay cannot see a slow TCP reader. A viewer that opts into flow control
 * (`?ack=<window>`) acknowledges delta frames; beyond `window` unacknowledged frames
 * its deltas wait here, coalescing: per (topic, window) only the newest value
 * is kept, since deltas carry absolute values. More than `maxEntries` distinct
 * (topic, window) keys waiting means the viewer is hopelessly behind: the
 * relay closes it (LIVE_CLOSE.slowViewer) and it resumes with lastSeq.
 *
 * A viewer without flow control is sent every tick's frame at once (the
 * runtime gives nothing to pace it by).
 */
import type { LiveDelta } from './protocol.ts';

export type Offer = { kind: 'send'; deltas: LiveDelta[] } | { kind: 'queued' } | { kind: 'overflow' };

export class ViewerQueue {
  private readonly pending = new Map<string, LiveDelta>();
  private inFlight = 0;
  readonly window: number;
  readonly maxEntries: number;

  /**
   * @param window frames that may be unacknowledged (Infinity: no flow control)
   * @param maxEntries distinct (topic, window) keys that may wait
   */
  constructor(window: number, maxEntries: number) {
    this.window = window;
    this.maxEntries = maxEntries;
    if (!(window >= 1) || !Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('window >= 1 and maxEntries >= 1 required');
  }

  get queued(): number {
    return this.pending.size;
  }

  get unacknowledged(): number {
    return this.inFlight;
  }

  /** A tick's deltas for this viewer: send them now as one frame, or queue them. */
  offer(deltas: readonly LiveDelta[]): Offer {
    if (deltas.length === 0) return { kind: 'queued' };
    if (this.pending.size === 0 && this.inFlight < this.window) {
      this.inFlight++;
      return { kind: 'send', deltas: [...deltas] };
    }
    for (const delta of deltas) {
      const key = `${delta.topic}\u0000${delta.windowStart}`;
      // Delete first so the newest delta moves to the end: a topic's deltas leave in seq order.
      this.pending.delete(key);
      this.pending.set(key, delta);
    }
    return this.pending.size > this.maxEntries ? { kind: 'overflow' } : { kind: 'queued' };
  }

  /** `frames` delta frames were acknowledged; returns the next frame to send, if any. */
  ack(frames: number): LiveDelta[] | null {
    this.inFlight = Math.max(0, this.inFlight - frames);
    return this.drain();
  }

  private drain(): LiveDelta[] | null {
    if (this.pending.size === 0 || this.inFlight >= this.window) return null;
    const deltas = [...this.pending.values()];
    this.pending.clear();
    this.inFlight++;
    return deltas;
  }
}
