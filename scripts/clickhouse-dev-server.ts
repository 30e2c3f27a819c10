// Local/dev/test stand-in for a ClickHouse server: speaks the subset of the
// ClickHouse HTTP interface that @clickhouse/client-web uses, on top of ONE
// persistent in-process chdb Session (the real ClickHouse engine). Production
// points CLICKHOUSE_URL at a real ClickHouse; the same SQL runs on both.
//
//   node scripts/clickhouse-dev-server.ts [--port 8123] [--data .data/clickhouse]
//        [--host 127.0.0.1] [--user u --password p]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { parseArgs, promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Session } from 'chdb';

export interface ClickHouseDevServerOptions {
  /** 0 = pick a free port. Default 8123. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  dataDir: string;
  /** When user and/or password is set, requests must authenticate (default user: "default"). */
  user?: string;
  password?: string;
}

export interface ClickHouseDevServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const READY_LINE_PREFIX = 'clickhouse-dev-server listening on ';

// URL parameters the ClickHouse HTTP handler consumes itself (never settings),
// plus HTTP-transport settings that mean nothing in-process (chdb rejects some,
// e.g. wait_end_of_query is UNKNOWN_SETTING there).
const NON_SETTINGS = new Set([
  'query', 'database', 'default_format', 'user', 'password', 'quota_key', 'query_id',
  'session_id', 'session_timeout', 'session_check', 'compress', 'decompress', 'buffer_size',
  'stacktrace', 'role', 'client_protocol_version', 'wait_end_of_query',
  'send_progress_in_http_headers', 'enable_http_compression',
]);
const isTransportSetting = (name: string): boolean => NON_SETTINGS.has(name) || name.startsWith('http_');

// exceptionCodeToHTTPStatus.cpp in ClickHouse (everything else is 500).
const HTTP_STATUS_BY_CODE = new Map<number, number>([
  [194, 401],
  ...[192, 193, 516, 512, 497].map((c): [number, number] => [c, 403]),
  ...[36, 427, 6, 25, 26, 38, 41, 72, 441, 676, 677, 27, 376, 15, 44, 49, 48, 8, 167, 168, 223, 62,
    117, 53, 321].map((c): [number, number] => [c, 400]),
  ...[60, 46, 47, 50, 56, 81, 115, 57, 63, 73, 336, 78, 511].map((c): [number, number] => [c, 404]),
  [101, 413], [48, 501], [209, 503], [159, 408],
]);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Statements above this size trip max_query_size (256 KiB) while parsing; real
// ClickHouse never parses parameter values as SQL, so raise the limit for them.
const PARAM_STATEMENT_SOFT_LIMIT = 200_000;

class HttpQueryError extends Error {
  readonly code: number;
  constructor(code: number, type: string, message: string) {
    super(`Code: ${code}. DB::Exception: ${message}. (${type})`);
    this.code = code;
  }
}

/** ClickHouse single-quoted string literal (exact bytes survive the round trip). */
function sqlString(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

function quoteIdent(name: string): string {
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/** Extract ClickHouse's error code from a chdb error (typed `clickhouseCode`, else the message). */
function errorInfo(e: unknown): { code: number; message: string } {
  if (e instanceof HttpQueryError) return { code: e.code, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  if (typeof e === 'object' && e !== null && 'clickhouseCode' in e && typeof e.clickhouseCode === 'number') {
    return { code: e.clickhouseCode, message };
  }
  const m = /Code: (\d+)\./.exec(message);
  if (m?.[1]) return { code: Number(m[1]), message };
  return { code: 1001, message: `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION)` };
}

// Maps, not object literals: header values must never reach Object.prototype keys.
const DECOMPRESSORS = new Map<string, (buf: Buffer) => Promise<Buffer>>([
  ['gzip', promisify(zlib.gunzip)],
  ['x-gzip', promisify(zlib.gunzip)],
  ['deflate', promisify(zlib.inflate)],
  ['br', promisify(zlib.brotliDecompress)],
  ['zstd', promisify(zlib.zstdDecompress)],
]);
const COMPRESSORS = new Map<string, (buf: Uint8Array) => Promise<Buffer>>([
  ['gzip', promisify(zlib.gzip)],
  ['br', promisify(zlib.brotliCompress)],
  ['deflate', promisify(zlib.deflate)],
]);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity' || raw.length === 0) return raw;
  const decompress = DECOMPRESSORS.get(encoding);
  if (!decompress) throw new HttpQueryError(36, 'BAD_ARGUMENTS', `Unknown Content-Encoding: ${encoding}`);
  try {
    return await decompress(raw);
  } catch (e) {
    throw new HttpQueryError(354, 'CANNOT_DECOMPRESS', `Cannot decompress ${encoding} request body: ${errorInfo(e).message}`);
  }
}

function contentTypeFor(format: string): string {
  if (/^(JSON|ND?JSON)/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8; header=absent';
  return 'text/plain; charset=UTF-8';
}

/** Credentials the way ClickHouse reads them: Basic auth, X-ClickHouse-User/Key, or user/password params. */
function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  const headerUser = req.headers['x-clickhouse-user'];
  if (typeof headerUser === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user: headerUser, password: typeof key === 'string' ? key : '' };
  }
  return { user: params.get('user') ?? 'default', password: params.get('password') ?? '' };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startClickHouseDevServer(options: ClickHouseDevServerOptions): Promise<ClickHouseDevServer> {
  const host = options.host ?? '127.0.0.1';
  const authRequired = options.user !== undefined || options.password !== undefined;
  const expectedUser = options.user ?? 'default';
  const expectedPassword = options.password ?? '';

  mkdirSync(options.dataDir, { recursive: true });
  // chdb binds ONE data directory per process; a second Session elsewhere throws.
  const session = new Session(options.dataDir);

  // All requests share the session, so they run one at a time: per-request
  // database/settings/params are applied and reset inside one queue slot.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };

  const info = await session.queryAsync(
    "SELECT version(), timezone(), (SELECT groupArray(name) FROM system.settings) FORMAT JSONCompactEachRow",
  );
  const infoRow: unknown = JSON.parse(info.text());
  if (!Array.isArray(infoRow) || typeof infoRow[0] !== 'string' || typeof infoRow[1] !== 'string' || !Array.isArray(infoRow[2])) {
    session.close();
    throw new Error(`unexpected chdb startup answer: ${info.text()}`);
  }
  const version: string = infoRow[0];
  const timezone: string = infoRow[1];
  const knownSettings = new Set(infoRow[2].filter((n): n is string => typeof n === 'string'));
  // chdb turns on implicit_select (bare `1+1` as a query); servers default to off.
  await session.queryAsync('SET implicit_select = 0');

  async function runQuery(sql: string, format: string, database: string, settings: Map<string, string>, params: Map<string, string>) {
    const statements = [`USE ${quoteIdent(database)}`];
    const touched = [...settings.keys()];
    if (settings.size > 0) {
      statements.push(`SET ${[...settings].map(([k, v]) => `${k} = ${sqlString(v)}`).join(', ')}`);
    }
    const paramStatements = [...params].map(([k, v]) => `SET param_${k} = ${sqlString(v)}`);
    const longest = Math.max(0, ...paramStatements.map((s) => s.length));
    if (longest > PARAM_STATEMENT_SOFT_LIMIT && !settings.has('max_query_size')) {
      statements.push(`SET max_query_size = ${longest + 1024}`);
      touched.push('max_query_size');
    }
    statements.push(...paramStatements, sql);
    try {
      // queryBindAsync (even with a dummy binding) makes chdb clear ALL query
      // parameters afterwards, so SET param_* never leaks into the next request.
      return await session.queryBindAsync(statements.join(';\n'), { ep_unused: '' }, { format });
    } finally {
      // Plain HTTP requests are stateless: undo this request's settings.
      if (touched.length > 0) {
        await session.queryAsync(`SET ${touched.map((k) => `${k} = DEFAULT`).join(', ')}`).catch((e: unknown) => {
          console.error('clickhouse-dev-server: could not reset settings', touched, errorInfo(e).message);
        });
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const queryId = url.searchParams.get('query_id') || randomUUID();
    res.setHeader('X-ClickHouse-Query-Id', queryId);
    res.setHeader('X-ClickHouse-Timezone', timezone);
    res.setHeader('X-ClickHouse-Server-Display-Name', 'clickhouse-dev-server');
    if (url.pathname === '/ping') return void res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
    if (url.pathname !== '/') return void res.writeHead(404).end(`There is no handle ${url.pathname}\n`);

    let body = await readBody(req);
    const params = new URLSearchParams(url.searchParams);
    // Large query_params arrive as multipart/form-data parts (query, param_*).
    const contentType = req.headers['content-type'] ?? '';
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
      form.forEach((value, name) => {
        if (typeof value === 'string') params.set(name, value);
      });
      body = Buffer.alloc(0);
    }

    const { user, password } = credentials(req, params);
    if (authRequired && !(safeEqual(user, expectedUser) && safeEqual(password, expectedPassword))) {
      throw new HttpQueryError(516, 'AUTHENTICATION_FAILED',
        `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
    }

    // As in ClickHouse: the query is the `query` param, a line break, then the body.
    const queryParam = params.get('query') ?? '';
    const sql = (queryParam ? `${queryParam}\n` : '') + body.toString('utf8');
    if (sql.trim() === '') {
      if (req.method === 'GET' || req.method === 'HEAD') return void res.writeHead(200).end('Ok.\n');
      throw new HttpQueryError(62, 'SYNTAX_ERROR', 'Empty query');
    }

    const settings = new Map<string, string>();
    const bindings = new Map<string, string>();
    for (const [name, value] of params) {
      if (name.startsWith('param_')) {
        const key = name.slice(6);
        if (!IDENT.test(key)) throw new HttpQueryError(36, 'BAD_ARGUMENTS', `Invalid query parameter name: ${name}`);
        bindings.set(key, value);
      } else if (!isTransportSetting(name)) {
        if (!IDENT.test(name) || !knownSettings.has(name)) {
          throw new HttpQueryError(115, 'UNKNOWN_SETTING', `Unknown setting '${name}'`);
        }
        settings.set(name, value);
      }
    }
    const database = params.get('database') ?? headerString(req, 'x-clickhouse-database') ?? 'default';
    // ClickHouse's HTTP default output format is TabSeparated.
    const defaultFormat = params.get('default_format') ?? headerString(req, 'x-clickhouse-format') ?? 'TabSeparated';
    const explicitFormat = /^\s*INSERT\b/i.test(sql) ? undefined : /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql)?.[1];
    const outputFormat = explicitFormat ?? defaultFormat;

    const started = process.hrtime.bigint();
    const result = await exclusive(() => runQuery(sql, defaultFormat, database, settings, bindings));
    const elapsedNs = process.hrtime.bigint() - started;
    let payload: Uint8Array = result.bytes();
    const headers: Record<string, string> = {
      'Content-Type': contentTypeFor(outputFormat),
      'X-ClickHouse-Format': outputFormat,
      'X-ClickHouse-Summary': JSON.stringify({
        read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead),
        written_rows: '0', written_bytes: '0', total_rows_to_read: '0',
        result_rows: String(result.rowsRead), result_bytes: String(payload.byteLength),
        elapsed_ns: String(elapsedNs),
      }),
    };
    // Compressed responses only when asked twice, as ClickHouse does.
    const codec = params.get('enable_http_compression') === '1'
      ? (headerString(req, 'accept-encoding') ?? '').split(',').map((c) => c.trim().split(';')[0] ?? '').find((c) => COMPRESSORS.has(c))
      : undefined;
    const compress = codec === undefined ? undefined : COMPRESSORS.get(codec);
    if (codec && compress && payload.byteLength > 0) {
      payload = await compress(payload);
      headers['Content-Encoding'] = codec;
    }
    res.writeHead(200, headers).end(payload);
  }

  function sendError(res: ServerResponse, e: unknown): void {
    const { code, message } = errorInfo(e);
    const text = `${message}${message.includes('(version ') ? '' : ` (version ${version})`}\n`;
    if (res.headersSent) return void res.destroy();
    res.writeHead(HTTP_STATUS_BY_CODE.get(code) ?? 500, {
      'Content-Type': 'text/plain; charset=UTF-8',
      'X-ClickHouse-Exception-Code': String(code),
    }).end(text);
  }

  const server = createServer((req, res) => {
    // Never let one bad request take the process down.
    handle(req, res).catch((e: unknown) => {
      try {
        sendError(res, e);
      } catch {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 10_000; // ClickHouse's keep_alive_timeout default

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8123, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    session.close();
    throw e;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected server address: ${address}`);
  const port = address.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await tail; // let the in-flight query finish before the engine goes away
        session.close();
      })();
      return closing;
    },
  };
}

function headerString(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
    },
  });
  const portText = values.port ?? process.env.CLICKHOUSE_DEV_PORT ?? '8123';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port: ${portText}`);
  const server = await startClickHouseDevServer({
    port,
    host: values.host,
    dataDir: values.data ?? process.env.CLICKHOUSE_DEV_DATA ?? '.data/clickhouse',
    user: values.user,
    password: values.password,
  });
  process.stdout.write(`${READY_LINE_PREFIX}${server.url}\n`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // second signal: give up waiting
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`clickhouse-dev-server: error while stopping on ${signal}:`, e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    console.error('clickhouse-dev-server failed to start:', e);
    process.exit(1);
  });
}
