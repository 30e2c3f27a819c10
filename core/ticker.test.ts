import { describe, expect, it } from 'vitest';
import { Ticker, type Scheduler } from './ticker.ts';

/** A manual clock: scheduled callbacks run when time is advanced past them. */
function manualScheduler(): Scheduler & { advance(ms: number): Promise<void> } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void }> = [];
  return {
    now: () => now,
    schedule(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (next === undefined) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      now = end;
    },
  };
}

describe('Ticker', () => {
  it('runs at once when idle, then at most once per interval however often it is asked', async () => {
    const clock = manualScheduler();
    const runs: number[] = [];
    const ticker = new Ticker(250, () => void runs.push(clock.now()), clock);
    ticker.request();
    await clock.advance(0);
    for (let t = 0; t < 1000; t += 10) {
      ticker.request();
      await clock.advance(10);
    }
    expect(runs).toEqual([0, 250, 500, 750, 1000]);
  });

  it('never overlaps runs, and a failing run does not stop the next', async () => {
    const clock = manualScheduler();
    let active = 0;
    let overlapped = false;
    let calls = 0;
    const errors: unknown[] = [];
    let release: () => void = () => undefined;
    const ticker = new Ticker(
      100,
      async () => {
        calls++;
        active++;
        overlapped ||= active > 1;
        if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
        active--;
        if (calls === 2) throw new Error('boom');
      },
      clock,
      (error) => errors.push(error),
    );
    ticker.request();
    await clock.advance(0);
    ticker.request(); // during the first run
    await clock.advance(500);
    expect(calls).toBe(1);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await clock.advance(200);
    expect(calls).toBe(2);
    ticker.request();
    await clock.advance(200);
    expect(calls).toBe(3);
    expect(overlapped).toBe(false);
    expect(errors).toHaveLength(1);
  });
});

describe('Ticker without a leading edge', () => {
  it('waits a full interval after the first request, then trails every later one', async () => {
    let now = 0;
    let timers: Array<{ at: number; fn: () => void }> = [];
    const clock: Scheduler = {
      now: () => now,
      schedule(fn, ms) {
        const timer = { at: now + ms, fn };
        timers.push(timer);
        return () => (timers = timers.filter((t) => t !== timer));
      },
    };
    const advance = async (ms: number) => {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (next === undefined) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      now = end;
    };
    const runs: number[] = [];
    const ticker = new Ticker(2000, () => void runs.push(now), clock, undefined, { leading: false });
    ticker.request();
    await advance(500);
    ticker.request();
    await advance(3000);
    expect(runs).toEqual([2000]);
    ticker.request();
    await advance(2500);
    expect(runs).toEqual([2000, 5500]);
  });
});
