import { describe, expect, test } from 'vitest';
import { MinuteSeries } from './series.ts';
import { MINUTE_MS } from './time.ts';

const H = Date.UTC(2026, 5, 7, 10, 30);

describe('MinuteSeries', () => {
  test('a snapshot fills the range, zero where missing, ignores points outside', () => {
    const s = new MinuteSeries(5, H);
    s.applySnapshot([{ time: H - 4 * MINUTE_MS, value: 4 }, { time: H, value: 9 }, { time: H - 99 * MINUTE_MS, value: 1 }], H - 4 * MINUTE_MS, H + MINUTE_MS, 1000);
    expect(s.columns().values).toEqual([4, 0, 0, 0, 9]);
    expect(s.total()).toEqual({ sum: 13, unknown: 0 });
  });

  test('deltas set absolute values, append windows, drop stale seq, out-of-range, bogus and future ones', () => {
    const s = new MinuteSeries(3, H);
    expect(s.applyDelta({ windowStartMs: H, value: 5, seq: 10 }, 1)).toBe('applied');
    expect(s.applyDelta({ windowStartMs: H, value: 7, seq: 11 }, 2)).toBe('applied');
    expect(s.applyDelta({ windowStartMs: H, value: 999, seq: 3 }, 3)).toBe('stale-seq');
    expect(s.valueAt(H)).toBe(7);
    expect(s.applyDelta({ windowStartMs: H - 10 * MINUTE_MS, value: 1, seq: 12 }, 4)).toBe('out-of-range');
    expect(s.applyDelta({ windowStartMs: H + 30_000, value: 1, seq: 13 }, 4)).toBe('invalid');
    expect(s.applyDelta({ windowStartMs: H + 60 * MINUTE_MS, value: 1, seq: 14 }, 4)).toBe('future');
    // A new window shifts the series; the window in between was live-covered, so 0.
    expect(s.applyDelta({ windowStartMs: H + 2 * MINUTE_MS, value: 3, seq: 15 }, 5)).toBe('applied');
    expect(s.headMs).toBe(H + 2 * MINUTE_MS);
    expect(s.columns().values).toEqual([7, 0, 3]);
    // A restarted server counter opening a newer window is followed.
    expect(s.applyDelta({ windowStartMs: H + 3 * MINUTE_MS, value: 2, seq: 1 }, 6)).toBe('applied');
    expect(s.applyDelta({ windowStartMs: H + 3 * MINUTE_MS, value: 4, seq: 2 }, 7)).toBe('applied');
    expect(s.valueAt(H + 3 * MINUTE_MS)).toBe(4);
  });

  test('live values newer than the snapshot request survive it; older ones are replaced, except unflushed windows', () => {
    const s = new MinuteSeries(4, H);
    s.applyDelta({ windowStartMs: H - 2 * MINUTE_MS, value: 50, seq: null }, 100);
    s.applyDelta({ windowStartMs: H - MINUTE_MS, value: 70, seq: null }, 100);
    s.applyDelta({ windowStartMs: H, value: 20, seq: null }, 300);
    s.applySnapshot([{ time: H - 2 * MINUTE_MS, value: 40 }, { time: H - MINUTE_MS, value: 10 }, { time: H, value: 5 }], H - 3 * MINUTE_MS, H + MINUTE_MS, 200);
    expect(s.columns().values).toEqual([0, 40, 70, 20]);
    s.applySnapshot([{ time: H - MINUTE_MS, value: 90 }], H - 3 * MINUTE_MS, H + MINUTE_MS, 400);
    expect(s.columns().values).toEqual([0, 0, 90, 20]);
  });

  test('advancing while disconnected leaves unknown gaps', () => {
    const s = new MinuteSeries(3, H);
    s.applySnapshot([], H - 2 * MINUTE_MS, H + MINUTE_MS, 1);
    s.advanceTo(H + MINUTE_MS, false, 2);
    expect(s.columns().values).toEqual([0, 0, null]);
    expect(s.total()).toEqual({ sum: 0, unknown: 1 });
    s.advanceTo(H + 2 * MINUTE_MS, true, 3);
    expect(s.columns().values).toEqual([0, null, 0]);
  });

  test('anomaly flags and bands come from the snapshot and from live deltas', () => {
    const s = new MinuteSeries(4, H);
    s.applySnapshot(
      [
        { time: H - 3 * MINUTE_MS, value: 5, anomaly: false, lower: 3, upper: 7 },
        { time: H - 2 * MINUTE_MS, value: 150, anomaly: true, lower: 3, upper: 7 },
        { time: H - MINUTE_MS, value: 6 },
      ],
      H - 3 * MINUTE_MS, H + MINUTE_MS, 1,
    );
    expect(s.anomalies()).toEqual([H - 2 * MINUTE_MS]);
    expect(s.bandAt(H - 2 * MINUTE_MS)).toEqual({ lower: 3, upper: 7 });
    expect(s.bandAt(H - MINUTE_MS)).toBeNull();
    s.applyDelta({ windowStartMs: H, value: 90, seq: 1, anomaly: true }, 2);
    const columns = s.columns();
    expect(columns.anomalies).toEqual([null, 150, null, 90]);
    expect(columns.upper).toEqual([7, 7, null, null]);
    // Flags leave with their window.
    s.advanceTo(H + 3 * MINUTE_MS, true, 3);
    expect(s.anomalies()).toEqual([H]);
  });

  test('sums over the newest windows and over a range', () => {
    const s = new MinuteSeries(10, H);
    s.applySnapshot(Array.from({ length: 10 }, (_, i) => ({ time: H - i * MINUTE_MS, value: i + 1 })), H - 9 * MINUTE_MS, H + MINUTE_MS, 1);
    expect(s.sumLast(3)).toEqual({ sum: 1 + 2 + 3, unknown: 0 });
    expect(s.sumRange(H - 2 * MINUTE_MS, H)).toEqual({ sum: 3 + 2, unknown: 0 });
  });
});
