/**
 * Backpressure from a shard whose unflushed backlog reached its bound
 * (ClickHouse unreachable for long): `ingest` throws instead of accepting
 * events it could not keep. An RPC carries an error's message, not its class,
 * so the message has a fixed, parseable form; the edge maps it to
 * 503 + Retry-After. Nothing of the refused batch was recorded, so a retry of
 * the same events is safe.
 */

const PREFIX = 'edgepulse-backpressure';
const PATTERN = /edgepulse-backpressure retry_after_s=(\d+) backlog_rows=(\d+) limit=(\d+)/;

export interface Backpressure {
  retryAfterSeconds: number;
  backlogRows: number;
  limit: number;
}

export class BackpressureError extends Error {
  readonly backpressure: Backpressure;

  constructor(backpressure: Backpressure) {
    const { retryAfterSeconds, backlogRows, limit } = backpressure;
    super(`${PREFIX} retry_after_s=${retryAfterSeconds} backlog_rows=${backlogRows} limit=${limit}: shard backlog is full, nothing was recorded; retry later`);
    this.name = 'BackpressureError';
    this.backpressure = backpressure;
  }
}

/** The backpressure carried by an error thrown by ShardAggregator.ingest (directly or over RPC), else null. */
export function parseBackpressure(error: unknown): Backpressure | null {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : null;
  if (message === null) return null;
  const match = PATTERN.exec(message);
  if (match === null) return null;
  return { retryAfterSeconds: Number(match[1]), backlogRows: Number(match[2]), limit: Number(match[3]) };
}
