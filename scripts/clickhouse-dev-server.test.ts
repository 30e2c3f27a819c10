// Integration tests: the chdb-backed dev server driven by @clickhouse/client-web,
// the same client the Workers use against a real ClickHouse.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createClient, ClickHouseError, type ClickHouseClient } from '@clickhouse/client-web';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnClickHouseDevServer, type SpawnedClickHouse } from './lib/spawn-clickhouse.ts';

const url = inject('clickhouseUrl');
const clients: ClickHouseClient[] = [];
function client(database?: string): ClickHouseClient {
  const c = createClient({ url, database });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function clickHouseError(p: Promise<unknown>): Promise<ClickHouseError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClickHouseError) return e;
    throw e;
  }
  throw new Error('expected a ClickHouseError');
}

async function rawQuery(query: string, init: RequestInit = {}, search: Record<string, string> = {}) {
  const target = new URL(url);
  target.search = new URLSearchParams({ query, ...search }).toString();
  const res = await fetch(target, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('clickhouse dev server', () => {
  it('answers /ping and client.ping()', async () => {
    const res = await fetch(new URL('/ping', url));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ok.\n');
    expect(await client().ping()).toEqual({ success: true });
  });

  it('defaults to TabSeparated and echoes query_id', async () => {
    const res = await rawQuery("SELECT 1, 'a'", {}, { query_id: 'qid-123' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('1\ta\n');
    expect(res.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(res.headers.get('x-clickhouse-query-id')).toBe('qid-123');
    expect(JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}')).toHaveProperty('read_rows');

    const result = await client().command({ query: 'SELECT 1', query_id: 'qid-456' });
    expect(result.query_id).toBe('qid-456');
    expect(result.response_headers['x-clickhouse-query-id']).toBe('qid-456');
  });

  it('creates a table, inserts JSONEachRow and selects JSON (awkward strings survive)', async () => {
    const c = client();
    const table = `t_${randomUUID().replaceAll('-', '')}`;
    await c.command({ query: `CREATE TABLE ${table} (id UInt32, s String) ENGINE = MergeTree ORDER BY id` });
    const values = [
      { id: 1, s: 'plain' },
      { id: 2, s: "semi;colon\nnew line; it's \\ back\tslash ünïcødé" },
      { id: 3, s: '' },
    ];
    await c.insert({ table, values, format: 'JSONEachRow' });
    const rs = await c.query({ query: `SELECT id, s FROM ${table} ORDER BY id`, format: 'JSON' });
    const json = await rs.json<{ id: number; s: string }>();
    expect(json.data).toEqual(values);
    expect(json.rows).toBe(3);
  });

  it('binds typed query_params server-side', async () => {
    const rs = await client().query({
      query: `SELECT {s:String} AS s, {n:UInt64} AS n, {arr:Array(String)} AS arr,
        {ts:DateTime('UTC')} AS ts, {m:Map(String, UInt8)} AS m, {maybe:Nullable(String)} AS maybe`,
      query_params: {
        s: "it's a \\ tab\t and\nnewline",
        n: '18446744073709551615',
        arr: ["it's", 'b,c', ']'],
        ts: new Date('2026-01-02T03:04:05Z'),
        m: { a: 1, "b'": 2 },
        maybe: null,
      },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    expect(await rs.json()).toEqual([{
      s: "it's a \\ tab\t and\nnewline",
      n: '18446744073709551615',
      arr: ["it's", 'b,c', ']'],
      ts: '2026-01-02 03:04:05',
      m: { a: 1, "b'": 2 },
      maybe: null,
    }]);
    // Parameters are per request: the next query without them must fail, not reuse them.
    const err = await clickHouseError(client().query({ query: 'SELECT {s:String}', format: 'JSON' }));
    expect(err.code).toBe('456');
  });

  it('accepts large query_params sent as multipart/form-data', async () => {
    const big = 'x'.repeat(300_000);
    const rs = await client().query({
      query: 'SELECT length({big:String}) AS len',
      query_params: { big },
      use_multipart_params: true,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ len: 300_000 }]);
  });

  it('applies database and settings per request without leaking them', async () => {
    const plain = client();
    const edge = client('edgepulse');
    const read = async (c: ClickHouseClient, settings?: { max_result_rows: string }) => {
      const rs = await c.query({
        query: "SELECT currentDatabase() AS db, getSetting('max_result_rows') AS m",
        format: 'JSONEachRow',
        clickhouse_settings: settings,
      });
      return rs.json<{ db: string; m: number | string }>();
    };
    expect(await read(edge, { max_result_rows: '4242' })).toEqual([{ db: 'edgepulse', m: 4242 }]);
    expect(await read(plain)).toEqual([{ db: 'default', m: 0 }]);

    // Interleaved concurrent requests each see exactly their own database/settings/params.
    const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const c = i % 2 === 0 ? edge : plain;
      const rs = await c.query({
        query: "SELECT {i:UInt32} AS i, currentDatabase() AS db, getSetting('max_result_rows') AS m",
        query_params: { i },
        clickhouse_settings: { max_result_rows: String(1000 + i) },
        format: 'JSONEachRow',
      });
      return rs.json<{ i: number; db: string; m: number }>();
    }));
    results.forEach((rows, i) => {
      expect(rows).toEqual([{ i, db: i % 2 === 0 ? 'edgepulse' : 'default', m: 1000 + i }]);
    });
  });

  it('deduplicates a retried events_1m insert with the same insert_deduplication_token', async () => {
    const c = client('edgepulse');
    const project = `p-${randomUUID()}`;
    const row = {
      project_id: project,
      event_type: 'pageview',
      window_start: '2026-03-01 12:34:00',
      dims_key: 'country=DE&path=%2Fhome',
      dims: { country: 'DE', path: '/home' },
      events: 5,
      value_sum: 2.5,
      late_events: 1,
    };
    const insert = (token: string) => c.insert({
      table: 'events_1m',
      values: [row],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: token },
    });
    const totals = async () => {
      const rs = await c.query({
        query: `SELECT toUInt32(sum(events)) AS events, sum(value_sum) AS value_sum, toUInt32(sum(late_events)) AS late
          FROM events_1m WHERE project_id = {project:String}`,
        query_params: { project },
        format: 'JSONEachRow',
      });
      return rs.json<{ events: number; value_sum: number; late: number }>();
    };
    await insert(`flush-${project}-1`);
    await insert(`flush-${project}-1`); // retry of the same flush
    expect(await totals()).toEqual([{ events: 5, value_sum: 2.5, late: 1 }]);
    await insert(`flush-${project}-2`); // a different flush with identical rows
    expect(await totals()).toEqual([{ events: 10, value_sum: 5, late: 2 }]);
  });

  it('raises ClickHouseError with ClickHouse codes and HTTP statuses', async () => {
    const syntax = await clickHouseError(client().query({ query: 'SELEC 1' }));
    expect(syntax.code).toBe('62');
    // (No .type check: the client's regex takes the first "(ABC)" in the text, here "(SELEC)",
    // exactly as it does against a real server.)
    const missing = await clickHouseError(client().query({ query: 'SELECT * FROM no_such_table_xyz' }));
    expect(missing.code).toBe('60');
    expect(missing.type).toBe('UNKNOWN_TABLE');

    const raw400 = await rawQuery('SELEC 1');
    expect(raw400.status).toBe(400);
    expect(raw400.headers.get('x-clickhouse-exception-code')).toBe('62');
    expect(raw400.text).toMatch(/^Code: 62\. DB::Exception: .*\(SYNTAX_ERROR\)/s);
    const raw404 = await rawQuery('SELECT * FROM no_such_table_xyz');
    expect(raw404.status).toBe(404);
    expect(raw404.headers.get('x-clickhouse-exception-code')).toBe('60');
  });

  it('accepts gzip request bodies', async () => {
    const c = client();
    const table = `gz_${randomUUID().replaceAll('-', '')}`;
    await c.command({ query: `CREATE TABLE ${table} (id UInt32) ENGINE = MergeTree ORDER BY id` });
    const body = gzipSync(Array.from({ length: 100 }, (_, id) => JSON.stringify({ id })).join('\n'));
    const res = await rawQuery(`INSERT INTO ${table} FORMAT JSONEachRow`, {
      method: 'POST',
      body,
      headers: { 'Content-Encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    const rs = await c.query({ query: `SELECT toUInt32(count()) AS n FROM ${table}`, format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ n: 100 }]);
  });

  it('compresses responses when the client asks for it', async () => {
    for (const response of [true, { codec: 'br' as const }]) {
      const c = createClient({ url, compression: { response } });
      clients.push(c);
      const rs = await c.query({ query: 'SELECT number AS n FROM numbers(1000)', format: 'JSONEachRow' });
      const rows = await rs.json<{ n: number }>();
      expect(rows).toHaveLength(1000);
      expect(rows[999]).toEqual({ n: 999 });
    }
    const raw = await fetch(`${url}/?query=SELECT+1&enable_http_compression=1`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    expect(await raw.text()).toBe('1\n'); // fetch decodes it
  });

  it('survives bad requests', async () => {
    const garbageGzip = await rawQuery('SELECT 1', { method: 'POST', body: 'not gzip', headers: { 'Content-Encoding': 'gzip' } });
    expect(garbageGzip.status).toBe(500);
    expect(garbageGzip.headers.get('x-clickhouse-exception-code')).toBe('354');
    const badParam = await rawQuery('SELECT 1', {}, { 'param_a-b': '1' });
    expect(badParam.headers.get('x-clickhouse-exception-code')).toBe('36');
    const unknownSetting = await rawQuery('SELECT 1', {}, { no_such_setting_xyz: '1' });
    expect(unknownSetting.headers.get('x-clickhouse-exception-code')).toBe('115');
    const badValue = await rawQuery('SELECT {n:UInt8}', {}, { param_n: 'not a number' });
    expect(badValue.status).toBeGreaterThanOrEqual(400);
    const empty = await fetch(url, { method: 'POST', body: '' });
    expect(empty.headers.get('x-clickhouse-exception-code')).toBe('62');
    const noHandle = await fetch(new URL('/nope', url));
    expect(noHandle.status).toBe(404);
    const badInsert = await clickHouseError(client().insert({ table: 'no_such_table_xyz', values: [{ a: 1 }], format: 'JSONEachRow' }));
    expect(badInsert.code).toBe('60');
    // HTTP-transport settings the client sends must not break a query.
    const transport = await rawQuery('SELECT 1', {}, {
      wait_end_of_query: '1', send_progress_in_http_headers: '1', http_headers_progress_interval_ms: '1000',
      enable_http_compression: '1', session_id: 'abc', session_timeout: '60',
    });
    expect(transport.text).toBe('1\n');

    const rs = await client().query({ query: 'SELECT 42 AS answer', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ answer: 42 }]);
  });

  describe('with a password', () => {
    let dataDir = '';
    let secured: SpawnedClickHouse | undefined;
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'edgepulse-clickhouse-auth-'));
      secured = await spawnClickHouseDevServer({ dataDir, user: 'edge', password: 's3cret' });
    }, 90_000);
    afterAll(async () => {
      await secured?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const securedUrl = (): string => {
      if (!secured) throw new Error('secured server did not start');
      return secured.url;
    };

    it('rejects missing or wrong credentials with 516 AUTHENTICATION_FAILED', async () => {
      const wrong = createClient({ url: securedUrl(), username: 'edge', password: 'nope' });
      const err = await clickHouseError(wrong.query({ query: 'SELECT 1' }));
      expect(err.code).toBe('516');
      expect(err.type).toBe('AUTHENTICATION_FAILED');
      await wrong.close();

      const anonymous = await fetch(`${securedUrl()}/?query=SELECT+1`);
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers.get('x-clickhouse-exception-code')).toBe('516');
    });

    it('accepts basic auth, X-ClickHouse-User/Key and user/password params', async () => {
      const ok = createClient({ url: securedUrl(), username: 'edge', password: 's3cret' });
      const rs = await ok.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ one: 1 }]);
      await ok.close();

      const viaHeaders = await fetch(`${securedUrl()}/?query=SELECT+2`, {
        headers: { 'X-ClickHouse-User': 'edge', 'X-ClickHouse-Key': 's3cret' },
      });
      expect(await viaHeaders.text()).toBe('2\n');
      const viaParams = await fetch(`${securedUrl()}/?query=SELECT+3&user=edge&password=s3cret`);
      expect(await viaParams.text()).toBe('3\n');
    });
  });
});
