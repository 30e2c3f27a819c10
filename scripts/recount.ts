// Compares the rollups (events_1m) with a recount of the raw events
// (events_raw, written when RAW_EVENTS=1) for a project and a time range, per
// (minute, event type, dimension key), and prints every difference: none when
// all is well. Also checks that no raw event is stored twice and how far the
// uniques estimate is from the exact count.
//
//   npm run recount -- --project P --from T --to T [--url http://127.0.0.1:8123] [--database edgepulse]
//   (T: ISO-8601, epoch seconds or ms; env CLICKHOUSE_URL/USER/PASSWORD/DATABASE as defaults)
//
// Exit code 0 when rollups and raw events agree, 1 when they differ, 2 on bad arguments.
// Use a range that ends before now - allowed lateness - a flush interval: later
// minutes may still be open in the shards (rollups and raw rows flush together).
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client-web';
import { parseTimestamp } from '../core/events.ts';
import {
  compareTotals,
  minuteRange,
  parseTotalsRows,
  parseUsersEstimate,
  RAW_DUPLICATES_SQL,
  RAW_TOTALS_SQL,
  recountParams,
  ROLLUP_TOTALS_SQL,
  ROLLUP_USERS_SQL,
  toNumber,
  type RecountDifference,
  type RecountRange,
} from '../core/recount.ts';

export interface RecountOptions {
  url: string;
  database?: string;
  username?: string;
  password?: string;
  projectId: string;
  fromMs: number;
  toMs: number;
}

export interface RecountResult {
  projectId: string;
  range: RecountRange;
  rollupGroups: number;
  rawGroups: number;
  rawEvents: number;
  rawDuplicates: number;
  differences: RecountDifference[];
  exactUsers: number;
  estimatedUsers: number;
}

export async function runRecount(options: RecountOptions): Promise<RecountResult> {
  const range = minuteRange(options.fromMs, options.toMs);
  const params = recountParams(options.projectId, range);
  const client = createClient({
    url: options.url,
    username: options.username ?? 'default',
    password: options.password ?? '',
    database: options.database ?? 'edgepulse',
  });
  const rows = async (query: string): Promise<unknown[]> => (await client.query({ query, query_params: params, format: 'JSONEachRow' })).json<unknown>();
  try {
    const [rollup, raw, [duplicates], [users]] = await Promise.all([rows(ROLLUP_TOTALS_SQL), rows(RAW_TOTALS_SQL), rows(RAW_DUPLICATES_SQL), rows(ROLLUP_USERS_SQL)]);
    const field = (row: unknown, key: string): number => toNumber(typeof row === 'object' && row !== null ? Reflect.get(row, key) : undefined);
    const rollupRows = parseTotalsRows(rollup);
    const rawRows = parseTotalsRows(raw);
    return {
      projectId: options.projectId,
      range,
      rollupGroups: rollupRows.length,
      rawGroups: rawRows.length,
      rawEvents: field(duplicates, 'rows'),
      rawDuplicates: field(duplicates, 'duplicates'),
      differences: compareTotals(rollupRows, rawRows),
      exactUsers: field(duplicates, 'users'),
      estimatedUsers: parseUsersEstimate(users),
    };
  } finally {
    await client.close();
  }
}

export function formatRecount(result: RecountResult): string {
  const lines = [
    `recount ${result.projectId} ${new Date(result.range.fromMs).toISOString()} .. ${new Date(result.range.toMs).toISOString()}`,
    `  rollup groups ${result.rollupGroups}, raw groups ${result.rawGroups}, raw events ${result.rawEvents}, duplicate raw rows ${result.rawDuplicates}`,
  ];
  for (const d of result.differences) {
    lines.push(
      `  DIFF ${new Date(d.t * 1000).toISOString()} ${d.eventType} [${d.dimsKey}] ` +
        `events ${d.rollup.events} vs raw ${d.raw.events}, bot_events ${d.rollup.botEvents} vs ${d.raw.botEvents}, ` +
        `value_sum ${d.rollup.valueSum} vs ${d.raw.valueSum}, bot_value_sum ${d.rollup.botValueSum} vs ${d.raw.botValueSum}`,
    );
  }
  const error = result.exactUsers === 0 ? 0 : (result.estimatedUsers - result.exactUsers) / result.exactUsers;
  lines.push(`  unique users: sketch ${result.estimatedUsers}, exact ${result.exactUsers} (${(error * 100).toFixed(2)}%; standard error 1.6%)`);
  lines.push(`  ${result.differences.length} differences`);
  return lines.join('\n');
}

function parseTime(raw: string | undefined, name: string): number {
  const value = raw === undefined ? null : /^\d+(\.\d+)?$/.test(raw) ? parseTimestamp(Number(raw)) : parseTimestamp(raw);
  if (value === null) throw new UsageError(`--${name} must be ISO-8601 or epoch seconds/milliseconds`);
  return value;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { project: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, url: { type: 'string' }, database: { type: 'string' } },
  });
  if (values.project === undefined || values.project === '') throw new UsageError('--project is required');
  const result = await runRecount({
    url: values.url ?? process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
    database: values.database ?? process.env.CLICKHOUSE_DATABASE ?? 'edgepulse',
    username: process.env.CLICKHOUSE_USER,
    password: process.env.CLICKHOUSE_PASSWORD,
    projectId: values.project,
    fromMs: parseTime(values.from, 'from'),
    toMs: parseTime(values.to, 'to'),
  });
  console.log(formatRecount(result));
  return result.differences.length === 0 && result.rawDuplicates === 0 ? 0 : 1;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error('recount failed:', error instanceof Error ? error.message : error);
      console.error('usage: npm run recount -- --project P --from T --to T [--url URL] [--database DB]');
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
