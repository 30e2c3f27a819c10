import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface DemoKeys {
  projectId: string;
  public: string;
  server: string;
  read: string;
}

/**
 * Local secrets in .dev.vars (gitignored): keeps existing values, adds an
 * ADMIN_TOKEN when missing, and returns it.
 */
export function ensureDevVars(path: string): { adminToken: string } {
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  const values = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.trimStart().startsWith('#')) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  let changed = false;
  if (!values.has('CLICKHOUSE_PASSWORD')) {
    values.set('CLICKHOUSE_PASSWORD', '');
    changed = true;
  }
  if (!values.get('ADMIN_TOKEN')) {
    values.set('ADMIN_TOKEN', randomBytes(24).toString('base64url'));
    changed = true;
  }
  // Signs live viewer tokens, so the dashboard's socket URL carries a token instead of the read key.
  if (!values.get('VIEWER_TOKEN_SECRET')) {
    values.set('VIEWER_TOKEN_SECRET', randomBytes(24).toString('base64url'));
    changed = true;
  }
  if (changed) writeFileSync(path, [...values].map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  return { adminToken: values.get('ADMIN_TOKEN') ?? '' };
}

/**
 * The demo project and its keys. Keys are only ever shown once by the server,
 * so they are remembered in a local file; if that file is lost, fresh keys
 * are minted for the existing project.
 */
export async function ensureDemoProject(workerUrl: string, adminToken: string, keysFile: string): Promise<DemoKeys> {
  if (existsSync(keysFile)) {
    const saved = parseDemoKeys(readFileSync(keysFile, 'utf8'));
    if (saved !== null) {
      const probe = await fetch(`${workerUrl}/v1/catalog`, { headers: { Authorization: `Bearer ${saved.read}` } });
      if (probe.ok) return saved;
    }
  }
  const admin = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' };
  const created = await fetch(`${workerUrl}/v1/admin/projects`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ projectId: 'demo', name: 'Demo shop', allowedOrigins: ['*'] }),
  });
  let keys: DemoKeys;
  if (created.status === 201) {
    const body = (await created.json()) as { keys: { public: string; server: string; read: string } };
    keys = { projectId: 'demo', ...body.keys };
  } else if (created.status === 409) {
    const mint = async (kind: string): Promise<string> => {
      const response = await fetch(`${workerUrl}/v1/admin/projects/demo/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ kind }) });
      if (response.status !== 201) throw new Error(`Could not mint a ${kind} key: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { key: string }).key;
    };
    keys = { projectId: 'demo', public: await mint('public'), server: await mint('server'), read: await mint('read') };
  } else {
    throw new Error(`Could not create the demo project: ${created.status} ${await created.text()}`);
  }
  writeFileSync(keysFile, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return keys;
}

function parseDemoKeys(text: string): DemoKeys | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const record = parsed as Record<string, unknown>;
    const { projectId, public: pub, server, read } = record;
    if (typeof projectId === 'string' && typeof pub === 'string' && typeof server === 'string' && typeof read === 'string') {
      return { projectId, public: pub, server, read };
    }
    return null;
  } catch {
    return null;
  }
}
