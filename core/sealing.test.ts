import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { emptyCounts } from './panes.ts';
import { buildSealedBatch, foldIntoMinutes, splitIntoParts, type SealedPane } from './sealing.ts';
import { sketchFromRegisters } from './sketch-registers.ts';

const T0 = Date.UTC(2026, 0, 1, 10, 0);

function users(...ids: string[]): HyperLogLog {
  const h = new HyperLogLog({ precision: 12 });
  for (const id of ids) h.add(id);
  return h;
}

function pane(overrides: Partial<SealedPane>): SealedPane {
  return { paneStart: T0, eventType: 'click', dimsKey: 'a=1', ...emptyCounts(), events: 1, valueSum: 1, users: users('u1'), ...overrides };
}

describe('foldIntoMinutes', () => {
  it('adds the counts and unions the users of panes in the same minute and group', () => {
    const minutes = foldIntoMinutes([
      pane({ paneStart: T0, events: 2, valueSum: 3, users: users('u1', 'u2') }),
      pane({ paneStart: T0 + 10_000, events: 1, valueSum: 4, botEvents: 5, lateEvents: 1, users: users('u2', 'u3') }),
      pane({ paneStart: T0 + 60_000 }),
      pane({ dimsKey: 'a=2' }),
      pane({ eventType: 'view', users: null, events: 0, botEvents: 1 }),
    ]);
    expect(minutes).toHaveLength(4);
    const first = minutes[0];
    expect(first).toMatchObject({ minuteStart: T0, eventType: 'click', dimsKey: 'a=1', events: 3, valueSum: 7, botEvents: 5, lateEvents: 1 });
    expect(sketchFromRegisters(12, first?.users.idx ?? [], first?.users.val ?? []).count()).toBe(3);
    expect(minutes.find((m) => m.eventType === 'view')?.users).toEqual({ idx: [], val: [] });
  });
});

describe('splitIntoParts', () => {
  it('keeps parts under the target size and every row exactly once', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ i, pad: 'x'.repeat(90) }));
    const parts = splitIntoParts(rows, 1000);
    expect(parts.length).toBeGreaterThan(5);
    for (const part of parts) expect(part.json.length).toBeLessThanOrEqual(1000);
    expect(parts.flatMap((part) => JSON.parse(part.json) as unknown[])).toEqual(rows);
    expect(parts.reduce((sum, part) => sum + part.rows, 0)).toBe(100);
  });

  it('gives an oversized row a part of its own', () => {
    const parts = splitIntoParts([{ a: 'x'.repeat(50) }, { b: 1 }], 10);
    expect(parts.map((p) => p.rows)).toEqual([1, 1]);
  });
});

describe('buildSealedBatch', () => {
  const identity = { projectId: 'p', shard: 1 };

  it('is null when there is nothing to seal', () => {
    expect(buildSealedBatch({ identity, windowMs: 60_000, panes: [], governance: [], raw: [] })).toBeNull();
  });

  it('combines rollups, governance and raw parts into one deterministic batch', () => {
    const input = {
      identity,
      windowMs: 60_000,
      panes: [pane({}), pane({ paneStart: T0 + 70_000 })],
      governance: [{ windowStart: T0 + 60_000, reason: 'folded' as const, dimension: 'campaign', events: 4 }],
      raw: [{ windowStart: T0, rowCount: 2, rowsJson: '[{"kind":"raw"},{"kind":"raw"}]' }],
    };
    const batch = buildSealedBatch(input);
    expect(batch).toEqual(buildSealedBatch(input));
    expect(batch?.rowCount).toBe(2 + 1 + 2);
    expect(batch?.oldestWindowStart).toBe(T0);
    const rows = (batch?.parts ?? []).flatMap((part) => JSON.parse(part) as Array<{ kind: string }>);
    expect(rows.map((row) => row.kind)).toEqual(['rollup', 'rollup', 'governance', 'raw', 'raw']);
    expect(rows[2]).toEqual({ kind: 'governance', project_id: 'p', shard: 1, window_start: '2026-01-01 10:01:00', reason: 'folded', dimension: 'campaign', events: 4 });
  });
});
