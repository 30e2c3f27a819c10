// The pure parts of the benchmark report (scripts/bench-report.ts): no benches are run here.
import { describe, expect, it } from 'vitest';
import {
  evaluateFigure,
  formatNumber,
  getPath,
  KNOWN_BENCHES,
  machineLabel,
  mergeRuns,
  parseBenchFile,
  parseInvocation,
  parseResultLine,
  renderMarkdown,
  reportRows,
  resolveField,
  resolveTarget,
  resolveValue,
  type BenchFile,
  type FigureSpec,
  type RunRecord,
} from './bench-report.ts';

const machine = { cpus: 2, model: 'AMD EPYC', mem_gib: 23.5, node: 'v24.21.0', platform: 'linux-x64', label: machineLabel(2), loadavg_1m: 1.5 };

function run(bench: string, result: Record<string, unknown> | null, status: 'ok' | 'failed' = 'ok', commit = '7096cca0000000000000000000000000000000000', finishedAt = '2026-11-23T09:01:30.000Z'): RunRecord {
  return {
    bench,
    status,
    error: status === 'ok' ? null : 'exit code 1',
    exit_code: status === 'ok' ? 0 : 1,
    signal: null,
    args: [],
    started_at: '2026-11-23T09:00:00.000Z',
    finished_at: finishedAt,
    duration_s: 90,
    machine,
    git: { commit, dirty_files: 2 },
    result,
  };
}

function file(...runs: RunRecord[]): BenchFile {
  return { schema: 1, generator: 'scripts/bench.ts', updated_at: '2026-11-23T09:02:00.000Z', runs: Object.fromEntries(runs.map((r) => [r.bench, r])) };
}

describe('parseResultLine', () => {
  it('takes the last non-empty stdout line as the result', () => {
    const out = 'a table\n  more\n{"bench":"hll","adds_per_s":7}\n\n';
    expect(parseResultLine(out)).toEqual({ ok: true, value: { bench: 'hll', adds_per_s: 7 } });
  });
  it('refuses output whose last line is not a JSON object', () => {
    expect(parseResultLine('')).toMatchObject({ ok: false });
    expect(parseResultLine('{"bench":"x"}\ndone')).toMatchObject({ ok: false, error: expect.stringContaining('not JSON') });
    expect(parseResultLine('[1,2]')).toMatchObject({ ok: false, error: expect.stringContaining('not an object') });
    expect(parseResultLine('null')).toMatchObject({ ok: false });
  });
});

describe('parseInvocation', () => {
  it('no names: every bench', () => {
    expect(parseInvocation([])).toEqual({ names: [], benchArgs: [], reportOnly: false, save: true });
  });
  it('several names, with and without .ts', () => {
    expect(parseInvocation(['ingest', 'hll.ts']).names).toEqual(['ingest', 'hll']);
  });
  it('arguments after -- go to the benches', () => {
    expect(parseInvocation(['ingest', '--', '--quick', '--shards', '8'])).toEqual({ names: ['ingest'], benchArgs: ['--quick', '--shards', '8'], reportOnly: false, save: true });
  });
  it('the first unknown option and everything after it go to the benches (old behaviour)', () => {
    expect(parseInvocation(['ingest', '--concurrency', '8,32'])).toEqual({ names: ['ingest'], benchArgs: ['--concurrency', '8,32'], reportOnly: false, save: true });
  });
  it('runner flags', () => {
    expect(parseInvocation(['--report-only']).reportOnly).toBe(true);
    expect(parseInvocation(['rpc', '--no-save', '--', '--quick'])).toEqual({ names: ['rpc'], benchArgs: ['--quick'], reportOnly: false, save: false });
  });
});

describe('field resolution', () => {
  const result = { a: { b: 3 }, rmse: { '1': 0, '1000': 0.0071, '10000000': 0.0083 }, nul: null, flag: true, nan: 'x' };
  it('follows dotted paths, including numeric keys', () => {
    expect(getPath(result, 'a.b')).toBe(3);
    expect(getPath(result, 'rmse.10000000')).toBe(0.0083);
    expect(getPath(result, 'a.c')).toBeUndefined();
    expect(getPath(result, 'a.b.c')).toBeUndefined();
  });
  it('uses the first present alternative; null counts as absent', () => {
    expect(resolveField(result, ['nul', 'a.b'])).toEqual({ field: 'a.b', value: 3 });
    expect(resolveField(result, ['missing'])).toBeNull();
  });
  it('max/min over an object of numbers', () => {
    expect(resolveValue(result, { maxOf: 'rmse' })).toBe(0.0083);
    expect(resolveValue(result, { minOf: 'rmse' })).toBe(0);
    expect(resolveValue(result, { maxOf: 'a.b' })).toBeNull();
  });
  it('non-numeric values are not figures', () => {
    expect(resolveValue(result, 'nan')).toBeNull();
    expect(resolveValue(result, 'flag')).toBe(true);
  });
  it('derives the HLL bound from the reported precision only', () => {
    expect(resolveTarget({ precision: 14 }, { hllBoundFromPrecision: 'precision' })).toBeCloseTo((1.1 * 1.04) / 128, 12);
    expect(resolveTarget({}, { hllBoundFromPrecision: 'precision' })).toBeNull();
    expect(resolveTarget({ se: 0.01625 }, { field: 'se', times: 1.1 })).toBeCloseTo(0.017875, 12);
  });
});

describe('evaluateFigure', () => {
  const ingestRatio: FigureSpec = {
    figure: 'events/s',
    value: 'events_per_s',
    baseline: 'baseline_events_per_s',
    ratio: 'ratio',
    target: { on: 'ratio', op: '>=', value: 0.5, source: 'test' },
  };
  it('passes and fails against the target on the ratio', () => {
    expect(evaluateFigure(ingestRatio, { events_per_s: 60, baseline_events_per_s: 100, ratio: 0.6 }).verdict).toBe('pass');
    expect(evaluateFigure(ingestRatio, { events_per_s: 3029, baseline_events_per_s: 133260, ratio: 0.02273 })).toEqual({
      figure: 'events/s',
      value: 3029,
      baseline: 133260,
      ratio: 0.02273,
      target: 0.5,
      verdict: 'FAIL',
    });
  });
  it('a missing field is n/a, never a number', () => {
    expect(evaluateFigure(ingestRatio, { events_per_s: 60 })).toEqual({ figure: 'events/s', value: 60, baseline: null, ratio: null, target: 0.5, verdict: 'n/a' });
    expect(evaluateFigure(ingestRatio, null)).toMatchObject({ value: null, verdict: 'n/a' });
  });
  it('computes value/baseline and baseline/value ratios only from reported numbers', () => {
    const spec: FigureSpec = { figure: 'p99', value: 'p99', baseline: 'b', ratio: 'baseline/value' };
    expect(evaluateFigure(spec, { p99: 40, b: 10 }).ratio).toBe(0.25);
    expect(evaluateFigure(spec, { p99: 0, b: 10 }).ratio).toBeNull();
    expect(evaluateFigure(spec, { p99: 40 }).ratio).toBeNull();
    expect(evaluateFigure(spec, { p99: 40 }).verdict).toBe('—');
  });
  it('<= targets and boolean targets', () => {
    const ns: FigureSpec = { figure: 'ns', value: 'ns_per_event', target: { on: 'value', op: '<=', value: 500, source: 't' } };
    expect(evaluateFigure(ns, { ns_per_event: 500 }).verdict).toBe('pass');
    expect(evaluateFigure(ns, { ns_per_event: 501 }).verdict).toBe('FAIL');
    const ok: FigureSpec = { figure: 'ok', value: 'ok', format: 'bool', target: { on: 'value', op: '==', value: true, source: 't' } };
    expect(evaluateFigure(ok, { ok: true }).verdict).toBe('pass');
    expect(evaluateFigure(ok, { ok: false }).verdict).toBe('FAIL');
  });
  it('the hll map entry reads both the issue field names and the ones hll.ts prints', () => {
    const hll = KNOWN_BENCHES.find((b) => b.bench === 'hll');
    const adds = hll?.figures[0];
    if (adds === undefined) throw new Error('no hll figures');
    expect(evaluateFigure(adds, { addsPerSec: 6e6, baselineSetAddsPerSec: 1.2e7, ratio: 0.5 })).toMatchObject({ value: 6e6, baseline: 1.2e7, verdict: 'pass' });
    expect(evaluateFigure(adds, { adds_per_s: 4e6 })).toMatchObject({ value: 4e6, verdict: 'FAIL' });
  });
});

describe('the declarative map', () => {
  it('covers the benches the issues ask for, each figure with a value field', () => {
    const names = KNOWN_BENCHES.map((b) => b.bench);
    for (const name of ['ingest', 'aggregate', 'hll', 'fanout', 'query', 'rpc', 'validation']) expect(names).toContain(name);
    expect(new Set(names).size).toBe(names.length);
    for (const b of KNOWN_BENCHES) expect(b.figures.length).toBeGreaterThan(0);
  });
  it('holds the issues\' targets', () => {
    const target = (bench: string, figure: string) => KNOWN_BENCHES.find((b) => b.bench === bench)?.figures.find((f) => f.figure.startsWith(figure))?.target;
    expect(target('ingest', 'events/s, full Worker')).toMatchObject({ on: 'ratio', op: '>=', value: 0.5 });
    expect(target('aggregate', "the shard's in-memory path: governance, key, pane row update + HLL add")).toMatchObject({ op: '<=', value: 500 });
    expect(target('hll', 'add(string)')).toMatchObject({ op: '>=', value: 5e6 });
    expect(target('query', 'series p99')).toMatchObject({ op: '<=', value: 100 });
    expect(target('fanout', 'event → viewer latency p99')).toMatchObject({ op: '<=', value: 1000 });
  });
});

describe('mergeRuns', () => {
  const old = file(run('hll', { bench: 'hll', addsPerSec: 1 }), run('rpc', { bench: 'rpc' }));
  it('a subset run replaces only its own entries', () => {
    const merged = mergeRuns(old, [run('hll', { bench: 'hll', addsPerSec: 2 })], '2026-11-24T00:00:00.000Z', false);
    expect(Object.keys(merged.runs).sort()).toEqual(['hll', 'rpc']);
    expect(merged.runs.hll?.result).toEqual({ bench: 'hll', addsPerSec: 2 });
    expect(merged.updated_at).toBe('2026-11-24T00:00:00.000Z');
  });
  it('a full run keeps only what it ran', () => {
    expect(Object.keys(mergeRuns(old, [run('ingest', {})], 'now', true).runs)).toEqual(['ingest']);
  });
  it('starts a file when there is none', () => {
    expect(mergeRuns(null, [run('rpc', {})], 'now', false).runs.rpc?.bench).toBe('rpc');
  });
  it('round-trips through JSON and rejects malformed files', () => {
    expect(parseBenchFile(JSON.stringify(old))).toEqual(old);
    expect(() => parseBenchFile('{"schema":2,"runs":{}}')).toThrow();
    expect(() => parseBenchFile('{"schema":1,"runs":{"a":{"bench":"b","status":"ok"}}}')).toThrow(/runs.a/);
  });
});

describe('report', () => {
  it('labels small machines as shared', () => {
    expect(machineLabel(2)).toBe('2-core shared machine');
    expect(machineLabel(16)).toBe('16-core machine');
  });
  it('formats numbers without inventing precision', () => {
    expect(formatNumber(133260)).toBe('133,260');
    expect(formatNumber(0.022734)).toBe('0.02273');
    expect(formatNumber(Number.NaN)).toBe('n/a');
  });
  it('rows: known benches in map order, missing ones marked, failed ones without numbers', () => {
    const rows = reportRows(file(run('hll', { bench: 'hll', precision: 14, addsPerSec: 6_000_000 }), run('ingest', { bench: 'ingest', events_per_s: 5 }, 'failed'), run('extra', { bench: 'extra' })), ['hll', 'ingest', 'extra', 'aggregate']);
    const ingest = rows.filter((r) => r.bench === 'ingest');
    expect(ingest.every((r) => r.verdict === 'failed' && r.value === 'n/a')).toBe(true);
    expect(rows.find((r) => r.bench === 'aggregate')?.figure).toBe('(not run yet)');
    expect(rows.find((r) => r.bench === 'query')?.figure).toBe('(no bench/query.ts yet)');
    const adds = rows.find((r) => r.bench === 'hll' && r.figure === 'add(string)');
    expect(adds).toMatchObject({ value: '6,000,000 adds/s', verdict: 'pass', machine: '2 × AMD EPYC, 2-core shared machine', date: '2026-11-23 09:01 UTC' });
    expect(rows.find((r) => r.bench === 'hll' && r.figure.startsWith('RMSE, worst'))).toMatchObject({ value: 'n/a', verdict: 'n/a' });
    expect(rows[rows.length - 1]?.bench).toBe('extra');
  });
  it('renders a markdown table with the shared-machine caveat', () => {
    const md = renderMarkdown(file(run('rpc', { bench: 'rpc', native_rpc_ms_per_call_100: 0.31, itty_durable_ms_per_call_100: 0.47, ratio_itty_100: 1.5 })), ['rpc']);
    expect(md).toContain('| bench | figure | value | baseline (same run) | ratio | target | result | machine | date | commit |');
    expect(md).toContain('| rpc | ms per call, 100-event batch, native RPC (vs itty-durable) | 0.31 ms | 0.47 ms (itty-durable) | 1.5× | ratio ≥ 1 | pass |');
    expect(md).toContain('2-core machine');
    expect(md).toContain('7096cca + 2 uncommitted files');
    expect(md).not.toContain('Not one run');
    expect(md).not.toContain('(older commit)');
  });
  it('says "not run" for every bench without a result, declared or only present in bench/', () => {
    const rows = reportRows(file(run('rpc', { bench: 'rpc' })), ['rpc', 'aggregate', 'scratch']);
    expect(rows.find((r) => r.bench === 'aggregate')).toMatchObject({ value: 'not run', verdict: 'not run' });
    expect(rows.find((r) => r.bench === 'scratch')).toMatchObject({ value: 'not run', verdict: 'not run' });
    const md = renderMarkdown(file(run('rpc', { bench: 'rpc' })), ['rpc', 'aggregate', 'scratch']);
    expect(md).toMatch(/not run: [^;]*aggregate[^;]*scratch/);
  });
  it('names each row\'s commit and flags a merge of runs from different commits', () => {
    const older = run('hll', { bench: 'hll', precision: 14, adds_per_s: 6e6 }, 'ok', 'aaaaaaa0000000000000000000000000000000000', '2026-11-22T08:00:00.000Z');
    const newer = run('rpc', { bench: 'rpc', native_rpc_ms_per_call_100: 0.3 }, 'ok', 'bbbbbbb0000000000000000000000000000000000', '2026-11-23T08:00:00.000Z');
    const merged = file(older, newer);
    const rows = reportRows(merged, ['hll', 'rpc']);
    expect(rows.filter((r) => r.bench === 'hll').every((r) => r.commit === 'aaaaaaa + 2 uncommitted files (older commit)')).toBe(true);
    expect(rows.filter((r) => r.bench === 'rpc').every((r) => r.commit === 'bbbbbbb + 2 uncommitted files')).toBe(true);
    const md = renderMarkdown(merged, ['hll', 'rpc']);
    expect(md).toContain('**Not one run.**');
    expect(md).toMatch(/newest run's commit is bbbbbbb/);
    expect(md).toMatch(/\(older commit\)\* \(hll\)/);
  });
});
