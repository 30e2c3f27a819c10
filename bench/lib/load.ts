/**
 * Closed-loop HTTP load: `concurrency` client loops, each sending its next
 * request as soon as the previous answer arrived, over keep-alive connections
 * (an undici Pool, one connection per loop: the cheapest Node client, which
 * matters when the client shares two cores with the server).
 */
import { Pool } from 'undici';
import { cpuSeconds, machineBusySeconds, selfCpuSeconds } from './proc.ts';
import { summarizeLatencies, type LatencySummary } from './stats.ts';

export interface Target {
  /** e.g. http://127.0.0.1:8787 */
  origin: string;
  path: string;
  headers: Record<string, string>;
}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Body of the next request; called once per request, so it can mint fresh ids. */
  makeBody: () => string;
  /** Items a successful answer counted (e.g. accepted events); null = the request failed. */
  countItems: (status: number, body: string) => number | null;
  /** Processes whose CPU time is reported for the phase (e.g. workerd). */
  serverPids?: readonly number[];
  /** Other processes of the bench (e.g. the ClickHouse server), not counted as "others". */
  helperPids?: readonly number[];
}

export interface LoadResult {
  concurrency: number;
  duration_s: number;
  requests: number;
  failed: number;
  items: number;
  requests_per_s: number;
  items_per_s: number;
  latency: LatencySummary;
  /** Server CPU (all serverPids) per successful request, in ms; null if unknown. */
  server_cpu_ms_per_request: number | null;
  /** Server CPU used / wall time: 1.0 = one core busy. */
  server_cpu_cores: number | null;
  client_cpu_cores: number;
  /** Helper processes (ClickHouse) CPU / wall time. */
  helper_cpu_cores: number | null;
  /** CPU used on this machine by processes outside the bench (other users' work), in cores. */
  others_cpu_cores: number | null;
  /** A few distinct failure descriptions, for the report. */
  failures: string[];
}

export async function runLoad(target: Target, options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(target.origin, {
    connections: options.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
  });
  const latencies: number[] = [];
  let requests = 0;
  let failed = 0;
  let items = 0;
  const failures = new Set<string>();
  const cpu0 = cpuSeconds(options.serverPids ?? []);
  const helper0 = cpuSeconds(options.helperPids ?? []);
  const machine0 = machineBusySeconds();
  const self0 = selfCpuSeconds();
  const t0 = performance.now();
  const end = t0 + options.durationMs;

  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const body = options.makeBody();
      const start = performance.now();
      let status = 0;
      let text = '';
      try {
        const response = await pool.request({ method: 'POST', path: target.path, headers: target.headers, body });
        status = response.statusCode;
        text = await response.body.text();
      } catch (error) {
        text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      const elapsed = performance.now() - start;
      requests++;
      const counted = options.countItems(status, text);
      if (counted === null) {
        failed++;
        if (failures.size < 5) failures.add(`${status} ${text.slice(0, 300)}`);
        // A failing server must not turn the loop into a busy spin.
        if (status === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      items += counted;
      latencies.push(elapsed);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(options.serverPids ?? []);
  const helper1 = cpuSeconds(options.helperPids ?? []);
  const machine1 = machineBusySeconds();
  const selfCpu = selfCpuSeconds() - self0;
  const serverCpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  const helperCpu = helper0 !== null && helper1 !== null ? helper1 - helper0 : null;
  const machineCpu = machine0 !== null && machine1 !== null ? machine1 - machine0 : null;
  const othersCpu = machineCpu !== null && serverCpu !== null ? Math.max(0, machineCpu - serverCpu - selfCpu - (helperCpu ?? 0)) : null;
  const ok = requests - failed;
  return {
    concurrency: options.concurrency,
    duration_s: round3(wallS),
    requests,
    failed,
    items,
    requests_per_s: Math.round(ok / wallS),
    items_per_s: Math.round(items / wallS),
    latency: summarizeLatencies(latencies),
    server_cpu_ms_per_request: serverCpu !== null && ok > 0 ? round3((serverCpu * 1000) / ok) : null,
    server_cpu_cores: serverCpu !== null ? round3(serverCpu / wallS) : null,
    client_cpu_cores: round3(selfCpu / wallS),
    helper_cpu_cores: helperCpu !== null ? round3(helperCpu / wallS) : null,
    others_cpu_cores: othersCpu !== null ? round3(othersCpu / wallS) : null,
    failures: [...failures],
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
