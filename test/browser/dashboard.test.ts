/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core)
 * against the whole local stack (global-setup.ts). Screenshots go to
 * test/browser/screenshots/ for a person to look at.
 */
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { kpiTile, kpiValue, launchChromium, metricsSum, openPage, postedEvents, postEvents, screenshot, waitForValue, type WatchedPage } from './harness.ts';
import { MINUTE_MS, liveEvents, seededHistory, type SeededHistory } from './traffic.ts';

const { workerUrl, keys } = inject('browserStack');
const dashboardUrl = (params = ''): string => `${workerUrl}/?key=${encodeURIComponent(keys.read)}${params}`;
const health = (page: Page): Promise<string | null> => page.locator('body').getAttribute('data-health');

let browser: Browser;
let history: SeededHistory;
let overview: WatchedPage | undefined;

beforeAll(async () => {
  browser = await launchChromium();
  history = seededHistory(Date.now());
  await postEvents(workerUrl, keys.server, history.events);
  // Back-dated events are late rows, flushed within seconds: wait until the query API has them all.
  const range = { start: new Date(history.head - 2 * 60 * MINUTE_MS).toISOString(), end: new Date(history.head + MINUTE_MS).toISOString(), resolution: '1m' };
  await waitForValue('checkout events in the query API', () => metricsSum(workerUrl, keys.read, { metric: 'events', eventType: 'checkout', ...range }), history.checkouts, 45_000);
  await waitForValue('page views in the query API', () => metricsSum(workerUrl, keys.read, { metric: 'events', eventType: 'page_view', ...range }), history.pageViews.us + history.pageViews.de, 15_000);
  await waitForValue('errors in the query API', () => metricsSum(workerUrl, keys.read, { metric: 'events', eventType: 'error', ...range }), history.errors, 15_000);
}, 90_000);

/** What the posted traffic holds in [fromMs, toMs): the ground truth a tile is checked against. */
function sentBetween(fromMs: number, toMs: number): { users: number; events: number; errors: number } {
  const inRange = postedEvents.filter((event) => event.timestamp >= fromMs && event.timestamp < toMs);
  return { users: new Set(inRange.map((event) => event.userId)).size, events: inRange.length, errors: inRange.filter((event) => event.eventType === 'error').length };
}

afterAll(async () => {
  await browser?.close();
});

/** The desktop overview page shared by the first tests (opened by the first one that needs it). */
async function overviewPage(): Promise<WatchedPage> {
  if (!overview) {
    overview = await openPage(browser);
    await overview.page.goto(dashboardUrl());
    await expect.poll(() => health(overview!.page), { timeout: 15_000 }).toBe('live');
  }
  return overview;
}

describe('dashboard', () => {
  test('loads without console errors: demo banner, KPIs, 24 h chart, health strip', async () => {
    const { page, errors } = await overviewPage();
    await expect.poll(() => page.getByTestId('demo-banner').isVisible()).toBe(true);
    expect(await page.getByTestId('demo-banner').textContent()).toContain('not real');
    // The snapshot arrived: the chart's 24-hour total counts the seeded history.
    await expect.poll(async () => Number(await page.getByTestId('chart-total').getAttribute('data-value')), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(history.checkouts + history.pageViews.us + history.pageViews.de);
    expect(await page.getByTestId('connection').textContent()).toContain('Live');
    await expect.poll(() => kpiValue(page, 'revenue')).not.toBeNull();
    await screenshot(page, 'desktop-overview');
    expect(errors).toEqual([]);
  });

  test('a KPI rises within 2 s after events are posted', async () => {
    const { page } = await overviewPage();
    const before = (await kpiValue(page, 'events-per-second')) ?? 0;
    const posted = Date.now();
    await postEvents(workerUrl, keys.server, liveEvents(120));
    // 120 more events this minute add at least 120/60 = 2 events/s to the trailing-minute rate.
    await expect.poll(async () => (await kpiValue(page, 'events-per-second')) ?? 0, { timeout: 2000, interval: 50 }).toBeGreaterThan(before + 1.5);
    expect(Date.now() - posted).toBeLessThan(2000);
  });

  test('the active-users and error-rate tiles match the traffic sent in their ranges', async () => {
    const { page, errors } = await overviewPage();
    // Active users: the shards' merged sliding-window sketch over the range the tile names (HLL: within 2 %).
    await expect
      .poll(async () => {
        const tile = await kpiTile(page, 'active-users');
        if (tile.value === null || tile.fromMs === null || tile.toMs === null) return 'tile not loaded';
        const sent = sentBetween(tile.fromMs, tile.toMs);
        if (tile.toMs - tile.fromMs < 300_000 || sent.users === 0) return `range ${tile.fromMs}..${tile.toMs} holds ${sent.users} users`;
        return Math.abs(tile.value - sent.users) <= Math.max(1, 0.02 * sent.users) ? 'matches' : `tile ${tile.value}, sent ${sent.users} users`;
      }, { timeout: 20_000, interval: 250 })
      .toBe('matches');
    // Error rate: error events over all events of the tile's 15 minute windows, exactly.
    await expect
      .poll(async () => {
        const tile = await kpiTile(page, 'error-rate');
        if (tile.value === null || tile.fromMs === null || tile.toMs === null) return 'tile not loaded';
        const sent = sentBetween(tile.fromMs, tile.toMs);
        if (sent.errors === 0) return `no errors sent in ${tile.fromMs}..${tile.toMs}`;
        return Math.abs(tile.value - sent.errors / sent.events) < 1e-9 ? 'matches' : `tile ${tile.value}, sent ${sent.errors}/${sent.events}`;
      }, { timeout: 15_000, interval: 250 })
      .toBe('matches');
    expect(await page.locator('[data-kpi="error-rate"] .kpi-note').textContent()).toContain('“error”');
    await screenshot(page, 'desktop-kpis');
    expect(errors).toEqual([]);
  });

  test('a filter changes the chart', async () => {
    const { page, errors } = await overviewPage();
    const select = page.getByTestId('filter-country');
    // The choices come from a 24-hour breakdown (groupBy=country).
    await expect.poll(() => select.locator('option[value="DE"]').count(), { timeout: 10_000 }).toBe(1);
    await select.selectOption('DE');
    const query = page.getByTestId('chart-query');
    await expect.poll(() => query.getAttribute('data-topic')).toBe('metrics:*:country:DE');
    expect(await query.textContent()).toContain('country DE');
    expect(page.url()).toContain('country=DE');
    // Only the DE page views remain: 2 per minute for 18 minutes.
    await expect.poll(async () => Number(await page.getByTestId('chart-total').getAttribute('data-value')), { timeout: 10_000 }).toBe(history.pageViews.de);
    await screenshot(page, 'desktop-filtered');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => query.getAttribute('data-topic')).toBe('metrics:*');
    expect(errors).toEqual([]);
  });

  test('brushing a range opens a drill-down by another dimension', async () => {
    const { page, errors } = await overviewPage();
    const over = page.locator('[data-testid="chart"] .u-over');
    const box = await over.boundingBox();
    if (!box) throw new Error('the chart has no plot area');
    // The last ~5 % of 24 hours (about 70 minutes) holds all the seeded page views.
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.95, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.975, y, { steps: 4 });
    await page.mouse.move(box.x + box.width - 1, y, { steps: 4 });
    await page.mouse.up();
    const drilldown = page.getByTestId('drilldown');
    await expect.poll(() => drilldown.isVisible()).toBe(true);
    await expect.poll(() => drilldown.getAttribute('data-state'), { timeout: 10_000 }).toBe('ready');
    const rows = drilldown.locator('.breakdown-row');
    await expect.poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))).toEqual(expect.arrayContaining(['US', 'DE', 'FR']));
    await drilldown.getByRole('button', { name: 'Device', exact: true }).click();
    await expect.poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key'))), { timeout: 10_000 }).toEqual(expect.arrayContaining(['DESKTOP', 'MOBILE']));
    await screenshot(page, 'desktop-drilldown');
    await drilldown.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => drilldown.isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });

  test('an anomaly injected by traffic is highlighted', async () => {
    const { page, errors } = await overviewPage();
    await page.goto(dashboardUrl('&eventType=checkout&window=6h'));
    const spikeWindow = new Date(history.spikeMinute).toISOString();
    // The spike minute is flagged (the list may hold other flagged minutes too, e.g. the quiet ones after it).
    await expect.poll(async () => ((await page.getByTestId('anomalies').getAttribute('data-windows')) ?? '').split(' '), { timeout: 15_000 }).toContain(spikeWindow);
    expect(await page.locator('.anomaly-count').textContent()).toMatch(/anomal/);
    const spike = page.locator(`[data-testid="anomalies"] li[data-window="${spikeWindow}"]`);
    await expect.poll(() => spike.count()).toBe(1);
    await spike.getByRole('button').click();
    await expect.poll(() => page.getByTestId('drilldown').getAttribute('data-state'), { timeout: 10_000 }).toBe('ready');
    await screenshot(page, 'desktop-anomaly');
    expect(errors).toEqual([]);
  });

  test('is usable at phone width', async () => {
    const phone = await openPage(browser, { phone: true });
    try {
      await phone.page.goto(dashboardUrl('&window=1h'));
      await expect.poll(() => health(phone.page), { timeout: 15_000 }).toBe('live');
      // Nothing wider than the screen: no sideways scrolling.
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await expect.poll(async () => Number(await phone.page.getByTestId('chart-total').getAttribute('data-value')), { timeout: 10_000 }).toBeGreaterThan(0);
      await screenshot(phone.page, 'phone-overview');
      expect(phone.errors).toEqual([]);
    } finally {
      await phone.context.close();
    }
  });

  test('a killed WebSocket shows the stale state, then recovers on its own', async () => {
    const watched = await openPage(browser);
    const { page } = watched;
    let outage = false;
    const sockets: WebSocketRoute[] = [];
    // Every socket goes through this route: pass-through normally, refused during the outage.
    await page.routeWebSocket(/\/v1\/live/, (ws) => {
      if (outage) {
        void ws.close({ code: 1011, reason: 'test outage' });
        return;
      }
      ws.connectToServer();
      sockets.push(ws);
    });
    // Background traffic, so "live" means data is really flowing.
    const traffic = setInterval(() => void postEvents(workerUrl, keys.server, liveEvents(2, 'GB')).catch(() => undefined), 500);
    try {
      await page.goto(dashboardUrl('&staleAfter=3'));
      await expect.poll(() => health(page), { timeout: 15_000 }).toBe('live');

      outage = true;
      const killed = sockets.at(-1);
      if (killed === undefined) throw new Error('the dashboard opened no WebSocket');
      // A short-lived viewer token and flow control in the socket URL, never the read key.
      expect(new URL(killed.url()).searchParams.has('token')).toBe(true);
      expect(new URL(killed.url()).searchParams.get('ack')).toBe('32');
      expect(killed.url()).not.toContain(keys.read);
      await killed.close({ code: 1012, reason: 'test kill' });
      await expect.poll(() => page.getByTestId('connection').getAttribute('data-state'), { timeout: 5000 }).toBe('reconnecting');
      // Past ?staleAfter=3 the alarm says so in words, and the page is marked stale.
      await expect.poll(() => page.getByTestId('stale-alarm').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await page.getByTestId('stale-alarm').textContent()).toContain('Stale data');
      expect(await health(page)).toBe('stale');
      await screenshot(page, 'desktop-stale');

      outage = false;
      // Reconnects with its own backoff (no reload, no click), then data flows again.
      await expect.poll(() => health(page), { timeout: 40_000, interval: 250 }).toBe('live');
      expect(await page.getByTestId('stale-alarm').isVisible()).toBe(false);
      expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('open');
      await screenshot(page, 'desktop-recovered');
    } finally {
      clearInterval(traffic);
      await watched.context.close();
    }
  });

  test('frames stop while the socket stays open: the dashboard says plainly it is stale, then recovers', async () => {
    const watched = await openPage(browser);
    const { page } = watched;
    let opened = 0;
    await page.routeWebSocket(/\/v1\/live/, (ws) => {
      opened++;
      ws.connectToServer();
    });
    let flowing = true;
    const traffic = setInterval(() => {
      if (flowing) void postEvents(workerUrl, keys.server, liveEvents(2, 'GB')).catch(() => undefined);
    }, 500);
    try {
      await page.goto(dashboardUrl('&staleAfter=3'));
      await expect.poll(() => health(page), { timeout: 15_000 }).toBe('live');
      const socketsBefore = opened;

      // Nothing new happens: no deltas, while the socket (and its heartbeat) stays up.
      flowing = false;
      await expect.poll(() => page.getByTestId('stale-alarm').isVisible(), { timeout: 10_000 }).toBe(true);
      const alarm = (await page.getByTestId('stale-alarm').textContent()) ?? '';
      expect(alarm).toContain('Stale data');
      expect(alarm).toContain('The connection is open, but nothing new is arriving');
      expect(await health(page)).toBe('stale');
      expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('open');
      expect(await page.getByTestId('freshness').getAttribute('data-state')).toBe('stale');
      await screenshot(page, 'desktop-stale-open-socket');

      flowing = true;
      await expect.poll(() => health(page), { timeout: 10_000, interval: 250 }).toBe('live');
      expect(await page.getByTestId('stale-alarm').isVisible()).toBe(false);
      // The same socket all along: freshness, not the connection, made it stale.
      expect(opened).toBe(socketsBefore);
      expect(watched.errors).toEqual([]);
    } finally {
      clearInterval(traffic);
      await watched.context.close();
    }
  });
});
