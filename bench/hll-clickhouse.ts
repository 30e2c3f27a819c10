/**
 * core/hll.ts against ClickHouse on the same data in the same run: for each
 * cardinality and trial, the items `t<trial>-<i>` are added to our sketch (at
 * the rollup precision p = 12 and the default p = 14) and counted by a chdb
 * dev server with uniqExact (truth), uniqCombined (default, 2^17 cells) and
 * uniqCombined(12) (same memory class as our p = 12), generated server-side
 * from numbers() so both sides see identical strings. Also checks the rollup
 * path: a sketch split over many rows, merged with maxMap in SQL, estimates
 * exactly like the sketch itself.
 *
 *   npm run bench -- hll-clickhouse        (a minute or two)
 *   node bench/hll-clickhouse.ts --quick
 *
 * The LAST stdout line is one JSON object with every figure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client-web';
import { HyperLogLog } from '../core/hll.ts';
import { USER_SKETCH_PRECISION } from '../core/panes.ts';
import { estimateFromRegisters, registerPairs } from '../core/sketch-registers.ts';
import { spawnClickHouseDevServer } from '../scripts/lib/spawn-clickhouse.ts';

const quick = process.argv.includes('--quick');
const PLAN: Array<{ n: number; trials: number }> = quick
  ? [
      { n: 100, trials: 10 },
      { n: 10_000, trials: 5 },
      { n: 1_000_000, trials: 1 },
    ]
  : [
      { n: 100, trials: 40 },
      { n: 1_000, trials: 40 },
      { n: 10_000, trials: 20 },
      { n: 100_000, trials: 10 },
      { n: 1_000_000, trials: 4 },
    ];

interface Errors {
  sq: number;
  count: number;
  maxAbs: number;
}

function record(errors: Map<string, Errors>, name: string, estimate: number, truth: number): void {
  const rel = (estimate - truth) / truth;
  const e = errors.get(name) ?? { sq: 0, count: 0, maxAbs: 0 };
  e.sq += rel * rel;
  e.count++;
  e.maxAbs = Math.max(e.maxAbs, Math.abs(rel));
  errors.set(name, e);
}

function rms(errors: Map<string, Errors>, name: string): number {
  const e = errors.get(name);
  return e === undefined || e.count === 0 ? Number.NaN : Math.sqrt(e.sq / e.count);
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-bench-hll-'));
  const server = await spawnClickHouseDevServer({ dataDir, label: 'bench-clickhouse' });
  const client = createClient({ url: server.url, request_timeout: 120_000 });
  const errors = new Map<string, Errors>();
  const rows: string[] = [];
  const byN: Record<string, Record<string, number>> = {};
  let addNs = 0;
  let adds = 0;
  let maxMapExact = true;
  try {
    for (const { n, trials } of PLAN) {
      const perN = new Map<string, Errors>();
      for (let trial = 0; trial < trials; trial++) {
        const prefix = `t${n}x${trial}-`;
        const p12 = new HyperLogLog({ precision: USER_SKETCH_PRECISION });
        const p14 = new HyperLogLog({ precision: 14 });
        const started = process.hrtime.bigint();
        for (let i = 0; i < n; i++) p12.add(prefix + i);
        addNs += Number(process.hrtime.bigint() - started);
        adds += n;
        for (let i = 0; i < n; i++) p14.add(prefix + i);
        const rs = await client.query({
          query: `SELECT uniqExact(x) AS exact, uniqCombined(x) AS combined, uniqCombined(12)(x) AS combined12
                  FROM (SELECT concat({prefix:String}, toString(number)) AS x FROM numbers({n:UInt64}))`,
          query_params: { prefix, n },
          format: 'JSONEachRow',
        });
        const [row] = await rs.json<{ exact: string | number; combined: string | number; combined12: string | number }>();
        const exact = Number(row?.exact);
        if (exact !== n) throw new Error(`uniqExact says ${exact} for ${n} distinct items: not the same data`);
        for (const [name, estimate] of [
          ['edgepulse_p12', p12.estimate()],
          ['edgepulse_p14', p14.estimate()],
          ['clickhouse_uniqCombined', Number(row?.combined)],
          ['clickhouse_uniqCombined12', Number(row?.combined12)],
        ] as const) {
          record(errors, name, estimate, n);
          record(perN, name, estimate, n);
        }
        // The rollup path: registers split over rows, merged by maxMap in ClickHouse, estimated here.
        if (trial === 0) {
          const { idx, val } = registerPairs(p12);
          const split = idx.map((index, i) => `(${i % 7}, [${index}], [${val[i] ?? 0}])`);
          const merged = await client.query({
            query: `SELECT maxMap(tuple(i, v)) AS users FROM (SELECT c.2 AS i, c.3 AS v FROM (SELECT arrayJoin([${split.join(',') || '(0, [0], [0])'}]) AS c))`,
            format: 'JSONEachRow',
          });
          const [m] = await merged.json<{ users: [number[], number[]] }>();
          const viaSql = estimateFromRegisters(USER_SKETCH_PRECISION, (m?.users[0] ?? []).map(Number), (m?.users[1] ?? []).map(Number));
          const direct = estimateFromRegisters(USER_SKETCH_PRECISION, idx, val);
          if (split.length > 0 && viaSql !== direct) maxMapExact = false;
        }
      }
      byN[String(n)] = Object.fromEntries(['edgepulse_p12', 'edgepulse_p14', 'clickhouse_uniqCombined', 'clickhouse_uniqCombined12'].map((name) => [name, rms(perN, name)]));
      rows.push(
        `${String(n).padStart(9)}  ${String(trials).padStart(6)}  ` +
          ['edgepulse_p12', 'edgepulse_p14', 'clickhouse_uniqCombined', 'clickhouse_uniqCombined12'].map((name) => `${(100 * rms(perN, name)).toFixed(2).padStart(8)}%`).join('  '),
      );
    }
  } finally {
    await client.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log('        n  trials   ours p12   ours p14  uniqComb  uniqComb(12)   (RMS relative error)');
  for (const row of rows) console.log(row);
  const addsPerS = adds / (addNs / 1e9);
  console.log(`core/hll add (p=${USER_SKETCH_PRECISION}, strings): ${(addsPerS / 1e6).toFixed(2)} M adds/s; maxMap round trip exact: ${maxMapExact}`);
  console.log(JSON.stringify({
    bench: 'hll-clickhouse',
    adds_per_s: Math.round(addsPerS),
    precision: USER_SKETCH_PRECISION,
    rms_rel_error: rms(errors, 'edgepulse_p12'),
    rms_rel_error_p14: rms(errors, 'edgepulse_p14'),
    max_abs_rel_error: errors.get('edgepulse_p12')?.maxAbs ?? null,
    standard_error_p12: 1.04 / Math.sqrt(2 ** USER_SKETCH_PRECISION),
    clickhouse_uniqCombined_rms_rel_error: rms(errors, 'clickhouse_uniqCombined'),
    clickhouse_uniqCombined12_rms_rel_error: rms(errors, 'clickhouse_uniqCombined12'),
    clickhouse_uniqExact_rms_rel_error: 0,
    maxmap_roundtrip_exact: maxMapExact,
    rms_rel_error_by_n: byN,
    quick,
  }));
}

await main();
