// A fault-injecting HTTP proxy in front of the ClickHouse dev server, for
// fault tests. Tests running inside workerd control it over HTTP:
//
//   POST <proxy>/__faults  {"match": "edgepulse:proj-1:", "mode": "down"}
//   GET  <proxy>/__faults?match=edgepulse:proj-1:     -> the rule and its counters
//
// A rule applies to requests whose decoded URL contains `match` (a shard's
// flush carries its dedup token `edgepulse:<project>:<shard>:...` in the URL),
// so concurrent test files never see each other's faults. Modes:
//   ok             pass through (removes the rule's fault, keeps its counters)
//   down           reset the connection without contacting ClickHouse
//   drop-response  forward, let ClickHouse commit, then reset the connection
//                  (the "acknowledgement lost" case)
//   hold           keep the request until the mode changes, then forward it
//                  (and answer if the client is still there): lets a test
//                  abort a shard while its insert is in flight
// `remaining: n` limits a fault to the next n matching requests.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FaultMode = 'ok' | 'down' | 'drop-response' | 'hold';

export interface FaultCounters {
  /** Matching requests seen. */
  seen: number;
  forwarded: number;
  refused: number;
  dropped: number;
  held: number;
}

interface Rule {
  mode: FaultMode;
  remaining: number | null;
  counters: FaultCounters;
  release: Array<() => void>;
}

export interface FaultProxy {
  url: string;
  close(): Promise<void>;
}

const MODES: readonly FaultMode[] = ['ok', 'down', 'drop-response', 'hold'];

function isMode(value: unknown): value is FaultMode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

function emptyCounters(): FaultCounters {
  return { seen: 0, forwarded: 0, refused: 0, dropped: 0, held: 0 };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

export async function startFaultProxy(options: { target: string; port?: number; host?: string }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const rules = new Map<string, Rule>();
  const sockets = new Set<Socket>();

  const ruleFor = (url: string): Rule | undefined => {
    let decoded = url;
    try {
      decoded = decodeURIComponent(url);
    } catch {
      // Keep the raw URL.
    }
    for (const [match, rule] of rules) if (decoded.includes(match)) return rule;
    return undefined;
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = httpRequest(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (res) => {
          readBody(res).then(
            (payload) => {
              const out: Record<string, string | string[]> = {};
              for (const [key, value] of Object.entries(res.headers)) if (value !== undefined && key !== 'content-length' && key !== 'transfer-encoding') out[key] = value;
              resolve({ status: res.statusCode ?? 502, headers: out, body: payload });
            },
            reject,
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const control = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === 'GET') {
      const match = url.searchParams.get('match') ?? '';
      const rule = rules.get(match);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ match, mode: rule?.mode ?? 'ok', counters: rule?.counters ?? emptyCounters() }));
      return;
    }
    const parsed: unknown = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    if (typeof parsed !== 'object' || parsed === null || !('match' in parsed) || typeof parsed.match !== 'string' || parsed.match === '' || !('mode' in parsed) || !isMode(parsed.mode)) {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'expected {"match": non-empty string, "mode": ok|down|drop-response|hold, "remaining"?: n}' }));
      return;
    }
    const remaining = 'remaining' in parsed && typeof parsed.remaining === 'number' ? parsed.remaining : null;
    const rule = rules.get(parsed.match) ?? { mode: 'ok', remaining: null, counters: emptyCounters(), release: [] };
    rule.mode = parsed.mode;
    rule.remaining = remaining;
    rules.set(parsed.match, rule);
    // Held requests go on as soon as the mode changes.
    if (rule.mode !== 'hold') for (const release of rule.release.splice(0)) release();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ match: parsed.match, mode: rule.mode, counters: rule.counters }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (url.pathname === '/__faults') return control(req, res, url);
    const body = await readBody(req);
    const rule = ruleFor(req.url ?? '/');
    let mode: FaultMode = 'ok';
    if (rule !== undefined) {
      rule.counters.seen++;
      if (rule.mode !== 'ok' && rule.remaining !== 0) {
        mode = rule.mode;
        if (rule.remaining !== null) rule.remaining--;
      }
    }
    if (mode === 'down') {
      if (rule) rule.counters.refused++;
      req.socket.destroy();
      return;
    }
    if (mode === 'hold' && rule) {
      rule.counters.held++;
      await new Promise<void>((resolve) => rule.release.push(resolve));
    }
    const answer = await forward(req, body);
    if (rule) rule.counters.forwarded++;
    if (mode === 'drop-response') {
      if (rule) rule.counters.dropped++;
      req.socket.destroy();
      return;
    }
    if (res.destroyed || req.socket.destroyed) return;
    res.writeHead(answer.status, answer.headers).end(answer.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void req.socket.destroy();
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`fault-proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault-proxy: no TCP address');
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    close: async () => {
      for (const rule of rules.values()) for (const release of rule.release.splice(0)) release();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
