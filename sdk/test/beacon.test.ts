import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type EdgepulseError } from '../src/index.ts';
import { accepted, drain, eventIdsOf, eventsOf, fakeFetch } from './fake-fetch.ts';

/**
 * These tests run in Node with a MOCKED browser: fake window and document
 * event targets and a fake navigator.sendBeacon. They check the client's
 * page-hide logic, not a real browser's beacon behaviour.
 */
class FakeTarget {
  readonly listeners = new Map<string, Set<() => void>>();
  addEventListener = (type: string, listener: () => void): void => {
    this.listeners.set(type, (this.listeners.get(type) ?? new Set()).add(listener));
  };
  removeEventListener = (type: string, listener: () => void): void => {
    this.listeners.get(type)?.delete(listener);
  };
  /** Calls listeners directly, so an exception in one would fail the test. */
  fire(type: string): void {
    for (const listener of this.listeners.get(type) ?? []) listener();
  }
}

interface MockBrowser {
  window: FakeTarget;
  document: FakeTarget & { visibilityState: string };
  beacons: { url: string; body: string }[];
  sendBeacon: ReturnType<typeof vi.fn<(url: string, body: string) => boolean>>;
}

function mockBrowser(accept: (body: string) => boolean = () => true): MockBrowser {
  const window = new FakeTarget();
  const document = Object.assign(new FakeTarget(), { visibilityState: 'visible' });
  const beacons: { url: string; body: string }[] = [];
  const sendBeacon = vi.fn((url: string, body: string) => {
    if (!accept(body)) return false;
    beacons.push({ url, body });
    return true;
  });
  vi.stubGlobal('addEventListener', window.addEventListener);
  vi.stubGlobal('removeEventListener', window.removeEventListener);
  vi.stubGlobal('document', document);
  vi.stubGlobal('navigator', { sendBeacon });
  vi.stubGlobal('location', { pathname: '/checkout' });
  return { window, document, beacons, sendBeacon };
}

const endpoint = 'https://ingest.example.com';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('page hide with a mocked browser (fake window/document/navigator)', () => {
  it('sends the queue with sendBeacon on pagehide: key in the query string, JSON text body', () => {
    const browser = mockBrowser();
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk/1 ?', fetch });
    const ids = [client.track('a'), client.page()];
    browser.window.fire('pagehide');
    expect(browser.beacons).toHaveLength(1);
    expect(browser.beacons[0]?.url).toBe('https://ingest.example.com/v1/events?key=wk%2F1%20%3F');
    expect(eventIdsOf(browser.beacons[0]?.body ?? '')).toEqual(ids);
    expect(eventsOf(browser.beacons[0]?.body ?? '')[1]).toMatchObject({ eventType: 'page_view', dimensions: { path: '/checkout' } });
    expect(requests).toHaveLength(0);
  });

  it('beacons on visibilitychange to hidden, not to visible', () => {
    const browser = mockBrowser();
    const client = createClient({ endpoint, writeKey: 'wk', fetch: fakeFetch(() => accepted()).fetch });
    client.track('a');
    browser.document.fire('visibilitychange');
    expect(browser.sendBeacon).not.toHaveBeenCalled();
    browser.document.visibilityState = 'hidden';
    browser.document.fire('visibilitychange');
    expect(browser.beacons).toHaveLength(1);
  });

  it('a beaconed event is not sent again by fetch', async () => {
    const browser = mockBrowser();
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('a');
    browser.window.fire('pagehide');
    await vi.advanceTimersByTimeAsync(1000);
    await client.flush();
    expect(requests).toHaveLength(0);
  });

  it('chunks beacons under the 64 KB beacon limit', () => {
    const browser = mockBrowser();
    const client = createClient({ endpoint, writeKey: 'wk', fetch: fakeFetch(() => accepted()).fetch, maxBatchSize: 1000 });
    const dimensions = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`d${i}`, 'x'.repeat(250)]));
    const ids = Array.from({ length: 200 }, () => client.track('big', { dimensions })); // ~2.1 KB each, ~420 KB in all
    browser.window.fire('pagehide');
    expect(browser.beacons.length).toBeGreaterThan(5);
    for (const beacon of browser.beacons) expect(new TextEncoder().encode(beacon.body).length).toBeLessThanOrEqual(64_000);
    expect(browser.beacons.flatMap((beacon) => eventIdsOf(beacon.body))).toEqual(ids);
  });

  it('keeps events the browser refused queued, reports them, and sends them by fetch if the page lives on', async () => {
    let quota = 1;
    const browser = mockBrowser(() => quota-- > 0);
    const { fetch, requests } = fakeFetch(() => accepted());
    const errors: EdgepulseError[] = [];
    const client = createClient({ endpoint, writeKey: 'wk', fetch, maxBatchSize: 1000, onError: (error) => errors.push(error) });
    const dimensions = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`d${i}`, 'x'.repeat(250)]));
    const ids = Array.from({ length: 50 }, () => client.track('big', { dimensions })); // two beacons' worth
    browser.window.fire('pagehide');
    const beaconed = eventIdsOf(browser.beacons[0]?.body ?? '');
    expect(errors.map((error) => error.code)).toEqual(['beacon_failed']);
    expect(errors[0]?.events.map((event) => event.eventId)).toEqual(ids.slice(beaconed.length));
    await vi.advanceTimersByTimeAsync(50);
    expect(requests.flatMap((request) => request.eventIds)).toEqual(ids.slice(beaconed.length));
  });

  it('also beacons a batch whose fetch is still waiting to retry (dedup makes the double send safe)', async () => {
    const browser = mockBrowser();
    const { fetch, requests } = fakeFetch(() => Response.json({ error: { code: 'ingest_unavailable', message: '' } }, { status: 503, headers: { 'Retry-After': '30' } }));
    const client = createClient({ endpoint, writeKey: 'wk', fetch, onError: () => {} });
    const inFlight = client.track('a');
    await vi.advanceTimersByTimeAsync(50);
    expect(requests).toHaveLength(1);
    const queued = client.track('b');
    browser.window.fire('pagehide');
    expect(browser.beacons.flatMap((beacon) => eventIdsOf(beacon.body))).toEqual([queued, inFlight]);
    browser.window.fire('pagehide');
    expect(browser.beacons).toHaveLength(2); // not re-beaconed on the next hide
  });

  it('never throws from the handler, even when sendBeacon throws', () => {
    const browser = mockBrowser(() => {
      throw new TypeError('beacon exploded');
    });
    const client = createClient({ endpoint, writeKey: 'wk', fetch: fakeFetch(() => accepted()).fetch });
    client.track('a');
    expect(() => browser.window.fire('pagehide')).not.toThrow();
    expect(browser.sendBeacon).toHaveBeenCalled();
  });

  it('close() removes the listeners; beaconOnPageHide: false never adds them', async () => {
    const browser = mockBrowser();
    const closed = createClient({ endpoint, writeKey: 'wk', fetch: fakeFetch(() => new Promise<Response>(() => {})).fetch });
    closed.track('in_flight_forever'); // a listener left behind would beacon it
    void closed.close();
    expect(browser.window.listeners.get('pagehide')?.size).toBe(0);
    const optedOut = createClient({ endpoint, writeKey: 'wk', fetch: fakeFetch(() => accepted()).fetch, beaconOnPageHide: false });
    optedOut.track('a');
    browser.window.fire('pagehide');
    browser.document.visibilityState = 'hidden';
    browser.document.fire('visibilitychange');
    await drain();
    expect(browser.sendBeacon).not.toHaveBeenCalled();
  });

  it('outside a browser (no document or sendBeacon) the client just uses fetch', async () => {
    const { fetch, requests } = fakeFetch(() => accepted());
    const client = createClient({ endpoint, writeKey: 'wk', fetch });
    client.track('a');
    await client.flush();
    expect(requests).toHaveLength(1);
  });
});
