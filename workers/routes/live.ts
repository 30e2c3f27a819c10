import type { Context } from 'hono';
import { isOriginAllowed, READ_KINDS } from '../../core/keys.ts';
import { readLiveConfig } from '../../core/live-config.ts';
import { MAX_ACK_WINDOW_FRAMES } from '../../core/live-protocol.ts';
import type { RelayAssignment } from '../../core/live-rpc.ts';
import { VIEWER_PARAMS_HEADER, type ViewerParams } from '../../core/live-viewer.ts';
import { relayHintFor, LEASE_MS, type RelayHint } from '../../core/relay-placement.ts';
import { verifyViewerToken } from '../../core/viewer-token.ts';
import type { ProjectConfig } from '../../durable-objects/ProjectRegistry.ts';
import { REGISTRY_NAME } from '../../durable-objects/ProjectRegistry.ts';
import type { AppEnv } from '../app-env.ts';
import { authenticate } from '../auth.ts';
import { ApiError } from '../errors.ts';

/** Relays tried per connection before giving up (each refusal means the relay filled up under a stale lease). */
const MAX_PLACEMENT_ATTEMPTS = 4;
/** Shared lease requests a connection waits for before leasing on its own (a burst of viewers takes several leases). */
const MAX_LEASE_ROUNDS = 16;
/** Same trust window as API keys (workers/auth.ts): a changed allow-list reaches every edge within this. */
const PROJECT_CACHE_TTL_MS = 30_000;
const PROJECT_CACHE_MAX = 10_000;

interface Lease extends RelayAssignment {
  remaining: number;
  expiresAtMs: number;
}

/** Per isolate: the relay lease of each (project, region), so most connections need no root call. */
const leases = new Map<string, Lease>();
/** A lease request in flight per (project, region): concurrent connections share it instead of each leasing a relay. */
const leasing = new Map<string, Promise<void>>();
const projects = new Map<string, { project: ProjectConfig | null; expiresAtMs: number }>();

interface LiveViewer {
  projectId: string;
  topicPrefix: string;
}

/**
 * GET /v1/live: authenticates the viewer, places it on a relay near it with
 * room, and hands the upgrade to that relay. Accepting here (e.g. Hono's
 * upgradeWebSocket) would pin every socket to this Worker and defeat
 * hibernation, so the relay accepts it.
 *
 * Credentials: `?token=` (a viewer token from POST /v1/live/token; checked
 * here, before any Durable Object is touched, then against the project's
 * Origin allow-list) or a read key (`?key=` / Authorization), as before.
 * `?project=` (optional) must match the token's project. `?ack=<window>`
 * (1-64 frames) opts into flow control (docs/fanout.md).
 */
export async function getLive(c: Context<AppEnv>): Promise<Response> {
  const viewer = await authenticateViewer(c);
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError(426, 'upgrade_required', 'GET /v1/live expects a WebSocket upgrade.');
  }
  const config = readLiveConfig(c.env);
  const hint = relayHintFor(c.req.raw.cf);
  const ackWindow = parseAckWindow(c.req.query('ack'));
  const excluded: string[] = [];
  for (let attempt = 0; attempt < MAX_PLACEMENT_ATTEMPTS; attempt++) {
    const lease = await takeLease(c.env, viewer.projectId, hint, excluded);
    const params: ViewerParams = {
      v: 1,
      projectId: viewer.projectId,
      relay: lease.relay,
      hint: lease.hint,
      topicPrefix: viewer.topicPrefix,
      ackWindow,
      capacity: lease.limits.relayMaxViewers,
      snapshotMinutes: lease.limits.snapshotMinutes,
      queueMax: lease.limits.viewerQueueMax,
      silenceSeconds: lease.limits.viewerSilenceSeconds,
      tickMs: lease.tickMs || config.tickMs,
    };
    const relay = c.env.LIVE_RELAY.get(c.env.LIVE_RELAY.idFromName(lease.relay), lease.hint === null ? undefined : { locationHint: lease.hint });
    // A fresh request: only the edge sets VIEWER_PARAMS_HEADER, whatever the client sent.
    const response = await relay.fetch(new Request('https://relay.internal/v1/live', { headers: { Upgrade: 'websocket', [VIEWER_PARAMS_HEADER]: JSON.stringify(params) } }));
    if (response.status !== 503) return response;
    leases.delete(leaseKey(viewer.projectId, hint));
    excluded.push(lease.relay);
  }
  throw new ApiError(503, 'no_relay_available', 'No live relay has room right now; retry shortly.', { 'Retry-After': '1' });
}

function parseAckWindow(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const window = /^\d{1,2}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(window) || window < 1 || window > MAX_ACK_WINDOW_FRAMES) {
    throw new ApiError(400, 'invalid_ack_window', `ack must be an integer in [1, ${MAX_ACK_WINDOW_FRAMES}] (delta frames in flight).`);
  }
  return window;
}

async function authenticateViewer(c: Context<AppEnv>): Promise<LiveViewer> {
  const token = c.req.query('token');
  if (token === undefined) {
    const record = await authenticate(c, READ_KINDS);
    return { projectId: record.projectId, topicPrefix: '' };
  }
  const secret = c.env.VIEWER_TOKEN_SECRET;
  if (typeof secret !== 'string' || secret.length < 16) {
    throw new ApiError(503, 'live_tokens_unavailable', 'Viewer tokens are not configured (VIEWER_TOKEN_SECRET); use a read key.');
  }
  // Pure check first: a tampered, expired or foreign token never reaches a Durable Object.
  const check = await verifyViewerToken(secret, token, Date.now());
  if (!check.ok) throw new ApiError(401, check.code, check.message);
  const { claims } = check;
  const expected = c.req.query('project');
  if (expected !== undefined && expected !== claims.projectId) {
    throw new ApiError(403, 'token_wrong_project', 'This viewer token belongs to another project.');
  }
  const origin = c.req.header('Origin') ?? null;
  if (origin !== null) {
    const project = await projectConfig(c.env, claims.projectId);
    if (project === null) throw new ApiError(403, 'unknown_project', 'The viewer token names a project that does not exist.');
    if (!isOriginAllowed(origin, project.allowedOrigins)) throw new ApiError(403, 'origin_not_allowed', 'This project does not allow live viewers from this origin.');
  }
  return { projectId: claims.projectId, topicPrefix: claims.topicPrefix };
}

async function takeLease(env: Env, projectId: string, hint: RelayHint | null, excluded: string[]): Promise<Lease> {
  const key = leaseKey(projectId, hint);
  for (let round = 0; excluded.length === 0; round++) {
    const cached = leases.get(key);
    if (cached !== undefined && cached.remaining > 0 && cached.expiresAtMs > Date.now()) {
      cached.remaining--;
      return cached;
    }
    if (round === MAX_LEASE_ROUNDS) break;
    let pending = leasing.get(key);
    if (pending === undefined) {
      pending = fetchLease(env, projectId, hint, []).then(
        (lease) => void leases.set(key, lease),
        () => undefined,
      );
      pending = pending.finally(() => leasing.delete(key));
      leasing.set(key, pending);
    }
    await pending;
  }
  // A retry after a full relay (or a contended lease): a lease of its own that avoids the full relays.
  const lease = await fetchLease(env, projectId, hint, excluded);
  leases.set(key, lease);
  lease.remaining--;
  return lease;
}

async function fetchLease(env: Env, projectId: string, hint: RelayHint | null, excluded: string[]): Promise<Lease> {
  const now = Date.now();
  const root = env.BROADCAST.get(env.BROADCAST.idFromName(projectId));
  const assignment = await root.assignRelay({ projectId, hint, full: excluded });
  if (leases.size >= PROJECT_CACHE_MAX) leases.clear();
  // The root counts leased slots as taken for LEASE_MS; expire ours a little sooner.
  return { ...assignment, remaining: assignment.slots, expiresAtMs: now + LEASE_MS - 500 };
}

function leaseKey(projectId: string, hint: RelayHint | null): string {
  return `${projectId}\u0000${hint ?? ''}`;
}

async function projectConfig(env: Env, projectId: string): Promise<ProjectConfig | null> {
  const now = Date.now();
  const cached = projects.get(projectId);
  if (cached !== undefined && cached.expiresAtMs > now) return cached.project;
  const registry = env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName(REGISTRY_NAME));
  const project = await registry.getProject(projectId);
  if (projects.size >= PROJECT_CACHE_MAX) projects.clear();
  projects.set(projectId, { project, expiresAtMs: now + PROJECT_CACHE_TTL_MS });
  return project;
}
