// Versioned ClickHouse migrations: migrations/clickhouse/NNNN_name.sql, applied
// in version order and recorded in <db>.schema_migrations. Safe to re-run.
//
//   node scripts/migrate.ts [--url http://127.0.0.1:8123] [--database edgepulse] [--dir migrations/clickhouse]
//   (env CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE as defaults)
//
// Then retention: each table's TTL from config (env CLICKHOUSE_TTL_1M_DAYS,
// _1H_DAYS, _1D_DAYS, _RAW_DAYS, _GOVERNANCE_DAYS; defaults = the TTLs the
// migrations create). A table whose TTL differs gets `ALTER TABLE … MODIFY
// TTL`, recorded in <db>.schema_retention; an equal one is left alone.
//
// ClickHouse has no transactional DDL: a migration that fails halfway is not
// recorded and runs again from its first statement next time, so write each
// statement to be idempotent (IF NOT EXISTS / IF EXISTS).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client-web';

export interface ApplyMigrationsOptions {
  url: string;
  /** Default 'edgepulse'. */
  database?: string;
  username?: string;
  password?: string;
  /** Default <repo>/migrations/clickhouse. */
  migrationsDir?: string;
  /** Days each table keeps; default retentionFromEnv(process.env). */
  retentionDays?: RetentionDays;
}

/** Tables with a TTL, and the expression their TTL adds days to. */
export const RETENTION_TABLES = {
  events_1m: { env: 'CLICKHOUSE_TTL_1M_DAYS', column: 'window_start', defaultDays: 400 },
  events_1h: { env: 'CLICKHOUSE_TTL_1H_DAYS', column: 'window_start', defaultDays: 730 },
  events_1d: { env: 'CLICKHOUSE_TTL_1D_DAYS', column: 'window_start', defaultDays: 1825 },
  events_raw: { env: 'CLICKHOUSE_TTL_RAW_DAYS', column: 'toDateTime(event_time)', defaultDays: 7 },
  governance_1m: { env: 'CLICKHOUSE_TTL_GOVERNANCE_DAYS', column: 'window_start', defaultDays: 90 },
} as const;
export type RetentionTable = keyof typeof RETENTION_TABLES;
export type RetentionDays = Record<RetentionTable, number>;
const MAX_RETENTION_DAYS = 36_500;

/** Days per table from CLICKHOUSE_TTL_* variables, the migrations' TTLs where unset; bad values fail loudly. */
export function retentionFromEnv(env: Readonly<Record<string, string | undefined>>): RetentionDays {
  const read = (table: RetentionTable): number => {
    const { env: name, defaultDays } = RETENTION_TABLES[table];
    const raw = env[name];
    if (raw === undefined || raw === '') return defaultDays;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < 1 || value > MAX_RETENTION_DAYS) throw new Error(`${name}=${JSON.stringify(raw)} must be a whole number of days in 1..${MAX_RETENTION_DAYS}`);
    return value;
  };
  return { events_1m: read('events_1m'), events_1h: read('events_1h'), events_1d: read('events_1d'), events_raw: read('events_raw'), governance_1m: read('governance_1m') };
}

function retentionTableNames(): RetentionTable[] {
  return ['events_1m', 'events_1h', 'events_1d', 'events_raw', 'governance_1m'];
}

/** The days of a `TTL <column> + toIntervalDay(N)` clause as system.tables shows it; null when there is none. */
export function ttlDaysOf(engineFull: string): number | null {
  const match = /\bTTL\s+.*?toIntervalDay\((\d+)\)/.exec(engineFull);
  return match?.[1] === undefined ? null : Number(match[1]);
}

export interface ApplyMigrationsResult {
  /** Migration names (file name without .sql) applied by this run, in order. */
  applied: string[];
  /** Migration names already recorded as applied. */
  skipped: string[];
  /** Tables whose TTL this run changed (absent tables are skipped). */
  retentionChanged: Array<{ table: RetentionTable; fromDays: number | null; toDays: number }>;
}

export interface Migration {
  version: number;
  /** File name without `.sql`, e.g. `0001_rollups`. */
  name: string;
  /** sha256 hex of the file's bytes. */
  checksum: string;
  statements: string[];
}

export const DEFAULT_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations/clickhouse');
const FILE_RE = /^(\d{4})_([A-Za-z0-9_-]+)\.sql$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Split a migration file on `;` at the end of a line; full-line `--` comments never end a statement. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  const flush = () => {
    const meaningful = current.some((line) => line.trim() !== '' && !line.trim().startsWith('--'));
    if (meaningful) statements.push(current.join('\n').trim().replace(/\s*;\s*$/, ''));
    current = [];
  };
  for (const line of sql.split(/\r?\n/)) {
    current.push(line);
    if (!line.trim().startsWith('--') && /;\s*$/.test(line)) flush();
  }
  flush();
  return statements;
}

export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m?.[1]) throw new Error(`migration file ${file} in ${dir} is not named NNNN_name.sql`);
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other) throw new Error(`migrations ${other} and ${file} share version ${m[1]}`);
    seen.set(version, file);
    const bytes = await readFile(join(dir, file));
    migrations.push({
      version,
      name: file.slice(0, -'.sql'.length),
      checksum: createHash('sha256').update(bytes).digest('hex'),
      statements: splitStatements(bytes.toString('utf8')),
    });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

function isAppliedRow(row: unknown): row is AppliedRow {
  return typeof row === 'object' && row !== null &&
    'version' in row && typeof row.version === 'number' &&
    'name' in row && typeof row.name === 'string' &&
    'checksum' in row && typeof row.checksum === 'string';
}

export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const database = options.database ?? 'edgepulse';
  if (!IDENT_RE.test(database)) throw new Error(`invalid database name: ${JSON.stringify(database)}`);
  const migrations = await loadMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const auth = { username: options.username ?? 'default', password: options.password ?? '' };
  // The database has to exist before a client may select it with `database`.
  const admin = createClient({ url: options.url, ...auth });
  const client = createClient({ url: options.url, ...auth, database });
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  checksum String,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version`,
    });
    const rs = await client.query({
      query: 'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      format: 'JSONEachRow',
    });
    const applied = new Map<number, AppliedRow>();
    for (const row of await rs.json<unknown>()) {
      if (!isAppliedRow(row)) throw new Error(`unexpected schema_migrations row: ${JSON.stringify(row)}`);
      applied.set(row.version, row);
    }

    // Refuse before touching anything if history was rewritten.
    const changed = migrations.filter((m) => {
      const row = applied.get(m.version);
      return row !== undefined && row.checksum !== m.checksum;
    });
    if (changed.length > 0) {
      const detail = changed
        .map((m) => `${m.name}.sql (recorded ${applied.get(m.version)?.checksum}, file now ${m.checksum})`)
        .join('; ');
      throw new Error(
        `refusing to migrate ${database}: already-applied migration file(s) changed: ${detail}. ` +
          'Never edit an applied migration; add a new NNNN_name.sql instead.',
      );
    }

    const result: ApplyMigrationsResult = { applied: [], skipped: [], retentionChanged: [] };
    for (const migration of migrations) {
      if (applied.has(migration.version)) {
        result.skipped.push(migration.name);
        continue;
      }
      for (const [i, statement] of migration.statements.entries()) {
        try {
          await client.command({ query: statement });
        } catch (e) {
          const reason = e instanceof Error ? e.message : String(e);
          throw new Error(`migration ${migration.name}.sql statement ${i + 1} failed: ${reason}`, { cause: e });
        }
      }
      // INSERT ... SELECT: parameterized, and never queued as an async insert.
      await client.command({
        query: `INSERT INTO schema_migrations (version, name, checksum)
SELECT {version:UInt32}, {name:String}, {checksum:String}`,
        query_params: { version: migration.version, name: migration.name, checksum: migration.checksum },
      });
      result.applied.push(migration.name);
    }
    result.retentionChanged = await applyRetention(client, database, options.retentionDays ?? retentionFromEnv(process.env));
    return result;
  } finally {
    await Promise.all([admin.close(), client.close()]);
  }
}

/** Brings each existing table's TTL to `days`; idempotent: equal TTLs are not touched, changes are recorded. */
async function applyRetention(client: ReturnType<typeof createClient>, database: string, days: RetentionDays): Promise<ApplyMigrationsResult['retentionChanged']> {
  const rs = await client.query({
    query: 'SELECT name, engine_full FROM system.tables WHERE database = {database:String} AND name IN {names:Array(String)}',
    query_params: { database, names: retentionTableNames() },
    format: 'JSONEachRow',
  });
  const current = new Map<string, string>();
  for (const row of await rs.json<unknown>()) {
    if (typeof row !== 'object' || row === null || !('name' in row) || typeof row.name !== 'string' || !('engine_full' in row) || typeof row.engine_full !== 'string') {
      throw new Error(`unexpected system.tables row: ${JSON.stringify(row)}`);
    }
    current.set(row.name, row.engine_full);
  }
  const changed: ApplyMigrationsResult['retentionChanged'] = [];
  for (const table of retentionTableNames()) {
    const engine = current.get(table);
    if (engine === undefined) continue;
    const fromDays = ttlDaysOf(engine);
    const toDays = days[table];
    if (fromDays === toDays) continue;
    if (!Number.isInteger(toDays) || toDays < 1 || toDays > MAX_RETENTION_DAYS) throw new Error(`retention for ${table} must be 1..${MAX_RETENTION_DAYS} days, got ${toDays}`);
    // Table and column come from RETENTION_TABLES, the days are a checked integer: DDL takes no parameters.
    await client.command({ query: `ALTER TABLE ${table} MODIFY TTL ${RETENTION_TABLES[table].column} + INTERVAL ${toDays} DAY` });
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_retention (
  table_name String,
  from_days Nullable(UInt32),
  to_days UInt32,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY (table_name, applied_at)`,
    });
    await client.command({
      query: 'INSERT INTO schema_retention (table_name, from_days, to_days) SELECT {table:String}, {fromDays:Nullable(UInt32)}, {toDays:UInt32}',
      query_params: { table, fromDays, toDays },
    });
    changed.push({ table, fromDays, toDays });
  }
  return changed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      database: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const url = values.url ?? process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
  const database = values.database ?? process.env.CLICKHOUSE_DATABASE ?? 'edgepulse';
  const { applied, skipped, retentionChanged } = await applyMigrations({
    url,
    database,
    username: process.env.CLICKHOUSE_USER,
    password: process.env.CLICKHOUSE_PASSWORD,
    migrationsDir: values.dir,
  });
  for (const name of skipped) console.log(`skipped ${name} (already applied)`);
  for (const name of applied) console.log(`applied ${name}`);
  for (const { table, fromDays, toDays } of retentionChanged) console.log(`retention ${table}: ${fromDays ?? 'none'} -> ${toDays} days`);
  console.log(`${database} @ ${url}: ${applied.length} applied, ${skipped.length} already up to date`);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    console.error('migrate failed:', e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
