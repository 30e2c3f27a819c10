/**
 * CPU profile of a Worker's isolate through workerd's inspector (Chrome
 * DevTools protocol), summarized as the functions where the time went. Only
 * for diagnosis (`--profile`): figures measured with the inspector attached
 * are not headline figures.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  function: string;
  self_pct: number;
  total_pct: number;
}

export interface ProfileSummary {
  target: string;
  samples: number;
  /** Share of samples with the isolate idle (waiting for I/O). */
  idle_pct: number;
  top_self: ProfileEntry[];
  top_total: ProfileEntry[];
}

interface Session {
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

async function connect(wsUrl: string): Promise<Session> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`inspector connection to ${wsUrl} failed`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error.message));
    else waiter?.resolve(message.result ?? {});
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

/** Starts sampling the isolate of the worker whose inspector target title contains `workerName`. */
export async function startCpuProfile(inspectorUrl: URL, workerName: string): Promise<{ stop(top?: number): Promise<ProfileSummary> }> {
  const list = (await (await fetch(`http://${inspectorUrl.host}/json/list`)).json()) as Array<{ title?: string; id?: string; webSocketDebuggerUrl?: string }>;
  const target = list.find((t) => (t.title ?? t.id ?? '').includes(workerName)) ?? list[0];
  if (target?.webSocketDebuggerUrl === undefined) throw new Error(`no inspector target for ${workerName}: ${JSON.stringify(list)}`);
  const session = await connect(target.webSocketDebuggerUrl.replace(/^ws:\/\/[^/]+/, `ws://${inspectorUrl.host}`));
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: 200 });
  await session.send('Profiler.start');
  return {
    async stop(top = 25) {
      const { profile } = (await session.send('Profiler.stop')) as unknown as { profile: Profile };
      session.close();
      return summarize(target.title ?? target.id ?? 'unknown', profile, top);
    },
  };
}

function summarize(targetName: string, profile: Profile, top: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const key = (n: ProfileNode): string => {
    const f = n.callFrame;
    const file = f.url === '' ? '' : ` ${f.url.split('/').pop() ?? f.url}:${f.lineNumber + 1}`;
    return `${f.functionName || '(anonymous)'}${file}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  let idle = 0;
  // Inclusive time: a node's hits plus its descendants', counted once per function on each stack.
  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    const k = key(node);
    const hits = node.hitCount ?? 0;
    samples += hits;
    if (node.callFrame.functionName === '(idle)') idle += hits;
    self.set(k, (self.get(k) ?? 0) + hits);
    const fresh = !onStack.has(k);
    if (fresh) onStack.add(k);
    let sum = hits;
    for (const child of node.children ?? []) {
      const c = byId.get(child);
      if (c !== undefined) sum += walk(c, onStack);
    }
    if (fresh) {
      onStack.delete(k);
      total.set(k, (total.get(k) ?? 0) + sum);
    }
    return sum;
  };
  const root = profile.nodes[0];
  if (root !== undefined) walk(root, new Set());
  const busy = Math.max(1, samples - idle);
  const pct = (x: number): number => Math.round((x / busy) * 1000) / 10;
  const skip = new Set(['(root)', '(idle)']);
  const rank = (m: Map<string, number>): ProfileEntry[] =>
    [...m]
      .filter(([k]) => !skip.has(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k]) => ({ function: k, self_pct: pct(self.get(k) ?? 0), total_pct: pct(total.get(k) ?? 0) }));
  return { target: targetName, samples, idle_pct: Math.round((idle / Math.max(1, samples)) * 1000) / 10, top_self: rank(self), top_total: rank(total) };
}
