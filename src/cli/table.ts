/** Plain-text tables for people: aligned columns, numbers right-aligned, no colours. */

export type Align = 'left' | 'right';

export interface Column {
  title: string;
  align?: Align;
}

/** Renders rows under a header, columns separated by two spaces, trailing spaces trimmed. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        return c.align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join('\n');
}

/** A number to 5 significant digits without trailing zeros (`2`, `0.5`, `1.4142`, `1.2346e+21`, `NaN`). */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return String(Number(x.toPrecision(5)));
}

/** A fraction as a percentage with one decimal (`0.25` -> `25.0%`). */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : String(x);
}

/** A list cut to `max` items with a `... (N more)` tail. */
export function truncatedList(items: readonly (string | number)[], max: number): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, ... (${items.length - max} more)`;
}
