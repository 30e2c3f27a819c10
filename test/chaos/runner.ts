// The ground-truth chaos test, run inside workerd (the workers test project):
// the seeded plan of core/chaos-generator.ts is sent through the real edge
// Worker (POST /v1/events with each project's server keys) into the real
// ShardAggregator Durable Objects and the real ClickHouse dev server, while
// the plan's fault schedule runs: ClickHouse outages and lost responses
// (scripts/lib/fault-proxy.ts), ctx.abort() of shards mid-window and
// mid-flush, duplicated alarms, viewer disconnects. Then the flush drains and
// every figure is compared with the ground truth. Used by
// test/workers/chaos.test.ts (short) and `npm run chaos` (long); the same code.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  cellKey,
  compareCells,
  generateChaosPlan,
  GroundTruth,
  materializeBatch,
  resolveOptions,
  topicSeries,
  uniquesBound,
  windowEndOf,
  type CellDifference,
  type ChaosPlan,
  type ChaosRunParams,
  SKETCH_PRECISION,
  type ExpectedEvent,
  type FaultKind,
  type MaterializedBatch,
  type PlannedBatch,
  type PlannedFault,
} from '../../core/chaos-generator.ts';
import { shardFor, shardObjectName } from '../../core/shard.ts';
import { parseTopic } from '../../core/topics.ts';
import type { ShardAggregator, ShardStats } from '../../durable-objects/ShardAggregator.ts';
import { ADMIN_TOKEN, bearer, request } from '../workers/helpers.ts';
import { readCells, readGovernance, readProjectUsers, readRawIds, readRollupTotals, readUsersByTypeMinute, type MergedUsers, type ObservedCellWithUsers, type Registers } from './clickhouse.ts';
import { HyperLogLog } from '../../core/hll.ts';
import { registerPairs } from '../../core/sketch-registers.ts';
import { formatNumber, minuteLabel, seconds, table } from './report.ts';
import { addCounters, NO_COUNTERS, ShardFaults, subtractCounters, type ProxyCounters } from './shard-faults.ts';
import { ChaosViewer } from './viewer.ts';

export type ChaosParams = ChaosRunParams;

const FAULT_KINDS: readonly FaultKind[] = ['clickhouse-down', 'lost-response', 'abort-mid-window', 'abort-mid-flush', 'duplicate-alarm', 'viewer-disconnect'];

/** The variant `npm test` runs: a few thousand events, well under a minute on a 2-core machine. */
export const SHORT_CHAOS: ChaosParams = { variant: 'short', seed: 7, events: 3000, durationMs: 18_000, projects: 3 };

export interface CheckResult {
  name: string;
  compared: number;
  problems: string[];
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  atMs: number;
  effective: boolean;
  detail: string;
}

export interface ChaosReport {
  params: ChaosParams;
  ok: boolean;
  text: string;
  checks: CheckResult[];
  faults: FaultRecord[];
  differences: CellDifference[];
  timingsMs: { setup: number; send: number; drain: number; verify: number; total: number };
}

interface Project {
  index: number;
  label: string;
  projectId: string;
  serverKeys: string[];
  readKey: string;
  nextKey: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function sleepUntil(atMs: number): Promise<void> {
  const wait = atMs - Date.now();
  if (wait > 0) await sleep(wait);
}

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await request(path, {
    method: 'POST',
    headers: { ...bearer(ADMIN_TOKEN), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function shardStub(projectId: string, shard: number) {
  return env.SHARD_AGGREGATOR.get(env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard)));
}

async function abortShard(projectId: string, shard: number, reason: string): Promise<void> {
  await runInDurableObject(shardStub(projectId, shard), (_instance: ShardAggregator, state) => state.abort(reason)).catch(() => undefined);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The server and read keys of a POST /v1/admin/projects answer; throws when the answer has none. */
function createdKeys(created: Record<string, unknown>): { server: string; read: string } {
  const keys = created.keys;
  if (!isRecord(keys) || typeof keys.server !== 'string' || keys.server === '' || typeof keys.read !== 'string' || keys.read === '') {
    throw new Error(`POST /v1/admin/projects answered without server and read keys: ${JSON.stringify(created)}`);
  }
  return { server: keys.server, read: keys.read };
}

/** The key of a POST /v1/admin/projects/:id/keys answer. */
function mintedKey(minted: Record<string, unknown>): string {
  if (typeof minted.key !== 'string' || minted.key === '') throw new Error(`POST …/keys answered without a key: ${JSON.stringify(minted)}`);
  return minted.key;
}

/** Per-project mutex: fault-proxy rules of one project's shards never overlap. */
class Locks {
  private readonly tails = new Map<number, Promise<void>>();

  async with<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.tails.set(key, previous.then(() => mine));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

interface Delivery {
  requests: number;
  accepted: number;
  partialFailures: number;
  retriedEvents: number;
  /** Events a 503 reported as failed that had been stored anyway (a shard aborted after its commit): duplicates on retry. */
  storedDespiteFailure: number;
  rateLimited: number;
  backpressure: number;
  resends: number;
  resentEvents: number;
  resendDuplicates: number;
  resendAccepted: number;
  rejectionsSeen: number;
  /** Answers whose `rejected` list differed from the planned malformed events. */
  rejectionProblems: string[];
  /** Resends that were counted again. */
  resendProblems: string[];
  /** Fresh batches whose accepted + duplicates did not add up to their valid events. */
  countProblems: string[];
}

export async function runChaos(params: ChaosParams): Promise<ChaosReport> {
  const started = Date.now();
  const shardCount = Number(env.SHARD_COUNT);
  const windowMs = Number(env.WINDOW_SECONDS) * 1000;
  if (Number(env.ALLOWED_LATENESS_SECONDS) !== 0) throw new Error('the chaos test models ALLOWED_LATENESS_SECONDS = 0 (the workers project setting)');
  const plan: ChaosPlan = generateChaosPlan(resolveOptions({ seed: params.seed, events: params.events, durationMs: params.durationMs, projects: params.projects, shardCount }));
  const log = (line: string): void => console.log(`[chaos ${params.variant}] ${line}`);
  log(`seed ${params.seed}: ${plan.counts.items} items in ${plan.counts.batches} batches (+${plan.counts.resends} resends) over ${seconds(params.durationMs)}, ${plan.projects.length} projects x ${shardCount} shards, ${plan.faults.length} faults`);

  // ---------------------------------------------------------------- setup
  const run = crypto.randomUUID().slice(0, 8);
  const requestsPer10s = (10_000 / plan.options.batchIntervalMs) * (1 + plan.options.rates.resend) + 10;
  // The workers project limits each write key to 50 requests / 10 s: spread a project's requests over enough server keys.
  const keysPerProject = Math.max(2, Math.ceil(requestsPer10s / 25));
  const projects: Project[] = await Promise.all(
    plan.projects.map(async (spec, index) => {
      const projectId = `chaos-${run}-${spec.label}`;
      const created = await admin('/v1/admin/projects', { projectId, ...(spec.declaredDimensions !== null ? { declaredDimensions: spec.declaredDimensions } : {}) });
      const keys = createdKeys(created);
      const serverKeys = [keys.server];
      for (let i = 1; i < keysPerProject; i++) serverKeys.push(mintedKey(await admin(`/v1/admin/projects/${projectId}/keys`, { kind: 'server' })));
      return { index, label: spec.label, projectId, serverKeys, readKey: keys.read, nextKey: 0 };
    }),
  );
  const projectOf = (index: number): Project => {
    const project = projects[index];
    if (project === undefined) throw new Error(`no project ${index}`);
    return project;
  };
  const rules = projects.map((p) => Array.from({ length: shardCount }, (_, shard) => new ShardFaults(p.projectId, shard)));
  await Promise.all(rules.flat().map((rule) => rule.set('ok')));
  // Snapshots of the whole run for viewers that resync (best effort: a live-fan-out setting).
  await Promise.all(
    projects.map((p) =>
      env.BROADCAST.get(env.BROADCAST.idFromName(p.projectId))
        .configureLive({ snapshotMinutes: 60 })
        .catch(() => undefined),
    ),
  );
  const viewers = plan.viewers.map((spec, index) => new ChaosViewer(index, projectOf(spec.project).label, projectOf(spec.project).readKey, spec.topics));
  for (const viewer of viewers) await viewer.connect(false);
  const setupDone = Date.now();

  // ---------------------------------------------------------------- send + faults
  const truth = new GroundTruth();
  const sent = new Map<number, MaterializedBatch>();
  const skipLate = new Set<string>();
  const delivery: Delivery = {
    requests: 0, accepted: 0, partialFailures: 0, retriedEvents: 0, storedDespiteFailure: 0, rateLimited: 0, backpressure: 0,
    resends: 0, resentEvents: 0, resendDuplicates: 0, resendAccepted: 0, rejectionsSeen: 0, rejectionProblems: [], resendProblems: [], countProblems: [],
  };
  const late = { events: 0, intoSealedWindows: 0 };
  const outOfOrder = { planned: 0, behind: 0 };
  let lastOnTimeWindowEnd = 0;
  /** On-time events whose request was answered only after their window closed: their late flag is not predictable. */
  let onTimeAtRisk = 0;
  let minEventMs = Infinity;

  /** Per project: too-old rejections in requests answered 202 (counted for sure) and 503 (maybe). */
  const tooOldCounted = new Map<number, number>();
  const tooOldUncertain = new Map<number, number>();
  /** Per project: events a 503 reported as failed whose retry came back as duplicates (candidates, per attempt). */
  const storedDespiteFailure = new Map<number, ExpectedEvent[]>();
  /** Faults that want to strike while a request of a project is in flight wait here. */
  const sendWaiters = new Map<number, Array<() => void>>();
  const nextSend = (project: number, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      sendWaiters.set(project, [...(sendWaiters.get(project) ?? []), () => {
        clearTimeout(timer);
        resolve(true);
      }]);
    });

  const post = async (project: Project, body: unknown[]): Promise<Response> => {
    for (const wake of sendWaiters.get(project.index)?.splice(0) ?? []) wake();
    const key = project.serverKeys[project.nextKey++ % project.serverKeys.length] ?? '';
    delivery.requests++;
    return request('/v1/events', { method: 'POST', headers: { ...bearer(key), 'Content-Type': 'application/json' }, body: JSON.stringify({ events: body }) });
  };

  /**
   * Sends a body until every event is stored, the way a careful client does:
   * on a 503 it retries exactly the `failed` indexes (soon, or after
   * Retry-After when a backlog is full), on a 429 after Retry-After.
   * Returns when the last attempt was answered.
   */
  const deliver = async (project: Project, batch: MaterializedBatch, fresh = true): Promise<{ accepted: number; duplicates: number; doneMs: number }> => {
    let indexes = batch.body.map((_, i) => i);
    let accepted = 0;
    let duplicates = 0;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 40) throw new Error(`batch ${batch.batchId} of ${project.label}: not delivered after 40 attempts`);
      const response = await post(project, indexes.map((i) => batch.body[i]));
      const json: unknown = await response.json();
      if (response.status === 429) {
        delivery.rateLimited++;
        await sleep(Number(response.headers.get('Retry-After') ?? '1') * 1000);
        continue;
      }
      if ((response.status !== 202 && response.status !== 503) || !isRecord(json)) {
        throw new Error(`batch ${batch.batchId} of ${project.label}: POST /v1/events answered ${response.status} ${JSON.stringify(json)}`);
      }
      accepted += Number(json.accepted ?? 0);
      duplicates += Number(json.duplicates ?? 0);
      // A retry of a fresh batch answered "duplicate": those events were stored although the 503 said they failed.
      if (fresh && attempt > 1 && Number(json.duplicates ?? 0) > 0) {
        const retried = new Set(indexes);
        const list = storedDespiteFailure.get(project.index) ?? [];
        list.push(...batch.events.filter((e) => retried.has(e.index)));
        storedDespiteFailure.set(project.index, list);
      }
      const rejected = Array.isArray(json.rejected) ? json.rejected : [];
      // Rejections are reported by index into the body actually sent.
      const got = rejected.map((r: unknown) => (isRecord(r) ? `${indexes[Number(r.index)] ?? '?'}:${String(r.code)}` : '?'));
      const expected = attempt === 1 ? batch.rejections.map((r) => `${r.index}:${r.code}`) : [];
      delivery.rejectionsSeen += rejected.length;
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        delivery.rejectionProblems.push(`batch ${batch.batchId} (${project.label}) attempt ${attempt}: rejected ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
      }
      if (attempt === 1 && batch.tooOld > 0) {
        // The edge counts too-old rejections per request (resends too) with one shard's part: a 503 may have lost them.
        if (response.status === 202) tooOldCounted.set(project.index, (tooOldCounted.get(project.index) ?? 0) + batch.tooOld);
        else tooOldUncertain.set(project.index, (tooOldUncertain.get(project.index) ?? 0) + batch.tooOld);
      }
      if (response.status === 202) return { accepted, duplicates, doneMs: Date.now() };
      const failed = Array.isArray(json.failed) ? json.failed.map((i: unknown) => indexes[Number(i)] ?? -1) : [];
      if (failed.length === 0 || failed.includes(-1)) throw new Error(`batch ${batch.batchId}: 503 without usable "failed": ${JSON.stringify(json)}`);
      delivery.partialFailures++;
      delivery.retriedEvents += failed.length;
      const retryAfter = Number(response.headers.get('Retry-After') ?? '1');
      if (retryAfter > 1) delivery.backpressure++;
      indexes = failed;
      // Partial failures (an aborted shard) are retried at once; a full backlog is waited out.
      await sleep(retryAfter > 1 ? retryAfter * 1000 : 100);
    }
  };

  /** Is the window of each late event already closed, and sealed, in its shard? (evidence that late means late) */
  const noteLate = async (project: Project, batch: MaterializedBatch): Promise<void> => {
    const lateEvents = batch.events.filter((e) => e.timing === 'late');
    if (lateEvents.length === 0) return;
    const byShard = new Map<number, number[]>();
    for (const event of lateEvents) {
      const shard = shardFor(event.userKey, shardCount);
      byShard.set(shard, [...(byShard.get(shard) ?? []), windowEndOf(event.timestampMs, windowMs)]);
    }
    for (const [shard, ends] of byShard) {
      const stats = await shardStub(project.projectId, shard).stats().catch(() => null);
      late.events += ends.length;
      if (stats === null) continue;
      for (const end of ends) if (stats.appliedWatermarkMs !== null && stats.appliedWatermarkMs >= end) late.intoSealedWindows++;
    }
  };

  const maxTsSent = new Map<number, number>();
  const sendProject = async (project: Project, batches: PlannedBatch[], t0: number): Promise<void> => {
    for (const planned of batches) {
      await sleepUntil(t0 + planned.sendAtMs);
      if (planned.resendOf !== null) {
        const original = sent.get(planned.resendOf);
        if (original === undefined) throw new Error(`resend of unsent batch ${planned.resendOf}`);
        const result = await deliver(project, original, false);
        delivery.resends++;
        delivery.resentEvents += original.events.length;
        delivery.resendDuplicates += result.duplicates;
        delivery.resendAccepted += result.accepted;
        if (result.accepted !== 0) delivery.resendProblems.push(`resend of batch ${original.batchId} (${project.label}): ${result.accepted} events accepted again`);
        continue;
      }
      const batch = materializeBatch(plan, planned, Date.now());
      truth.add(batch);
      sent.set(planned.id, batch);
      for (const event of batch.events) {
        minEventMs = Math.min(minEventMs, event.timestampMs);
        const before = maxTsSent.get(project.index) ?? -Infinity;
        if (event.timing === 'out-of-order') {
          outOfOrder.planned++;
          if (event.timestampMs < before) outOfOrder.behind++;
        }
        if (event.timing !== 'late') maxTsSent.set(project.index, Math.max(before, event.timestampMs));
      }
      await noteLate(project, batch);
      const result = await deliver(project, batch);
      delivery.accepted += result.accepted;
      if (result.accepted + result.duplicates !== batch.events.length) {
        delivery.countProblems.push(`batch ${batch.batchId} (${project.label}): accepted ${result.accepted} + duplicates ${result.duplicates} != ${batch.events.length} valid events`);
      }
      delivery.storedDespiteFailure += result.duplicates;
      // On-time events must be stored before their window closes, or their late flag is not predictable.
      for (const event of batch.events) {
        if (event.timing === 'late') continue;
        const end = windowEndOf(event.timestampMs, windowMs);
        lastOnTimeWindowEnd = Math.max(lastOnTimeWindowEnd, end);
        if (result.doneMs >= end) onTimeAtRisk++;
        if (result.doneMs >= end) skipLate.add(cellKey(project.index, event.eventType, event.dimsKey, Math.floor(event.timestampMs / 60_000) * 60_000));
      }
    }
  };

  const locks = new Locks();
  const faultRecords: FaultRecord[] = [];
  const counters = async (rulesOf: ShardFaults[]): Promise<ProxyCounters> => (await Promise.all(rulesOf.map((r) => r.counters()))).reduce(addCounters, NO_COUNTERS);

  const runFault = async (fault: PlannedFault, t0: number): Promise<void> => {
    await sleepUntil(t0 + fault.atMs);
    const atMs = Date.now() - t0;
    const record = (target: string, effective: boolean, detail: string): void => {
      faultRecords.push({ kind: fault.kind, target, atMs, effective, detail });
    };
    switch (fault.kind) {
      case 'clickhouse-down': {
        const project = projectOf(fault.project);
        const shardRules = rules[fault.project] ?? [];
        await locks.with(fault.project, async () => {
          const before = await counters(shardRules);
          await Promise.all(shardRules.map((r) => r.set('down')));
          await sleep(fault.durationMs);
          await Promise.all(shardRules.map((r) => r.set('ok')));
          const delta = subtractCounters(await counters(shardRules), before);
          record(`${project.label} (all shards)`, delta.refused > 0, `down ${seconds(fault.durationMs)}: ${delta.refused} inserts refused`);
        });
        return;
      }
      case 'lost-response': {
        const project = projectOf(fault.project);
        const rule = rules[fault.project]?.[fault.shard];
        if (rule === undefined) throw new Error('no rule');
        await locks.with(fault.project, async () => {
          const before = await rule.counters();
          await rule.set('drop-response', fault.count);
          let now = before;
          for (let i = 0; i < 40 && now.dropped - before.dropped < fault.count; i++) {
            if (i % 8 === 7) shardStub(project.projectId, fault.shard).flushNow().catch(() => undefined);
            await sleep(150);
            now = await rule.counters();
          }
          await rule.set('ok');
          const dropped = now.dropped - before.dropped;
          record(`${project.label}/shard ${fault.shard}`, dropped > 0, `${dropped} committed insert(s) whose answer was lost`);
        });
        return;
      }
      case 'abort-mid-window': {
        const project = projectOf(fault.project);
        let stats: ShardStats | null = null;
        let duringRequest = false;
        // A shard with nothing unsealed has no window to lose: wait for more of its traffic (a few requests) before striking.
        for (let attempt = 0; attempt < 6; attempt++) {
          stats = await shardStub(project.projectId, fault.shard).stats().catch(() => null);
          // Strike just as the project's next request goes out, so the abort often lands mid-ingest (a 503 the client retries).
          duringRequest = await nextSend(fault.project, 2000);
          if (stats !== null && stats.pendingGroups > 0) break;
        }
        await sleep(fault.atMs % 5);
        const failuresBefore = delivery.partialFailures;
        await abortShard(project.projectId, fault.shard, 'chaos: abort mid-window');
        const open = stats === null ? 'unknown' : String(stats.pendingGroups);
        await sleep(300);
        const hit = delivery.partialFailures > failuresBefore ? ', hit an ingest in flight (503)' : '';
        record(`${project.label}/shard ${fault.shard}`, stats !== null && stats.pendingGroups > 0, `aborted ${duringRequest ? 'as a request started' : 'between requests'} with ${open} unsealed pane groups${hit}`);
        return;
      }
      case 'abort-mid-flush': {
        const project = projectOf(fault.project);
        const rule = rules[fault.project]?.[fault.shard];
        if (rule === undefined) throw new Error('no rule');
        await locks.with(fault.project, async () => {
          const before = await rule.counters();
          await rule.set('hold');
          const stub = shardStub(project.projectId, fault.shard);
          const inFlight: Array<Promise<unknown>> = [];
          let now = before;
          for (let i = 0; i < 40 && now.held === before.held; i++) {
            if (i % 6 === 0) inFlight.push(stub.flushNow().catch(() => 'aborted'));
            await sleep(150);
            now = await rule.counters();
          }
          const held = now.held - before.held;
          if (held > 0) await abortShard(project.projectId, fault.shard, 'chaos: abort mid-flush');
          // Releases the held insert: it reaches ClickHouse after its shard died; the restarted shard re-sends the same token.
          await rule.set('ok');
          await Promise.all(inFlight);
          record(`${project.label}/shard ${fault.shard}`, held > 0, held > 0 ? `aborted with ${held} insert(s) in flight; released after the abort` : 'no flush to hold (nothing sealed)');
        });
        return;
      }
      case 'duplicate-alarm': {
        const project = projectOf(fault.project);
        const describe = (o: PromiseSettledResult<unknown>): string =>
          o.status === 'rejected' ? `threw: ${o.reason instanceof Error ? o.reason.message : String(o.reason)}`.slice(0, 120) : typeof o.value === 'boolean' ? (o.value ? 'alarm ran' : 'no alarm set') : isRecord(o.value) && typeof o.value.status === 'string' ? (o.value.status === 'error' ? `error: ${String(o.value.message).slice(0, 80)}` : o.value.status) : 'ran';
        // Duplicated means at least two of the concurrent runs ran to the end; an abort striking the shard meanwhile can
        // make them all throw, and then the fault is tried again (a few times).
        const tries: string[] = [];
        let completed = 0;
        let slowest = 0;
        for (let attempt = 0; attempt < 3 && completed < 2; attempt++) {
          // A stub that saw its object reset (an abort fault meanwhile) throws that error for good: a fresh one per attempt.
          const stub = shardStub(project.projectId, fault.shard);
          const began = Date.now();
          const timed = (p: Promise<unknown>): Promise<unknown> =>
            Promise.resolve(p).finally(() => {
              slowest = Math.max(slowest, Date.now() - began);
            });
          const outcomes = await Promise.allSettled([
            timed(runDurableObjectAlarm(stub)),
            timed(stub.flushNow()),
            timed(stub.flushNow()),
            timed(runInDurableObject(stub, (instance: ShardAggregator) => instance.alarm())),
          ]);
          completed = outcomes.filter((o) => o.status === 'fulfilled').length;
          tries.push(outcomes.map(describe).join(', '));
        }
        const again = await shardStub(project.projectId, fault.shard).flushNow().catch((e: unknown) => e);
        const last = isRecord(again) && typeof again.status === 'string' ? again.status : `threw: ${again instanceof Error ? again.message : String(again)}`.slice(0, 120);
        record(`${project.label}/shard ${fault.shard}`, completed >= 2, `4 concurrent runs (${tries.join('; then ')}) within ${slowest} ms, then once more (${last})`);
        return;
      }
      case 'viewer-disconnect': {
        const viewer = viewers[fault.viewer];
        if (viewer === undefined) throw new Error('no viewer');
        await viewer.settle();
        viewer.disconnect();
        await sleep(fault.downMs);
        const { resumed, snapshots } = await viewer.connect(fault.resume);
        record(`viewer ${fault.viewer} (${viewer.projectLabel})`, true, `away ${seconds(fault.downMs)}; back ${fault.resume ? `with lastSeq: ${resumed} resumed, ${snapshots} snapshot(s)` : `fresh: ${snapshots} snapshot(s)`}`);
        return;
      }
    }
  };

  const t0 = Date.now();
  // The live roots' incarnations over the run: a restart re-bases every topic's seq (diagnosis of live mismatches).
  const rootEpochs: string[] = [];
  /** Shard health sampled every ~2 s while sending: how far flushing fell behind. */
  const health = { samples: 0, maxSinceFlushMs: 0, maxBacklogRows: 0 };
  const sendEnds = t0 + params.durationMs + 5000;
  let watching = true;
  const watchRoots = (async () => {
    const last = new Map<number, number>();
    let round = 0;
    while (watching) {
      if (round++ % 4 === 0 && Date.now() < sendEnds) {
        const stats = await Promise.all(
          projects.flatMap((p) => Array.from({ length: shardCount }, (_, shard) => shardStub(p.projectId, shard).stats().catch(() => null))),
        );
        for (const st of stats) {
          if (st === null) continue;
          health.maxBacklogRows = Math.max(health.maxBacklogRows, st.backlogRows);
          // Closed windows waiting (flushLagMs alone jumps with every late adjustment of an old window).
          const closedPending = st.sealedBatches > 0 || st.oldestUnflushedWindowEndMs !== null;
          if (closedPending && st.lastFlushAtMs !== null) health.maxSinceFlushMs = Math.max(health.maxSinceFlushMs, st.nowMs - st.lastFlushAtMs);
        }
        health.samples++;
      }
      await Promise.all(
        projects.map(async (p) => {
          const epoch = await env.BROADCAST.get(env.BROADCAST.idFromName(p.projectId)).liveStats().then((st) => st.epoch, () => -1);
          if (epoch !== -1 && last.get(p.index) !== epoch) {
            if (last.has(p.index)) rootEpochs.push(`${p.label} root restarted (epoch ${last.get(p.index)} -> ${epoch}) by ${seconds(Date.now() - t0)}`);
            last.set(p.index, epoch);
          }
        }),
      );
      await sleep(500);
    }
  })();
  const byProject = projects.map((p) => plan.batches.filter((b) => b.project === p.index));
  await Promise.all([
    ...projects.map((p) => sendProject(p, byProject[p.index] ?? [], t0)),
    ...plan.faults.map((f) => runFault(f, t0)),
  ]);
  const sendDone = Date.now();
  log(`sent in ${seconds(sendDone - t0)}: ${delivery.requests} requests, ${delivery.partialFailures} partial failures (503) retried`);

  // ---------------------------------------------------------------- drain
  await sleepUntil(lastOnTimeWindowEnd + 100);
  await Promise.all(rules.flat().map((rule) => rule.set('ok')));
  const allShards = projects.flatMap((p) => Array.from({ length: shardCount }, (_, shard) => ({ project: p, shard })));
  let drained = false;
  let finalStats: ShardStats[] = [];
  let drainRounds = 0;
  for (let round = 1; round <= 60 && !drained; round++) {
    drainRounds = round;
    const outcomes = await Promise.all(allShards.map(({ project, shard }) => shardStub(project.projectId, shard).flushNow()));
    finalStats = await Promise.all(allShards.map(({ project, shard }) => shardStub(project.projectId, shard).stats()));
    drained = outcomes.every((o) => o.status === 'idle') && finalStats.every((s) => s.pendingGroups === 0 && s.sealedBatches === 0 && s.sealedRows === 0 && s.backlogRows === 0);
    if (!drained) await sleep(250);
  }
  const drainDone = Date.now();
  log(`drained in ${drainRounds} flush round(s), ${seconds(drainDone - sendDone)}`);

  // ---------------------------------------------------------------- verify
  const checks: CheckResult[] = [];
  const check = (name: string, compared: number, problems: string[]): void => {
    checks.push({ name, compared, problems });
  };
  check('flush drained: every shard has no pending or sealed rows', allShards.length, drained ? [] : finalStats.filter((s) => s.backlogRows > 0 || s.sealedBatches > 0).map((s) => `${s.projectId}/${s.shard}: ${JSON.stringify({ pending: s.pendingGroups, sealed: s.sealedBatches, lastFlush: s.lastFlush })}`));

  const observed: ObservedCellWithUsers[] = (await Promise.all(projects.map((p) => readCells(p.projectId, p.index)))).flat();
  const truthCells = [...truth.cells.values()];
  const differences = compareCells(truthCells, observed, skipLate);
  const describeDiff = (d: CellDifference): string =>
    `${projectOf(d.project).label} ${d.eventType} {${d.dimsKey}} ${minuteLabel(d.minuteMs)}: ${d.field} expected ${d.expected}, actual ${d.actual} (${d.actual - d.expected > 0 ? '+' : ''}${d.actual - d.expected})`;
  const byField = (field: CellDifference['field']) => differences.filter((d) => d.field === field).map(describeDiff);
  check('events per (project, type, dims, minute) = truth, exactly', truthCells.length, byField('events'));
  check('value_sum per (project, type, dims, minute) = truth, exactly', truthCells.length, byField('valueSum'));
  check(`late_events per cell = truth (late = sent for closed, flushed windows)${skipLate.size > 0 ? `; ${skipLate.size} cells skipped (timing)` : ''}`, truthCells.length - skipLate.size, byField('lateEvents'));
  check('bot_events = 0 (server keys are never bots)', observed.length, byField('botEvents'));

  // Uniques, two ways. Exact: the registers ClickHouse merges (maxMap) equal those of a sketch built
  // here from the exact user set with the shards' hashing, so no user was lost or added anywhere.
  // Statistical: the estimate is within uniquesBound of the exact count.
  const registerProblems: string[] = [];
  const uniquesProblems: string[] = [];
  let uniquesCompared = 0;
  let worstRatio = 0;
  const exactSketch = (users: Iterable<string>): Registers => {
    const sketch = new HyperLogLog({ precision: SKETCH_PRECISION });
    for (const user of users) sketch.add(user);
    return registerPairs(sketch);
  };
  const noteUniques = (what: string, users: Set<string>, stored: MergedUsers | undefined): void => {
    uniquesCompared++;
    const exact = users.size;
    const estimate = stored?.estimate ?? 0;
    const expected = exactSketch(users);
    const got = stored?.registers ?? { idx: [], val: [] };
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      const want = new Map(expected.idx.map((i, k) => [i, expected.val[k]]));
      const have = new Map(got.idx.map((i, k) => [i, got.val[k]]));
      const differing = [...new Set([...want.keys(), ...have.keys()])].filter((i) => want.get(i) !== have.get(i)).length;
      registerProblems.push(`${what}: ${differing} register(s) differ from the sketch of the ${exact} exact users (stored estimate ${estimate.toFixed(1)})`);
    }
    const bound = uniquesBound(exact);
    worstRatio = Math.max(worstRatio, Math.abs(estimate - exact) / bound);
    if (Math.abs(estimate - exact) > bound) uniquesProblems.push(`${what}: estimate ${estimate.toFixed(1)}, exact ${exact}, bound +-${bound.toFixed(1)}`);
  };
  const observedByKey = new Map(observed.map((c) => [cellKey(c.project, c.eventType, c.dimsKey, c.minuteMs), c]));
  for (const cell of truthCells) {
    const seen = observedByKey.get(cellKey(cell.project, cell.eventType, cell.dimsKey, cell.minuteMs));
    noteUniques(`${projectOf(cell.project).label} ${cell.eventType} {${cell.dimsKey}} ${minuteLabel(cell.minuteMs)}`, cell.users, seen === undefined ? undefined : { estimate: seen.usersEstimate, registers: seen.registers });
  }
  const usersByTypeMinute = new Map<string, MergedUsers>();
  for (const p of projects) for (const [key, value] of await readUsersByTypeMinute(p.projectId)) usersByTypeMinute.set(`${p.index}\u0000${key}`, value);
  for (const entry of truth.usersByTypeMinute().values()) {
    noteUniques(`${projectOf(entry.project).label} ${entry.eventType} ${minuteLabel(entry.minuteMs)} (all dims)`, entry.users, usersByTypeMinute.get(`${entry.project}\u0000${entry.eventType}\u0000${entry.minuteMs}`));
  }
  for (const p of projects) {
    const users = new Set<string>();
    for (const cell of truthCells) if (cell.project === p.index) for (const user of cell.users) users.add(user);
    noteUniques(`${p.label} whole run`, users, await readProjectUsers(p.projectId));
  }
  check('uniques: stored registers = sketch of the exact users (per cell, type x minute, project)', uniquesCompared, registerProblems);
  check(`uniques: estimate within uniquesBound (4 SE | collision tail 1e-9 | 3); worst at ${(worstRatio * 100).toFixed(0)} % of its bound`, uniquesCompared, uniquesProblems);

  // Hourly and daily rollups: the same totals.
  const rollupProblems: string[] = [];
  for (const p of projects) {
    const expected = truth.totals(p.index);
    for (const table of ['events_1h', 'events_1d'] as const) {
      const got = await readRollupTotals(table, p.projectId);
      if (got.events !== expected.events || got.valueSum !== expected.valueSum || got.lateEvents !== expected.lateEvents) {
        rollupProblems.push(`${p.label} ${table}: ${JSON.stringify(got)}, expected ${JSON.stringify({ events: expected.events, valueSum: expected.valueSum, lateEvents: expected.lateEvents })}`);
      }
    }
  }
  check('events_1h and events_1d totals = truth', projects.length * 2, rollupProblems);

  // Raw events: exactly the accepted ids, once each; nothing rejected.
  const rawProblems: string[] = [];
  const rejectedProblems: string[] = [];
  let rawCompared = 0;
  let rejectedCompared = 0;
  for (const p of projects) {
    const raw = await readRawIds(p.projectId);
    const accepted = truth.acceptedIds.get(p.index) ?? new Set<string>();
    const rejected = truth.rejectedIds.get(p.index) ?? new Set<string>();
    rawCompared += accepted.size;
    rejectedCompared += rejected.size;
    const missing = [...accepted].filter((id) => !raw.has(id));
    const twice = [...raw].filter(([, r]) => r.copies !== 1).map(([id, r]) => `${id} x${r.copies}`);
    const extra = [...raw.keys()].filter((id) => !accepted.has(id) && !rejected.has(id));
    const leaked = [...rejected].filter((id) => raw.has(id));
    if (missing.length > 0) rawProblems.push(`${p.label}: ${missing.length} accepted events missing from events_raw, e.g. ${missing.slice(0, 5).join(', ')}`);
    if (twice.length > 0) rawProblems.push(`${p.label}: stored more than once: ${twice.slice(0, 5).join(', ')}`);
    if (extra.length > 0) rawProblems.push(`${p.label}: unexpected ids in events_raw: ${extra.slice(0, 5).join(', ')}`);
    if (leaked.length > 0) rejectedProblems.push(`${p.label}: rejected events stored: ${leaked.slice(0, 10).join(', ')}`);
  }
  check('events_raw holds every accepted event exactly once', rawCompared, rawProblems);
  check('nothing rejected was counted (rejected ids absent from ClickHouse)', rejectedCompared, rejectedProblems);
  check('every 202/503 named exactly the malformed events, with their codes', plan.counts.malformed, delivery.rejectionProblems);
  check('every fresh batch: accepted + duplicates = its valid events', plan.counts.batches, delivery.countProblems);
  check('client resends (same ids) counted once: accepted 0 on every resend', delivery.resentEvents, delivery.resendProblems);

  // Shard counters: exactly-once at the shard too.
  const counterProblems: string[] = [];
  for (const p of projects) {
    const stats = finalStats.filter((s) => s.projectId === p.projectId);
    const accepted = stats.reduce((sum, s) => sum + s.counters.accepted, 0);
    const lateCount = stats.reduce((sum, s) => sum + s.counters.late, 0);
    const expected = truth.totals(p.index);
    if (accepted !== expected.events) counterProblems.push(`${p.label}: shards accepted ${accepted}, truth ${expected.events}`);
    if (lateCount !== expected.lateEvents && skipLate.size === 0) counterProblems.push(`${p.label}: shards counted ${lateCount} late, truth ${expected.lateEvents}`);
  }
  check('shard counters: accepted and late = truth', projects.length, counterProblems);

  // Governance: the declared project's undeclared dimension dropped (and counted); nothing folded.
  const governanceProblems: string[] = [];
  const governanceNotes: string[] = [];
  for (const p of projects) {
    const governance = await readGovernance(p.projectId);
    const undeclared = governance.get('undeclared:experiment') ?? 0;
    const expectedUndeclared = truth.undeclaredDrops.get(p.index) ?? 0;
    if (undeclared !== expectedUndeclared) governanceProblems.push(`${p.label}: undeclared drops ${undeclared}, expected ${expectedUndeclared}`);
    const folded = [...governance].filter(([k]) => k.startsWith('folded:')).reduce((sum, [, v]) => sum + v, 0);
    if (folded !== 0) governanceProblems.push(`${p.label}: ${folded} events folded into __other__ (K is never reached)`);
    const tooOld = governance.get('too_old:') ?? 0;
    const sure = tooOldCounted.get(p.index) ?? 0;
    const maybe = tooOldUncertain.get(p.index) ?? 0;
    if (tooOld < sure || tooOld > sure + maybe) governanceProblems.push(`${p.label}: too_old ${tooOld}, expected ${sure}${maybe > 0 ? ` .. ${sure + maybe}` : ''}`);
    if (maybe > 0) governanceNotes.push(`${p.label}: ${maybe} too-old rejection(s) in requests answered 503 (counted or not)`);
  }
  check('governance_1m: undeclared drops = truth, nothing folded, too_old = rejections per request (resends too)', projects.length, governanceProblems);

  // Viewers: their final per-minute values equal ClickHouse's (every minute is flushed by now).
  interface ViewerMismatch {
    viewer: ChaosViewer;
    project: Project;
    topic: string;
    minute: number;
    got: number;
    want: number;
    truth: number;
  }
  const viewerMismatches: ViewerMismatch[] = [];
  let viewerCompared = 0;
  const viewerDeadline = Date.now() + 15_000;
  for (;;) {
    for (const viewer of viewers) await viewer.settle();
    viewerMismatches.length = 0;
    viewerCompared = 0;
    for (const viewer of viewers) {
      const spec = plan.viewers[viewer.index];
      if (spec === undefined) continue;
      const cells = observed.filter((c) => c.project === spec.project);
      for (const topic of spec.topics) {
        const expected = topicSeries(topic, cells);
        const truthSeries = topicSeries(topic, truthCells.filter((c) => c.project === spec.project));
        const minutes = new Set([...expected.keys(), ...truthSeries.keys(), ...viewer.minutes(topic)]);
        for (const minute of minutes) {
          if (minute < Math.floor(minEventMs / 60_000) * 60_000) continue;
          viewerCompared++;
          const got = viewer.value(topic, minute);
          const want = expected.get(minute) ?? 0;
          if (got !== want) viewerMismatches.push({ viewer, project: projectOf(spec.project), topic, minute, got, want, truth: truthSeries.get(minute) ?? 0 });
        }
      }
    }
    if (viewerMismatches.length === 0 || Date.now() > viewerDeadline) break;
    await sleep(250);
  }

  /**
   * Which layer lost it: the shards' pane totals (SQLite, the live layer's source), the Broadcast
   * root's topic book (read first: liveSeries refreshes from the shards), the relay, the viewer. Private state of the live objects is
   * read for diagnosis only (and tolerated missing: their internals are being changed).
   */
  const liveLayers = async (m: ViewerMismatch): Promise<{ text: string }> => {
    const { project, topic, minute, viewer } = m;
    const panes = await Promise.all(Array.from({ length: shardCount }, (_, shard) => shardStub(project.projectId, shard).liveTotals(minute).catch(() => [])));
    const perShard = panes.map((list) => topicSeries(topic, list.filter((p) => p.windowStart < minute + 60_000).map((p) => ({ eventType: p.eventType, dimsKey: p.dimsKey, minuteMs: minute, events: p.events, valueSum: p.valueSum }))).get(minute) ?? 0);
    const shards = perShard.reduce((a, b) => a + b, 0);
    let bookText = 'n/a';
    try {
      const snapshot: unknown = await runInDurableObject(env.BROADCAST.get(env.BROADCAST.idFromName(project.projectId)), (instance) => {
        const book: unknown = Reflect.get(instance, 'book');
        const read: unknown = isRecord(book) ? Reflect.get(book, 'snapshot') : undefined;
        return isRecord(book) && typeof read === 'function' ? Reflect.apply(read, book, [topic]) : undefined;
      });
      const minutes = isRecord(snapshot) && Array.isArray(snapshot.minutes) ? snapshot.minutes : [];
      const point = minutes.find((x: unknown) => isRecord(x) && x.minuteStart === minute);
      bookText = `${isRecord(point) ? String(point.value) : 0} (seq ${isRecord(snapshot) ? String(snapshot.seq) : '?'})`;
    } catch (error) {
      bookText = `error ${error instanceof Error ? error.message : String(error)}`;
    }
    let root: number | null = null;
    let rootText = 'n/a';
    try {
      const parsed = parseTopic(topic);
      if (!parsed.ok) throw new Error(parsed.message);
      const series = await env.BROADCAST.get(env.BROADCAST.idFromName(project.projectId)).liveSeries(
        parsed.topic.eventType === '*' ? null : parsed.topic.eventType,
        Object.fromEntries(parsed.topic.filters),
        minute,
      );
      const point = series.find((p) => p.minuteStart === minute);
      root = point === undefined ? 0 : parsed.topic.measure === 'metrics' ? point.events : point.valueSum;
      rootText = String(root);
    } catch (error) {
      rootText = `error ${error instanceof Error ? error.message : String(error)}`;
    }
    let relayText = 'n/a';
    if (viewer.relay !== null) {
      try {
        const relayStub = env.LIVE_RELAY.get(env.LIVE_RELAY.idFromName(viewer.relay));
        const stats = await relayStub.stats();
        const copy: unknown = await runInDurableObject(relayStub, (instance) => {
          const topics: unknown = Reflect.get(instance, 'topics');
          const state: unknown = topics instanceof Map ? topics.get(topic) : undefined;
          const values: unknown = isRecord(state) ? Reflect.get(state, 'values') : undefined;
          const value: unknown = values instanceof Map ? values.get(minute) : undefined;
          return { value: value ?? null, seq: isRecord(state) ? Reflect.get(state, 'seq') : null };
        }).catch(() => null);
        relayText = `${viewer.relay}: ${stats.viewers} viewer(s), ${stats.topics.includes(topic) ? `holds the topic (copy ${JSON.stringify(copy)})` : 'does not hold the topic'}`;
      } catch (error) {
        relayText = `error ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const last = viewer.topics.get(topic)?.minutes.get(minute);
    return {
      text: `shards' pane totals ${shards} (${perShard.join('/')}), root topic book ${bookText}, root liveSeries (after its read-through refresh) ${rootText}, relay ${relayText}, viewer ${last === undefined ? 'nothing' : `${last.value} (seq ${last.seq})`}`,
    };
  };

  // Each mismatch with the layers that hold the minute, and the events this run saw stored although
  // a 503 said they failed (a shard aborted between its commit and its live push: the Combiner's
  // anti-entropy re-read must bring those to the viewers).
  const viewerFailures: string[] = [];
  for (const m of viewerMismatches) {
    const layers = await liveLayers(m);
    const stored = storedDespiteFailure.get(m.project.index) ?? [];
    const covered = topicSeries(m.topic, stored.map((e) => ({ eventType: e.eventType, dimsKey: e.dimsKey, minuteMs: Math.floor(e.timestampMs / 60_000) * 60_000, events: 1, valueSum: e.value }))).get(m.minute) ?? 0;
    viewerFailures.push(
      `viewer ${m.viewer.index} (${m.project.label}) ${m.topic} ${minuteLabel(m.minute)}: viewer ${m.got}, ClickHouse ${m.want} (truth ${m.truth})\n` +
        `      layers: ${layers.text}; events stored despite a 503 in this topic-minute: ${covered}`,
    );
  }
  check('viewers: final value per (topic, minute) = ClickHouse', viewerCompared, viewerFailures);

  // Every planned fault ran and took effect: a fault that changed nothing proves nothing.
  const faultProblems: string[] = [];
  for (const kind of FAULT_KINDS) {
    const planned = plan.faults.filter((f) => f.kind === kind).length;
    const records = faultRecords.filter((r) => r.kind === kind);
    if (records.length !== planned) faultProblems.push(`${kind}: ${planned} planned, ${records.length} ran`);
    for (const r of records) if (!r.effective) faultProblems.push(`${kind} @${seconds(r.atMs)} ${r.target}: took no effect (${r.detail})`);
  }
  check('every planned fault took effect', plan.faults.length, faultProblems);

  // The stream's mix as it really arrived: out of order = behind an event already sent, late = counted late by its shard.
  const shareProblems: string[] = [];
  const acceptedByShards = finalStats.reduce((sum, st) => sum + st.counters.accepted, 0);
  const lateByShards = finalStats.reduce((sum, st) => sum + st.counters.late, 0);
  const shares = [
    { name: 'out of order', count: outOfOrder.behind, of: plan.counts.valid, rate: plan.options.rates.outOfOrder },
    { name: 'late (counted late by the shards)', count: lateByShards, of: acceptedByShards, rate: plan.options.rates.late },
  ];
  for (const share of shares) {
    // Quotas make the plan exact to an event per project; a project's very first events cannot be behind anything.
    const tolerance = 0.1 * share.rate * share.of + 2 * plan.projects.length;
    if (Math.abs(share.count - share.rate * share.of) > tolerance) {
      shareProblems.push(`${share.name}: ${share.count} of ${share.of} (${((100 * share.count) / Math.max(1, share.of)).toFixed(2)} %), planned ${(100 * share.rate).toFixed(0)} % ± ${formatNumber(Math.round(tolerance))} events`);
    }
  }
  const shareText = shares.map((sh) => `${sh.name} ${((100 * sh.count) / Math.max(1, sh.of)).toFixed(2)} %`).join(', ');
  check(`stream mix as planned (${shareText}; plan ${(100 * plan.options.rates.outOfOrder).toFixed(0)} % and ${(100 * plan.options.rates.late).toFixed(0)} %)`, plan.counts.valid, shareProblems);
  const verifyDone = Date.now();
  watching = false;
  await watchRoots;

  // ---------------------------------------------------------------- clean up
  for (const viewer of viewers) viewer.disconnect();
  // Alarms are not reset between test files: run the pending one, then remove the one it re-armed.
  await Promise.all(
    allShards.map(async ({ project, shard }) => {
      const stub = shardStub(project.projectId, shard);
      await runDurableObjectAlarm(stub).catch(() => undefined);
      await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.storage.deleteAlarm()).catch(() => undefined);
    }),
  );

  // ---------------------------------------------------------------- report
  const ok = checks.every((c) => c.problems.length === 0);
  const timingsMs = { setup: setupDone - started, send: sendDone - t0, drain: drainDone - sendDone, verify: verifyDone - drainDone, total: verifyDone - started };
  const c = plan.counts;
  const viewerTotals = viewers.reduce(
    (sum, v) => ({ snapshots: sum.snapshots + v.stats.snapshots, deltas: sum.deltas + v.stats.deltas, resumed: sum.resumed + v.stats.resumedSubscriptions, gaps: sum.gaps + v.stats.seqGaps, errors: sum.errors + v.stats.errors.length }),
    { snapshots: 0, deltas: 0, resumed: 0, gaps: 0, errors: 0 },
  );
  const lines = [
    '--- chaos report begin ---',
    `=== chaos (${params.variant}): seed ${params.seed}, ${plan.projects.length} projects x ${shardCount} shards, window ${windowMs / 1000} s, lateness 0 ===`,
    `stream: ${formatNumber(c.items)} items in ${formatNumber(c.batches)} batches over ${seconds(params.durationMs)} (sent in ${seconds(timingsMs.send)}): ` +
      `${formatNumber(c.valid)} valid (${formatNumber(c.inOrder)} in order, ${formatNumber(c.outOfOrder)} out of order [${outOfOrder.behind} behind an earlier-sent event], ` +
      `${formatNumber(c.late)} late [${late.intoSealedWindows}/${late.events} into windows already sealed by their shard]), ${formatNumber(c.malformed)} malformed, ` +
      `${formatNumber(c.anonymous)} anonymous, ${formatNumber(c.userIdInDimensions)} with userId in dimensions; ` +
      `${c.resends} batches re-sent (${formatNumber(delivery.resentEvents)} valid events, ${formatNumber(delivery.resendDuplicates)} answered as duplicates)`,
    `edge: ${formatNumber(delivery.requests)} requests, ${delivery.partialFailures} answered 503 partially_accepted (${formatNumber(delivery.retriedEvents)} events retried, ` +
      `${delivery.storedDespiteFailure} of them had been stored anyway), ${delivery.rateLimited} rate-limited, ${delivery.backpressure} backpressure`,
    `shards (sampled ${health.samples}x while sending): longest wait since the last flush attempt with closed windows pending ${seconds(health.maxSinceFlushMs)}, ` +
      `max backlog ${formatNumber(health.maxBacklogRows)} rows of ${env.MAX_BACKLOG_ROWS}`,
    `viewers: ${viewers.length}, ${viewerTotals.snapshots} snapshots, ${formatNumber(viewerTotals.deltas)} deltas, ${viewerTotals.resumed} subscriptions resumed, ${viewerTotals.gaps} seq gaps, ${viewerTotals.errors} error frames`,
    ...(rootEpochs.length > 0 ? [`live roots: ${rootEpochs.join('; ')}`] : []),
    ...viewers.flatMap((v) => (v.stats.serverCloses.length > 0 ? [`viewer ${v.index} (${v.projectLabel}) closed by the server: ${v.stats.serverCloses.join('; ')} (t0 ${new Date(t0).toISOString().slice(11, 23)})`] : [])),
    `timing: ${onTimeAtRisk === 0 ? 'every on-time event was stored before its window closed' : `${onTimeAtRisk} on-time events answered after their window closed (machine too slow): late_events of ${skipLate.size} cells not compared`}`,
    `uniques: exact check = stored registers equal a p = 12 sketch of the exact users; bound |estimate - exact| <= max(3, 4 x 1.04/64 x n, Poisson register-collision deviation at 1e-9 (+1) for n <= 4096)`,
    ...(governanceNotes.length > 0 ? [`note: ${governanceNotes.join('; ')}`] : []),
    '',
    'faults injected:',
    table(
      ['fault', 'planned', 'took effect', 'details'],
      FAULT_KINDS.map((kind) => {
        const records = faultRecords.filter((r) => r.kind === kind);
        const details = records.map((r) => `@${seconds(r.atMs)} ${r.target}: ${r.detail}`);
        return [kind, String(plan.faults.filter((f) => f.kind === kind).length), String(records.filter((r) => r.effective).length), details.slice(0, 3).join(' | ') + (details.length > 3 ? ` | (+${details.length - 3} more)` : '')];
      }),
    ),
    '',
    'checks:',
    table(
      ['check', 'compared', 'result'],
      checks.map((ch) => [ch.name, formatNumber(ch.compared), ch.problems.length === 0 ? 'pass' : `FAIL (${ch.problems.length})`]),
    ),
    '',
    `time: setup ${seconds(timingsMs.setup)}, send ${seconds(timingsMs.send)}, drain ${seconds(timingsMs.drain)}, verify ${seconds(timingsMs.verify)}, total ${seconds(timingsMs.total)}`,
  ];
  const failures = checks.filter((ch) => ch.problems.length > 0);
  if (failures.length > 0) {
    lines.push('', 'differences:');
    for (const ch of failures) {
      lines.push(`- ${ch.name}:`);
      for (const problem of ch.problems.slice(0, 40)) lines.push(`    ${problem}`);
      if (ch.problems.length > 40) lines.push(`    ... and ${ch.problems.length - 40} more`);
    }
  }
  lines.push('--- chaos report end ---');
  const text = lines.join('\n');
  console.log(`\n${text}`);
  return { params, ok, text, checks, faults: faultRecords, differences, timingsMs };
}
