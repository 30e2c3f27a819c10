/** Chromium via playwright-core, traffic helpers and screenshots for the browser tests. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DESKTOP = { width: 1366, height: 900 };
export const PHONE = { width: 390, height: 844 };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
}

export async function openPage(browser: Browser, options: { phone?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.phone ? PHONE : DESKTOP,
    deviceScaleFactor: options.phone ? 2 : 1,
    isMobile: options.phone === true,
    hasTouch: options.phone === true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface TestEvent {
  eventType: string;
  timestamp: number;
  value?: number;
  userId?: string;
  dimensions: Record<string, string>;
}

/** Every event the tests posted and the API accepted, in order: what tiles are checked against. */
export const postedEvents: TestEvent[] = [];

/** POST /v1/events in chunks the API accepts; fails the test on anything but 202 with nothing rejected. */
export async function postEvents(workerUrl: string, serverKey: string, events: readonly TestEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events.slice(i, i + 500);
    const response = await fetch(`${workerUrl}/v1/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${serverKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: chunk }),
    });
    const text = await response.text();
    if (response.status !== 202) throw new Error(`POST /v1/events answered ${response.status}: ${text}`);
    const body: unknown = JSON.parse(text);
    const rejected = typeof body === 'object' && body !== null && 'rejected' in body && Array.isArray(body.rejected) ? body.rejected.length : 0;
    if (rejected > 0) throw new Error(`POST /v1/events rejected ${rejected} events: ${text}`);
    postedEvents.push(...chunk);
  }
}

/** Sum of a series from the query API, to wait until back-dated events were flushed. */
export async function metricsSum(workerUrl: string, readKey: string, params: Record<string, string>): Promise<number> {
  const url = new URL('/v1/metrics', workerUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const response = await fetch(url, { headers: { Authorization: `Bearer ${readKey}` } });
  if (!response.ok) return -1;
  const body: unknown = await response.json();
  const points = typeof body === 'object' && body !== null && 'dataPoints' in body && Array.isArray(body.dataPoints) ? body.dataPoints : [];
  let sum = 0;
  for (const p of points) if (typeof p === 'object' && p !== null && 'value' in p && typeof p.value === 'number') sum += p.value;
  return sum;
}

/** The dashboard's own record of a KPI: `data-value` of its tile. */
export async function kpiValue(page: Page, kpi: string): Promise<number | null> {
  const raw = await page.locator(`[data-kpi="${kpi}"]`).getAttribute('data-value');
  return raw === null || raw === '' ? null : Number(raw);
}

/** A KPI tile's number and the time range it covers (data-value, data-from, data-to). */
export async function kpiTile(page: Page, kpi: string): Promise<{ value: number | null; fromMs: number | null; toMs: number | null }> {
  // One read of all three, so a re-render cannot pair a value with another range.
  const [value, from, to] = await page.locator(`[data-kpi="${kpi}"]`).evaluate((el) => [el.getAttribute('data-value'), el.getAttribute('data-from'), el.getAttribute('data-to')]);
  const ms = (raw: string | null): number | null => (raw === null || raw === '' ? null : Date.parse(raw));
  return { value: value === null || value === '' ? null : Number(value), fromMs: ms(from), toMs: ms(to) };
}

/** Polls until `read()` returns `expected` (for hooks, where expect.poll is not available). */
export async function waitForValue<T>(what: string, read: () => Promise<T>, expected: T, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (last === expected) return;
    if (Date.now() > deadline) throw new Error(`${what}: expected ${String(expected)}, still ${String(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
