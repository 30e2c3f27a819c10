/**
 * The root's queue of deltas for one relay. One RPC in flight per relay (so a
 * relay gets its deltas in seq order) carrying everything queued, so the
 * steady state is one RPC per relay per tick; a slow or failing relay never
 * delays the others. Nothing is coalesced (resume promises no gaps), but the
 * queue is bounded: beyond it the oldest deltas go, and the relay notices the
 * seq gap and resyncs from a snapshot. Pure (the send and the wait are
 * injected).
 */
import type { LiveDelta } from './protocol.ts';

export interface OutboxOptions {
  maxQueued: number;
  /** Consecutive failures after which the outbox gives up on the relay. */
  maxFailures: number;
  wait: (attempt: number) => Promise<void>;
  onGiveUp: () => void;
}

export class RelayOutbox {
  private queue: LiveDelta[] = [];
  private sending = false;
  private failures = 0;
  private readonly send: (deltas: LiveDelta[]) => Promise<void>;
  private readonly options: OutboxOptions;

  constructor(send: (deltas: LiveDelta[]) => Promise<void>, options: OutboxOptions) {
    this.send = send;
    this.options = options;
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.sending;
  }

  enqueue(deltas: readonly LiveDelta[]): void {
    this.queue.push(...deltas);
    this.trim();
    if (!this.sending) void this.pump();
  }

  private trim(): void {
    if (this.queue.length > this.options.maxQueued) this.queue.splice(0, this.queue.length - this.options.maxQueued);
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.send(batch);
          this.failures = 0;
        } catch (error) {
          this.failures++;
          console.warn(`relay push failed (attempt ${this.failures}):`, error instanceof Error ? error.message : error);
          if (this.failures >= this.options.maxFailures) {
            this.queue = [];
            this.failures = 0;
            this.options.onGiveUp();
            break;
          }
          this.queue = [...batch, ...this.queue];
          this.trim();
          await this.options.wait(this.failures);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
