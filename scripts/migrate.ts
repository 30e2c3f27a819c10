// Versioned ClickHouse migrations: migrations/clickhouse/NNNN_name.sql, applied
// in version order and recorded in <db>.schema_migrations. Safe to re-run.
//
//   node scripts/migrate.ts [--url http://127.0.0.1:8123] [--database edgepulse] [--dir migrations/clickhouse]
//   (env CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE as defaults)
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
}

export interface ApplyMigrationsResult {
  /** Migration names (file name without .sql) applied by this run, in order. */
  applied: string[];
  /** Migration names already recorded as applied. */
  skipped: string[];
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

    const result: ApplyMigrationsResult = { applied: [], skipped: [] };
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
    return result;
  } finally {
    await Promise.all([admin.close(), client.close()]);
  }
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
  const { applied, skipped } = await applyMigrations({
    url,
    database,
    username: process.env.CLICKHOUSE_USER,
    password: process.env.CLICKHOUSE_PASSWORD,
    migrationsDir: values.dir,
  });
  for (const name of skipped) console.log(`skipped ${name} (already applied)`);
  for (const name of applied) console.log(`applied ${name}`);
  console.log(`${database} @ ${url}: ${applied.length} applied, ${skipped.length} already up to date`);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    console.error('migrate failed:', e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
