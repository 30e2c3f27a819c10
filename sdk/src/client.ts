import { sendBeacons, watchPageHide } from './beacon.ts';
import { EdgepulseError } from './errors.ts';
import { prepareEvent, type QueuedEvent } from './event.ts';
import { MAX_BODY_BYTES, RETRY_WINDOW_MS } from './limits.ts';
import { resolveOptions, type ClientOptions } from './options.ts';
import { retryDelayMs } from './retry.ts';
import { fitCount, postBatch, type ServerRejection } from './transport.ts';
import type { EdgepulseEvent, TrackOptions } from './types.ts';

export interface Client {
  /** Queues an event and returns its eventId. Throws EdgepulseError on an invalid event; never on network trouble. */
  track(eventType: string, options?: TrackOptions): string;
  /** `track('page_view')` with dimension `path` (default: location.pathname in browsers). */
  page(path?: string, options?: TrackOptions): string;
  /** Resolves once every event queued before the call was accepted, or given up and reported to onError. */
  flush(): Promise<void>;
  /** Stops page listeners, refuses further events, then flushes. */
  close(): Promise<void>;
}

interface Batch {
  items: QueuedEvent[];
  /** Ordinal of its first event in the order events left the queue. */
  start: number;
  beaconed: boolean;
}

export function createClient(options: ClientOptions): Client {
  const config = resolveOptions(options);
  const queue: QueuedEvent[] = [];
  /** Events ever removed from the queue's front (sent or dropped), so also the ordinal of queue[0]. */
  let taken = 0;
  const inFlight = new Set<Batch>();
  const flushes: { until: number; resolve: () => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Partial batches may go now: the oldest event waited flushIntervalMs, or flush() was called. */
  let due = false;
  let closed = false;
  let dropped: EdgepulseEvent[] = [];
  const page = config.beaconOnPageHide ? watchPageHide(onPageHide) : undefined;

  function report(error: EdgepulseError): void {
    try {
      config.onError(error);
    } catch {
      // An observer's failure must not break tracking or delivery.
    }
  }

  function take(count: number): QueuedEvent[] {
    taken += count;
    return queue.splice(0, count);
  }

  function pump(): void {
    while (queue.length > 0 && inFlight.size < config.maxConcurrentRequests && (due || queue.length >= config.maxBatchSize)) {
      const start = taken;
      const batch: Batch = { items: take(fitCount(queue, 0, config.maxBatchSize, MAX_BODY_BYTES)), start, beaconed: false };
      inFlight.add(batch);
      void deliver(batch).finally(() => {
        inFlight.delete(batch);
        settle();
        pump();
      });
    }
    if (queue.length === 0) {
      due = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    } else if (!due && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        due = true;
        pump();
      }, config.flushIntervalMs);
    }
  }

  async function deliver(batch: Batch): Promise<void> {
    const firstAttemptAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      const outcome = await postBatch(config.fetch, config.eventsUrl, config.writeKey, batch.items, config.requestTimeoutMs);
      if (outcome.kind === 'failed') {
        const events = batch.items.map((item) => item.event);
        report(new EdgepulseError('request_failed', `${outcome.reason} (not retried)`, { events, status: outcome.status }));
        return;
      }
      reportRejections(batch.items, outcome.rejected, outcome.status);
      if (outcome.kind === 'accepted') return;
      // Same items, same eventIds: whatever the server already counted is deduplicated.
      // Refused events would only be refused again.
      const refused = new Set(outcome.rejected.map((rejection) => rejection.index));
      const retry = outcome.failed ?? batch.items.map((_, index) => index);
      batch.items = retry.flatMap((index) => (refused.has(index) ? [] : (batch.items[index] ?? [])));
      if (batch.items.length === 0) return;
      const delay = retryDelayMs(attempt, config.retryBaseMs, config.retryMaxDelayMs, outcome.retryAfterMs);
      const late = Date.now() + delay - firstAttemptAt > RETRY_WINDOW_MS;
      if (attempt >= config.maxRetries || late) {
        const why = late ? 'a retry would fall outside the server\'s dedup window' : `gave up after ${attempt + 1} attempts`;
        report(
          new EdgepulseError('retries_exhausted', `${outcome.reason} (${why})`, {
            events: batch.items.map((item) => item.event),
            status: outcome.status,
          }),
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  function reportRejections(items: readonly QueuedEvent[], rejected: readonly ServerRejection[], status: number | undefined): void {
    const refused = rejected.flatMap(({ index, code, message }) => {
      const item = items[index];
      return item ? [{ event: item.event, code, message }] : [];
    });
    if (refused.length === 0) return;
    report(
      new EdgepulseError('rejected', `server rejected ${refused.length} event(s): ${refused[0]?.message}`, {
        events: refused.map((rejection) => rejection.event),
        rejections: refused.map(({ event, code, message }) => ({ eventId: event.eventId, code, message })),
        status,
      }),
    );
  }

  /** Resolves the flushes whose events have all left the queue and every in-flight batch. */
  function settle(): void {
    for (let i = flushes.length - 1; i >= 0; i--) {
      const waiter = flushes[i];
      if (waiter && taken >= waiter.until && ![...inFlight].some((batch) => batch.start < waiter.until)) {
        flushes.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function dropOldest(count: number): void {
    // One report per burst, not one per track() call while the queue is full.
    if (dropped.length === 0) {
      queueMicrotask(() => {
        const events = dropped;
        dropped = [];
        report(
          new EdgepulseError('queue_overflow', `queue full (maxQueueSize ${config.maxQueueSize}): dropped the ${events.length} oldest event(s)`, { events }),
        );
      });
    }
    for (const item of take(count)) dropped.push(item.event);
    settle();
  }

  function onPageHide(): void {
    // Runs while the page is being hidden or unloaded: must never throw.
    try {
      if (!page) return;
      const queued = queue.length;
      const sent = sendBeacons(page.sendBeacon, config.beaconUrl, queue);
      take(sent);
      if (sent < queued) {
        report(
          new EdgepulseError('beacon_failed', `the browser refused a beacon: ${queued - sent} event(s) stay queued and are lost if the page unloads`, {
            events: queue.map((item) => item.event),
          }),
        );
      }
      // A fetch still in flight or waiting to retry dies with the page; the beacon re-sends it (dedup makes this safe).
      for (const batch of inFlight) {
        if (batch.beaconed) continue;
        if (sendBeacons(page.sendBeacon, config.beaconUrl, batch.items) < batch.items.length) break;
        batch.beaconed = true;
      }
      settle();
      pump();
    } catch {
      // Nothing useful can be done while the page goes away.
    }
  }

  function track(eventType: string, trackOptions?: TrackOptions): string {
    if (closed) throw new EdgepulseError('closed', 'track() after close()');
    const item = prepareEvent(eventType, trackOptions);
    queue.push(item);
    if (queue.length > config.maxQueueSize) dropOldest(queue.length - config.maxQueueSize);
    pump();
    return item.event.eventId;
  }

  function flush(): Promise<void> {
    const done = new Promise<void>((resolve) => flushes.push({ until: taken + queue.length, resolve }));
    if (queue.length > 0) due = true;
    pump();
    settle();
    return done;
  }

  return {
    track,
    page(path, pageOptions = {}) {
      const where = path ?? locationPath();
      return track('page_view', where === undefined ? pageOptions : { ...pageOptions, dimensions: { ...pageOptions.dimensions, path: where } });
    },
    flush,
    async close() {
      closed = true;
      page?.stop();
      await flush();
    },
  };
}

function locationPath(): string | undefined {
  const scope: object = globalThis;
  if (!('location' in scope) || typeof scope.location !== 'object' || scope.location === null) return undefined;
  return 'pathname' in scope.location && typeof scope.location.pathname === 'string' ? scope.location.pathname : undefined;
}
