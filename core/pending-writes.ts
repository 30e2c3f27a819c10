/**
 * What a shard counted since its last checkpoint, apart from the pane rows
 * themselves (those are the dirty entries of its PaneCache): governance
 * counts, raw rows, counters and the new event-id hashes. They live in memory
 * and reach SQLite in ONE transaction per checkpoint; until then the ingest
 * log (one row per RPC, written before the RPC returns) is what makes them
 * durable, and a restart rebuilds them by replaying it. Pure: no storage.
 */
import type { GovernanceEntry } from './ingest-batch.ts';
import type { RawLandingRow } from './rollup-rows.ts';
import { COUNTER_NAMES, emptyCounters, type ShardCounters } from './shard-health.ts';

export interface PendingRaw {
  windowStart: number;
  rows: RawLandingRow[];
}

export class PendingWrites {
  readonly governance = new Map<string, GovernanceEntry>();
  raw: PendingRaw[] = [];
  /** Rows in `raw` (they count toward the shard's backlog bound). */
  rawRows = 0;
  counters: ShardCounters = emptyCounters();
  /** New event-id hashes as (hi, lo) pairs, and when the newest of them was first seen. */
  seenHashes: number[] = [];
  seenAtMs = 0;

  get isEmpty(): boolean {
    return this.governance.size === 0 && this.raw.length === 0 && this.seenHashes.length === 0 && COUNTER_NAMES.every((name) => this.counters[name] === 0);
  }

  addGovernance(entries: readonly GovernanceEntry[]): void {
    for (const entry of entries) {
      const key = `${entry.windowStart}\u0000${entry.reason}\u0000${entry.dimension}`;
      const pending = this.governance.get(key);
      if (pending === undefined) this.governance.set(key, { ...entry });
      else pending.events += entry.events;
    }
  }

  addRaw(byWindow: ReadonlyMap<number, RawLandingRow[]>): void {
    for (const [windowStart, rows] of byWindow) {
      if (rows.length === 0) continue;
      this.raw.push({ windowStart, rows });
      this.rawRows += rows.length;
    }
  }

  addCounters(delta: ShardCounters): void {
    for (const name of COUNTER_NAMES) this.counters[name] += delta[name];
  }

  addSeen(hashes: readonly number[], atMs: number): void {
    for (const hash of hashes) this.seenHashes.push(hash);
    if (atMs > this.seenAtMs) this.seenAtMs = atMs;
  }

  clear(): void {
    this.governance.clear();
    this.raw = [];
    this.rawRows = 0;
    this.counters = emptyCounters();
    this.seenHashes = [];
    this.seenAtMs = 0;
  }
}
