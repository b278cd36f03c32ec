/**
 * The tensor table: filter, sort, and a virtualised body (only the rows in view, plus a margin,
 * exist in the DOM), so a GGUF with 10k tensors scrolls and filters as fast as one with ten.
 * Browser only.
 */
import type { TensorStats } from '../../src/core/types';
import type { SortColumn, StatsOutcome, ViewerState, ViewerTensor } from '../../src/protocol/viewer';
import { el, formatBytes, formatCount, formatNumber, formatShape, nonFiniteText, statsTitle } from './format';

/** Must match `--row-height` in viewer.css. */
const ROW_HEIGHT = 24;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 12;

interface Column {
  id: SortColumn;
  label: string;
  cls: string;
  title: string;
  /** Sorts descending on first click (sizes: the largest first is what one looks for). */
  descendingFirst?: boolean;
  /** For the statistics columns: the value shown and sorted on. */
  stat?: (s: TensorStats) => number;
}

const COLUMNS: readonly Column[] = [
  { id: 'index', label: '#', cls: 'c-index', title: 'Position in the file' },
  { id: 'name', label: 'Name', cls: 'c-name', title: 'Tensor name' },
  { id: 'dtype', label: 'Dtype', cls: 'c-dtype', title: 'Data type as the file stores it' },
  { id: 'shape', label: 'Shape', cls: 'c-shape', title: 'Shape, row-major' },
  { id: 'elements', label: 'Elements', cls: 'c-num c-elements', title: 'Number of elements', descendingFirst: true },
  { id: 'bytes', label: 'Size', cls: 'c-num c-bytes', title: 'Bytes in the file', descendingFirst: true },
  { id: 'role', label: 'FFN role', cls: 'c-role', title: 'Part of a detected FFN layer' },
  { id: 'mean', label: 'Mean', cls: 'c-num c-stat', title: 'Mean of the finite values', stat: (s) => s.mean },
  { id: 'std', label: 'Std', cls: 'c-num c-stat', title: 'Standard deviation of the finite values', stat: (s) => s.std, descendingFirst: true },
  { id: 'min', label: 'Min', cls: 'c-num c-stat', title: 'Smallest finite value', stat: (s) => s.min },
  { id: 'max', label: 'Max', cls: 'c-num c-stat', title: 'Largest finite value', stat: (s) => s.max, descendingFirst: true },
  { id: 'zeros', label: 'Zeros', cls: 'c-num c-zeros', title: 'Fraction of elements equal to 0', stat: (s) => s.zeroFraction, descendingFirst: true },
  { id: 'nonFinite', label: 'NaN/Inf', cls: 'c-num c-nonfinite', title: 'NaN and ±Inf elements', stat: (s) => s.nanCount + s.infCount, descendingFirst: true },
];

/** The statistics columns, drawn as one cell (a Compute button) until the statistics arrive. */
const STAT_COLUMNS = COLUMNS.filter((c) => c.stat);

type StatsCell = StatsOutcome | 'pending';

export interface TableCallbacks {
  /** The user asked for statistics of `name`. */
  requestStats(name: string): void;
  /** Filter, sort or scroll changed (to keep with setState). */
  stateChanged(state: ViewerState): void;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export class TensorTable {
  readonly element: HTMLElement;
  private tensors: ViewerTensor[] = [];
  private haystacks: string[] = [];
  private shown: ViewerTensor[] = [];
  private readonly stats = new Map<string, StatsCell>();
  private filter: string;
  private sort: ViewerState['sort'];
  private pendingScroll: number;
  private first = -1;
  private last = -1;
  private frame = 0;
  private filterTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly input: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly head: HTMLTableRowElement;
  private readonly body: HTMLTableSectionElement;
  private readonly topSpacer: HTMLTableRowElement;
  private readonly bottomSpacer: HTMLTableRowElement;

  constructor(
    private readonly callbacks: TableCallbacks,
    initial: ViewerState | undefined,
  ) {
    this.filter = initial?.filter ?? '';
    this.sort = initial?.sort ?? { column: 'index', descending: false };
    this.pendingScroll = initial?.scrollTop ?? 0;
    this.input = el('input', { cls: 'filter', attrs: { type: 'search', placeholder: 'Filter tensors by name, dtype or FFN role', 'aria-label': 'Filter tensors', spellcheck: 'false' } });
    this.input.value = this.filter;
    this.count = el('span', { cls: 'count', attrs: { 'aria-live': 'polite' } });
    this.head = el('tr');
    this.body = el('tbody');
    this.topSpacer = spacer();
    this.bottomSpacer = spacer();
    const colgroup = el('colgroup');
    for (const c of COLUMNS) colgroup.append(el('col', { cls: c.cls }));
    const table = el('table', { cls: 'grid', attrs: { 'aria-label': 'Tensors' } }, colgroup, el('thead', {}, this.head), this.body);
    this.scroller = el('div', { cls: 'scroller' }, table);
    this.element = el('section', { cls: 'tensors', attrs: { 'aria-label': 'Tensors' } }, el('div', { cls: 'toolbar' }, this.input, this.count), this.scroller);

    this.input.addEventListener('input', () => {
      if (this.filterTimer) clearTimeout(this.filterTimer);
      this.filterTimer = setTimeout(() => this.setFilter(this.input.value), 60);
    });
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    window.addEventListener('resize', () => this.schedule());
    // One listener for every stats button, however many rows are drawn.
    this.body.addEventListener('click', (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-name]');
      const name = button?.dataset.name;
      if (name === undefined) return;
      this.stats.set(name, 'pending');
      this.redraw();
      this.callbacks.requestStats(name);
    });
    this.drawHead();
  }

  /** Rows after filtering, as drawn. */
  get rowCount(): number {
    return this.shown.length;
  }

  /** Replaces the data (a new or re-read file). */
  setData(tensors: ViewerTensor[], stats: Record<string, StatsOutcome>): void {
    this.tensors = tensors;
    this.haystacks = tensors.map((t) => `${t.name}\n${t.dtype}\n${t.role ?? ''}`.toLowerCase());
    this.stats.clear();
    for (const [name, outcome] of Object.entries(stats)) this.stats.set(name, outcome);
    this.apply();
    if (this.pendingScroll) {
      this.scroller.scrollTop = this.pendingScroll;
      this.pendingScroll = 0;
    }
    this.redraw();
  }

  /** Statistics of one tensor arrived. */
  setStats(name: string, outcome: StatsOutcome): void {
    this.stats.set(name, outcome);
    if (STAT_COLUMNS.some((c) => c.id === this.sort.column)) this.apply();
    this.redraw();
  }

  /** Shows only the tensors matching `text` (e.g. a layer id). */
  setFilter(text: string): void {
    this.input.value = text;
    if (text === this.filter) return;
    this.filter = text;
    this.apply();
    this.scroller.scrollTop = 0;
    this.redraw();
    this.saveState();
  }

  private apply(): void {
    const terms = this.filter.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = terms.length ? this.tensors.filter((_t, i) => terms.every((term) => this.haystacks[i].includes(term))) : [...this.tensors];
    const column = COLUMNS.find((c) => c.id === this.sort.column) ?? COLUMNS[0];
    shown.sort((a, b) => this.compare(column, a, b) || a.index - b.index);
    this.shown = shown;
    const total = this.tensors.length;
    this.count.textContent = shown.length === total ? `${formatCount(total)} tensors` : `${formatCount(shown.length)} of ${formatCount(total)} tensors`;
  }

  /** What `column` sorts `t` by; undefined sorts last in either direction. */
  private key(column: Column, t: ViewerTensor): number | string | readonly number[] | undefined {
    if (column.stat) {
      const s = this.stats.get(t.name);
      return s !== undefined && s !== 'pending' && s.ok ? column.stat(s.stats) : undefined;
    }
    switch (column.id) {
      case 'index':
        return t.index;
      case 'name':
        return t.name;
      case 'dtype':
        return t.dtype;
      case 'shape':
        return t.shape;
      case 'elements':
        return t.elements;
      case 'bytes':
        return t.bytes ?? undefined;
      case 'role':
        return t.role;
      case 'mean':
      case 'std':
      case 'min':
      case 'max':
      case 'zeros':
      case 'nonFinite':
        return undefined; // handled by `column.stat` above
      default: {
        const never: never = column.id;
        return never;
      }
    }
  }

  private compare(column: Column, a: ViewerTensor, b: ViewerTensor): number {
    const ka = this.key(column, a);
    const kb = this.key(column, b);
    if (ka === undefined || kb === undefined) return ka === kb ? 0 : ka === undefined ? 1 : -1;
    const sign = this.sort.descending ? -1 : 1;
    if (typeof ka === 'number' && typeof kb === 'number') return sign * (ka - kb);
    if (typeof ka === 'string' && typeof kb === 'string') return sign * collator.compare(ka, kb);
    const da = ka as readonly number[];
    const db = kb as readonly number[];
    return sign * (da.length - db.length || compareDims(da, db));
  }

  private drawHead(): void {
    this.head.replaceChildren(
      ...COLUMNS.map((c) => {
        const active = this.sort.column === c.id;
        const arrow = active ? (this.sort.descending ? ' ▾' : ' ▴') : '';
        const button = el('button', { cls: 'sort', text: c.label + arrow, title: `${c.title} (click to sort)` });
        button.addEventListener('click', () => {
          this.sort = active ? { column: c.id, descending: !this.sort.descending } : { column: c.id, descending: !!c.descendingFirst };
          this.drawHead();
          this.apply();
          this.redraw();
          this.saveState();
        });
        return el('th', { cls: c.cls, attrs: { scope: 'col', 'aria-sort': active ? (this.sort.descending ? 'descending' : 'ascending') : 'none' } }, button);
      }),
    );
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawRows(false);
      this.saveState();
    });
  }

  private redraw(): void {
    this.drawRows(true);
  }

  /** Draws the rows in view (plus OVERSCAN each side); `force` redraws even if the range is the same. */
  private drawRows(force: boolean): void {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || window.innerHeight;
    const n = this.shown.length;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    if (!force && first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    this.topSpacer.style.height = `${first * ROW_HEIGHT}px`;
    this.bottomSpacer.style.height = `${(n - last) * ROW_HEIGHT}px`;
    const rows: HTMLTableRowElement[] = [];
    for (let i = first; i < last; i++) rows.push(this.row(this.shown[i]));
    this.body.replaceChildren(this.topSpacer, ...rows, this.bottomSpacer);
  }

  private row(t: ViewerTensor): HTMLTableRowElement {
    const bytesTitle = t.bytes === null ? 'size unknown for this dtype' : `${formatCount(t.bytes)} bytes`;
    const s = this.stats.get(t.name);
    const state = s === undefined ? 'none' : s === 'pending' ? 'pending' : s.ok ? 'done' : 'error';
    return el(
      'tr',
      { cls: 'row', attrs: { 'data-name': t.name, 'data-stats': state } },
      el('td', { cls: 'c-index', text: String(t.index) }),
      el('td', { cls: 'c-name', text: t.name, title: t.name }),
      el('td', { cls: 'c-dtype', text: t.dtype }),
      el('td', { cls: 'c-shape', text: formatShape(t.shape), title: formatShape(t.shape) }),
      el('td', { cls: 'c-num', text: formatCount(t.elements) }),
      el('td', { cls: 'c-num', text: formatBytes(t.bytes), title: bytesTitle }),
      el('td', { cls: 'c-role', text: t.role ?? '', title: t.role ?? '' }),
      ...this.statsCells(t.name, s),
    );
  }

  /** Six cells once the statistics are known; before that, one cell spanning them. */
  private statsCells(name: string, s: StatsCell | undefined): HTMLTableCellElement[] {
    const span = { colspan: String(STAT_COLUMNS.length) };
    if (s === undefined) {
      const button = el('button', { cls: 'stats-btn', text: 'Compute statistics', title: `Compute statistics of ${name} (reads this tensor only)`, attrs: { 'data-name': name } });
      return [el('td', { cls: 'c-stats', attrs: span }, button)];
    }
    if (s === 'pending') return [el('td', { cls: 'c-stats pending', text: 'computing…', attrs: { ...span, 'aria-busy': 'true' } })];
    if (!s.ok) {
      const retry = el('button', { cls: 'stats-btn', text: 'Retry', title: 'Compute again', attrs: { 'data-name': name } });
      return [el('td', { cls: 'c-stats', title: s.error, attrs: span }, retry, el('span', { cls: 'stats-error', text: s.error }))];
    }
    const st = s.stats;
    const title = statsTitle(st, s.ms);
    const bad = nonFiniteText(st);
    return [
      el('td', { cls: 'c-num c-stat c-mean', text: formatNumber(st.mean), title, attrs: { 'data-mean': String(st.mean) } }),
      el('td', { cls: 'c-num c-stat', text: formatNumber(st.std), title }),
      el('td', { cls: 'c-num c-stat', text: formatNumber(st.min), title }),
      el('td', { cls: 'c-num c-stat', text: formatNumber(st.max), title }),
      el('td', { cls: 'c-num c-stat', text: `${(100 * st.zeroFraction).toFixed(1)}%`, title }),
      el('td', { cls: `c-num c-stat${bad ? ' non-finite' : ''}`, text: bad ? `⚠ ${bad}` : '–', title }),
    ];
  }

  private saveState(): void {
    this.callbacks.stateChanged({ filter: this.filter, sort: this.sort, scrollTop: this.scroller.scrollTop });
  }
}

function spacer(): HTMLTableRowElement {
  return el('tr', { cls: 'spacer', attrs: { 'aria-hidden': 'true' } }, el('td', { attrs: { colspan: String(COLUMNS.length) } }));
}

function compareDims(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
