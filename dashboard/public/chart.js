// @ts-check
/**
 * A small area chart on a canvas: crisp on HiDPI screens, local-time x axis,
 * gaps where values are unknown, the in-progress minute drawn dashed, and a
 * hover tooltip. No dependencies.
 */
import { formatAxis, formatClock, formatDayClock } from './format.js';
import { MINUTE_MS } from './series.js';

/** @typedef {import('./series.js').ChartPoint} ChartPoint */

const PAD = { top: 10, right: 12, bottom: 22, left: 8 };
const X_LABEL_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720];

/**
 * @typedef {object} ChartOptions
 * @property {string} color CSS color of the line
 * @property {(v: number) => string} formatValue tooltip value text
 * @property {string} unit e.g. "events"
 * @property {boolean} integer whether values are counts (no fractional ticks)
 */

export class AreaChart {
  /**
   * @param {HTMLElement} container gets a canvas and a tooltip element
   * @param {ChartOptions} options
   */
  constructor(container, options) {
    this.options = options;
    this.container = container;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'chart-tooltip';
    this.tooltip.hidden = true;
    container.append(this.canvas, this.tooltip);
    /** @type {ChartPoint[]} */
    this.points = [];
    /** @type {number | null} */
    this.hoverIndex = null;
    /** @type {string | null} text drawn over the plot when there is nothing to plot */
    this.emptyText = null;
    this.cssWidth = 0;
    this.cssHeight = 0;
    this.frame = 0;
    /** @type {{ x: (i: number) => number, y: (v: number) => number, plotLeft: number, plotRight: number } | null} */
    this.geometry = null;

    new ResizeObserver(() => this.resize()).observe(container);
    this.canvas.addEventListener('pointermove', (e) => this.onPointer(e));
    this.canvas.addEventListener('pointerdown', (e) => this.onPointer(e));
    this.canvas.addEventListener('pointerleave', () => this.setHover(null));
    this.watchPixelRatio();
    this.resize();
  }

  /** Redraw at the new density when the window moves to a screen with another pixel ratio. */
  watchPixelRatio() {
    matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`).addEventListener(
      'change',
      () => {
        this.resize();
        this.watchPixelRatio();
      },
      { once: true },
    );
  }

  /**
   * @param {ChartPoint[]} points
   * @param {string | null} emptyText
   */
  setData(points, emptyText = null) {
    this.points = points;
    this.emptyText = emptyText;
    if (this.hoverIndex !== null && this.hoverIndex >= points.length) this.hoverIndex = null;
    this.canvas.setAttribute('aria-label', this.describe());
    this.scheduleDraw();
  }

  resize() {
    const rect = this.container.getBoundingClientRect();
    this.cssWidth = Math.max(0, Math.floor(rect.width));
    this.cssHeight = Math.max(0, Math.floor(rect.height));
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.cssWidth * dpr);
    this.canvas.height = Math.round(this.cssHeight * dpr);
    this.canvas.style.width = `${this.cssWidth}px`;
    this.canvas.style.height = `${this.cssHeight}px`;
    this.draw();
  }

  scheduleDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    if (!ctx || this.cssWidth === 0 || this.cssHeight === 0) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.cssWidth, this.cssHeight);

    const style = getComputedStyle(this.container);
    const gridColor = style.getPropertyValue('--chart-grid').trim() || 'rgba(255,255,255,0.07)';
    const labelColor = style.getPropertyValue('--chart-label').trim() || '#8b95a7';
    const font = `11px ${style.fontFamily}`;
    ctx.font = font;

    const points = this.points;
    const n = points.length;
    let max = 0;
    for (const p of points) if (p.value !== null && p.value > max) max = p.value;
    const ticks = niceTicks(max, this.options.integer);
    const top = ticks[ticks.length - 1] ?? 1;

    const labelWidth = Math.max(...ticks.map((t) => ctx.measureText(formatAxis(t)).width));
    const plotLeft = PAD.left + labelWidth + 8;
    const plotRight = this.cssWidth - PAD.right;
    const plotTop = PAD.top;
    const plotBottom = this.cssHeight - PAD.bottom;
    const plotW = Math.max(1, plotRight - plotLeft);
    const plotH = Math.max(1, plotBottom - plotTop);
    const x = (/** @type {number} */ i) => plotLeft + (n <= 1 ? plotW : (i / (n - 1)) * plotW);
    const y = (/** @type {number} */ v) => plotBottom - (v / top) * plotH;
    this.geometry = { x, y, plotLeft, plotRight };

    // Horizontal grid and y labels.
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ctx.lineWidth = 1;
    for (const t of ticks) {
      const yy = Math.round(y(t)) + 0.5;
      ctx.strokeStyle = gridColor;
      ctx.beginPath();
      ctx.moveTo(plotLeft, yy);
      ctx.lineTo(plotRight, yy);
      ctx.stroke();
      ctx.fillStyle = labelColor;
      ctx.fillText(formatAxis(t), plotLeft - 8, yy);
    }

    // X labels on round local minutes, spaced so they never collide.
    if (n > 0) {
      const first = points[0];
      const last = points[n - 1];
      if (first && last) {
        const sample = ctx.measureText(formatClock(first.time)).width + 18;
        const pxPerMinute = plotW / Math.max(1, n - 1);
        const step = X_LABEL_STEPS.find((s) => s * pxPerMinute >= sample) ?? 1440;
        const spansDays = new Date(first.time).getDate() !== new Date(last.time).getDate() && step >= 60;
        ctx.textBaseline = 'alphabetic';
        ctx.textAlign = 'center';
        ctx.fillStyle = labelColor;
        for (let i = 0; i < n; i++) {
          const p = points[i];
          if (!p) continue;
          const d = new Date(p.time);
          const localMinute = d.getHours() * 60 + d.getMinutes();
          if (localMinute % step !== 0) continue;
          const xx = x(i);
          const text = spansDays && localMinute === 0 ? formatDayClock(p.time) : formatClock(p.time);
          const w = ctx.measureText(text).width;
          if (xx - w / 2 < plotLeft - 4 || xx + w / 2 > this.cssWidth) continue;
          ctx.fillText(text, xx, this.cssHeight - 6);
          ctx.strokeStyle = gridColor;
          ctx.beginPath();
          ctx.moveTo(Math.round(xx) + 0.5, plotBottom);
          ctx.lineTo(Math.round(xx) + 0.5, plotBottom + 4);
          ctx.stroke();
        }
      }
    }

    this.drawSeries(ctx, x, y, plotTop, plotBottom);

    if (this.emptyText) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillStyle = labelColor;
      ctx.font = `13px ${style.fontFamily}`;
      ctx.fillText(this.emptyText, plotLeft + plotW / 2, plotTop + plotH / 2);
    }

    this.drawHover(ctx, x, y, plotTop, plotBottom);
  }

  /**
   * @param {CanvasRenderingContext2D} ctx
   * @param {(i: number) => number} x
   * @param {(v: number) => number} y
   * @param {number} plotTop
   * @param {number} plotBottom
   */
  drawSeries(ctx, x, y, plotTop, plotBottom) {
    const { color } = this.options;
    const points = this.points;
    // Runs of known values; unknown minutes are gaps, not zeros.
    /** @type {Array<Array<{ i: number, v: number }>>} */
    const runs = [];
    /** @type {Array<{ i: number, v: number }>} */
    let run = [];
    points.forEach((p, i) => {
      if (p.value === null) {
        if (run.length) runs.push(run);
        run = [];
      } else run.push({ i, v: p.value });
    });
    if (run.length) runs.push(run);

    const gradient = ctx.createLinearGradient(0, plotTop, 0, plotBottom);
    gradient.addColorStop(0, withAlpha(color, 0.32));
    gradient.addColorStop(1, withAlpha(color, 0.02));
    const lastIndex = points.length - 1;
    const lastPartial = points[lastIndex]?.partial === true;

    for (const r of runs) {
      const firstPt = r[0];
      const lastPt = r[r.length - 1];
      if (!firstPt || !lastPt) continue;
      ctx.beginPath();
      ctx.moveTo(x(firstPt.i), plotBottom);
      for (const pt of r) ctx.lineTo(x(pt.i), y(pt.v));
      ctx.lineTo(x(lastPt.i), plotBottom);
      ctx.closePath();
      ctx.fillStyle = gradient;
      ctx.fill();

      // Solid line over complete minutes; the in-progress minute is dashed.
      const solidEnd = lastPartial && lastPt.i === lastIndex ? r.length - 1 : r.length;
      ctx.lineJoin = 'round';
      ctx.lineCap = 'round';
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.setLineDash([]);
      ctx.beginPath();
      for (let k = 0; k < solidEnd; k++) {
        const pt = r[k];
        if (!pt) continue;
        if (k === 0) ctx.moveTo(x(pt.i), y(pt.v));
        else ctx.lineTo(x(pt.i), y(pt.v));
      }
      if (solidEnd === 1 && firstPt) ctx.arc(x(firstPt.i), y(firstPt.v), 1.5, 0, Math.PI * 2);
      ctx.stroke();
      if (solidEnd < r.length) {
        const prev = r[solidEnd - 1];
        const cur = r[solidEnd];
        if (cur) {
          ctx.setLineDash([3, 4]);
          ctx.beginPath();
          if (prev) {
            ctx.moveTo(x(prev.i), y(prev.v));
            ctx.lineTo(x(cur.i), y(cur.v));
          }
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.beginPath();
          ctx.arc(x(cur.i), y(cur.v), 3.5, 0, Math.PI * 2);
          ctx.fillStyle = getComputedStyle(this.container).getPropertyValue('--tile-bg').trim() || '#111';
          ctx.fill();
          ctx.lineWidth = 2;
          ctx.stroke();
        }
      }
    }
  }

  /**
   * @param {CanvasRenderingContext2D} ctx
   * @param {(i: number) => number} x
   * @param {(v: number) => number} y
   * @param {number} plotTop
   * @param {number} plotBottom
   */
  drawHover(ctx, x, y, plotTop, plotBottom) {
    const i = this.hoverIndex;
    const p = i === null ? undefined : this.points[i];
    if (i === null || !p) {
      this.tooltip.hidden = true;
      return;
    }
    const xx = Math.round(x(i)) + 0.5;
    ctx.strokeStyle = 'rgba(255,255,255,0.25)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(xx, plotTop);
    ctx.lineTo(xx, plotBottom);
    ctx.stroke();
    if (p.value !== null) {
      ctx.beginPath();
      ctx.arc(xx, y(p.value), 4, 0, Math.PI * 2);
      ctx.fillStyle = this.options.color;
      ctx.fill();
    }

    const value = p.value === null ? 'no data' : `${this.options.formatValue(p.value)} ${this.options.unit}`;
    const when = `${formatClock(p.time)}–${formatClock(p.time + MINUTE_MS)}`;
    this.tooltip.replaceChildren(
      textEl('strong', value),
      textEl('span', p.partial ? `${when} · in progress` : when),
    );
    this.tooltip.hidden = false;
    const tipWidth = this.tooltip.offsetWidth;
    const left = Math.min(Math.max(4, xx - tipWidth / 2), this.cssWidth - tipWidth - 4);
    // Keep the hovered point visible: the tooltip goes below a point in the upper half.
    const pointY = p.value === null ? plotBottom : y(p.value);
    const top = pointY < plotTop + (plotBottom - plotTop) / 2 ? plotBottom - this.tooltip.offsetHeight - 4 : 0;
    this.tooltip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  /** @param {PointerEvent} e */
  onPointer(e) {
    const g = this.geometry;
    const n = this.points.length;
    if (!g || n === 0) return;
    const rect = this.canvas.getBoundingClientRect();
    const px = e.clientX - rect.left;
    if (px < g.plotLeft - 6 || px > g.plotRight + 6) return this.setHover(null);
    const ratio = (px - g.plotLeft) / Math.max(1, g.plotRight - g.plotLeft);
    this.setHover(Math.min(n - 1, Math.max(0, Math.round(ratio * (n - 1)))));
  }

  /** @param {number | null} index */
  setHover(index) {
    if (index === this.hoverIndex) return;
    this.hoverIndex = index;
    this.scheduleDraw();
  }

  describe() {
    const known = this.points.filter((p) => p.value !== null);
    if (known.length === 0) return `${this.options.unit}: no data`;
    const values = known.map((p) => /** @type {number} */ (p.value));
    return `${this.options.unit} per minute, ${known.length} minutes shown, min ${formatAxis(Math.min(...values))}, max ${formatAxis(Math.max(...values))}`;
  }
}

/**
 * 0 and a few round steps, the last one at or above max.
 * @param {number} max
 * @param {boolean} integer
 * @returns {number[]}
 */
export function niceTicks(max, integer) {
  if (!(max > 0)) return [0, 1];
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  if (integer) step = Math.max(1, Math.ceil(step));
  const ticks = [0];
  for (let k = 1; (ticks[ticks.length - 1] ?? max) < max; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/**
 * @param {string} color "#rrggbb"
 * @param {number} alpha
 */
function withAlpha(color, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return color;
  return `rgba(${parseInt(m[1] ?? '0', 16)}, ${parseInt(m[2] ?? '0', 16)}, ${parseInt(m[3] ?? '0', 16)}, ${alpha})`;
}

/**
 * @param {string} tag
 * @param {string} text
 */
function textEl(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}
