/** Number and time formatting in the viewer's locale and time zone. */

const countFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayClockFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

export function formatCount(value: number | null): string {
  if (value === null) return '—';
  return Math.abs(value) >= 1e6 ? compactFormat.format(value) : countFormat.format(value);
}

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '—';
  if (perSecond === 0) return '0';
  if (perSecond >= 100) return countFormat.format(Math.round(perSecond));
  return perSecond.toFixed(perSecond >= 10 ? 1 : 2);
}

export function formatMoney(value: number | null): string {
  if (value === null) return '—';
  return Math.abs(value) >= 1e6 ? compactFormat.format(value) : moneyFormat.format(value);
}

export function formatPercent(ratio: number | null): string {
  if (ratio === null) return '—';
  const pct = ratio * 100;
  return `${pct >= 10 ? pct.toFixed(1) : pct.toFixed(2)} %`;
}

/** An age for the freshness indicator: "< 1 s", "3.4 s", then as formatDuration. */
export function formatAge(ms: number): string {
  if (ms < 1000) return '< 1 s';
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  return formatDuration(ms);
}

/** "3 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatClock(ms: number): string {
  return clockFormat.format(ms);
}

export function formatRange(startMs: number, endMs: number): string {
  const sameDay = new Date(startMs).toDateString() === new Date(endMs - 1).toDateString();
  const today = new Date().toDateString() === new Date(startMs).toDateString();
  const start = today ? clockFormat.format(startMs) : dayClockFormat.format(startMs);
  return `${start} – ${sameDay ? clockFormat.format(endMs) : dayClockFormat.format(endMs)}`;
}

export function timeZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}

/** "page_view" -> "Page view". */
export function humanize(name: string): string {
  const words = name.replace(/[_.-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
