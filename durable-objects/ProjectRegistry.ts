import { DurableObject } from 'cloudflare:workers';
import { hashKey, isValidOrigin, isValidProjectId, mintKey, newKeyTagSecret, type KeyKind } from '../core/keys.ts';

/** The single registry object's name. Edges cache its answers, so it sees a trickle, not the event rate. */
export const REGISTRY_NAME = 'registry';

export interface ProjectConfig {
  projectId: string;
  name: string;
  /** Origins a public (browser) key may be used from; '*' for any. */
  allowedOrigins: string[];
  /** Dimensions the project aggregates by; null = every dimension an event carries. */
  declaredDimensions: string[] | null;
  createdAt: string;
}

export interface KeyRecord {
  projectId: string;
  kind: KeyKind;
  project: ProjectConfig;
}

export interface CreateProjectInput {
  projectId: string;
  name?: string;
  allowedOrigins?: string[];
  declaredDimensions?: string[] | null;
}

/** What an edge needs to refuse made-up keys without asking (see core/keys.ts). */
export interface KeyCheck {
  tagSecret: string;
  /** Whether any active key predates tags; if none does, untagged keys are refused by shape. */
  legacyKeys: boolean;
}

export type CreateProjectResult =
  | { ok: true; project: ProjectConfig; keys: Record<KeyKind, string> }
  | { ok: false; code: 'invalid_project' | 'project_exists'; message: string };

const DIMENSION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Projects, their API keys (SHA-256 only: a key is shown once) and the daily
 * visitor-id salts. One instance for the whole deployment.
 */
export class ProjectRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS projects (
        project_id TEXT PRIMARY KEY, name TEXT NOT NULL, allowed_origins TEXT NOT NULL,
        declared_dimensions TEXT, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY, project_id TEXT NOT NULL, kind TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT);
      CREATE TABLE IF NOT EXISTS salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS registry_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    // Keys from before tags have tagged = 0 (the column's default when it is added to an older registry).
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('api_keys')").toArray();
    if (!columns.some((column) => column.name === 'tagged')) this.sql.exec('ALTER TABLE api_keys ADD COLUMN tagged INTEGER NOT NULL DEFAULT 0');
  }

  /** The deployment's key tag secret, created on first use; it never changes (every key's tag depends on it). */
  private tagSecret(): string {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM registry_meta WHERE name = 'key_tag_secret'").toArray()[0];
    if (row !== undefined) return row.value;
    const secret = newKeyTagSecret();
    this.sql.exec("INSERT INTO registry_meta (name, value) VALUES ('key_tag_secret', ?)", secret);
    return secret;
  }

  async keyCheck(): Promise<KeyCheck> {
    const legacy = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM api_keys WHERE tagged = 0 AND revoked_at IS NULL').toArray()[0];
    return { tagSecret: this.tagSecret(), legacyKeys: (legacy?.n ?? 0) > 0 };
  }

  async createProject(input: CreateProjectInput): Promise<CreateProjectResult> {
    const invalid = validateProjectInput(input);
    if (invalid !== null) return { ok: false, code: 'invalid_project', message: invalid };
    const project: ProjectConfig = {
      projectId: input.projectId,
      name: input.name ?? input.projectId,
      allowedOrigins: input.allowedOrigins ?? [],
      declaredDimensions: input.declaredDimensions ?? null,
      createdAt: new Date().toISOString(),
    };
    const secret = this.tagSecret();
    const keys = { public: await mintKey('public', secret), server: await mintKey('server', secret), read: await mintKey('read', secret) };
    const hashes = await Promise.all([hashKey(keys.public), hashKey(keys.server), hashKey(keys.read)]);
    // Checked after the awaits (another call may have created it meanwhile); no await from here on.
    if (this.project(input.projectId) !== null) {
      return { ok: false, code: 'project_exists', message: `Project "${input.projectId}" already exists.` };
    }
    // The project and its keys commit together.
    this.sql.exec(
      'INSERT INTO projects (project_id, name, allowed_origins, declared_dimensions, created_at) VALUES (?, ?, ?, ?, ?)',
      project.projectId,
      project.name,
      JSON.stringify(project.allowedOrigins),
      project.declaredDimensions === null ? null : JSON.stringify(project.declaredDimensions),
      project.createdAt,
    );
    (['public', 'server', 'read'] as const).forEach((kind, index) => {
      this.sql.exec(
        'INSERT INTO api_keys (key_hash, project_id, kind, created_at, tagged) VALUES (?, ?, ?, ?, 1)',
        hashes[index] ?? '',
        project.projectId,
        kind,
        project.createdAt,
      );
    });
    return { ok: true, project, keys };
  }

  /** Mints an additional key (rotation: mint, deploy, then revoke the old one). */
  async createKey(projectId: string, kind: KeyKind): Promise<string | null> {
    if (this.project(projectId) === null) return null;
    const key = await mintKey(kind, this.tagSecret());
    const keyHash = await hashKey(key);
    this.sql.exec('INSERT INTO api_keys (key_hash, project_id, kind, created_at, tagged) VALUES (?, ?, ?, ?, 1)', keyHash, projectId, kind, new Date().toISOString());
    return key;
  }

  async revokeKey(keyHash: string): Promise<boolean> {
    return this.sql.exec('UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL', new Date().toISOString(), keyHash).rowsWritten > 0;
  }

  async lookupKey(keyHash: string): Promise<KeyRecord | null> {
    const row = this.sql
      .exec<{ project_id: string; kind: string }>('SELECT project_id, kind FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL', keyHash)
      .toArray()[0];
    if (row === undefined || !isKeyKind(row.kind)) return null;
    const project = this.project(row.project_id);
    return project === null ? null : { projectId: row.project_id, kind: row.kind, project };
  }

  async getProject(projectId: string): Promise<ProjectConfig | null> {
    return this.project(projectId);
  }

  /**
   * The visitor-id salt of a UTC day, created on first use. Salts older than
   * yesterday are deleted, so past visitor ids can never be recomputed.
   */
  async dailySalt(day: string): Promise<string> {
    const existing = this.sql.exec<{ salt: string }>('SELECT salt FROM salts WHERE day = ?', day).toArray()[0];
    if (existing !== undefined) return existing.salt;
    const bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    const salt = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    const yesterday = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    this.sql.exec('INSERT INTO salts (day, salt) VALUES (?, ?)', day, salt);
    this.sql.exec('DELETE FROM salts WHERE day < ?', yesterday);
    return salt;
  }

  private project(projectId: string): ProjectConfig | null {
    const row = this.sql
      .exec<{ project_id: string; name: string; allowed_origins: string; declared_dimensions: string | null; created_at: string }>(
        'SELECT * FROM projects WHERE project_id = ?',
        projectId,
      )
      .toArray()[0];
    if (row === undefined) return null;
    return {
      projectId: row.project_id,
      name: row.name,
      allowedOrigins: parseStringArray(row.allowed_origins) ?? [],
      declaredDimensions: row.declared_dimensions === null ? null : parseStringArray(row.declared_dimensions),
      createdAt: row.created_at,
    };
  }
}

function isKeyKind(kind: string): kind is KeyKind {
  return kind === 'public' || kind === 'server' || kind === 'read';
}

function parseStringArray(json: string): string[] | null {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : null;
}

function validateProjectInput(input: CreateProjectInput): string | null {
  if (!isValidProjectId(input.projectId)) return 'projectId must be 2-63 characters of a-z, 0-9, "_" or "-", starting with a letter or digit.';
  if (input.name !== undefined && (typeof input.name !== 'string' || input.name.length > 200)) return 'name must be a string of at most 200 characters.';
  if (input.allowedOrigins !== undefined && (!Array.isArray(input.allowedOrigins) || input.allowedOrigins.length > 50 || !input.allowedOrigins.every(isValidOrigin))) {
    return 'allowedOrigins must be at most 50 origins like "https://example.com", or "*".';
  }
  const declared = input.declaredDimensions;
  if (declared !== undefined && declared !== null && (!Array.isArray(declared) || declared.length > 32 || !declared.every((d) => typeof d === 'string' && DIMENSION_NAME.test(d)))) {
    return 'declaredDimensions must be at most 32 dimension names.';
  }
  return null;
}
