import { spawn, type ChildProcess } from 'node:child_process';

export interface StartedChild {
  child: ChildProcess;
  /** The first stdout line that matched the ready pattern. */
  readyMatch: RegExpMatchArray;
  stop(): Promise<void>;
}

/**
 * Spawns a process and resolves once a stdout line matches `ready`; rejects
 * with its stderr tail if it exits or times out first. Output is forwarded
 * with a prefix when `label` is given.
 */
export function startChild(
  command: string,
  args: readonly string[],
  options: { ready: RegExp; timeoutMs: number; label?: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<StartedChild> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so stop() also ends grandchildren (wrangler -> workerd).
    detached: true,
  });
  let stderrTail = '';
  const forward = (stream: NodeJS.WritableStream, text: string): void => {
    if (options.label === undefined) return;
    for (const line of text.split('\n')) if (line.trim() !== '') stream.write(`[${options.label}] ${line}\n`);
  };
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderrTail = (stderrTail + text).slice(-4000);
    forward(process.stderr, text);
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void stop();
      reject(new Error(`${command} did not become ready within ${options.timeoutMs} ms.\n${stderrTail}`));
    }, options.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      forward(process.stdout, text);
      if (settled) return;
      buffered += text;
      const match = buffered.match(options.ready);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, readyMatch: match, stop });
      }
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before it was ready.\n${stderrTail}`));
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
