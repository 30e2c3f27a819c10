// @ts-check
/** Dashboard settings from the page URL: `?key=`, `?eventTypes=a,b`, `?minutes=30`. */

export const DEFAULT_MINUTES = 30;
export const MIN_MINUTES = 5;
export const MAX_MINUTES = 1440;
export const DEMO_EVENT_TYPES = ['page_view', 'ad_click', 'purchase', 'signup', 'error'];
/** Event types whose value sum (revenue) is shown next to the count. */
export const VALUE_EVENT_TYPES = new Set(['purchase']);
export const RANGE_CHOICES = [15, 30, 60, 180, 360, 1440];

/** Same rule as the ingest validator, so we never subscribe to a topic the server must refuse. */
const EVENT_TYPE = /^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$/;

/**
 * @typedef {object} DashboardConfig
 * @property {string | null} key read key, sent as a bearer token and as `?key=` on the socket
 * @property {string[] | null} eventTypes explicit override from the URL
 * @property {string[]} ignoredEventTypes names in the URL that are not valid event types
 * @property {number} minutes chart range
 */

/**
 * @param {string} search location.search
 * @returns {DashboardConfig}
 */
export function readConfig(search) {
  const params = new URLSearchParams(search);
  const key = params.get('key')?.trim() || null;

  /** @type {string[] | null} */
  let eventTypes = null;
  /** @type {string[]} */
  const ignoredEventTypes = [];
  const rawTypes = params.get('eventTypes');
  if (rawTypes) {
    const names = rawTypes.split(',').map((s) => s.trim()).filter(Boolean);
    for (const name of names) {
      if (!EVENT_TYPE.test(name)) ignoredEventTypes.push(name);
      else if (!eventTypes?.includes(name)) (eventTypes ??= []).push(name);
    }
  }

  const parsedMinutes = Number.parseInt(params.get('minutes') ?? '', 10);
  const minutes = Number.isFinite(parsedMinutes)
    ? Math.min(MAX_MINUTES, Math.max(MIN_MINUTES, parsedMinutes))
    : DEFAULT_MINUTES;

  return { key, eventTypes, ignoredEventTypes, minutes };
}

/**
 * The current URL with another range, keeping every other parameter.
 * @param {string} href
 * @param {number} minutes
 */
export function hrefWithMinutes(href, minutes) {
  const url = new URL(href);
  url.searchParams.set('minutes', String(minutes));
  return url.pathname + url.search;
}

/** @param {number} minutes */
export function rangeLabel(minutes) {
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}
