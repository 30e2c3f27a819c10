import { describe, expect, it } from 'vitest';
import { compilePolicy, GovernedKeyCache, MemoryAdmittedValues } from './cardinality.ts';
import { fastDimensionsKey } from './dims-key.ts';
import { HyperLogLog } from './hll.ts';
import { partialsOf } from './partial-columns.ts';
import { PaneCache, paneValues, unsealedPart, UPSERT_PANE_SQL, withinBytes, type PaneRecord, type StoredPanes } from './pane-store.ts';
import { USER_SKETCH_PRECISION, type PaneTiming } from './panes.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const timing: PaneTiming = { paneMs: 10_000, windowMs: MIN, allowedLatenessMs: MIN };

interface TestEvent {
  eventType: string;
  timestampMs: number;
  value: number;
  userKey: string;
  dimsKey: string;
  dimsSlot: number;
  generation: number;
  bot: boolean;
}

function event(overrides: Partial<TestEvent> = {}): TestEvent {
  return { eventType: 'click', timestampMs: T0 + 5_000, value: 1, userKey: 'u1', dimsKey: 'country=DE', dimsSlot: -1, generation: 0, bot: false, ...overrides };
}

/** One batch arriving at `nowMs`, folded into `panes`. */
function batch(panes: PaneCache, events: TestEvent[], nowMs = T0 + 6_000) {
  panes.startBatch(timing, nowMs);
  const late = events.map((e) => panes.add(e.eventType, e.timestampMs, e.value, e.userKey, e.dimsKey, e.dimsSlot, e.generation, e.bot));
  return { late, applied: panes.applyBatch() };
}

function row(panes: PaneCache, paneStart = T0, eventType = 'click', dimsKey = 'country=DE'): PaneRecord {
  const found = panes.find(paneStart, eventType, dimsKey);
  if (found === undefined) throw new Error(`no row ${paneStart} ${eventType} ${dimsKey}`);
  return found;
}

function usersOf(record: PaneRecord): HyperLogLog | null {
  return record.users === null ? null : HyperLogLog.deserialize(new Uint8Array(record.users));
}

function sketchOf(...users: string[]): HyperLogLog {
  const sketch = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
  for (const user of users) sketch.add(user);
  return sketch;
}

function storedRow(overrides: Partial<PaneRecord> = {}): PaneRecord {
  const bytes = sketchOf('a').serialize();
  const users = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(users).set(bytes);
  return {
    pane_start: T0, event_type: 'click', dims_key: 'country=DE', events: 5, value_sum: 10, bot_events: 1, bot_value_sum: 3, late_events: 0,
    users, u_events: 0, u_value_sum: 0, u_bot_events: 0, u_bot_value_sum: 0, u_late_events: 0, unsealed: 0, ...overrides,
  };
}

describe('PaneCache batches', () => {
  it('folds events into one change per (pane, event type, dims)', () => {
    const panes = new PaneCache(1000);
    const { applied } = batch(panes, [
      event({ value: 2 }),
      event({ value: 3, userKey: 'u2', timestampMs: T0 + 9_999 }),
      event({ timestampMs: T0 + 10_000 }),
      event({ dimsKey: 'country=US' }),
      event({ eventType: 'view' }),
    ]);
    expect(applied.liveGroups).toBe(4);
    expect(partialsOf(panes.takeLivePartials())).toHaveLength(4);
    expect(applied.newlyUnsealed).toBe(4);
    expect(applied.addedByPane).toEqual([{ paneStart: T0, events: 4 }, { paneStart: T0 + 10_000, events: 1 }]);
    expect(applied.earliestCloseMs).toBe(T0 + 2 * MIN);
    expect(row(panes)).toMatchObject({ pane_start: T0, events: 2, value_sum: 5, u_events: 2, u_value_sum: 5, bot_events: 0, late_events: 0, unsealed: 1 });
    expect(row(panes, T0 + 10_000).events).toBe(1);
    // Each human event's user joined the row's users, hashed as HyperLogLog#add hashes it.
    expect(usersOf(row(panes))?.equals(sketchOf('u1', 'u2'))).toBe(true);
    expect(panes.dirtyCount).toBe(4);
  });

  it('counts bots apart, keeps them out of the users and out of the live partials', () => {
    const panes = new PaneCache(1000);
    const { applied } = batch(panes, [event({ bot: true, value: 7, userKey: 'bot' }), event(), event({ bot: true, dimsKey: 'country=FR' })]);
    expect(row(panes)).toMatchObject({ events: 1, value_sum: 1, bot_events: 1, bot_value_sum: 7 });
    expect(usersOf(row(panes))?.equals(sketchOf('u1'))).toBe(true);
    expect(row(panes, T0, 'click', 'country=FR')).toMatchObject({ events: 0, bot_events: 1, users: null });
    expect(applied.liveGroups).toBe(1);
    expect(partialsOf(panes.takeLivePartials())).toEqual([{ windowStart: T0, eventType: 'click', dimsKey: 'country=DE', events: 1, valueSum: 1 }]);
  });

  it('keeps event types apart however many a pane has, and in any order', () => {
    const panes = new PaneCache(1000);
    const types = Array.from({ length: 40 }, (_, i) => `type_${i}`);
    const events: TestEvent[] = [];
    for (let round = 0; round < 3; round++) for (const eventType of round === 1 ? [...types].reverse() : types) events.push(event({ eventType: `${eventType}` }));
    expect(batch(panes, events).applied.liveGroups).toBe(40);
    for (const eventType of types) expect(row(panes, T0, eventType).events).toBe(3);
  });

  it('marks and counts late events per row', () => {
    const panes = new PaneCache(1000);
    const { late } = batch(panes, [event(), event({ timestampMs: T0 + 2 * MIN + 1 })], T0 + 3 * MIN);
    expect(late).toEqual([true, false]);
    expect(row(panes)).toMatchObject({ late_events: 1, u_late_events: 1 });
  });

  it('adds each value to its row in event order (a replayed batch gives the same sums), unsealed changes alike', () => {
    const panes = new PaneCache(1000);
    expect(batch(panes, [event({ value: 0.1 })]).applied.newlyUnsealed).toBe(1);
    const second = batch(panes, [event({ value: 0.2, userKey: 'u2' }), event({ value: 0.2 }), event({ value: 0 })]);
    expect(second.applied.newlyUnsealed).toBe(0);
    expect(partialsOf(panes.takeLivePartials())).toEqual([{ windowStart: T0, eventType: 'click', dimsKey: 'country=DE', events: 4, valueSum: 0.1 + 0.2 + 0.2 }]);
    expect(row(panes)).toMatchObject({ events: 4, value_sum: 0.1 + 0.2 + 0.2, u_events: 4, u_value_sum: 0.1 + 0.2 + 0.2 });
  });

  it('builds a changed group\'s live totals once per take however many batches changed it, and keeps those of dropped groups', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event()]);
    batch(panes, [event({ userKey: 'u2', value: 2 }), event({ dimsKey: 'country=US' })]);
    // Bots alone move nothing a viewer sees.
    expect(batch(panes, [event({ bot: true, dimsKey: 'country=FR' })]).applied.liveGroups).toBe(0);
    expect(panes.liveCount).toBe(2);
    expect(partialsOf(panes.takeLivePartials())).toEqual([
      { windowStart: T0, eventType: 'click', dimsKey: 'country=DE', events: 2, valueSum: 3 },
      { windowStart: T0, eventType: 'click', dimsKey: 'country=US', events: 1, valueSum: 1 },
    ]);
    expect(partialsOf(panes.takeLivePartials())).toEqual([]);

    // A group dropped from the cache before the take keeps its totals as they were; one changed after a take is taken again.
    batch(panes, [event({ timestampMs: T0 + 25_000 }), event({ value: 5 })]);
    panes.forEachDirtyRow(() => {});
    panes.markClean();
    panes.dropBefore(T0 + 20_000);
    batch(panes, [event({ timestampMs: T0 + 26_000, userKey: 'u3' })]);
    expect(partialsOf(panes.takeLivePartials())).toEqual([
      { windowStart: T0, eventType: 'click', dimsKey: 'country=DE', events: 3, valueSum: 8 },
      { windowStart: T0 + 20_000, eventType: 'click', dimsKey: 'country=DE', events: 2, valueSum: 2 },
    ]);

    // A row dropped while waiting (its totals kept), then reused by a new group before the take: each taken once.
    panes.forEachDirtyRow(() => {});
    panes.markClean();
    batch(panes, [event({ timestampMs: T0 + 31_000 })]);
    panes.forEachDirtyRow(() => {});
    panes.markClean();
    panes.dropBefore(T0 + 40_000);
    batch(panes, [event({ timestampMs: T0 + 45_000 })]);
    expect(partialsOf(panes.takeLivePartials())).toEqual([
      { windowStart: T0 + 30_000, eventType: 'click', dimsKey: 'country=DE', events: 1, valueSum: 1 },
      { windowStart: T0 + 40_000, eventType: 'click', dimsKey: 'country=DE', events: 1, valueSum: 1 },
    ]);

    batch(panes, [event({ timestampMs: T0 + 46_000 })]);
    panes.clear();
    // Its key is kept, but this cache has no storage and nothing reloaded the row: nothing to send.
    expect(partialsOf(panes.takeLivePartials())).toEqual([]);
    expect(panes.liveCount).toBe(0);
  });

  it('keeps what the live view was waiting for across a clear: dropped groups as dropped, live ones as reloaded (a rolled-back batch left out)', () => {
    const store = new Map<string, PaneRecord>();
    const stored: StoredPanes = {
      hasAnyRow: (paneStart) => [...store.values()].some((record) => record.pane_start === paneStart),
      load: (paneStart, eventType, dimsKey) => store.get(`${paneStart}|${eventType}|${dimsKey}`),
    };
    const checkpoint = (panes: PaneCache): void => {
      for (const record of panes.dirtyRows()) store.set(`${record.pane_start}|${record.event_type}|${record.dims_key}`, record);
      panes.markClean();
    };
    const panes = new PaneCache(1000, stored);
    batch(panes, [event({ timestampMs: T0 + 1_000, dimsKey: 'country=FR' })]);
    checkpoint(panes);
    panes.dropBefore(T0 + 10_000);
    batch(panes, [event({ timestampMs: T0 + 11_000 }), event({ timestampMs: T0 + 12_000, dimsKey: 'country=US', value: 4 })]);
    checkpoint(panes);
    // A batch whose transaction then rolls back: memory is cleared and rebuilt from storage.
    batch(panes, [event({ timestampMs: T0 + 13_000, userKey: 'u9', value: 100 })]);
    panes.clear();
    // The replay of the log reloads one of the groups and counts into it (committed, as the log holds only committed calls).
    batch(panes, [event({ timestampMs: T0 + 14_000, dimsKey: 'country=US', value: 1 })]);
    expect(partialsOf(panes.takeLivePartials())).toEqual([
      { windowStart: T0, eventType: 'click', dimsKey: 'country=FR', events: 1, valueSum: 1 },
      { windowStart: T0 + 10_000, eventType: 'click', dimsKey: 'country=DE', events: 1, valueSum: 1 },
      { windowStart: T0 + 10_000, eventType: 'click', dimsKey: 'country=US', events: 2, valueSum: 5 },
    ]);
    expect(partialsOf(panes.takeLivePartials())).toEqual([]);
  });

  it('grows totals and unsealed changes again after sealing reset them in storage', () => {
    const stored: StoredPanes = { hasAnyRow: () => true, load: () => storedRow({ events: 2, value_sum: 4, u_events: 0, unsealed: 0 }) };
    const panes = new PaneCache(1000, stored);
    const { applied } = batch(panes, [event({ userKey: 'b', value: 2 }), event({ userKey: 'c', value: 2 })]);
    expect(applied.newlyUnsealed).toBe(1);
    const record = row(panes);
    expect(record).toMatchObject({ events: 4, value_sum: 8, u_events: 2, u_value_sum: 4, unsealed: 1 });
    expect(usersOf(record)?.equals(sketchOf('a', 'b', 'c'))).toBe(true);
  });

  it('keeps the users identical to a sketch of the same hashes at every size, inline, pooled or dense, across checkpoints', () => {
    const panes = new PaneCache(1000);
    const users: string[] = [];
    const expected = sketchOf();
    // Inline (<= 4), pooled blocks of 16 .. 1,024 slots (<= 768 entries at p = 12), then a dense sketch.
    for (let n = 1; n <= 900; n++) {
      users.push(`user-${n}`);
      expected.add(`user-${n}`);
      // Each user twice: a repeat changes nothing.
      batch(panes, [event({ userKey: `user-${n}` }), event({ userKey: `user-${n}` })]);
      if (n > 60 && n % 50 !== 0 && Math.abs(n - 768) > 2) continue;
      const record = row(panes);
      expect(usersOf(record)?.equals(expected)).toBe(true);
      expect(new Uint8Array(record.users ?? new ArrayBuffer(0))).toEqual(expected.serialize());
      if (n % 3 === 0) {
        const [written] = panes.dirtyRows();
        expect(new Uint8Array(written?.users ?? new ArrayBuffer(0))).toEqual(expected.serialize());
        panes.markClean();
      }
    }
  });

  it('keeps the stored users bytes when no user is new, and none for bot-only rows', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event()]);
    const [first] = panes.dirtyRows();
    panes.markClean();
    batch(panes, [event()]);
    const [again] = panes.dirtyRows();
    expect(again?.users).toBe(first?.users);
    const bots = new PaneCache(1000);
    batch(bots, [event({ bot: true }), event({ bot: true })]);
    expect(bots.dirtyRows()[0]).toMatchObject({ bot_events: 2, users: null });
  });

  it('refuses an event outside a batch and a batch over an unapplied one', () => {
    const panes = new PaneCache(1000);
    expect(() => panes.add('click', T0, 1, 'u', 'k=v', -1, 0, false)).toThrow(/startBatch/);
    panes.startBatch(timing, T0);
    expect(() => panes.startBatch(timing, T0)).toThrow(/not applied/);
    panes.clear();
    expect(() => panes.startBatch(timing, T0)).not.toThrow();
  });

  it('binds one value per column', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event()]);
    expect(paneValues(row(panes))).toHaveLength((UPSERT_PANE_SQL.match(/\?/g) ?? []).length);
  });

  it('hands a writer the bind values of exactly the rows dirtyRows lists, users serialized once', () => {
    const write = (panes: PaneCache): unknown[][] => {
      const written: unknown[][] = [];
      panes.forEachDirtyRow((values) => written.push([...values]));
      return written;
    };
    const [viaRecords, viaWriter] = [new PaneCache(1000), new PaneCache(1000)];
    for (const panes of [viaRecords, viaWriter]) {
      batch(panes, [event(), event({ userKey: 'u2', bot: true }), event({ dimsKey: 'a=1', value: 2.5, timestampMs: T0 + 15_000 })]);
      batch(panes, Array.from({ length: 30 }, (_, i) => event({ userKey: `u${i}`, value: i / 10 })));
    }
    const written = write(viaWriter);
    expect(written).toEqual(viaRecords.dirtyRows().map(paneValues));
    expect(written).toHaveLength(2);
    // Serialized once: a second pass before markClean hands the same buffers.
    expect(write(viaWriter).map((values) => values[8])).toEqual(written.map((values) => values[8]));
    expect(write(viaWriter)[0]?.[8]).toBe(written[0]?.[8]);
  });
});

describe('PaneCache against a straightforward fold', () => {
  it('gives every row the counts, sums (bit for bit, events in order) and sketch bytes of a straightforward fold, on random traffic', () => {
    // Dims keys with slots of one of three numberings (each one to one, as GovernedKeyCache's), or none.
    const numberings = [['a=1', 'a=2', 'a=1&b=x'], ['a=1&b=x', 'a=1', 'a=2'], ['a=2', 'a=1&b=x', 'a=1']];
    const slotted = (dimsKey: string, generation: number) =>
      generation === 0 ? { dimsKey, dimsSlot: -1, generation } : { dimsKey, dimsSlot: numberings[generation - 1]?.indexOf(dimsKey) ?? -1, generation };
    let seed = 7;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] ?? items[0] as T;
    const panes = new PaneCache(1000);
    type Expected = { events: number; value_sum: number; bot_events: number; bot_value_sum: number; late_events: number; users: HyperLogLog | null };
    const expected = new Map<string, Expected>();
    for (let b = 0; b < 40; b++) {
      const nowMs = T0 + 2 * MIN + b * 1000;
      const events = Array.from({ length: 1 + Math.floor(random() * 60) }, () =>
        event({
          eventType: pick(['click', 'view', 'buy']),
          timestampMs: T0 + Math.floor(random() * 3 * MIN),
          value: pick([0, 1, 0.1, 2.35, 1e-3]),
          userKey: `u${Math.floor(random() * 30)}`,
          ...slotted(pick(['a=1', 'a=2', 'a=1&b=x']), Math.floor(random() * 4)),
          bot: random() < 0.1,
        }),
      );
      // The reference: each event added to its group's totals in event order.
      for (const e of events) {
        const paneStart = e.timestampMs - (e.timestampMs % timing.paneMs);
        const key = `${paneStart}|${e.eventType}|${e.dimsKey}`;
        const total = expected.get(key) ?? { events: 0, value_sum: 0, bot_events: 0, bot_value_sum: 0, late_events: 0, users: null };
        expected.set(key, total);
        if (isLateIn(e.timestampMs, nowMs)) total.late_events++;
        if (e.bot) {
          total.bot_events++;
          total.bot_value_sum += e.value;
        } else {
          total.events++;
          total.value_sum += e.value;
          total.users ??= new HyperLogLog({ precision: USER_SKETCH_PRECISION });
          total.users.add(e.userKey);
        }
      }
      batch(panes, events, nowMs);
      if (b % 7 === 3) {
        panes.dirtyRows();
        panes.markClean();
      }
    }
    for (const [key, want] of expected) {
      const [paneStart = '0', eventType = '', dimsKey = ''] = key.split('|');
      const got = row(panes, Number(paneStart), eventType, dimsKey);
      expect({ ...got, users: null }).toMatchObject({ ...want, users: null, u_events: want.events, u_value_sum: want.value_sum, unsealed: 1 });
      expect(got.users === null ? null : new Uint8Array(got.users)).toEqual(want.users?.serialize() ?? null);
    }
    expect(panes.size).toBe(expected.size);
  });
});

/** Late as the cache judges it: the event's window had closed at arrival. */
function isLateIn(timestampMs: number, nowMs: number): boolean {
  const windowStart = timestampMs - (timestampMs % timing.windowMs);
  const closed = nowMs - timing.allowedLatenessMs - ((nowMs - timing.allowedLatenessMs) % timing.windowMs);
  return windowStart + timing.windowMs <= closed;
}

describe('PaneCache lookups', () => {
  it('finds a row by its slot, and a slot of another generation or none never returns the wrong row or a second one', () => {
    const panes = new PaneCache(1000);
    batch(panes, [
      event({ dimsKey: 'a=1', dimsSlot: 0, generation: 1 }),
      event({ dimsKey: 'a=1', dimsSlot: 0, generation: 1 }),
      event({ dimsKey: 'b=2', dimsSlot: 1, generation: 1 }),
      // Another generation (another window's numbering, a cleared cache): slot 0 is b=2 there, and a=1 is 7.
      event({ dimsKey: 'b=2', dimsSlot: 0, generation: 2 }),
      event({ dimsKey: 'a=1', dimsSlot: 7, generation: 2 }),
      // No slot: the same rows, by dims key.
      event({ dimsKey: 'a=1', dimsSlot: -1, generation: 0 }),
      // A row started without a slot is found under a slot later.
      event({ dimsKey: 'c=3', dimsSlot: -1, generation: 0 }),
      event({ dimsKey: 'c=3', dimsSlot: 2, generation: 2 }),
      // Back to the first generation: its slots are checked again.
      event({ dimsKey: 'a=1', dimsSlot: 0, generation: 1 }),
      event({ dimsKey: 'b=2', dimsSlot: 1, generation: 1 }),
      // Slots are per pane start and event type.
      event({ dimsKey: 'a=1', dimsSlot: 0, generation: 1, eventType: 'view' }),
      event({ dimsKey: 'a=1', dimsSlot: 0, generation: 1, timestampMs: T0 + 15_000 }),
    ]);
    expect(row(panes, T0, 'click', 'a=1').events).toBe(5);
    expect(row(panes, T0, 'click', 'b=2').events).toBe(3);
    expect(row(panes, T0, 'click', 'c=3').events).toBe(2);
    expect(row(panes, T0, 'view', 'a=1').events).toBe(1);
    expect(row(panes, T0 + 10_000, 'click', 'a=1').events).toBe(1);
    expect(panes.size).toBe(5);
  });

  it('loads a stored row once, asks about a pane start once, and reads nothing for a start storage does not have', () => {
    const asked: number[] = [];
    let loads = 0;
    const stored: StoredPanes = {
      hasAnyRow: (paneStart) => {
        asked.push(paneStart);
        return paneStart === T0;
      },
      load: (paneStart, eventType, dimsKey) => {
        loads++;
        return paneStart === T0 && eventType === 'click' && dimsKey === 'country=DE' ? storedRow() : undefined;
      },
    };
    const panes = new PaneCache(1000, stored);
    batch(panes, [event({ userKey: 'a', value: 2 }), event({ userKey: 'b', value: 2 })]);
    batch(panes, [event({ userKey: 'c', value: 2 })]);
    expect(loads).toBe(1);
    const record = row(panes);
    expect(record).toMatchObject({ events: 8, value_sum: 16, bot_events: 1, u_events: 3, unsealed: 1 });
    // The stored users held 'a': two new ones.
    expect(usersOf(record)?.equals(sketchOf('a', 'b', 'c'))).toBe(true);
    batch(panes, [event({ timestampMs: T0 + 15_000 })]);
    expect(loads).toBe(1);
    expect(asked).toEqual([T0, T0 + 10_000]);
  });

  it('keeps dirty rows until they are clean, then trims the oldest pane starts and reuses their rows', () => {
    const panes = new PaneCache(1);
    batch(panes, [event(), event({ timestampMs: T0 + 15_000 })]);
    expect(panes.dirtyCount).toBe(2);
    panes.trim();
    expect(panes.size).toBe(2);
    expect(() => panes.dropBefore(T0 + 20_000)).toThrow(/dirty/);
    panes.dirtyRows();
    panes.markClean();
    expect(panes.dirtyCount).toBe(0);
    panes.trim();
    expect(panes.size).toBe(1);
    expect(panes.find(T0, 'click', 'country=DE')).toBeUndefined();
    // The newer start stayed: its row is found again, not started anew.
    batch(panes, [event({ timestampMs: T0 + 15_000, userKey: 'u2' })]);
    expect(row(panes, T0 + 10_000)).toMatchObject({ events: 2 });
    // A row of a dropped start comes back empty, whatever slot it reuses.
    batch(panes, [event({ userKey: 'u3' })]);
    expect(row(panes)).toMatchObject({ events: 1, u_events: 1 });
    expect(usersOf(row(panes))?.equals(sketchOf('u3'))).toBe(true);
  });

  it('gives a row that reuses a dropped row\'s pooled users only its own users', () => {
    const panes = new PaneCache(1);
    const many = Array.from({ length: 40 }, (_, i) => `old-${i}`);
    batch(panes, many.map((userKey) => event({ userKey })));
    panes.dirtyRows();
    panes.markClean();
    // A newer pane start: the old one (and its pooled users) is trimmed, its row and blocks reused.
    const fresh = Array.from({ length: 20 }, (_, i) => `new-${i}`);
    batch(panes, fresh.map((userKey) => event({ userKey, timestampMs: T0 + 15_000 })));
    panes.dirtyRows();
    panes.markClean();
    const held = panes.sketchBytes();
    panes.trim();
    batch(panes, fresh.slice(0, 13).map((userKey) => event({ userKey, dimsKey: 'country=FR', timestampMs: T0 + 15_000 })));
    expect(usersOf(row(panes, T0 + 10_000))?.equals(sketchOf(...fresh))).toBe(true);
    expect(usersOf(row(panes, T0 + 10_000, 'click', 'country=FR'))?.equals(sketchOf(...fresh.slice(0, 13)))).toBe(true);
    // Freed blocks were reused: the pool did not grow.
    expect(panes.sketchBytes()).toBe(held);
  });

  it('gives rows pooled after a clear only their own users (the pool starts over zeroed)', () => {
    const panes = new PaneCache(1000);
    batch(panes, Array.from({ length: 10 }, (_, i) => event({ userKey: `old-${i}` })));
    panes.clear();
    const groups = Array.from({ length: 3 }, (_, g) => Array.from({ length: 6 }, (_, i) => `g${g}-${i}`));
    batch(panes, groups.flatMap((users, g) => users.map((userKey) => event({ userKey, dimsKey: `g=${g}` }))));
    groups.forEach((users, g) => expect(usersOf(row(panes, T0, 'click', `g=${g}`))?.equals(sketchOf(...users))).toBe(true));
  });

  it('forgets everything on clear, and finds no stale row through the previous lookup', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event()]);
    panes.clear();
    expect(panes.size).toBe(0);
    expect(panes.dirtyCount).toBe(0);
    batch(panes, [event({ userKey: 'u2' })]);
    expect(row(panes)).toMatchObject({ events: 1 });
    expect(usersOf(row(panes))?.equals(sketchOf('u2'))).toBe(true);
  });
});

describe('sealing a pane row', () => {
  it('sends the unsealed changes with the whole sketch', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event({ userKey: 'a', value: 2 }), event({ userKey: 'b', value: 2 })]);
    const record = { ...row(panes), events: 10, u_events: 2 };
    const part = unsealedPart(record);
    expect(part).toMatchObject({ paneStart: T0, events: 2, valueSum: 4 });
    expect(part.users?.count()).toBe(2);
  });

  it('caps a batch by sketch bytes, keeping at least one row', () => {
    const panes = new PaneCache(1000);
    batch(panes, [event({ userKey: 'a' }), event({ userKey: 'b' }), event({ userKey: 'c' })]);
    const record = row(panes);
    const size = record.users?.byteLength ?? 0;
    expect(withinBytes([record, record, record], 2 * size)).toHaveLength(2);
    expect(withinBytes([record, record], 1)).toHaveLength(1);
    expect(withinBytes([], 1)).toEqual([]);
  });
});

describe('PaneCache with the real key cache, storage, trims and clears', () => {
  const COLUMNS = ['pane_start', 'event_type', 'dims_key', 'events', 'value_sum', 'bot_events', 'bot_value_sum', 'late_events', 'users',
    'u_events', 'u_value_sum', 'u_bot_events', 'u_bot_value_sum', 'u_late_events', 'unsealed'] as const;

  /** A written row back from its bind values (forEachDirtyRow's paneValues order), checked. */
  function recordOf(values: readonly unknown[]): PaneRecord {
    const text = (i: number): string => {
      const value = values[i];
      if (typeof value !== 'string') throw new Error(`${COLUMNS[i]}: not a string`);
      return value;
    };
    const num = (i: number): number => {
      const value = values[i];
      if (typeof value !== 'number') throw new Error(`${COLUMNS[i]}: not a number`);
      return value;
    };
    const users = values[8];
    if (users !== null && !(users instanceof ArrayBuffer)) throw new Error('users: not an ArrayBuffer');
    return {
      pane_start: num(0), event_type: text(1), dims_key: text(2), events: num(3), value_sum: num(4), bot_events: num(5), bot_value_sum: num(6),
      late_events: num(7), users, u_events: num(9), u_value_sum: num(10), u_bot_events: num(11), u_bot_value_sum: num(12), u_late_events: num(13),
      unsealed: num(14),
    };
  }

  /**
   * Random traffic through GovernedKeyCache (dimensions in any order, some folded) into a PaneCache over a
   * map as storage, checkpointed, trimmed, with both caches cleared now and then (a shard's reload): every
   * group ends with the counts and the exact sketch of a straightforward fold.
   */
  function run(seed: number, options: { clears: boolean; maxGroups: number }): void {
    let state = seed;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const store = new Map<string, PaneRecord>();
    const stored: StoredPanes = {
      hasAnyRow: (paneStart) => [...store.values()].some((record) => record.pane_start === paneStart),
      load: (paneStart, eventType, dimsKey) => {
        const record = store.get(`${paneStart}|${eventType}|${dimsKey}`);
        return record === undefined ? undefined : { ...record };
      },
    };
    const checkpoint = (): void => {
      panes.forEachDirtyRow((values) => {
        const record = recordOf(values);
        store.set(`${record.pane_start}|${record.event_type}|${record.dims_key}`, record);
      });
      panes.markClean();
    };
    const panes = new PaneCache(options.maxGroups, stored);
    const keys = new GovernedKeyCache(fastDimensionsKey);
    const admitted = new MemoryAdmittedValues();
    const policy = compilePolicy({ declared: null, maxValuesPerWindow: 4 }, 100);
    const expected = new Map<string, { events: number; botEvents: number; users: HyperLogLog }>();
    for (let b = 0; b < 200; b++) {
      panes.startBatch(timing, T0 + 6_000 + b * 1_000);
      for (let i = Math.floor(random() * 150); i >= 0; i--) {
        const timestampMs = T0 + Math.floor(random() * 3 * MIN) + b * 200;
        const eventType = random() < 0.7 ? 'click' : 'view';
        const dimensions: Record<string, string> = {};
        for (const name of ['a', 'b', 'c'].sort(() => random() - 0.5).slice(0, Math.floor(random() * 4))) dimensions[name] = `v${Math.floor(random() * 6)}`;
        keys.govern(timestampMs - (timestampMs % MIN), dimensions, policy, admitted);
        const bot = random() < 0.1;
        const userKey = `u${Math.floor(random() * (random() < 0.5 ? 3000 : 20))}`;
        panes.add(eventType, timestampMs, 1, userKey, keys.lastDimsKey, keys.lastSlot, keys.lastGeneration, bot);
        const key = `${timestampMs - (timestampMs % timing.paneMs)}|${eventType}|${keys.lastDimsKey}`;
        const group = expected.get(key) ?? { events: 0, botEvents: 0, users: new HyperLogLog({ precision: USER_SKETCH_PRECISION }) };
        expected.set(key, group);
        if (bot) group.botEvents++;
        else {
          group.events++;
          group.users.add(userKey);
        }
      }
      panes.applyBatch();
      if (random() < 0.3) {
        checkpoint();
        panes.trim();
        if (options.clears && random() < 0.2) panes.clear();
        if (options.clears && random() < 0.3) keys.clear();
      }
    }
    checkpoint();
    for (const [key, want] of expected) {
      const record = store.get(key);
      expect(record, key).toMatchObject({ events: want.events, bot_events: want.botEvents });
      const users = record?.users ?? null;
      expect(users === null ? null : HyperLogLog.deserialize(new Uint8Array(users)).equals(want.users), key).toBe(want.events > 0 ? true : null);
    }
    expect(store.size).toBe(expected.size);
  }

  for (const seed of [1, 2, 3]) {
    it(`counts every group as a straightforward fold does, caches cleared and trimmed (seed ${seed})`, () => run(seed, { clears: true, maxGroups: 50 }));
    it(`counts every group as a straightforward fold does, nothing dropped (seed ${seed})`, () => run(seed, { clears: false, maxGroups: 100_000 }));
  }
});
