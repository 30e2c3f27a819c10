import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hll.ts';
import { mergeIntoPane, paneValues, unsealedPart, UPSERT_PANE_SQL, withinBytes } from './pane-store.ts';
import { BatchAccumulator, type GroupDelta } from './panes.ts';

function delta(users: string[], overrides: Partial<GroupDelta> = {}): GroupDelta {
  const batch = new BatchAccumulator({ paneMs: 1000, windowMs: 1000, allowedLatenessMs: 0 }, 0);
  for (const user of users) batch.add({ eventType: 'e', timestampMs: 5000, value: 2, userKey: user, dimsKey: 'k=v', bot: false });
  const group = batch.groups[0] ?? { paneStart: 5000, eventType: 'e', dimsKey: 'k=v', events: 0, valueSum: 0, botEvents: 0, botValueSum: 0, lateEvents: 0, userHashes: [] };
  return { ...group, ...overrides };
}

describe('mergeIntoPane', () => {
  it('starts a row, then grows totals, unsealed changes and the user sketch', () => {
    const first = mergeIntoPane(undefined, delta(['a', 'b']));
    expect(first).toMatchObject({ pane_start: 5000, events: 2, value_sum: 4, u_events: 2, u_value_sum: 4, unsealed: 1 });
    const sealed = { ...first, u_events: 0, u_value_sum: 0, unsealed: 0 };
    const second = mergeIntoPane(sealed, delta(['b', 'c']));
    expect(second).toMatchObject({ events: 4, value_sum: 8, u_events: 2, u_value_sum: 4, unsealed: 1 });
    expect(HyperLogLog.deserialize(new Uint8Array(second.users ?? new ArrayBuffer(0))).count()).toBe(3);
  });

  it('keeps the stored sketch bytes when no user is new, and none for bot-only groups', () => {
    const first = mergeIntoPane(undefined, delta(['a']));
    expect(mergeIntoPane(first, delta(['a'])).users).toBe(first.users);
    expect(mergeIntoPane(undefined, delta([], { events: 0, botEvents: 3, userHashes: [] })).users).toBeNull();
  });

  it('binds one value per column', () => {
    expect(paneValues(mergeIntoPane(undefined, delta(['a'])))).toHaveLength((UPSERT_PANE_SQL.match(/\?/g) ?? []).length);
  });
});

describe('sealing a pane row', () => {
  it('sends the unsealed changes with the whole sketch', () => {
    const row = { ...mergeIntoPane(undefined, delta(['a', 'b'])), events: 10, u_events: 2 };
    const part = unsealedPart(row);
    expect(part).toMatchObject({ paneStart: 5000, events: 2, valueSum: 4 });
    expect(part.users?.count()).toBe(2);
  });

  it('caps a batch by sketch bytes, keeping at least one row', () => {
    const row = mergeIntoPane(undefined, delta(['a', 'b', 'c']));
    const size = row.users?.byteLength ?? 0;
    expect(withinBytes([row, row, row], 2 * size)).toHaveLength(2);
    expect(withinBytes([row, row], 1)).toHaveLength(1);
    expect(withinBytes([], 1)).toEqual([]);
  });
});
