/**
 * Cleanup for benchmarks that start processes and write temp files: every
 * resource registers an undo step, and `runBench` runs them (last registered
 * first) whether the bench finished, threw, was interrupted (SIGINT/SIGTERM)
 * or hit its time limit. Then the process exits, so a stray handle (an open
 * socket pool, a timer) can never keep a bench alive. Steps may also give a
 * synchronous fallback that runs from the process 'exit' event if something
 * else calls process.exit() before the orderly cleanup finished.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

type Step = { name: string; run: () => unknown; sync?: () => void };

const steps: Step[] = [];
let cleaning: Promise<void> | null = null;

process.on('exit', () => {
  // Last resort: only what can be done synchronously (kill, rmSync).
  for (const step of steps.reverse()) {
    try {
      step.sync?.();
    } catch {
      // Nothing more can be done while exiting.
    }
  }
});

/** Registers an undo step; returns a function that runs it early (and only once). */
export function onCleanup(name: string, run: () => unknown, sync?: () => void): () => Promise<void> {
  const step: Step = { name, run, ...(sync !== undefined ? { sync } : {}) };
  steps.push(step);
  return async () => {
    const index = steps.indexOf(step);
    if (index === -1) return;
    steps.splice(index, 1);
    await runStep(step);
  };
}

async function runStep(step: Step, timeoutMs = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.run),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    console.error(`bench cleanup: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every registered step, newest first. Safe to call more than once. */
export function runCleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (steps.length > 0) {
      const step = steps.pop();
      if (step !== undefined) await runStep(step);
    }
  })();
  return cleaning;
}

/** A fresh temp directory (under `base`, default the OS temp dir), deleted at cleanup. */
export async function tempDir(prefix: string, base = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(base, `edgepulse-bench-${prefix}-`));
  onCleanup(
    `remove ${dir}`,
    () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return dir;
}

/**
 * Runs a bench's main function with cleanup on every path and a hard time
 * limit. Exit code: 0 on success, 1 on error or timeout, 130/143 on a signal.
 */
export function runBench(name: string, main: () => Promise<void>, options: { timeLimitMs: number }): void {
  const finish = async (code: number): Promise<never> => {
    await runCleanup();
    process.exit(code);
  };
  const limit = setTimeout(() => {
    console.error(`${name}: time limit of ${Math.round(options.timeLimitMs / 1000)} s reached; cleaning up`);
    void finish(1);
  }, options.timeLimitMs);
  limit.unref();
  // `on`, not `once`: signal-exit (in wrangler and Miniflare) re-raises a
  // signal once it sees itself as the only listener, which would kill the
  // process before the cleanup ran. A second signal changes nothing.
  process.on('SIGINT', () => void finish(130));
  process.on('SIGTERM', () => void finish(143));
  process.on('SIGHUP', () => void finish(129));
  process.on('uncaughtException', (error) => {
    console.error(`${name}: uncaught exception:`, error);
    void finish(1);
  });
  process.on('unhandledRejection', (error) => {
    console.error(`${name}: unhandled rejection:`, error);
    void finish(1);
  });
  main().then(
    () => finish(0),
    (error: unknown) => {
      console.error(`${name} failed:`, error instanceof Error ? (error.stack ?? error.message) : error);
      return finish(1);
    },
  );
}
