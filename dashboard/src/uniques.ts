/**
 * Active users in the last 5 minutes. Uniques cannot be added up per minute,
 * so they come from `GET /v1/active-users`: every shard's sliding-window
 * sketch merged (HyperLogLog), which includes the minutes ClickHouse does not
 * have yet. The API caches the answer at the edge for a few seconds, so many
 * viewers cost one fan-out; the tile asks again every 5 s while live data
 * shows activity (the window slides), every 30 s when idle, and at once when
 * the view changes or the socket reconnects.
 */
import { toApiError, type Api, type ApiError } from './api.ts';
import type { Filters } from './config.ts';

const ACTIVE_REFRESH_MS = 5_000;
const IDLE_REFRESH_MS = 30_000;

export type UniquesState =
  | { kind: 'loading' }
  | { kind: 'ok'; value: number; fromMs: number; toMs: number; loadedAt: number }
  | { kind: 'unsupported' }
  | { kind: 'error'; error: ApiError };

export class ActiveUsers {
  state: UniquesState = { kind: 'loading' };
  private generation = 0;
  private lastRequestAt = 0;
  private activitySinceLoad = false;

  constructor(private readonly api: Api, private readonly seconds: number, private readonly onChange: () => void) {}

  /** Live data arrived: a refresh may be due. */
  noteActivity(): void {
    this.activitySinceLoad = true;
  }

  /** Called every second: refreshes when the last load is old enough for the activity seen. */
  maybeRefresh(filters: Filters, now: number): void {
    if (this.state.kind === 'unsupported') return;
    const due = this.activitySinceLoad ? ACTIVE_REFRESH_MS : IDLE_REFRESH_MS;
    if (now - this.lastRequestAt >= due) void this.load(filters, now);
  }

  async load(filters: Filters, now: number): Promise<void> {
    const generation = ++this.generation;
    this.lastRequestAt = now;
    this.activitySinceLoad = false;
    if (this.state.kind !== 'ok') this.state = { kind: 'loading' };
    try {
      const answer = await this.api.activeUsers(this.seconds, filters.eventType, filters.dims);
      if (generation !== this.generation) return;
      this.state = answer === null ? { kind: 'unsupported' } : { kind: 'ok', ...answer, loadedAt: Date.now() };
    } catch (err) {
      if (generation !== this.generation) return;
      const error = toApiError(err);
      this.state = error.status === 400 ? { kind: 'unsupported' } : { kind: 'error', error };
    }
    this.onChange();
  }
}
