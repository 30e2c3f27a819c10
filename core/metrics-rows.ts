/**
 * What the query API's statements (core/metrics-sql.ts) answer, validated and
 * turned into per-bucket values; the union of user sketches; and the live
 * fill of buckets ClickHouse does not have yet. Pure.
 */
import { USER_SKETCH_PRECISION } from './panes.ts';
import { estimateFromRegisters, type RegisterPairs } from './sketch-registers.ts';

/** How a statement carries users: merged sketch registers (rollups), exact counts (raw events), or not at all. */
export type UsersForm = 'sketch' | 'exact' | null;

export interface BucketValues {
  events: number;
  valueSum: number;
  /** Exact count (raw) or the estimate of `registers`; null unless the measure is unique_users. */
  users: number | null;
  /** The bucket's merged sketch (rollups), so buckets and groups can be merged again. */
  registers: RegisterPairs | null;
}

/** Bucket start (epoch ms) -> values. */
export type Buckets = Map<number, BucketValues>;

export interface GroupRows {
  key: string;
  /** 1 = largest; the `__other__` fold ranks after the top N. */
  rank: number;
  buckets: Buckets;
  /** Exact uniques of the group over the range (raw events only). */
  usersTotal: number | null;
}

/** Live per-minute totals (minute start in epoch ms), for buckets not flushed yet. */
export type LiveMinutes = ReadonlyMap<number, { events: number; valueSum: number }>;

/** One series row `{ ts, es, vs, us? }` as buckets. Throws TypeError on a malformed answer. */
export function bucketsFromRow(row: unknown, users: UsersForm): Buckets {
  const record = asRecord(row);
  const times = numbers(record.ts, 'ts');
  const events = numbers(record.es, 'es');
  const sums = numbers(record.vs, 'vs');
  if (events.length !== times.length || sums.length !== times.length) throw new TypeError('series arrays differ in length');
  const usersColumn = users === null ? null : Array.isArray(record.us) ? record.us : null;
  if (users !== null && (usersColumn === null || usersColumn.length !== times.length)) throw new TypeError('series users array is missing or of the wrong length');
  const buckets: Buckets = new Map();
  times.forEach((time, i) => {
    const value: BucketValues = { events: events[i] ?? 0, valueSum: sums[i] ?? 0, users: null, registers: null };
    const cell: unknown = usersColumn?.[i];
    if (users === 'exact') value.users = finite(cell);
    if (users === 'sketch') {
      value.registers = registerPairsOf(cell);
      value.users = estimate(value.registers);
    }
    buckets.set(time * 1000, value);
  });
  return buckets;
}

/** Rows of a breakdown statement, in rank order. */
export function groupsFromRows(rows: readonly unknown[], users: UsersForm): GroupRows[] {
  return rows
    .map((row) => {
      const record = asRecord(row);
      if (typeof record.k !== 'string') throw new TypeError('breakdown row without a string key');
      return {
        key: record.k,
        rank: finite(record.rank),
        buckets: bucketsFromRow(row, users),
        usersTotal: users === 'exact' ? finite(record.users_total) : null,
      };
    })
    .sort((a, b) => a.rank - b.rank);
}

/** The union of several series of the same buckets: counts add, sketches merge (for a main series made of its groups). */
export function mergeBuckets(series: readonly Buckets[]): Buckets {
  const merged: Buckets = new Map();
  const unions = new Map<number, RegisterUnion>();
  for (const buckets of series) {
    for (const [time, value] of buckets) {
      const into = merged.get(time);
      if (into === undefined) merged.set(time, { events: value.events, valueSum: value.valueSum, users: value.users, registers: value.registers });
      else {
        into.events += value.events;
        into.valueSum += value.valueSum;
      }
      if (value.registers !== null) {
        const union = unions.get(time) ?? new RegisterUnion();
        union.add(value.registers);
        unions.set(time, union);
      }
    }
  }
  for (const [time, union] of unions) {
    const value = merged.get(time);
    if (value === undefined) continue;
    value.registers = union.pairs();
    value.users = union.count();
  }
  return merged;
}

/** Uniques of the buckets in `times` from one merged sketch: never the sum of per-bucket uniques. */
export function usersOver(buckets: Buckets, times: readonly number[]): number {
  const union = new RegisterUnion();
  for (const time of times) {
    const registers = buckets.get(time)?.registers;
    if (registers) union.add(registers);
  }
  return union.count();
}

/**
 * Live totals summed into the query's buckets; each bucket keeps the larger
 * of ClickHouse's value and the live sum. The live layer's minute totals
 * already include what was flushed, so for minutes it holds it is the truer
 * count; a bucket the live layer covers only in part still never goes down.
 */
export function fillFromLive(buckets: Buckets, live: LiveMinutes, stepMs: number): void {
  const sums = new Map<number, { events: number; valueSum: number }>();
  for (const [minute, totals] of live) {
    const start = minute - (minute % stepMs);
    const sum = sums.get(start) ?? { events: 0, valueSum: 0 };
    sum.events += totals.events;
    sum.valueSum += totals.valueSum;
    sums.set(start, sum);
  }
  for (const [start, sum] of sums) {
    const stored = buckets.get(start);
    if (stored === undefined) buckets.set(start, { events: sum.events, valueSum: sum.valueSum, users: null, registers: null });
    else {
      stored.events = Math.max(stored.events, sum.events);
      stored.valueSum = Math.max(stored.valueSum, sum.valueSum);
    }
  }
}

/** Register-wise max of sketches (the union of their user sets). */
export class RegisterUnion {
  private readonly registers = new Uint8Array(1 << USER_SKETCH_PRECISION);
  private empty = true;

  add(pairs: RegisterPairs): void {
    const { idx, val } = pairs;
    for (let i = 0; i < idx.length; i++) {
      const index = idx[i] ?? -1;
      const rank = val[i] ?? 0;
      if (index >= 0 && index < this.registers.length && rank > (this.registers[index] ?? 0)) this.registers[index] = rank;
    }
    if (idx.length > 0) this.empty = false;
  }

  pairs(): RegisterPairs {
    const idx: number[] = [];
    const val: number[] = [];
    this.registers.forEach((rank, index) => {
      if (rank !== 0) {
        idx.push(index);
        val.push(rank);
      }
    });
    return { idx, val };
  }

  count(): number {
    if (this.empty) return 0;
    const { idx, val } = this.pairs();
    return estimateFromRegisters(USER_SKETCH_PRECISION, idx, val);
  }
}

function estimate(pairs: RegisterPairs): number {
  return pairs.idx.length === 0 ? 0 : estimateFromRegisters(USER_SKETCH_PRECISION, pairs.idx, pairs.val);
}

/** A maxMap result `[[idx...], [val...]]` (ClickHouse's JSON for a tuple of two arrays). */
function registerPairsOf(cell: unknown): RegisterPairs {
  if (!Array.isArray(cell) || cell.length !== 2) throw new TypeError('a user sketch is not a pair of arrays');
  const idx = numbers(cell[0], 'sketch indexes');
  const val = numbers(cell[1], 'sketch values');
  if (idx.length !== val.length) throw new TypeError('sketch arrays differ in length');
  return { idx, val };
}

function asRecord(row: unknown): Record<string, unknown> {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new TypeError('a ClickHouse row is not an object');
  return Object.fromEntries(Object.entries(row));
}

function numbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value)) throw new TypeError(`${what} is not an array`);
  return value.map(finite);
}

/** ClickHouse may quote numbers (64-bit integers) in JSON; anything else non-finite reads as 0. */
function finite(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(number) ? number : 0;
}
