/**
 * The 24-hour, 1-minute time series, drawn with uPlot (canvas, ~50 kB; a
 * full redraw of 1,440 points x 5 series takes about 2 ms, see
 * dashboard/README.md): the value as an area, the still-counting current minute dashed,
 * the expected band (lower..upper) shaded, anomalies as red dots. Drag across
 * it (or click/tap a minute) to pick a range for a drill-down.
 */
import uPlot from 'uplot';
import { MINUTE_MS } from './time.ts';
import type { SeriesColumns } from './series.ts';

export interface ChartView {
  columns: SeriesColumns;
  headMs: number;
  color: string;
  formatValue: (value: number) => string;
  /** Shown over the plot when there is nothing to draw yet. */
  emptyText: string | null;
  /** How many of the newest minutes the x axis shows (the data always holds 24 h). */
  visibleMinutes: number;
}

export interface ChartCallbacks {
  /** A brushed or clicked range, whole minutes, end exclusive. */
  onRange: (startMs: number, endMs: number) => void;
  /** The minute under the cursor (null when the cursor left). */
  onHover: (windowMs: number | null) => void;
}

const AXIS_COLOR = '#7d899d';
const GRID_COLOR = 'rgba(154, 166, 186, 0.10)';
const BAND_FILL = 'rgba(167, 139, 250, 0.16)';
const ANOMALY_COLOR = '#f87171';
/** Pointer travel below this many CSS pixels is a click, not a brush. */
const CLICK_SLOP_PX = 4;

export class TimeSeriesChart {
  private readonly plot: uPlot;
  private readonly box: HTMLElement;
  private readonly empty: HTMLElement;
  private view: ChartView | null = null;
  private color = '#5b9cff';
  private pointerDownX: number | null = null;

  constructor(box: HTMLElement, private readonly callbacks: ChartCallbacks) {
    this.box = box;
    this.empty = document.createElement('div');
    this.empty.className = 'chart-empty';
    this.empty.hidden = true;
    this.plot = new uPlot(this.options(), [[], [], [], [], [], []], box);
    box.append(this.empty);

    const over = this.plot.over;
    over.addEventListener('pointerdown', (e) => {
      this.pointerDownX = e.clientX;
    });
    over.addEventListener('click', (e) => this.onClick(e));
    new ResizeObserver(() => this.resize()).observe(box);
    this.resize();
  }

  private options(): uPlot.Options {
    const gradientFill = (u: uPlot): CanvasGradient | string => {
      const { top, height } = u.bbox;
      if (!(height > 0)) return 'transparent';
      const g = u.ctx.createLinearGradient(0, top, 0, top + height);
      g.addColorStop(0, withAlpha(this.color, 0.35));
      g.addColorStop(1, withAlpha(this.color, 0.02));
      return g;
    };
    const axisFont = '11px ui-sans-serif, system-ui, sans-serif';
    return {
      width: 600,
      height: 240,
      padding: [10, 10, 0, 2],
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { size: 7, fill: (u, i) => seriesStroke(u, i), stroke: '#0b0f17', width: 2 },
      },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, max !== null && max > 0 ? niceCeil(max * 1.12) : 1] },
      },
      axes: [
        { stroke: AXIS_COLOR, font: axisFont, grid: { stroke: GRID_COLOR, width: 1 }, ticks: { show: false }, space: 70 },
        {
          stroke: AXIS_COLOR,
          font: axisFont,
          grid: { stroke: GRID_COLOR, width: 1 },
          ticks: { show: false },
          size: 52,
          values: (_u, splits) => splits.map((v) => (this.view ? this.view.formatValue(v) : String(v))),
        },
      ],
      series: [
        {},
        { label: 'upper', stroke: 'rgba(167, 139, 250, 0.18)', width: 1, points: { show: false } },
        { label: 'lower', stroke: 'rgba(167, 139, 250, 0.18)', width: 1, points: { show: false } },
        { label: 'value', stroke: () => this.color, width: 1.6, fill: gradientFill, points: { show: false } },
        { label: 'current minute', stroke: () => this.color, width: 1.6, dash: [4, 4], points: { show: false } },
        {
          label: 'anomaly',
          stroke: ANOMALY_COLOR,
          width: 0,
          paths: () => null,
          points: { show: true, size: 10, width: 2, stroke: '#fecaca', fill: ANOMALY_COLOR },
        },
      ],
      bands: [{ series: [1, 2], fill: BAND_FILL }],
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.onCursor(u)],
      },
    };
  }

  update(view: ChartView): void {
    this.view = view;
    this.color = view.color;
    const { columns, headMs } = view;
    const xs = columns.times.map((t) => t / 1000);
    // The finished minutes as an area; the current minute as a dashed stub.
    const finished = columns.values.map((v, i) => (columns.times[i] === headMs ? null : v));
    const current = columns.values.map((v, i) => {
      const t = columns.times[i];
      return t === headMs || t === headMs - MINUTE_MS ? v : null;
    });
    this.plot.setData([xs, columns.upper, columns.lower, finished, current, columns.anomalies]);
    if (view.visibleMinutes < columns.times.length) {
      // Zoomed: the y axis re-ranges to what is visible.
      this.plot.setScale('x', { min: (headMs - (view.visibleMinutes - 1) * MINUTE_MS) / 1000, max: headMs / 1000 });
    }
    this.empty.hidden = view.emptyText === null;
    this.empty.textContent = view.emptyText ?? '';
  }

  /** Clears the brushed range (the drill-down was closed). */
  clearSelection(): void {
    this.plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  }

  /** Highlights a range, e.g. when a drill-down was opened from the anomaly list. */
  showSelection(startMs: number, endMs: number): void {
    const left = this.plot.valToPos(startMs / 1000, 'x');
    const right = this.plot.valToPos(endMs / 1000, 'x');
    this.plot.setSelect({ left, top: 0, width: Math.max(2, right - left), height: this.plot.over.clientHeight }, false);
  }

  private resize(): void {
    const width = Math.floor(this.box.clientWidth);
    const height = Math.floor(this.box.clientHeight);
    if (width > 0 && height > 0 && (width !== this.plot.width || height !== this.plot.height)) {
      this.plot.setSize({ width, height });
    }
  }

  private onSelect(u: uPlot): void {
    if (u.select.width < CLICK_SLOP_PX) return;
    const a = u.posToVal(u.select.left, 'x') * 1000;
    const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
    const start = Math.floor(a / MINUTE_MS) * MINUTE_MS;
    const end = Math.max(start + MINUTE_MS, Math.ceil(b / MINUTE_MS) * MINUTE_MS);
    this.callbacks.onRange(start, end);
  }

  private onClick(e: MouseEvent): void {
    const downX = this.pointerDownX;
    this.pointerDownX = null;
    if (downX !== null && Math.abs(e.clientX - downX) >= CLICK_SLOP_PX) return; // a brush, handled by onSelect
    const rect = this.plot.over.getBoundingClientRect();
    const idx = this.plot.posToIdx(e.clientX - rect.left);
    const t = this.view?.columns.times[idx];
    if (t === undefined) return;
    this.showSelection(t, t + MINUTE_MS);
    this.callbacks.onRange(t, t + MINUTE_MS);
  }

  private onCursor(u: uPlot): void {
    const idx = u.cursor.idx;
    const t = idx === null || idx === undefined ? undefined : this.view?.columns.times[idx];
    this.callbacks.onHover(t ?? null);
  }
}

function seriesStroke(u: uPlot, seriesIdx: number): string {
  const stroke = u.series[seriesIdx]?.stroke;
  const value = typeof stroke === 'function' ? stroke(u, seriesIdx) : stroke;
  return typeof value === 'string' ? value : '#5b9cff';
}

/** #rrggbb -> rgba(). */
function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m?.[1] || !m[2] || !m[3]) return hex;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}

/** 1, 2, 2.5, 5 x 10^n at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}
