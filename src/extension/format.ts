/** Number formatting shared by hover, inlay hints and CodeLens. */

/** Six significant digits, no trailing zeros; integers as they are. */
export function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** `[32×128]` */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join('×')}]`;
}

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
