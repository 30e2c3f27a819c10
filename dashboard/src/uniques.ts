/**
 * Active users in the last 5 minutes. Uniques cannot be added up per minute,
 * so they come from the query API's merged HLL sketches (`total` of
 * `metric=unique_users`), not from the live deltas. The load is event-driven:
 * when the view changes, when a minute closes, and at most every 15 s while
 * live deltas show activity; an idle dashboard asks nothing. The API caches
 * the answer at the edge, so many viewers cost one query.
 */
import { toApiError, type Api, type ApiError } from './api.ts';
import type { Filters } from './config.ts';
import { MINUTE_MS, floorToMinute } from './time.ts';

const ACTIVITY_REFRESH_MS = 15_000;

export type UniquesState =
  | { kind: 'loading' }
  | { kind: 'ok'; value: number; loadedAt: number }
  | { kind: 'unsupported' }
  | { kind: 'error'; error: ApiError };

export class ActiveUsers {
  state: UniquesState = { kind: 'loading' };
  private generation = 0;
  private lastRequestAt = 0;
  private activitySinceLoad = false;

  constructor(private readonly api: Api, private readonly minutes: number, private readonly onChange: () => void) {}

  /** Live data arrived: a refresh may be due. */
  noteActivity(): void {
    this.activitySinceLoad = true;
  }

  /** Called every second: refreshes when activity was seen and the last load is old enough. */
  maybeRefresh(filters: Filters, serverNow: number, now: number): void {
    if (this.activitySinceLoad && now - this.lastRequestAt >= ACTIVITY_REFRESH_MS && this.state.kind !== 'unsupported') {
      void this.load(filters, serverNow, now);
    }
  }

  async load(filters: Filters, serverNow: number, now: number): Promise<void> {
    const generation = ++this.generation;
    this.lastRequestAt = now;
    this.activitySinceLoad = false;
    if (this.state.kind !== 'ok') this.state = { kind: 'loading' };
    const head = floorToMinute(serverNow);
    try {
      const response = await this.api.metrics({
        metric: 'unique_users',
        eventType: filters.eventType,
        startMs: head - (this.minutes - 1) * MINUTE_MS,
        endMs: head + MINUTE_MS,
        resolution: '1m',
        filters: filters.dims,
      });
      if (generation !== this.generation) return;
      // An API without unique_users answers without `total`: say so instead of showing a wrong number.
      this.state = response.total === null ? { kind: 'unsupported' } : { kind: 'ok', value: response.total, loadedAt: Date.now() };
    } catch (err) {
      if (generation !== this.generation) return;
      const error = toApiError(err);
      this.state = error.status === 400 ? { kind: 'unsupported' } : { kind: 'error', error };
    }
    this.onChange();
  }
}
