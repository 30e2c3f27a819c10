import { describe, expect, it } from 'vitest';
import { PendingWrites } from './pending-writes.ts';
import { emptyCounters } from './shard-health.ts';

describe('PendingWrites', () => {
  it('merges what successive calls counted until a checkpoint clears it', () => {
    const pending = new PendingWrites();
    expect(pending.isEmpty).toBe(true);
    pending.addGovernance([{ windowStart: 0, reason: 'folded', dimension: 'path', events: 2 }]);
    pending.addGovernance([
      { windowStart: 0, reason: 'folded', dimension: 'path', events: 3 },
      { windowStart: 60_000, reason: 'too_old', dimension: '', events: 1 },
    ]);
    expect([...pending.governance.values()]).toEqual([
      { windowStart: 0, reason: 'folded', dimension: 'path', events: 5 },
      { windowStart: 60_000, reason: 'too_old', dimension: '', events: 1 },
    ]);
    pending.addCounters({ ...emptyCounters(), accepted: 4, duplicates: 1 });
    pending.addCounters({ ...emptyCounters(), accepted: 2 });
    expect(pending.counters).toMatchObject({ accepted: 6, duplicates: 1 });
    pending.addSeen([1, 2], 1000);
    pending.addSeen([3, 4], 900);
    expect(pending.seenHashes).toEqual([1, 2, 3, 4]);
    expect(pending.seenAtMs).toBe(1000);
    pending.addRaw(new Map([[0, []]]));
    expect(pending.rawRows).toBe(0);
    expect(pending.isEmpty).toBe(false);
    pending.clear();
    expect(pending.isEmpty).toBe(true);
    expect(pending.counters).toEqual(emptyCounters());
  });
});
