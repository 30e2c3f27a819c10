/** The four KPI tiles; each carries its raw number in data-value for tests and tooling. */
import { el, setText } from './dom.ts';

export type KpiId = 'events-per-second' | 'active-users' | 'revenue' | 'error-rate';

export interface KpiValue {
  /** Raw number, or null when unknown. */
  value: number | null;
  text: string;
  note: string;
  /** Something the viewer should know (unsupported by the API, partial data). */
  warning?: boolean;
  /** The time range the value covers, as data-from / data-to (ISO) for tests and tooling. */
  window?: { fromMs: number; toMs: number } | undefined;
}

interface Tile {
  root: HTMLElement;
  label: HTMLElement;
  value: HTMLElement;
  note: HTMLElement;
}

const DEFINITIONS: ReadonlyArray<{ id: KpiId; label: string; accent: string }> = [
  { id: 'events-per-second', label: 'Events / s', accent: '#5b9cff' },
  { id: 'active-users', label: 'Active users · 5 min', accent: '#a78bfa' },
  { id: 'revenue', label: 'Revenue · last hour', accent: '#34d399' },
  { id: 'error-rate', label: 'Error rate · 15 min', accent: '#f87171' },
];

export class KpiTiles {
  private readonly tiles = new Map<KpiId, Tile>();

  constructor(root: HTMLElement) {
    for (const def of DEFINITIONS) {
      const tile = el('article', 'kpi');
      tile.dataset.kpi = def.id;
      tile.style.setProperty('--accent', def.accent);
      const label = el('h2', 'kpi-label', def.label);
      const value = el('div', 'kpi-value', '—');
      const note = el('div', 'kpi-note', '');
      tile.append(label, value, note);
      root.append(tile);
      this.tiles.set(def.id, { root: tile, label, value, note });
    }
  }

  set(id: KpiId, kpi: KpiValue): void {
    const tile = this.tiles.get(id);
    if (!tile) return;
    setText(tile.value, kpi.text);
    setText(tile.note, kpi.note);
    const raw = kpi.value === null ? '' : String(kpi.value);
    if (tile.root.dataset.value !== raw) tile.root.dataset.value = raw;
    const from = kpi.window === undefined ? '' : new Date(kpi.window.fromMs).toISOString();
    const to = kpi.window === undefined ? '' : new Date(kpi.window.toMs).toISOString();
    if (tile.root.dataset.from !== from) tile.root.dataset.from = from;
    if (tile.root.dataset.to !== to) tile.root.dataset.to = to;
    tile.root.classList.toggle('kpi--warning', kpi.warning === true);
  }

  setLabel(id: KpiId, label: string): void {
    const tile = this.tiles.get(id);
    if (tile) setText(tile.label, label);
  }
}
