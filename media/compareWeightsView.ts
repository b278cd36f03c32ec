/**
 * The weights view (FFN Lens: Compare Checkpoint Weights): two checkpoints' FFN matrices set side by
 * side without running anything, as `ffn-lens compare --weights` computes them. Per block, a bar of
 * ‖B − A‖_F / ‖A‖_F for each of gate, up and down, and a table of the numbers with the units whose
 * weights moved most (‖b_i − a_i‖ / ‖a_i‖). Swap A ↔ B and Save JSON… go through the host.
 * <body> gets data-view="compare-weights" and data-compare-tensors (main.ts sets them).
 */
import { Chart, type ChartConfiguration } from 'chart.js';
import { mostChangedMatrix } from '../src/protocol/compare';
import type { CompareWeightsView as WeightsData } from '../src/protocol/webview';
import { baseOptions } from './charts';
import { chartBox, fmt, h, section } from './dom';
import type { ThemeColors } from './theme';

export interface WeightsCallbacks {
  swap(): void;
  exportJson(): void;
}

const ROLES = ['gate', 'up', 'down'] as const;

/** Chart.js cannot draw Infinity (A's matrix zero, B's not): such a bar is left out. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export class CompareWeightsView {
  readonly element: HTMLElement;
  private view: WeightsData | undefined;
  private chart: Chart | undefined;
  private readonly canvas: HTMLCanvasElement;
  private readonly table = h('table', { class: 'next-table compare-tensors', 'aria-label': 'matrices compared' });
  private readonly summary = h('p', { class: 'big-number compare-weights-worst' });

  constructor(
    private theme: ThemeColors,
    cb: WeightsCallbacks,
  ) {
    const bars = chartBox('relative difference of each FFN matrix per block', 240);
    this.canvas = bars.canvas;
    const swap = h('button', { type: 'button', title: 'Compare again with B as the reference' }, 'Swap A ↔ B');
    const save = h('button', { type: 'button', title: 'Save the comparison as JSON (the document of ffn-lens compare --weights --json)' }, 'Save JSON…');
    swap.addEventListener('click', () => cb.swap());
    save.addEventListener('click', () => cb.exportJson());
    this.element = h(
      'div',
      { class: 'compare-weights-view', hidden: true },
      section(
        'compare-weights-what',
        'Weights',
        'Each FFN matrix of B against A’s, read a matrix of each at a time; nothing is run. A unit is a row of gate and up (what it reads) and a column of down (what it writes).',
        this.summary,
        h('div', { class: 'toolbar' }, swap, h('span', { class: 'spacer' }), save),
      ),
      section(
        'compare-weights-blocks',
        'Per block',
        '‖B − A‖_F / ‖A‖_F of each matrix (0: unchanged), and the units whose weights moved most relative to their own norm, ‖b_i − a_i‖ / ‖a_i‖.',
        bars.box,
        this.table,
      ),
    );
  }

  show(v: WeightsData): void {
    this.view = v;
    const all = v.layers.flatMap((l) => l.tensors);
    const moved = all.filter((t) => t.relativeError !== 0).length;
    const most = mostChangedMatrix(v.layers);
    this.summary.textContent = most
      ? `${moved} of ${all.length} matrices changed; the most: block ${most.layer} ${most.tensor.role}, ${fmt(most.tensor.relativeError, 3)}${most.tensor.changed[0] ? ` (unit #${most.tensor.changed[0].index} most)` : ''}`
      : `All ${all.length} matrices are the same in A and B.`;
    this.drawTable(v);
    this.redraw();
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.redraw();
  }

  private redraw(): void {
    const v = this.view;
    if (!v) return;
    const s = this.theme.series;
    const opts = baseOptions(this.theme, 'block', '‖B − A‖_F / ‖A‖_F') as Record<string, Record<string, Record<string, unknown>>>;
    opts.scales.y.min = 0;
    const config: ChartConfiguration<'bar', (number | null)[], string> = {
      type: 'bar',
      data: {
        labels: v.layers.map((l) => String(l.layer)),
        datasets: ROLES.filter((role) => v.layers.some((l) => l.tensors.some((t) => t.role === role))).map((role, i) => ({
          label: role,
          data: v.layers.map((l) => {
            const t = l.tensors.find((x) => x.role === role);
            return t ? finite(t.relativeError) : null;
          }),
          backgroundColor: s[i % s.length],
        })),
      },
      options: opts as ChartConfiguration<'bar', (number | null)[], string>['options'],
    };
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, config as ChartConfiguration);
  }

  private drawTable(v: WeightsData): void {
    const col = (text: string, title?: string): HTMLElement => h('th', { scope: 'col', title }, text);
    const head = h('thead', {}, h('tr', {}, col('block'), col('matrix'), col('relative difference', '‖B − A‖_F / ‖A‖_F'), col('most changed units', '‖b_i − a_i‖ / ‖a_i‖')));
    const rows = v.layers.flatMap((l) =>
      l.tensors.map((t) => {
        const units = t.changed.filter((c) => c.relative !== 0).slice(0, 5);
        const names = t.nameA === t.nameB ? t.nameA : `${t.nameA} ↔ ${t.nameB}`;
        return h(
          'tr',
          { 'data-block': l.layer, 'data-role': t.role },
          h('th', { scope: 'row' }, String(l.layer)),
          h('td', { title: names }, t.role),
          h('td', { class: 'relative' }, fmt(t.relativeError, 3)),
          h('td', { class: 'changed' }, units.length ? units.map((c) => `#${c.index} (${fmt(c.relative, 3)})`).join(', ') : 'none'),
        );
      }),
    );
    this.table.replaceChildren(head, h('tbody', {}, ...rows));
  }
}
