/** Number and size formatting for the viewer webview, plus a tiny element builder. Browser only. */
import type { TensorStats } from '../../src/core/types';

/** 1536 -> "1.5 KB" (1024-based, like VS Code's own file sizes). */
export function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * A statistic in at most 8 characters (the table's columns are narrow; the tooltip has every
 * digit): 4 significant digits, or 3 in exponent form below 1e-3 and from 1e5.
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** NaN/Inf counts when there are any, else the empty string. */
export function nonFiniteText(s: TensorStats): string {
  const parts: string[] = [];
  if (s.nanCount) parts.push(`${formatCount(s.nanCount)} NaN`);
  if (s.infCount) parts.push(`${formatCount(s.infCount)} Inf`);
  return parts.join(', ');
}

/** The stats cell's tooltip: every statistic in full. */
export function statsTitle(s: TensorStats, ms: number): string {
  return [
    `count ${formatCount(s.count)}`,
    `mean ${s.mean}`,
    `std ${s.std}`,
    `min ${s.min}`,
    `max ${s.max}`,
    `L2 ${s.l2}`,
    `zero fraction ${s.zeroFraction}`,
    `NaN ${s.nanCount}`,
    `Inf ${s.infCount}`,
    `computed in ${ms} ms`,
  ].join('\n');
}

/** `[768, 3072]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** document.createElement with a class, text and attributes (never innerHTML: file content is untrusted). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  opts: { cls?: string; text?: string; title?: string; attrs?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (opts.cls) e.className = opts.cls;
  if (opts.text !== undefined) e.textContent = opts.text;
  if (opts.title !== undefined) e.title = opts.title;
  if (opts.attrs) for (const [k, v] of Object.entries(opts.attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
