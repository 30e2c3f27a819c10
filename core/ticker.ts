/**
 * Per-tick batching: `request()` asks for a run; runs happen at most once per
 * interval, the first one at once (leading edge, so an idle pipeline adds no
 * tick of latency; `leading: false` waits a full interval instead), and never
 * overlap (a request during a run schedules the next one). A run's failure is
 * logged and does not stop later runs.
 */
export interface Scheduler {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(fn, ms) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

export class Ticker {
  private cancel: (() => void) | null = null;
  private running = false;
  private again = false;
  private lastRunMs = Number.NEGATIVE_INFINITY;
  readonly intervalMs: number;
  private readonly run: () => Promise<void> | void;
  private readonly scheduler: Scheduler;
  private readonly onError: (error: unknown) => void;
  private readonly leading: boolean;

  constructor(
    intervalMs: number,
    run: () => Promise<void> | void,
    scheduler: Scheduler = realScheduler,
    onError: (error: unknown) => void = (error) => console.warn('tick failed:', error instanceof Error ? error.message : error),
    options: { leading?: boolean } = {},
  ) {
    this.intervalMs = intervalMs;
    this.run = run;
    this.scheduler = scheduler;
    this.onError = onError;
    this.leading = options.leading ?? true;
  }

  get pending(): boolean {
    return this.cancel !== null || this.running;
  }

  request(): void {
    if (this.cancel !== null) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const now = this.scheduler.now();
    const delay = this.leading ? Math.max(0, this.lastRunMs + this.intervalMs - now) : this.intervalMs;
    this.cancel = this.scheduler.schedule(() => void this.fire(), delay);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
    this.again = false;
  }

  private async fire(): Promise<void> {
    this.cancel = null;
    this.running = true;
    this.lastRunMs = this.scheduler.now();
    try {
      await this.run();
    } catch (error) {
      this.onError(error);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
  }
}
