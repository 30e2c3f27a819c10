/**
 * Starts workerd through Miniflare's API (no `wrangler dev` proxy in front:
 * the client talks to workerd's own socket) and registers its disposal.
 * Options are in the classic (v4) shape, which is also what wrangler's
 * `unstable_getMiniflareWorkerOptions` returns; Miniflare 5 converts them.
 */
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4MiniflareOptions } from 'miniflare';
import { onCleanup } from './cleanup.ts';
import { findDescendants } from './proc.ts';

export interface StartedMiniflare {
  mf: Miniflare;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** workerd process ids (for CPU accounting). */
  workerdPids: number[];
  dispose(): Promise<void>;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function startMiniflare(options: V4MiniflareOptions): Promise<StartedMiniflare> {
  const before = new Set(findDescendants('workerd'));
  const listenersBefore = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      // WARN, not INFO: at INFO the entry worker posts a log line per request back to Node.
      log: new Log(LogLevel.WARN),
      ...options,
    } as V4MiniflareOptions),
  );
  // Miniflare installs signal handlers that call process.exit() at once, which
  // would cut the bench's own cleanup short (ClickHouse, temp dirs); the bench
  // disposes Miniflare itself. Its 'exit' hook, which kills workerd, stays.
  const dropSignalHandlers = (): void => {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!listenersBefore.get(signal)?.has(listener)) process.removeListener(signal, listener as () => void);
      }
    }
  };
  dropSignalHandlers();
  const dispose = onCleanup('dispose Miniflare', () => mf.dispose());
  const url = await mf.ready;
  dropSignalHandlers();
  const workerdPids = findDescendants('workerd').filter((pid) => !before.has(pid));
  return { mf, origin: url.origin, workerdPids, dispose };
}
