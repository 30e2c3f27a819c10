/**
 * What the query API's statements (core/metrics-sql.ts) answer, validated and
 * laid on a grid of buckets; the union of user sketches; and the live fill of
 * buckets ClickHouse does not have yet. Pure.
 *
 * A grid is dense typed arrays (index i = bucket startMs + i * stepMs), not a
 * map of objects: a breakdown is ~16,000 buckets per answer, and the Worker's
 * CPU per query is what this saves (bench/query.ts --profile).
 */
import { USER_SKETCH_PRECISION } from './panes.ts';
import { estimateFromRegisters, type RegisterPairs } from './sketch-registers.ts';

/** How a statement carries users: merged sketch registers (rollups), exact counts (raw events), or not at all. */
export type UsersForm = 'sketch' | 'exact' | null;

export class BucketGrid {
  readonly events: Float64Array;
  readonly valueSum: Float64Array;
  /** Exact counts (raw) or sketch estimates; null unless the measure is unique_users. */
  readonly users: Float64Array | null;
  /** Each bucket's merged sketch (rollups), so buckets and groups can be merged again. */
  readonly registers: Array<RegisterPairs | null> | null;
  readonly startMs: number;
  readonly stepMs: number;
  readonly length: number;

  // Plain fields, no parameter properties: Node's type stripping (scripts, benches) cannot run those.
  constructor(startMs: number, stepMs: number, length: number, usersForm: UsersForm) {
    this.startMs = startMs;
    this.stepMs = stepMs;
    this.length = length;
    this.events = new Float64Array(length);
    this.valueSum = new Float64Array(length);
    this.users = usersForm === null ? null : new Float64Array(length);
    this.registers = usersForm === 'sketch' ? new Array<RegisterPairs | null>(length).fill(null) : null;
  }

  /** Buckets from the one containing `fromMs` up to `toMs`. */
  static covering(fromMs: number, toMs: number, stepMs: number, usersForm: UsersForm): BucketGrid {
    const startMs = fromMs - (fromMs % stepMs);
    return new BucketGrid(startMs, stepMs, Math.max(0, Math.ceil((toMs - startMs) / stepMs)), usersForm);
  }

  /** Index of the bucket starting at `timeMs`, or -1 when it is not on this grid. */
  indexOf(timeMs: number): number {
    const offset = timeMs - this.startMs;
    if (offset < 0 || offset % this.stepMs !== 0) return -1;
    const index = offset / this.stepMs;
    return index < this.length ? index : -1;
  }

  /** An empty grid of the same buckets and users form. */
  emptyLike(): BucketGrid {
    return new BucketGrid(this.startMs, this.stepMs, this.length, this.registers !== null ? 'sketch' : this.users !== null ? 'exact' : null);
  }
}

export interface GroupRows {
  key: string;
  /** 1 = largest; the `__other__` fold ranks after the top N. */
  rank: number;
  buckets: BucketGrid;
  /** Exact uniques of the group over the range (raw events only). */
  usersTotal: number | null;
}

/** Live per-minute totals (minute start in epoch ms), for buckets not flushed yet. */
export type LiveMinutes = ReadonlyMap<number, { events: number; valueSum: number }>;

/**
 * One series row `{ ts, es, vs, us? }` (parallel arrays, any order) onto
 * `grid`; buckets off the grid are ignored. Throws TypeError on a malformed
 * answer.
 */
export function fillFromRow(grid: BucketGrid, row: unknown, users: UsersForm): BucketGrid {
  const record = asRecord(row);
  const times = numbers(record.ts, 'ts');
  const events = numbers(record.es, 'es');
  const sums = numbers(record.vs, 'vs');
  if (events.length !== times.length || sums.length !== times.length) throw new TypeError('series arrays differ in length');
  const usersColumn = users === null ? null : Array.isArray(record.us) ? record.us : null;
  if (users !== null && (usersColumn === null || usersColumn.length !== times.length)) throw new TypeError('series users array is missing or of the wrong length');
  for (let i = 0; i < times.length; i++) {
    const index = grid.indexOf((times[i] ?? -1) * 1000);
    if (index < 0) continue;
    grid.events[index] = events[i] ?? 0;
    grid.valueSum[index] = sums[i] ?? 0;
    const cell: unknown = usersColumn?.[i];
    if (users === 'exact' && grid.users) grid.users[index] = finite(cell);
    if (users === 'sketch' && grid.users && grid.registers) {
      const pairs = registerPairsOf(cell);
      grid.registers[index] = pairs;
      grid.users[index] = estimate(pairs);
    }
  }
  return grid;
}

/** Rows of a breakdown statement on grids like `like`, in rank order. */
export function groupsFromRows(rows: readonly unknown[], users: UsersForm, like: BucketGrid): GroupRows[] {
  return rows
    .map((row) => {
      const record = asRecord(row);
      if (typeof record.k !== 'string') throw new TypeError('breakdown row without a string key');
      return {
        key: record.k,
        rank: finite(record.rank),
        buckets: fillFromRow(like.emptyLike(), row, users),
        usersTotal: users === 'exact' ? finite(record.users_total) : null,
      };
    })
    .sort((a, b) => a.rank - b.rank);
}

/** The union of grids of the same buckets: counts add, sketches unite (a main series made of its groups). */
export function mergeBuckets(grids: readonly BucketGrid[], like: BucketGrid): BucketGrid {
  const merged = like.emptyLike();
  const unions = merged.registers === null ? null : new Map<number, RegisterUnion>();
  for (const grid of grids) {
    for (let i = 0; i < merged.length; i++) {
      merged.events[i] = (merged.events[i] ?? 0) + (grid.events[i] ?? 0);
      merged.valueSum[i] = (merged.valueSum[i] ?? 0) + (grid.valueSum[i] ?? 0);
      const pairs = grid.registers?.[i];
      if (unions && pairs) {
        const union = unions.get(i) ?? new RegisterUnion();
        union.add(pairs);
        unions.set(i, union);
      }
    }
  }
  if (unions && merged.registers && merged.users) {
    for (const [i, union] of unions) {
      merged.registers[i] = union.pairs();
      merged.users[i] = union.count();
    }
  }
  return merged;
}

/** Uniques of buckets [fromIndex, toIndex) from one merged sketch: never the sum of per-bucket uniques. */
export function usersOver(grid: BucketGrid, fromIndex: number, toIndex: number): number {
  const union = new RegisterUnion();
  for (let i = Math.max(0, fromIndex); i < Math.min(toIndex, grid.length); i++) {
    const pairs = grid.registers?.[i];
    if (pairs) union.add(pairs);
  }
  return union.count();
}

/**
 * Live totals summed into the grid's buckets; each bucket keeps the larger
 * of ClickHouse's value and the live sum. The live layer's minute totals
 * already include what was flushed, so for minutes it holds it is the truer
 * count; a bucket the live layer covers only in part still never goes down.
 */
export function fillFromLive(grid: BucketGrid, live: LiveMinutes): void {
  const sums = new Map<number, { events: number; valueSum: number }>();
  for (const [minute, totals] of live) {
    const index = grid.indexOf(minute - (minute % grid.stepMs));
    if (index < 0) continue;
    const sum = sums.get(index) ?? { events: 0, valueSum: 0 };
    sum.events += totals.events;
    sum.valueSum += totals.valueSum;
    sums.set(index, sum);
  }
  for (const [index, sum] of sums) {
    grid.events[index] = Math.max(grid.events[index] ?? 0, sum.events);
    grid.valueSum[index] = Math.max(grid.valueSum[index] ?? 0, sum.valueSum);
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
  const out = new Array<number>(value.length);
  for (let i = 0; i < value.length; i++) out[i] = finite(value[i]);
  return out;
}

/** ClickHouse may quote numbers (64-bit integers) in JSON; anything else non-finite reads as 0. */
function finite(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(number) ? number : 0;
}
