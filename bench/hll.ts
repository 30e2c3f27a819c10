/**
 * HyperLogLog benchmark: accuracy sweep over cardinalities 1 .. 10^7 and
 * throughput (string adds, pre-hashed adds, merge, serialize), with a plain
 * `Set<string>` add rate on the same inputs as an in-run baseline.
 *
 *   npm run bench -- hll            (full run, a minute or two)
 *   node bench/hll.ts --quick       (smoke run, fewer trials)
 *
 * Prints a table, then as the LAST stdout line one JSON object with all figures.
 */
import os from 'node:os';
import { hash64Into } from '../core/hash64.ts';
import { HyperLogLog } from '../core/hll.ts';

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
}

interface Row {
  n: number;
  trials: number;
  rmse: number;
  bias: number;
  maxAbsInSE: number;
  beyond4: number;
  rmseOk: boolean;
  biasOk: boolean;
  maxOk: boolean;
}

function sweep(plan: Array<{ maxN: number; trials: number }>, strings: boolean, seedBase: number): Row[] {
  const acc: Acc[] = CARDINALITIES.map(() => ({ trials: 0, sum: 0, sq: 0, maxAbs: 0, beyond4: 0 }));
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
        const err = (h.count() - n) / n;
        const a = acc[c];
        if (a === undefined) throw new Error('unreachable');
        a.trials++;
        a.sum += err;
        a.sq += err * err;
        a.maxAbs = Math.max(a.maxAbs, Math.abs(err));
        if (Math.abs(err) > 4 * SE) a.beyond4++;
      }
    }
  }
  return CARDINALITIES.map((n, c) => {
    const a = acc[c] ?? { trials: 0, sum: 0, sq: 0, maxAbs: 0, beyond4: 0 };
    const rmse = a.trials > 0 ? Math.sqrt(a.sq / a.trials) : Number.NaN;
    const bias = a.trials > 0 ? a.sum / a.trials : Number.NaN;
    return {
      n,
      trials: a.trials,
      rmse,
      bias,
      maxAbsInSE: a.maxAbs / SE,
      beyond4: a.beyond4,
      rmseOk: rmse <= BOUND,
      // No bias: the mean error is statistically zero (within 4 standard errors
      // of the mean) or negligible (< 0.02 SE; in the sparse range count() is
      // an integer and rare -1 collisions are all the error there is).
      biasOk: Math.abs(bias) <= Math.max((4 * rmse) / Math.sqrt(a.trials), 0.02 * SE),
      maxOk: a.maxAbs <= 4 * SE,
    };
  });
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
    const verdict = r.rmseOk && r.biasOk && r.maxOk ? 'yes' : `NO(${[r.rmseOk ? '' : 'rmse', r.biasOk ? '' : 'bias', r.maxOk ? '' : 'max'].filter(Boolean).join(',')})`;
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
console.log(`\nall hash-sweep estimates: ${totalEstimates}, beyond 4 SE: ${totalBeyond4}, max |err| = ${maxAbsErrorInSE.toFixed(2)} SE`);
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

const result = {
  bench: 'hll',
  quick,
  precision: P,
  se: round(SE),
  bound: round(BOUND),
  addsPerSec: Math.round(addsPerSec),
  addHashPerSec: Math.round(addHashPerSec),
  hashOnlyPerSec: Math.round(hashOnlyPerSec),
  baselineSetAddsPerSec: Math.round(baselineSetAddsPerSec),
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
