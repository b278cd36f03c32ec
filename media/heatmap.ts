/**
 * The tokens x hidden-units heatmap, drawn by hand on a canvas (ImageData, one pixel per cell,
 * scaled up without smoothing). The host sends at most ~1024 max-abs pooled columns for the
 * window of the unit axis in view; wheel zooms around the pointer, drag pans, double-click
 * resets, and each change asks the host for the new window. Token labels are DOM rows beside it.
 * The compare view's three (A, B, B − A) take options: their unit orders, a shorter plot, and for
 * the difference a diverging scale of its own.
 */
import type { HeatmapWindow, UnitSort } from '../src/protocol/webview';
import { fmt, h } from './dom';
import { rgb, ThemeColors } from './theme';

export interface HeatmapCallbacks {
  /** The view asks for another window of the unit axis. */
  requestWindow(sort: UnitSort, start: number, end: number): void;
  /** A token label was clicked. */
  selectToken(t: number): void;
  /** A single unit was clicked. */
  selectNeuron(index: number): void;
}

/** How a heatmap differs from a run's (the compare view's). */
export interface HeatmapOptions {
  /** Accessible name of the plot. */
  label?: string;
  /** The unit orders offered, the default first. */
  sorts?: { value: UnitSort; label: string }[];
  /** `difference`: values are B − A, drawn in the theme's increase/decrease colours. */
  scale?: 'activation' | 'difference';
  /** Tallest the plot grows, in px. */
  maxHeight?: number;
  /** The line under the plot ('' for none). */
  hint?: string;
}

const MIN_UNITS = 8;
const RUN_SORTS: { value: UnitSort; label: string }[] = [
  { value: 'firing', label: 'units by firing rate' },
  { value: 'index', label: 'units by index' },
];

export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas = h('canvas', { class: 'heatmap-canvas', role: 'img', 'aria-label': 'hidden activations per token' });
  private readonly labels = h('ol', { class: 'token-labels', 'aria-label': 'tokens' });
  private readonly tip = h('div', { class: 'tooltip', role: 'tooltip', hidden: true });
  private readonly range = h('span', { class: 'range' });
  private readonly legend = h('canvas', { class: 'legend', width: 160, height: 10, 'aria-hidden': 'true' });
  private readonly legendText = h('span', { class: 'legend-text' });
  private readonly sortSelect = h('select', { 'aria-label': 'unit order' });
  private readonly maxHeight: number;
  private readonly difference: boolean;
  private win: HeatmapWindow | undefined;
  private tokens: string[] = [];
  private maxAbs = 1;
  private theme: ThemeColors;
  private drag: { x: number; start: number; end: number } | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;
  /** The window on screen (may run ahead of `win` while the host answers). */
  private view = { sort: 'firing' as UnitSort, start: 0, end: 1 };

  constructor(theme: ThemeColors, private readonly cb: HeatmapCallbacks, opts: HeatmapOptions = {}) {
    this.theme = theme;
    this.maxHeight = opts.maxHeight ?? 440;
    this.difference = opts.scale === 'difference';
    const sorts = opts.sorts ?? RUN_SORTS;
    this.view.sort = sorts[0].value;
    this.sortSelect.replaceChildren(...sorts.map((o) => h('option', { value: o.value }, o.label)));
    if (opts.label) this.canvas.setAttribute('aria-label', opts.label);
    const zoomIn = h('button', { type: 'button', title: 'Zoom in on the unit axis' }, '+');
    const zoomOut = h('button', { type: 'button', title: 'Zoom out' }, '−');
    const reset = h('button', { type: 'button', title: 'Show every unit' }, 'All units');
    zoomIn.addEventListener('click', () => this.zoom(0.5, 0.5));
    zoomOut.addEventListener('click', () => this.zoom(2, 0.5));
    reset.addEventListener('click', () => this.setView(this.view.sort, 0, this.units));
    this.sortSelect.addEventListener('change', () => this.setView((sorts.find((o) => o.value === this.sortSelect.value) ?? sorts[0]).value, 0, this.units));
    const toolbar = h('div', { class: 'toolbar' }, this.sortSelect, zoomOut, zoomIn, reset, this.range, h('span', { class: 'spacer' }), this.legendText, this.legend);
    const plot = h('div', { class: 'heatmap-plot' }, this.labels, h('div', { class: 'heatmap-canvas-box' }, this.canvas, this.tip));
    const hint = opts.hint ?? 'Wheel to zoom the unit axis, drag to pan, double-click for all units; click a token for its top neurons, a single unit for its activations.';
    this.element = h('div', { class: 'heatmap' }, toolbar, plot, hint ? h('p', { class: 'hint' }, hint) : null);
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener('pointerdown', (e) => this.onDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.onMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.onUp(e));
    this.canvas.addEventListener('pointerleave', () => (this.tip.hidden = true));
    this.canvas.addEventListener('dblclick', () => this.setView(this.view.sort, 0, this.units));
    new ResizeObserver(() => this.draw()).observe(this.canvas.parentElement as HTMLElement);
  }

  private get units(): number {
    return this.win?.units ?? 1;
  }

  /** New data (a new run or the window asked for). */
  show(win: HeatmapWindow, tokens: string[], maxAbs: number): void {
    this.win = win;
    this.tokens = tokens;
    this.maxAbs = maxAbs > 0 ? maxAbs : 1;
    this.view = { sort: win.sort, start: win.start, end: win.end };
    this.sortSelect.value = win.sort;
    this.renderLabels();
    this.draw();
  }

  /** The window shown, for the saved state. */
  get window(): { sort: UnitSort; start: number; end: number } {
    return { ...this.view };
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.draw();
  }

  /** True when the canvas holds at least one pixel that is not the background. */
  nonBlank(): boolean {
    const ctx = this.canvas.getContext('2d');
    if (!ctx || this.canvas.width === 0 || this.canvas.height === 0) return false;
    const data = ctx.getImageData(0, 0, this.canvas.width, this.canvas.height).data;
    const [r, g, b] = rgb(this.theme.background);
    for (let i = 0; i < data.length; i += 16) {
      if (data[i + 3] > 0 && (Math.abs(data[i] - r) > 8 || Math.abs(data[i + 1] - g) > 8 || Math.abs(data[i + 2] - b) > 8)) return true;
    }
    return false;
  }

  private rowHeight(): number {
    const T = Math.max(1, this.tokens.length);
    return Math.max(2, Math.min(22, Math.floor(this.maxHeight / T)));
  }

  private renderLabels(): void {
    const rh = this.rowHeight();
    const every = rh >= 11 ? 1 : Math.ceil(11 / rh);
    this.labels.replaceChildren(
      ...this.tokens.map((t, i) => {
        const label = i % every === 0 ? t.replace(/\s/g, '·') || '∅' : '';
        // rows lower than the text: a label runs on over the unlabelled rows under it instead of being cut
        const tall = every > 1 && label !== '';
        const li = h('li', { title: `token ${i}: ${JSON.stringify(t)}`, 'data-token': i, class: tall ? 'spans' : undefined }, tall ? h('span', {}, label) : label);
        li.style.height = `${rh}px`;
        li.style.lineHeight = `${rh}px`;
        li.addEventListener('click', () => this.cb.selectToken(i));
        return li;
      }),
    );
  }

  /** Colour of a value: theme background for 0, towards the positive/negative colour with |v|. */
  private palette(): (v: number) => [number, number, number] {
    const bg = rgb(this.theme.background);
    const pos = rgb(this.difference ? this.theme.increase : this.theme.positive);
    const neg = rgb(this.difference ? this.theme.decrease : this.theme.negative);
    const bad = rgb(this.theme.warning);
    const m = this.maxAbs;
    return (v: number) => {
      if (v !== v || !Number.isFinite(v)) return bad;
      const a = Math.sqrt(Math.min(1, Math.abs(v) / m)); // sqrt: small activations stay visible
      const c = v >= 0 ? pos : neg;
      return [bg[0] + (c[0] - bg[0]) * a, bg[1] + (c[1] - bg[1]) * a, bg[2] + (c[2] - bg[2]) * a];
    };
  }

  /** Draws the current window (stretched, when the view ran ahead of the data). */
  draw(): void {
    const win = this.win;
    const box = this.canvas.parentElement;
    if (!win || !box) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(50, box.clientWidth);
    const height = this.rowHeight() * win.rows;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const off = document.createElement('canvas');
    off.width = win.cols;
    off.height = win.rows;
    const octx = off.getContext('2d');
    if (!octx) return;
    const img = octx.createImageData(win.cols, win.rows);
    const color = this.palette();
    for (let i = 0; i < win.values.length; i++) {
      const [r, g, b] = color(win.values[i]);
      img.data[4 * i] = r;
      img.data[4 * i + 1] = g;
      img.data[4 * i + 2] = b;
      img.data[4 * i + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    // the part of the data window that the view shows
    const n = win.end - win.start;
    const sx = ((this.view.start - win.start) / n) * win.cols;
    const sw = ((this.view.end - this.view.start) / n) * win.cols;
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(off, sx, 0, sw, win.rows, 0, 0, this.canvas.width, this.canvas.height);
    const pooled = n / win.cols;
    this.range.textContent =
      `units ${this.view.start}–${this.view.end - 1} of ${win.units}` + (pooled > 1.001 ? ` · ${fmt(pooled, 3)} units per column (max |h|)` : '');
    this.drawLegend();
  }

  private drawLegend(): void {
    const ctx = this.legend.getContext('2d');
    if (!ctx) return;
    const color = this.palette();
    const w = this.legend.width;
    for (let x = 0; x < w; x++) {
      const [r, g, b] = color(((2 * x) / (w - 1) - 1) * this.maxAbs);
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.fillRect(x, 0, 1, this.legend.height);
    }
    this.legendText.textContent = `${fmt(-this.maxAbs, 3)} … 0 … ${fmt(this.maxAbs, 3)}`;
  }

  private setView(sort: UnitSort, start: number, end: number): void {
    const units = this.units;
    let s = Math.round(start);
    let e = Math.round(end);
    if (e - s < MIN_UNITS) {
      const mid = (s + e) / 2;
      s = Math.round(mid - MIN_UNITS / 2);
      e = s + MIN_UNITS;
    }
    if (e - s > units) {
      s = 0;
      e = units;
    }
    if (s < 0) {
      e -= s;
      s = 0;
    }
    if (e > units) {
      s -= e - units;
      e = units;
    }
    s = Math.max(0, s);
    this.view = { sort, start: s, end: e };
    if (sort === this.win?.sort) this.draw();
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.cb.requestWindow(sort, s, e), 60);
  }

  /** Zooms by `factor` (<1 in) around the fraction `at` of the width. */
  private zoom(factor: number, at: number): void {
    const { start, end, sort } = this.view;
    const span = end - start;
    const center = start + at * span;
    const next = Math.max(MIN_UNITS, span * factor);
    this.setView(sort, center - at * next, center - at * next + next);
  }

  private fractionX(e: MouseEvent): number {
    const r = this.canvas.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / Math.max(1, r.width)));
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    this.zoom(e.deltaY < 0 ? 0.8 : 1.25, this.fractionX(e));
  }

  private onDown(e: PointerEvent): void {
    this.drag = { x: e.clientX, start: this.view.start, end: this.view.end };
    this.canvas.setPointerCapture(e.pointerId);
  }

  private onUp(e: PointerEvent): void {
    const d = this.drag;
    this.drag = undefined;
    if (d && Math.abs(e.clientX - d.x) < 3) this.click(e);
  }

  /** The cell under the pointer: token row, window column and the units pooled into it. */
  private cellAt(e: MouseEvent): { row: number; units: number[]; value: number } | undefined {
    const win = this.win;
    if (!win) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const row = Math.floor(((e.clientY - r.top) / Math.max(1, r.height)) * win.rows);
    const pos = this.view.start + this.fractionX(e) * (this.view.end - this.view.start);
    const n = win.end - win.start;
    const col = Math.floor(((pos - win.start) / n) * win.cols);
    if (row < 0 || row >= win.rows || col < 0 || col >= win.cols) return undefined;
    const from = Math.floor((col * n) / win.cols);
    const to = Math.max(from + 1, Math.floor(((col + 1) * n) / win.cols));
    return { row, units: Array.from(win.unitIndex.subarray(from, to)), value: win.values[row * win.cols + col] };
  }

  private click(e: MouseEvent): void {
    const cell = this.cellAt(e);
    if (!cell) return;
    this.cb.selectToken(cell.row);
    if (cell.units.length === 1) this.cb.selectNeuron(cell.units[0]);
  }

  private onMove(e: PointerEvent): void {
    const d = this.drag;
    if (d) {
      const r = this.canvas.getBoundingClientRect();
      const shift = ((d.x - e.clientX) / Math.max(1, r.width)) * (d.end - d.start);
      this.setView(this.view.sort, d.start + shift, d.end + shift);
      return;
    }
    const cell = this.cellAt(e);
    if (!cell) {
      this.tip.hidden = true;
      return;
    }
    const unit = cell.units.length === 1 ? `unit #${cell.units[0]}` : `${cell.units.length} units (#${cell.units.slice(0, 3).join(', #')}${cell.units.length > 3 ? ', …' : ''})`;
    this.tip.textContent = `${JSON.stringify(this.tokens[cell.row] ?? '')} · ${unit} · ${this.difference ? 'B − A' : 'h'} = ${fmt(cell.value)}`;
    this.tip.hidden = false;
    const box = this.canvas.getBoundingClientRect();
    this.tip.style.left = `${Math.min(e.clientX - box.left + 12, box.width - 220)}px`;
    this.tip.style.top = `${e.clientY - box.top + 14}px`;
  }
}
