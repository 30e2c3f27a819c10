/**
 * HyperLogLog benchmark, three parts in one run:
 *
 * 1. Accuracy sweep over cardinalities 1 .. 10^7 (p = 14, many independent
 *    streams): RMSE <= 1.1 x 1.04/sqrt(m) at each cardinality, mean error
 *    statistically zero, no estimate beyond 4 SE, sets <= 100 exact or
 *    within 1. These are the checks (`accuracyOk`).
 * 2. Against ClickHouse on the same data: for each cardinality 10 .. 10^7 and
 *    trial, the strings `h<n>x<trial>-<i>` are generated server-side from
 *    numbers() by a chdb dev server, which counts them with uniqExact (the
 *    truth, checked to equal n), uniqCombined (default, 2^17 cells) and
 *    uniqCombined(12); our sketches (p = 14, and p = 12 as the rollups use)
 *    add the same strings. Error per cardinality, never pooled across them.
 *    Also checks the rollup path: a sketch's registers split over rows and
 *    merged with maxMap in SQL estimate exactly like the sketch.
 * 3. Throughput (string adds, pre-hashed adds, merge, serialize), with a
 *    plain `Set<string>` add rate on the same inputs as an in-run baseline.
 *
 *   npm run bench -- hll            (full run, a few minutes)
 *   node bench/hll.ts --quick       (smoke run, fewer trials)
 *
 * Prints tables, then as the LAST stdout line one JSON object with all figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client-web';
import { hash64Into } from '../core/hash64.ts';
import { HyperLogLog } from '../core/hll.ts';
import { USER_SKETCH_PRECISION } from '../core/panes.ts';
import { estimateFromRegisters, registerPairs } from '../core/sketch-registers.ts';
import { spawnClickHouseDevServer } from '../scripts/lib/spawn-clickhouse.ts';

const quick = process.argv.includes('--quick');
const P = 14;
const M = 2 ** P;
const SE = 1.04 / Math.sqrt(M);
const BOUND = 1.1 * SE;
const CARDINALITIES = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7];
/** Independent streams; each records its error at every cardinality it passes. */
const HASH_PLAN: Array<{ maxN: number; trials: number }> = quick
  ? [
      { maxN: 1e5, trials: 100 },
      { maxN: 1e6, trials: 20 },
      { maxN: 1e7, trials: 4 },
    ]
  : [
      { maxN: 1e5, trials: 1000 },
      { maxN: 1e6, trials: 200 },
      { maxN: 1e7, trials: 100 },
    ];
const STRING_PLAN: Array<{ maxN: number; trials: number }> = quick
  ? [{ maxN: 1e6, trials: 3 }]
  : [
      { maxN: 1e6, trials: 40 },
      { maxN: 1e7, trials: 10 },
    ];
/** Cardinalities and trials compared with ClickHouse on identical strings (each trial is a fresh set). */
const CLICKHOUSE_PLAN: Array<{ n: number; trials: number }> = quick
  ? [
      { n: 10, trials: 50 },
      { n: 100, trials: 50 },
      { n: 1e3, trials: 20 },
      { n: 1e4, trials: 10 },
      { n: 1e5, trials: 4 },
      { n: 1e6, trials: 2 },
      { n: 1e7, trials: 1 },
    ]
  : [
      { n: 10, trials: 200 },
      { n: 100, trials: 200 },
      { n: 1e3, trials: 100 },
      { n: 1e4, trials: 50 },
      { n: 1e5, trials: 20 },
      { n: 1e6, trials: 8 },
      { n: 1e7, trials: 3 },
    ];
/** Rows ClickHouse generates per query: small cardinalities share one GROUP BY query, large ones get one each. */
const MAX_ROWS_PER_QUERY = 2_000_000;
const SPEED_N = 1_000_000;
const REPS = quick ? 3 : 7;

/** xoshiro128** seeded through splitmix32. */
function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const x = Math.imul(b, 5);
    const r = Math.imul((x << 7) | (x >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return r >>> 0;
  };
}

interface Acc {
  trials: number;
  sum: number;
  sq: number;
  maxAbs: number;
  beyond4: number;
  /** Largest |count() - n| (the <= 100 check is on counts, not relative errors). */
  maxCountDiff: number;
}

interface Row {
  n: number;
  trials: number;
  rmse: number;
  bias: number;
  maxAbsInSE: number;
  beyond4: number;
  maxCountDiff: number;
  rmseOk: boolean;
  biasOk: boolean;
  maxOk: boolean;
  /** n > 100, or every estimate exact or within 1. */
  smallOk: boolean;
}

function sweep(plan: Array<{ maxN: number; trials: number }>, strings: boolean, seedBase: number): Row[] {
  const acc: Acc[] = CARDINALITIES.map(() => ({ trials: 0, sum: 0, sq: 0, maxAbs: 0, beyond4: 0, maxCountDiff: 0 }));
  let stream = 0;
  for (const { maxN, trials } of plan) {
    for (let t = 0; t < trials; t++, stream++) {
      const rng = makeRng(seedBase + stream);
      const h = new HyperLogLog(P);
      let n = 0;
      for (let c = 0; c < CARDINALITIES.length; c++) {
        const target = CARDINALITIES[c] ?? 0;
        if (target > maxN) break;
        if (strings) {
          const prefix = `s${seedBase}:${stream}:`;
          for (; n < target; n++) h.add(prefix + n);
        } else {
          for (; n < target; n++) h.addHash(rng(), rng());
        }
        const estimate = h.count();
        const err = (estimate - n) / n;
        const a = acc[c];
        if (a === undefined) throw new Error('unreachable');
        a.maxCountDiff = Math.max(a.maxCountDiff, Math.abs(estimate - n));
        a.trials++;
        a.sum += err;
        a.sq += err * err;
        a.maxAbs = Math.max(a.maxAbs, Math.abs(err));
        if (Math.abs(err) > 4 * SE) a.beyond4++;
      }
    }
  }
  return CARDINALITIES.map((n, c) => {
    const a = acc[c] ?? { trials: 0, sum: 0, sq: 0, maxAbs: 0, beyond4: 0, maxCountDiff: 0 };
    const rmse = a.trials > 0 ? Math.sqrt(a.sq / a.trials) : Number.NaN;
    const bias = a.trials > 0 ? a.sum / a.trials : Number.NaN;
    return {
      n,
      trials: a.trials,
      rmse,
      bias,
      maxAbsInSE: a.maxAbs / SE,
      beyond4: a.beyond4,
      maxCountDiff: a.maxCountDiff,
      rmseOk: rmse <= BOUND,
      // No bias: the mean error is statistically zero (within 4 standard errors
      // of the mean) or negligible (< 0.02 SE; in the sparse range count() is
      // an integer and rare -1 collisions are all the error there is).
      biasOk: Math.abs(bias) <= Math.max((4 * rmse) / Math.sqrt(a.trials), 0.02 * SE),
      maxOk: a.maxAbs <= 4 * SE,
      smallOk: n > 100 || a.maxCountDiff <= 1,
    };
  });
}

// ------------------------------------------------------ against ClickHouse

const ESTIMATORS = ['edgepulse_p14', 'edgepulse_p12', 'clickhouse_uniqCombined', 'clickhouse_uniqCombined12'] as const;
type Estimator = (typeof ESTIMATORS)[number];

interface SameDataRow {
  n: number;
  trials: number;
  rmse: Record<Estimator, number>;
  maxAbs: Record<Estimator, number>;
  /** Largest |count() - n| of our p = 14 sketch. */
  maxCountDiff: number;
}

function perEstimator(value: (e: Estimator) => number): Record<Estimator, number> {
  return {
    edgepulse_p14: value('edgepulse_p14'),
    edgepulse_p12: value('edgepulse_p12'),
    clickhouse_uniqCombined: value('clickhouse_uniqCombined'),
    clickhouse_uniqCombined12: value('clickhouse_uniqCombined12'),
  };
}

/** A field of a row ClickHouse returned, or undefined. */
function fieldOf(row: unknown, key: string): unknown {
  if (typeof row !== 'object' || row === null || !Object.hasOwn(row, key)) return undefined;
  const value: unknown = Reflect.get(row, key);
  return value;
}

/** A count ClickHouse returned (UInt64 comes as a JSON string); throws on anything else. */
function countField(row: unknown, key: string): number {
  const value = fieldOf(row, key);
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`ClickHouse row has no integer ${key}: ${JSON.stringify(row)}`);
  return n;
}

/** Errors of every estimator on identical sets, per cardinality, plus the maxMap rollup round trip. */
async function againstClickHouse(): Promise<{ rows: SameDataRow[]; maxMapExact: boolean; seconds: number }> {
  const started = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-bench-hll-'));
  const server = await spawnClickHouseDevServer({ dataDir, label: 'bench-clickhouse' });
  const client = createClient({ url: server.url, request_timeout: 600_000 });
  const rows: SameDataRow[] = [];
  let maxMapExact = true;
  const out2 = new Uint32Array(2);
  try {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS bench' });
    await client.command({ query: 'CREATE TABLE IF NOT EXISTS bench.sketch_parts (sketch String, part UInt8, idx Array(UInt16), val Array(UInt8)) ENGINE = MergeTree ORDER BY (sketch, part)' });
    for (const { n, trials } of CLICKHOUSE_PLAN) {
      const sq = perEstimator(() => 0);
      const maxAbs = perEstimator(() => 0);
      let maxCountDiff = 0;
      const prefix = `h${n}x`;
      const perQuery = Math.max(1, Math.floor(MAX_ROWS_PER_QUERY / n));
      for (let first = 0; first < trials; first += perQuery) {
        const count = Math.min(perQuery, trials - first);
        const rs = await client.query({
          query: `SELECT t, uniqExact(x) AS exact, uniqCombined(x) AS combined, uniqCombined(12)(x) AS combined12
                  FROM (SELECT {first:UInt64} + number % {count:UInt64} AS t,
                               concat({prefix:String}, toString(t), '-', toString(intDiv(number, {count:UInt64}))) AS x
                        FROM numbers({rows:UInt64}))
                  GROUP BY t ORDER BY t`,
          query_params: { first, count, prefix, rows: n * count },
          format: 'JSONEachRow',
        });
        const answer: unknown[] = await rs.json();
        if (answer.length !== count) throw new Error(`ClickHouse answered ${answer.length} trials, asked ${count}`);
        for (const row of answer) {
          const trial = countField(row, 't');
          const exact = countField(row, 'exact');
          if (exact !== n) throw new Error(`uniqExact says ${exact} for trial ${trial} of ${n} distinct strings: not the same data`);
          const p14 = new HyperLogLog(P);
          const p12 = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
          const itemPrefix = `${prefix}${trial}-`;
          for (let i = 0; i < n; i++) {
            hash64Into(itemPrefix + i, out2);
            p14.addHash(out2[0] ?? 0, out2[1] ?? 0);
            p12.addHash(out2[0] ?? 0, out2[1] ?? 0);
          }
          const estimates: Record<Estimator, number> = {
            edgepulse_p14: p14.count(),
            edgepulse_p12: p12.count(),
            clickhouse_uniqCombined: countField(row, 'combined'),
            clickhouse_uniqCombined12: countField(row, 'combined12'),
          };
          for (const e of ESTIMATORS) {
            const rel = (estimates[e] - n) / n;
            sq[e] += rel * rel;
            maxAbs[e] = Math.max(maxAbs[e], Math.abs(rel));
          }
          maxCountDiff = Math.max(maxCountDiff, Math.abs(estimates.edgepulse_p14 - n));
          // The rollup path, once per cardinality: registers split over 7 rows, merged by maxMap in SQL.
          if (trial === 0 && !(await maxMapRoundTrip(client, `n${n}`, p12))) maxMapExact = false;
        }
      }
      rows.push({
        n,
        trials,
        rmse: perEstimator((e) => Math.sqrt(sq[e] / trials)),
        maxAbs,
        maxCountDiff,
      });
    }
  } finally {
    await client.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return { rows, maxMapExact, seconds: (performance.now() - started) / 1000 };
}

/** Stores the sketch's registers as 7 partial rows, merges them with maxMap in ClickHouse, and compares the estimates. */
async function maxMapRoundTrip(client: ReturnType<typeof createClient>, sketch: string, hll: HyperLogLog): Promise<boolean> {
  const { idx, val } = registerPairs(hll);
  const parts: Array<{ sketch: string; part: number; idx: number[]; val: number[] }> = [];
  for (let part = 0; part < 7; part++) parts.push({ sketch, part, idx: [], val: [] });
  idx.forEach((index, i) => {
    const row = parts[i % 7];
    row?.idx.push(index);
    row?.val.push(val[i] ?? 0);
  });
  await client.insert({ table: 'bench.sketch_parts', values: parts, format: 'JSONEachRow' });
  const rs = await client.query({
    query: 'SELECT maxMap(idx, val) AS users FROM bench.sketch_parts WHERE sketch = {sketch:String}',
    query_params: { sketch },
    format: 'JSONEachRow',
  });
  const [merged]: unknown[] = await rs.json();
  const users = fieldOf(merged, 'users');
  if (!Array.isArray(users) || !Array.isArray(users[0]) || !Array.isArray(users[1])) throw new Error(`maxMap answered ${JSON.stringify(merged)}`);
  const viaSql = estimateFromRegisters(USER_SKETCH_PRECISION, users[0].map(Number), users[1].map(Number));
  return viaSql === estimateFromRegisters(USER_SKETCH_PRECISION, idx, val);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Median rate (operations per second) of `reps` runs of `fn`, which performs `ops` operations. */
function rate(ops: number, reps: number, fn: () => void): number {
  fn(); // warm-up (JIT, string flattening, cached string hashes for Set)
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    rates.push((ops * 1000) / ms);
  }
  return median(rates);
}

const pct = (x: number): string => `${(x * 100).toFixed(3)}%`;
const fmtRate = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
const round = (x: number, digits = 6): number => Number(x.toPrecision(digits));

const started = performance.now();

// ---------------------------------------------------------------- throughput
const strings: string[] = new Array<string>(SPEED_N);
for (let i = 0; i < SPEED_N; i++) {
  strings[i] = `visitor-${i.toString(36).padStart(6, '0')}-${(Math.imul(i, 0x9e3779b1) >>> 0).toString(16)}`;
}
const his = new Uint32Array(SPEED_N);
const los = new Uint32Array(SPEED_N);
const out = new Uint32Array(2);
for (let i = 0; i < SPEED_N; i++) {
  hash64Into(strings[i] ?? '', out);
  his[i] = out[0] ?? 0;
  los[i] = out[1] ?? 0;
}
const avgLen = strings.reduce((s, x) => s + x.length, 0) / SPEED_N;

let sink = 0;
const addsPerSec = rate(SPEED_N, REPS, () => {
  const h = new HyperLogLog(P);
  for (let i = 0; i < SPEED_N; i++) h.add(strings[i] ?? '');
  sink += h.count();
});
const addHashPerSec = rate(SPEED_N, REPS, () => {
  const h = new HyperLogLog(P);
  for (let i = 0; i < SPEED_N; i++) h.addHash(his[i] ?? 0, los[i] ?? 0);
  sink += h.count();
});
const hashOnlyPerSec = rate(SPEED_N, REPS, () => {
  for (let i = 0; i < SPEED_N; i++) hash64Into(strings[i] ?? '', out);
  sink += out[0] ?? 0;
});
const baselineSetAddsPerSec = rate(SPEED_N, REPS, () => {
  const s = new Set<string>();
  for (let i = 0; i < SPEED_N; i++) s.add(strings[i] ?? '');
  sink += s.size;
});

// Merge / serialize / count on typical sketches.
const denseA = new HyperLogLog(P);
const denseB = new HyperLogLog(P);
for (let i = 0; i < SPEED_N; i++) (i & 1 ? denseA : denseB).addHash(his[i] ?? 0, los[i] ?? 0);
const sparseA = new HyperLogLog(P);
const sparseB = new HyperLogLog(P);
for (let i = 0; i < 2000; i++) {
  sparseA.addHash(his[i] ?? 0, los[i] ?? 0);
  sparseB.addHash(his[i + 1000] ?? 0, los[i + 1000] ?? 0);
}
const OPS = quick ? 200 : 2000;
const mergeDensePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) denseA.merge(denseB);
});
const cloneDensePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += denseA.clone().precision;
});
const mergeSparsePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += sparseA.clone().merge(sparseB).precision;
});
const mergeSparseIntoDensePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) denseA.merge(sparseB);
});
const denseBytes = denseA.serialize();
const sparseBytes = sparseA.serialize();
const serializeDensePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += denseA.serialize().length;
});
const deserializeDensePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += HyperLogLog.deserialize(denseBytes).precision;
});
const serializeSparsePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += sparseA.serialize().length;
});
const deserializeSparsePerSec = rate(OPS, REPS, () => {
  for (let i = 0; i < OPS; i++) sink += HyperLogLog.deserialize(sparseBytes).precision;
});
const COUNTS = 100_000;
const countDensePerSec = rate(COUNTS, REPS, () => {
  for (let i = 0; i < COUNTS; i++) sink += denseA.count();
});

// ------------------------------------------------------------------ accuracy
const hashRows = sweep(HASH_PLAN, false, 1);
const stringRows = sweep(STRING_PLAN, true, 1_000_000);
const sameData = await againstClickHouse();
/** Worst per-cardinality RMSE of an estimator on the ClickHouse data (never pooled over cardinalities). */
const worstSameData = (e: Estimator): number => Math.max(...sameData.rows.map((r) => r.rmse[e]));
const smallSetsWithin1 = hashRows.every((r) => r.smallOk) && stringRows.every((r) => r.smallOk) && sameData.rows.every((r) => r.n > 100 || r.maxCountDiff <= 1);

const maxAbsErrorInSE = Math.max(...hashRows.map((r) => r.maxAbsInSE));
const totalEstimates = hashRows.reduce((s, r) => s + r.trials, 0);
const totalBeyond4 = hashRows.reduce((s, r) => s + r.beyond4, 0);
const durationSec = (performance.now() - started) / 1000;

// --------------------------------------------------------------------- print
const cpus = os.cpus();
const machine = { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };

/** Below this many trials the sample RMSE is too noisy (sd > 13%) for a verdict. */
const FEW_TRIALS = 30;

function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log('         n  trials      RMSE   RMSE/SE     bias   bias/SE  max|err|/SE  >4SE  ok');
  for (const r of rows) {
    if (r.trials === 0) continue;
    const verdict = r.rmseOk && r.biasOk && r.maxOk && r.smallOk ? 'yes' : `NO(${[r.rmseOk ? '' : 'rmse', r.biasOk ? '' : 'bias', r.maxOk ? '' : 'max', r.smallOk ? '' : 'small'].filter(Boolean).join(',')})`;
    const ok = r.trials < FEW_TRIALS ? `${verdict}*` : verdict;
    console.log(
      `${String(r.n).padStart(10)}  ${String(r.trials).padStart(6)}  ${pct(r.rmse).padStart(8)}  ${(r.rmse / SE).toFixed(3).padStart(8)}  ${pct(r.bias).padStart(8)}  ${(r.bias / SE).toFixed(3).padStart(8)}  ${r.maxAbsInSE.toFixed(2).padStart(11)}  ${String(r.beyond4).padStart(4)}  ${ok}`,
    );
  }
}

console.log(`HyperLogLog p=${P} (m=${M}), SE = 1.04/sqrt(m) = ${pct(SE)}, RMSE bound 1.1*SE = ${pct(BOUND)}${quick ? '  [--quick]' : ''}`);
console.log(`machine: ${machine.cpus} x ${machine.model}, node ${machine.node}`);
printRows('Accuracy, random 64-bit hashes (independent streams, error of count() at each cardinality):', hashRows);
printRows('Accuracy, distinct strings through add() (MurmurHash3 end to end):', stringRows);
console.log(`* fewer than ${FEW_TRIALS} trials: indicative only (sample RMSE sd ~ 1/sqrt(2 trials))`);
console.log(`\nall hash-sweep estimates: ${totalEstimates}, beyond 4 SE: ${totalBeyond4}, max |err| = ${maxAbsErrorInSE.toFixed(2)} SE; sets <= 100 exact or within 1: ${smallSetsWithin1}`);
console.log(`\nAgainst ClickHouse on the same strings (truth: uniqExact, equal to n in every trial; RMS relative error per cardinality; ${sameData.seconds.toFixed(0)} s):`);
console.log('         n  trials   ours p14  uniqCombined   ours p12  uniqCombined(12)');
for (const r of sameData.rows) {
  console.log(
    `${String(r.n).padStart(10)}  ${String(r.trials).padStart(6)}  ${pct(r.rmse.edgepulse_p14).padStart(9)}  ${pct(r.rmse.clickhouse_uniqCombined).padStart(12)}  ${pct(r.rmse.edgepulse_p12).padStart(9)}  ${pct(r.rmse.clickhouse_uniqCombined12).padStart(16)}`,
  );
}
console.log(`  (uniqCombined uses 2^17 cells, ours p=14 2^14: a smaller sketch, so a larger error is expected; uniqCombined(12) is the like-for-like p=12 comparison)`);
console.log(`  registers merged with maxMap in SQL estimate exactly like the sketch: ${sameData.maxMapExact}`);
console.log(`\nThroughput (${SPEED_N.toLocaleString('en-US')} distinct strings, avg ${avgLen.toFixed(1)} chars; median of ${REPS}):`);
const speedRows: Array<[string, number]> = [
  ['add(string)', addsPerSec],
  ['addHash(hi, lo) prehashed', addHashPerSec],
  ['hash64 only', hashOnlyPerSec],
  ['baseline Set<string>.add', baselineSetAddsPerSec],
  ['merge dense+dense', mergeDensePerSec],
  ['clone dense', cloneDensePerSec],
  ['clone+merge sparse+sparse (2000 entries)', mergeSparsePerSec],
  ['merge sparse into dense', mergeSparseIntoDensePerSec],
  [`serialize dense (${denseBytes.length} B)`, serializeDensePerSec],
  ['deserialize dense', deserializeDensePerSec],
  [`serialize sparse 2000 (${sparseBytes.length} B)`, serializeSparsePerSec],
  ['deserialize sparse 2000', deserializeSparsePerSec],
  ['count() dense', countDensePerSec],
];
for (const [name, r] of speedRows) console.log(`  ${name.padEnd(42)} ${fmtRate(r).padStart(12)}`);
console.log(`  ratio add(string) / Set.add = ${(addsPerSec / baselineSetAddsPerSec).toFixed(2)}x; addHash / Set.add = ${(addHashPerSec / baselineSetAddsPerSec).toFixed(2)}x`);
console.log(`  (Set.add runs on strings whose V8 hash is already cached by the warm-up; memory: sketch ${denseA.sizeInBytes()} B vs a Set of 1e6 strings)`);
console.log(`duration ${durationSec.toFixed(1)} s`);

const byN = (rows: Row[], f: (r: Row) => number): Record<string, number> =>
  Object.fromEntries(rows.filter((r) => r.trials > 0).map((r) => [String(r.n), round(f(r))]));

const sameDataBy = (e: Estimator): Record<string, number> => Object.fromEntries(sameData.rows.map((r) => [String(r.n), round(r.rmse[e])]));

const result = {
  bench: 'hll',
  quick,
  precision: P,
  se: round(SE),
  bound: round(BOUND),
  adds_per_s: Math.round(addsPerSec),
  add_hash_per_s: Math.round(addHashPerSec),
  hash_only_per_s: Math.round(hashOnlyPerSec),
  baseline_set_adds_per_s: Math.round(baselineSetAddsPerSec),
  // Same strings, same run, error against uniqExact: worst per-cardinality RMSE over n = 10 .. 10^7 (trials per n in same_data_trials).
  rms_rel_error: round(worstSameData('edgepulse_p14')),
  clickhouse_uniqCombined_rms_rel_error: round(worstSameData('clickhouse_uniqCombined')),
  rms_rel_error_p12: round(worstSameData('edgepulse_p12')),
  clickhouse_uniqCombined12_rms_rel_error: round(worstSameData('clickhouse_uniqCombined12')),
  clickhouse_uniqExact_rms_rel_error: 0,
  standard_error_p12: round(1.04 / Math.sqrt(2 ** USER_SKETCH_PRECISION)),
  same_data_rms_rel_error_by_n: {
    edgepulse_p14: sameDataBy('edgepulse_p14'),
    clickhouse_uniqCombined: sameDataBy('clickhouse_uniqCombined'),
    edgepulse_p12: sameDataBy('edgepulse_p12'),
    clickhouse_uniqCombined12: sameDataBy('clickhouse_uniqCombined12'),
  },
  same_data_trials: Object.fromEntries(sameData.rows.map((r) => [String(r.n), r.trials])),
  maxmap_roundtrip_exact: sameData.maxMapExact,
  small_sets_within_1: smallSetsWithin1,
  ratio: round(addsPerSec / baselineSetAddsPerSec, 4),
  ratioPrehashed: round(addHashPerSec / baselineSetAddsPerSec, 4),
  rmse: byN(hashRows, (r) => r.rmse),
  rmseInSE: byN(hashRows, (r) => r.rmse / SE),
  bias: byN(hashRows, (r) => r.bias),
  maxAbsErrorInSEByN: byN(hashRows, (r) => r.maxAbsInSE),
  trials: byN(hashRows, (r) => r.trials),
  maxAbsErrorInSE: round(maxAbsErrorInSE, 4),
  estimatesBeyond4SE: totalBeyond4,
  estimates: totalEstimates,
  accuracyOk: {
    rmse: hashRows.every((r) => r.rmseOk),
    bias: hashRows.every((r) => r.biasOk),
    max: hashRows.every((r) => r.maxOk),
    small: smallSetsWithin1,
  },
  strings: {
    rmse: byN(stringRows, (r) => r.rmse),
    bias: byN(stringRows, (r) => r.bias),
    maxAbsErrorInSEByN: byN(stringRows, (r) => r.maxAbsInSE),
    trials: byN(stringRows, (r) => r.trials),
  },
  mergePerSec: {
    denseDense: Math.round(mergeDensePerSec),
    sparseSparseWithClone: Math.round(mergeSparsePerSec),
    sparseIntoDense: Math.round(mergeSparseIntoDensePerSec),
    cloneDense: Math.round(cloneDensePerSec),
  },
  serializePerSec: {
    dense: Math.round(serializeDensePerSec),
    denseDeserialize: Math.round(deserializeDensePerSec),
    sparse2000: Math.round(serializeSparsePerSec),
    sparse2000Deserialize: Math.round(deserializeSparsePerSec),
  },
  bytes: { denseSerialized: denseBytes.length, sparse2000Serialized: sparseBytes.length, denseInMemory: denseA.sizeInBytes() },
  countPerSec: Math.round(countDensePerSec),
  inputs: { speedN: SPEED_N, avgStringLength: round(avgLen, 4), reps: REPS },
  machine,
  date: new Date().toISOString(),
  durationSec: round(durationSec, 4),
};
console.log(JSON.stringify(result));
