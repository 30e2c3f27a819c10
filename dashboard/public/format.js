// @ts-check
/** Number and time formatting in the viewer's locale and time zone. */

const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayClockFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: 'numeric', minute: '2-digit' });

/** @param {number | null} n */
export function formatCount(n) {
  if (n === null) return '—';
  return Math.abs(n) >= 1e6 ? compactFormat.format(n) : countFormat.format(n);
}

/** Compact form for axis labels. @param {number} n */
export function formatAxis(n) {
  return Math.abs(n) >= 1000 ? compactFormat.format(n) : countFormat.format(n);
}

/** Value sums have no currency in the contract, so none is shown. @param {number | null} n */
export function formatMoney(n) {
  if (n === null) return '—';
  return Math.abs(n) >= 1e6 ? compactFormat.format(n) : moneyFormat.format(n);
}

/** @param {number} ms */
export function formatClock(ms) {
  return clockFormat.format(ms);
}

/** @param {number} ms */
export function formatDayClock(ms) {
  return dayClockFormat.format(ms);
}

/** @param {number} seconds */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @returns {string} e.g. "Europe/Berlin" */
export function timeZoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}
