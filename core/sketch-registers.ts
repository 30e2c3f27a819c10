/**
 * User sketches as ClickHouse stores them: the non-zero registers of an HLL
 * as two parallel arrays, `hll_idx Array(UInt16)` and `hll_val Array(UInt8)`.
 * Rows merge exactly in SQL with `maxMap((hll_idx, hll_val))` (register-wise
 * max = union of the user sets), over any range and any filter; the Worker
 * turns the merged pairs back into a sketch with `sketchFromRegisters` and
 * estimates with core/hll.ts (one estimator everywhere).
 *
 * Storage: a row holds at most min(users, m) pairs, 3 bytes each before
 * compression: a group with 10 users costs ~30 bytes, a saturated one 12 KiB
 * at p = 12. Small sets are no longer exact after this round trip (the
 * sparse 25-bit form folds to p-bit registers): measured at p = 12, sets of
 * <= 100 users usually come back within +-3 (e.g. 21 for 20; the chaos
 * test once saw 51 for 55), larger ones within the
 * sketch's 1.6% standard error. The shard's own sliding windows use the
 * sparse sketches and stay exact for small sets.
 */
import { crc32, FORMAT_VERSION, HyperLogLog, MIN_PRECISION } from './hll.ts';

/** UInt16 register indexes allow p <= 16. */
export const MAX_STORED_PRECISION = 16;

export interface RegisterPairs {
  idx: number[];
  val: number[];
}

export function registerPairs(sketch: HyperLogLog): RegisterPairs {
  const registers = sketch.registers();
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < registers.length; i++) {
    const rank = registers[i] ?? 0;
    if (rank !== 0) {
      idx.push(i);
      val.push(rank);
    }
  }
  return { idx, val };
}

/** Rebuilds a dense sketch from register pairs; repeated indexes keep the max. Throws RangeError on bad input. */
export function sketchFromRegisters(precision: number, idx: readonly number[], val: readonly number[]): HyperLogLog {
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_STORED_PRECISION) {
    throw new RangeError(`stored sketch precision must be an integer in ${MIN_PRECISION}..${MAX_STORED_PRECISION}, got ${precision}`);
  }
  if (idx.length !== val.length) throw new RangeError(`hll_idx has ${idx.length} entries but hll_val has ${val.length}`);
  const m = 1 << precision;
  const maxRank = 65 - precision;
  const registers = new Uint8Array(m);
  for (let i = 0; i < idx.length; i++) {
    const index = idx[i] ?? -1;
    const rank = val[i] ?? -1;
    if (!Number.isInteger(index) || index < 0 || index >= m) throw new RangeError(`register index ${index} out of range for p=${precision}`);
    if (!Number.isInteger(rank) || rank < 0 || rank > maxRank) throw new RangeError(`register value ${rank} out of range for p=${precision}`);
    if (rank > (registers[index] ?? 0)) registers[index] = rank;
  }
  // The dense layout of hll.ts's versioned format: header, 6-bit registers, CRC-32.
  const bytes = new Uint8Array(3 + (3 * m) / 4 + 4);
  bytes[0] = FORMAT_VERSION;
  bytes[1] = precision;
  bytes[2] = 2;
  let pos = 3;
  for (let i = 0; i < m; i += 4) {
    const bits = (registers[i] ?? 0) | ((registers[i + 1] ?? 0) << 6) | ((registers[i + 2] ?? 0) << 12) | ((registers[i + 3] ?? 0) << 18);
    bytes[pos] = bits & 0xff;
    bytes[pos + 1] = (bits >>> 8) & 0xff;
    bytes[pos + 2] = bits >>> 16;
    pos += 3;
  }
  const crc = crc32(bytes.subarray(0, pos));
  bytes[pos] = crc & 0xff;
  bytes[pos + 1] = (crc >>> 8) & 0xff;
  bytes[pos + 2] = (crc >>> 16) & 0xff;
  bytes[pos + 3] = crc >>> 24;
  return HyperLogLog.deserialize(bytes);
}

/** Distinct users estimated from merged register pairs (e.g. a `maxMap` result). */
export function estimateFromRegisters(precision: number, idx: readonly number[], val: readonly number[]): number {
  return sketchFromRegisters(precision, idx, val).count();
}
