import { describe, expect, it } from 'vitest';
import { CHECKPOINT_AFTER_PANE_MS, CHECKPOINT_MAX_DELAY_MS, CHECKPOINT_MIN_DELAY_MS, checkpointDelayMs } from './checkpoint-policy.ts';

const PANE = 10_000;
const T0 = Date.UTC(2026, 11, 3, 14, 0);

describe('checkpointDelayMs', () => {
  it('runs just after the next pane boundary, so a pane\'s rows are written once they stopped changing', () => {
    expect(checkpointDelayMs(T0 + 2_000, PANE)).toBe(PANE - 2_000 + CHECKPOINT_AFTER_PANE_MS);
    expect(checkpointDelayMs(T0 + 9_900, PANE)).toBe(100 + CHECKPOINT_AFTER_PANE_MS);
    // Inside the grace after a boundary: that boundary's checkpoint, still ahead.
    expect(checkpointDelayMs(T0 + 300, PANE)).toBe(CHECKPOINT_AFTER_PANE_MS - 300);
    expect((T0 + 2_000 + checkpointDelayMs(T0 + 2_000, PANE)) % PANE).toBe(CHECKPOINT_AFTER_PANE_MS);
  });

  it('is never sooner than the minimum (a boundary burst shares one) nor later than the maximum (large panes)', () => {
    expect(checkpointDelayMs(T0 + CHECKPOINT_AFTER_PANE_MS - 100, PANE)).toBe(PANE + 100);
    expect(checkpointDelayMs(T0 + 5_000, 60_000)).toBe(CHECKPOINT_MAX_DELAY_MS);
    for (let offset = 0; offset < 3 * PANE; offset += 37) {
      const delay = checkpointDelayMs(T0 + offset, PANE);
      expect(delay).toBeGreaterThanOrEqual(CHECKPOINT_MIN_DELAY_MS);
      expect(delay).toBeLessThan(PANE + CHECKPOINT_MIN_DELAY_MS);
    }
  });

  it('falls back to the minimum for a nonsensical pane size or clock', () => {
    expect(checkpointDelayMs(T0, 0)).toBe(CHECKPOINT_MIN_DELAY_MS);
    expect(checkpointDelayMs(Number.NaN, PANE)).toBe(CHECKPOINT_MIN_DELAY_MS);
    expect(checkpointDelayMs(T0, Infinity)).toBe(CHECKPOINT_MIN_DELAY_MS);
  });
});
