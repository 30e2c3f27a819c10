// Fault-proxy rules per shard (scripts/lib/fault-proxy.ts): a shard's flush
// carries its dedup token `edgepulse:<project>:<shard>:<incarnation>:<seq>`
// in the insert URL, so a rule matching `edgepulse:<project>:<shard>:` hits
// that shard's inserts only. The chaos test uses shard rules exclusively: the
// proxy applies the FIRST rule that matches, so a project-wide rule would
// shadow them.
import { env } from 'cloudflare:workers';

export type FaultMode = 'ok' | 'down' | 'drop-response' | 'hold';

export interface ProxyCounters {
  seen: number;
  forwarded: number;
  refused: number;
  dropped: number;
  held: number;
}

export const NO_COUNTERS: ProxyCounters = { seen: 0, forwarded: 0, refused: 0, dropped: 0, held: 0 };

function proxyUrl(): string {
  const value: unknown = Reflect.get(env, 'FAULT_PROXY_URL');
  if (typeof value !== 'string' || value === '') throw new Error('binding FAULT_PROXY_URL is not set (see the workers project in vitest.config.ts)');
  return `${value}/__faults`;
}

export class ShardFaults {
  readonly match: string;

  constructor(projectId: string, shard: number) {
    this.match = `edgepulse:${projectId}:${shard}:`;
  }

  async set(mode: FaultMode, remaining?: number): Promise<void> {
    const response = await fetch(proxyUrl(), { method: 'POST', body: JSON.stringify({ match: this.match, mode, remaining }) });
    if (!response.ok) throw new Error(`fault proxy: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }

  async counters(): Promise<ProxyCounters> {
    const response = await fetch(`${proxyUrl()}?match=${encodeURIComponent(this.match)}`);
    const body: { counters: ProxyCounters } = await response.json();
    return body.counters;
  }
}

export function addCounters(a: ProxyCounters, b: ProxyCounters): ProxyCounters {
  return { seen: a.seen + b.seen, forwarded: a.forwarded + b.forwarded, refused: a.refused + b.refused, dropped: a.dropped + b.dropped, held: a.held + b.held };
}

export function subtractCounters(a: ProxyCounters, b: ProxyCounters): ProxyCounters {
  return { seen: a.seen - b.seen, forwarded: a.forwarded - b.forwarded, refused: a.refused - b.refused, dropped: a.dropped - b.dropped, held: a.held - b.held };
}
