/** Tiny DOM helpers (no framework: the panel is a handful of sections). */

type Attrs = Record<string, string | number | boolean | undefined>;

/** Creates an element with attributes (`class`, `data-*`, `aria-*`...) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** Six significant digits at most, no trailing zeros. */
export function fmt(v: number, digits = 4): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(digits)));
}

export function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/** A section card with a heading and a one-line explanation. */
export function section(id: string, title: string, explain: string, ...body: Node[]): HTMLElement {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), h('p', { class: 'explain' }, explain), ...body);
}

/** Where "Save PNG…" buttons send a chart (set once by main.ts: posts `exportChart`). */
export const chartExport: { save?: (name: string, png: string) => void } = {};

/**
 * A canvas in a sized box, for chart.js (which needs a positioned parent to be responsive), with a
 * "Save PNG…" button that hands the drawn canvas to the host.
 */
export function chartBox(label: string, height = 220): { box: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const save = h('button', { type: 'button', class: 'secondary save-png', title: `Save “${label}” as a PNG file` }, 'Save PNG…');
  save.addEventListener('click', () => chartExport.save?.(label.replace(/[^\w .-]+/g, ' ').trim().slice(0, 80) || 'chart', canvas.toDataURL('image/png')));
  const box = h('div', { class: 'chart-box', 'data-height': height }, canvas, save);
  box.style.height = `${height}px`;
  return { box, canvas };
}

/**
 * A token's text with its whitespace made visible: `·` for a space, `↵` for a newline, `⇥` for a
 * tab, control characters as their Unicode pictures (␀…␟), and `∅` for an empty token.
 */
export function visibleText(s: string): string {
  if (s === '') return '∅';
  return visibleBreaks(s.replace(/[ \u00a0]/g, '·'));
}

/**
 * Text on one line with its line breaks, tabs and control characters made visible as in
 * `visibleText`, spaces kept: for runs of several tokens, where `·` everywhere would be hard to read.
 */
export function visibleBreaks(s: string): string {
  return s
    .replace(/\r\n|[\r\n]/g, '↵')
    .replace(/\t/g, '⇥')
    .replace(/[\u0000-\u001f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
    .replace(/\u007f/g, '␡');
}
