// Integration tests for scripts/migrate.ts against the chdb dev server that
// test/clickhouse.global-setup.ts started (and already migrated).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client-web';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { applyMigrations, loadMigrations, RETENTION_TABLES, retentionFromEnv, splitStatements, ttlDaysOf } from './migrate.ts';

const url = inject('clickhouseUrl');
const client = createClient({ url });
const tempDirs: string[] = [];
afterAll(async () => {
  await client.close();
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tableExists(database: string, table: string): Promise<boolean> {
  const rs = await client.query({
    query: 'SELECT count() > 0 AS found FROM system.tables WHERE database = {database:String} AND name = {table:String}',
    query_params: { database, table },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ found: number | boolean }>();
  return Boolean(rows[0]?.found);
}

describe('splitStatements', () => {
  it('splits on ; at line end and ignores comment-only chunks', () => {
    const sql = [
      '-- header comment; with a semicolon;',
      'CREATE TABLE a (x String DEFAULT \'a;b\') ENGINE = Memory;',
      '',
      '-- second',
      'CREATE TABLE b (x UInt8)',
      'ENGINE = Memory ;  ',
      '-- trailing comment',
      '',
    ].join('\n');
    expect(splitStatements(sql)).toEqual([
      "-- header comment; with a semicolon;\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory",
      '-- second\nCREATE TABLE b (x UInt8)\nENGINE = Memory',
    ]);
    expect(splitStatements('SELECT 1')).toEqual(['SELECT 1']);
    expect(splitStatements('-- nothing\n\n')).toEqual([]);
  });
});

describe('repository migrations', () => {
  it('were applied by the global setup and re-running skips them', async () => {
    const files = await loadMigrations();
    expect(files.map((m) => m.name)).toContain('0001_rollups');
    const result = await applyMigrations({ url });
    expect(result.applied).toEqual([]);
    expect(result.skipped).toEqual(files.map((m) => m.name));
    expect(result.retentionChanged).toEqual([]);
  });

  it('create events_1m with the columns and engine the Worker relies on', async () => {
    const rs = await client.query({
      query: `SELECT name, type FROM system.columns WHERE database = 'edgepulse' AND table = 'events_1m' ORDER BY position`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { name: 'project_id', type: 'LowCardinality(String)' },
      { name: 'event_type', type: 'LowCardinality(String)' },
      { name: 'dims_key', type: 'String' },
      { name: 'window_start', type: "DateTime('UTC')" },
      { name: 'dims', type: 'SimpleAggregateFunction(any, Map(String, String))' },
      { name: 'events', type: 'SimpleAggregateFunction(sum, UInt64)' },
      { name: 'value_sum', type: 'SimpleAggregateFunction(sum, Float64)' },
      { name: 'bot_events', type: 'SimpleAggregateFunction(sum, UInt64)' },
      { name: 'bot_value_sum', type: 'SimpleAggregateFunction(sum, Float64)' },
      { name: 'late_events', type: 'SimpleAggregateFunction(sum, UInt64)' },
      { name: 'users_hll', type: 'SimpleAggregateFunction(maxMap, Tuple(Array(UInt16), Array(UInt8)))' },
      // 0002: the dashboard's filter dimensions as columns (MATERIALIZED from dims), for query speed.
      { name: 'dim_country', type: 'LowCardinality(String)' },
      { name: 'dim_device_type', type: 'LowCardinality(String)' },
      { name: 'dim_campaign_id', type: 'LowCardinality(String)' },
    ]);
    const engine = await client.query({
      query: "SELECT engine, sorting_key, partition_key FROM system.tables WHERE database = 'edgepulse' AND name = 'events_1m'",
      format: 'JSONEachRow',
    });
    expect(await engine.json()).toEqual([
      { engine: 'AggregatingMergeTree', sorting_key: 'project_id, event_type, dims_key, window_start', partition_key: 'toDate(window_start)' },
    ]);
  });
});

describe('applyMigrations', () => {
  let dir = '';
  let database = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgepulse-migrations-'));
    tempDirs.push(dir);
    database = `mig_${randomUUID().replaceAll('-', '')}`;
  });

  const first = [
    '-- first migration',
    'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree ORDER BY x;',
    "INSERT INTO a VALUES (1);",
  ].join('\n');

  it('applies in order once, records checksums, and skips on re-run', async () => {
    await writeFile(join(dir, '0002_b.sql'), 'CREATE TABLE IF NOT EXISTS b (y String) ENGINE = MergeTree ORDER BY y;\n');
    await writeFile(join(dir, '0001_a.sql'), first);
    expect(await applyMigrations({ url, database, migrationsDir: dir })).toEqual({ applied: ['0001_a', '0002_b'], skipped: [], retentionChanged: [] });
    expect(await applyMigrations({ url, database, migrationsDir: dir })).toEqual({ applied: [], skipped: ['0001_a', '0002_b'], retentionChanged: [] });

    const rs = await client.query({
      query: `SELECT version, name, checksum, applied_at > now() - INTERVAL 1 HOUR AS recent FROM ${database}.schema_migrations ORDER BY version`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { version: 1, name: '0001_a', checksum: createHash('sha256').update(first).digest('hex'), recent: 1 },
      { version: 2, name: '0002_b', checksum: expect.stringMatching(/^[0-9a-f]{64}$/), recent: 1 },
    ]);
    // The INSERT ran exactly once.
    const count = await client.query({ query: `SELECT toUInt32(count()) AS n FROM ${database}.a`, format: 'JSONEachRow' });
    expect(await count.json()).toEqual([{ n: 1 }]);
  });

  it('refuses to run when an applied migration changed, before applying anything new', async () => {
    await writeFile(join(dir, '0001_a.sql'), first);
    await applyMigrations({ url, database, migrationsDir: dir });
    await writeFile(join(dir, '0001_a.sql'), `${first}\n-- edited after the fact\n`);
    await writeFile(join(dir, '0002_c.sql'), 'CREATE TABLE IF NOT EXISTS c (x UInt8) ENGINE = MergeTree ORDER BY x;\n');
    await expect(applyMigrations({ url, database, migrationsDir: dir })).rejects.toThrow(/0001_a\.sql.*changed|changed.*0001_a\.sql/);
    expect(await tableExists(database, 'c')).toBe(false);

    await writeFile(join(dir, '0001_a.sql'), first); // restored: the new one goes through
    expect(await applyMigrations({ url, database, migrationsDir: dir })).toEqual({ applied: ['0002_c'], skipped: ['0001_a'], retentionChanged: [] });
  });

  it('does not record a failing migration and retries it next time', async () => {
    await writeFile(join(dir, '0001_a.sql'), first);
    await writeFile(join(dir, '0002_bad.sql'), 'CREATE TABLE IF NOT EXISTS d (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELEC 1;\n');
    await expect(applyMigrations({ url, database, migrationsDir: dir })).rejects.toThrow(/0002_bad\.sql statement 2 failed/);
    await writeFile(join(dir, '0002_bad.sql'), 'CREATE TABLE IF NOT EXISTS d (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELECT 1;\n');
    expect(await applyMigrations({ url, database, migrationsDir: dir })).toEqual({ applied: ['0002_bad'], skipped: ['0001_a'], retentionChanged: [] });
  });

  it('rejects badly named files and duplicate versions', async () => {
    await writeFile(join(dir, '1_short.sql'), 'SELECT 1;');
    await expect(applyMigrations({ url, database, migrationsDir: dir })).rejects.toThrow(/NNNN_name\.sql/);
    await rm(join(dir, '1_short.sql'));
    await writeFile(join(dir, '0001_a.sql'), 'SELECT 1;');
    await writeFile(join(dir, '0001_b.sql'), 'SELECT 2;');
    await expect(applyMigrations({ url, database, migrationsDir: dir })).rejects.toThrow(/share version 0001/);
  });
});

describe('retention from config', () => {
  const defaults = retentionFromEnv({});

  it('reads CLICKHOUSE_TTL_* days, defaulting to the TTLs the migrations create', () => {
    expect(defaults).toEqual({ events_1m: 400, events_1h: 730, events_1d: 1825, events_raw: 7, governance_1m: 90 });
    expect(retentionFromEnv({ CLICKHOUSE_TTL_1M_DAYS: '30', CLICKHOUSE_TTL_RAW_DAYS: '' })).toMatchObject({ events_1m: 30, events_raw: 7 });
    for (const bad of ['0', '-1', '1.5', '30d', '99999']) expect(() => retentionFromEnv({ CLICKHOUSE_TTL_1H_DAYS: bad })).toThrow(/CLICKHOUSE_TTL_1H_DAYS/);
    expect(ttlDaysOf('MergeTree ORDER BY x TTL window_start + toIntervalDay(400) SETTINGS index_granularity = 8192')).toBe(400);
    expect(ttlDaysOf('MergeTree ORDER BY x')).toBeNull();
  });

  it('applies changed TTLs with ALTER … MODIFY TTL, records them, and leaves equal ones alone', async () => {
    const database = `ret_${randomUUID().replaceAll('-', '')}`;
    expect((await applyMigrations({ url, database })).retentionChanged).toEqual([]);
    const wanted = { ...defaults, events_1m: 30, events_raw: 3 };
    expect((await applyMigrations({ url, database, retentionDays: wanted })).retentionChanged).toEqual([
      { table: 'events_1m', fromDays: 400, toDays: 30 },
      { table: 'events_raw', fromDays: 7, toDays: 3 },
    ]);
    const rs = await client.query({
      query: 'SELECT name, engine_full FROM system.tables WHERE database = {database:String} AND name IN {names:Array(String)} ORDER BY name',
      query_params: { database, names: Object.keys(RETENTION_TABLES) },
      format: 'JSONEachRow',
    });
    const ttls = Object.fromEntries((await rs.json<{ name: string; engine_full: string }>()).map((row) => [row.name, ttlDaysOf(row.engine_full)]));
    expect(ttls).toEqual({ events_1m: 30, events_1h: 730, events_1d: 1825, events_raw: 3, governance_1m: 90 });
    // Re-running with the same config changes nothing; the record keeps what changed, once.
    expect((await applyMigrations({ url, database, retentionDays: wanted })).retentionChanged).toEqual([]);
    const recorded = await client.query({ query: `SELECT table_name, from_days, to_days FROM ${database}.schema_retention ORDER BY table_name`, format: 'JSONEachRow' });
    expect(await recorded.json()).toEqual([
      { table_name: 'events_1m', from_days: 400, to_days: 30 },
      { table_name: 'events_raw', from_days: 7, to_days: 3 },
    ]);
    // Back to the defaults is a change like any other.
    expect((await applyMigrations({ url, database, retentionDays: defaults })).retentionChanged.map((c) => c.table)).toEqual(['events_1m', 'events_raw']);
  });
});
