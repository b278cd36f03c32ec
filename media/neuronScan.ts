/**
 * The workspace-scan part of a neuron card: how often the unit fires in the scanned text and how
 * hard (density, max, a 50-bin histogram of its values), its top examples as lines of context with
 * the firing token marked, each a button that opens its file there, and examples from the middle
 * of the distribution (shown only: the protocol opens top examples by rank). Without a scan: a
 * button that starts one.
 */
import { Chart, type ChartConfiguration } from 'chart.js';
import type { NeuronScanView, ScanExampleView } from '../src/protocol/webview';
import { baseOptions } from './charts';
import { chartBox, fmt, h, visibleBreaks } from './dom';
import { alpha, type ThemeColors } from './theme';

export interface ScanCallbacks {
  /** Example `rank` (0 = the largest) was chosen: open its file at the token. */
  openExample(rank: number): void;
  /** Start a workspace scan of the shown block. */
  scan(): void;
}

/** Characters of a file's path shown beside an example (the tooltip has all of it). */
const MAX_PATH = 40;

/** A share as a percentage with up to three significant digits ("3.21%", "0.042%"). */
export function shareText(v: number): string {
  return v > 0 ? `${fmt(100 * v, 3)}%` : '0%';
}

/** A value with a real minus sign ("−0.12"). */
function num(v: number, digits = 3): string {
  return fmt(v, digits).replace(/^-/, '−');
}

/** A quantile's short name: 0.5 → "p50", 0.999 → "p99.9". */
export function quantileText(q: number): string {
  return `p${fmt(100 * q, 3)}`;
}

/** The example's context on one line, the firing token in a <mark>. */
function contextLine(e: ScanExampleView): HTMLElement {
  const n = e.context.length;
  const a = Math.min(n, Math.max(0, e.tokenSpan[0]));
  const b = Math.min(n, Math.max(a, e.tokenSpan[1]));
  const token = e.context.slice(a, b);
  return h(
    'span',
    { class: 'context' },
    visibleBreaks(e.context.slice(0, a)),
    h('mark', { title: JSON.stringify(token) }, token.trim() === '' ? visibleBreaks(token.replace(/ /g, '·')) || '∅' : visibleBreaks(token)),
    visibleBreaks(e.context.slice(b)),
  );
}

function where(e: ScanExampleView): HTMLElement {
  const at = ` · window ${e.window}, token ${e.position}`;
  // a long path keeps its end: the file's name says more than its first folders
  const file = e.file.length > MAX_PATH ? `…${e.file.slice(-(MAX_PATH - 1))}` : e.file;
  return h('span', { class: 'where', title: e.file + at }, file + at);
}

export class ScanPart {
  readonly element = h('div', { class: 'scan', role: 'group', 'aria-labelledby': 'nc-scan-title' });
  private chart: Chart<'bar', { x: number; y: number }[]> | undefined;
  private canvas: HTMLCanvasElement | undefined;
  private scan: NeuronScanView | undefined;

  constructor(
    private theme: ThemeColors,
    private readonly cb: ScanCallbacks,
  ) {
    this.element.addEventListener('click', (e) => {
      const target = (e.target as Element).closest<HTMLElement>('[data-rank]');
      if (target) this.cb.openExample(Number(target.dataset.rank));
    });
  }

  /** Draws what the scan found, or the offer to run one. */
  show(scan: NeuronScanView | undefined): void {
    this.clear();
    this.scan = scan;
    const title = h('h4', { id: 'nc-scan-title' }, 'In the workspace text');
    if (!scan) {
      const button = h('button', { type: 'button', 'data-focus': 'scan', title: 'Run FFN Lens: Scan Workspace Text for this block' }, 'Scan workspace text…');
      button.addEventListener('click', () => this.cb.scan());
      this.element.replaceChildren(
        title,
        h('p', { class: 'no-scan' }, 'No scan of this block yet.'),
        h('div', { class: 'toolbar' }, button, h('span', { class: 'hint' }, 'Runs this block over the workspace’s text files to find where each unit fires.')),
      );
      return;
    }
    const stats = h(
      'dl',
      { class: 'scan-stats' },
      h('div', {}, h('dt', {}, 'density'), h('dd', { title: 'share of scanned tokens where |h| is above the firing threshold' }, shareText(scan.density))),
      h('div', {}, h('dt', {}, 'max'), h('dd', { title: 'largest h over the scanned tokens' }, num(scan.max, 4))),
      h('div', {}, h('dt', {}, 'tokens'), h('dd', {}, scan.tokens.toLocaleString('en-US'))),
    );
    const chart = chartBox('histogram of the unit’s values over the scanned text', 150);
    this.canvas = chart.canvas;
    const top = scan.examples.map((e, rank) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'example', 'data-rank': rank, 'data-focus': `example-${rank}`, title: `Open ${e.file} at this token` },
          h('span', { class: 'value' }, num(e.value)),
          contextLine(e),
          where(e),
        ),
      ),
    );
    const middle = scan.quantiles.map((q) =>
      h(
        'li',
        { class: 'example' },
        h('span', { class: 'value', title: `the ${quantileText(q.q)} of the unit’s values is ${num(q.value, 4)}` }, `${quantileText(q.q)} · ${num(q.value, 2)}`),
        ...(q.example ? [contextLine(q.example), where(q.example)] : [h('span', { class: 'context hint' }, 'no example')]),
      ),
    );
    this.element.replaceChildren(
      title,
      h('p', { class: 'hint scan-source' }, `Last scan: ${scan.tokens.toLocaleString('en-US')} tokens of ${scan.corpus}. Choose a top example to open its file at the token.`),
      h('div', { class: 'scan-grid' }, stats, chart.box),
      h('h4', { id: 'nc-top-title' }, 'Top examples'),
      top.length ? h('ol', { class: 'examples', 'aria-labelledby': 'nc-top-title' }, ...top) : h('p', { class: 'hint' }, 'No examples.'),
      h('h4', { id: 'nc-middle-title' }, 'From the middle of the distribution'),
      middle.length ? h('ol', { class: 'examples quantiles', 'aria-labelledby': 'nc-middle-title' }, ...middle) : h('p', { class: 'hint' }, 'No examples.'),
    );
    this.drawHistogram();
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.drawHistogram();
  }

  /** Empties the part and disposes its chart. */
  clear(): void {
    this.chart?.destroy();
    this.chart = undefined;
    this.canvas = undefined;
    this.scan = undefined;
    this.element.replaceChildren();
  }

  private drawHistogram(): void {
    this.chart?.destroy();
    this.chart = undefined;
    const s = this.scan;
    if (!s || !this.canvas) return;
    const { edges, counts } = s.histogram;
    // bars at their bins' centres on a linear axis: round ticks instead of 50 odd bin labels
    const bins = edges.length === counts.length + 1 ? counts.map((c, i) => ({ x: (edges[i] + edges[i + 1]) / 2, y: c, lo: edges[i], hi: edges[i + 1] })) : [];
    const opts = baseOptions(this.theme, 'h (what the down projection receives)', 'tokens (log)', true) as {
      plugins: Record<string, unknown>;
      scales: { x: Record<string, unknown> };
    };
    opts.plugins.legend = { display: false };
    opts.plugins.tooltip = {
      intersect: false,
      mode: 'index',
      callbacks: {
        title: (items: { dataIndex: number }[]) => {
          const b = bins[items[0]?.dataIndex ?? 0];
          return b ? `h in [${num(b.lo, 4)}, ${num(b.hi, 4)})` : '';
        },
        label: (c: { dataIndex: number }) => `${(bins[c.dataIndex]?.y ?? 0).toLocaleString('en-US')} tokens`,
      },
    };
    if (bins.length) Object.assign(opts.scales.x, { type: 'linear', min: edges[0], max: edges[edges.length - 1], offset: false });
    const config: ChartConfiguration<'bar', { x: number; y: number }[]> = {
      type: 'bar',
      data: { datasets: [{ label: 'tokens', data: bins.map(({ x, y }) => ({ x, y })), backgroundColor: alpha(this.theme.after, 0.8), barPercentage: 1, categoryPercentage: 1 }] },
      options: opts as ChartConfiguration<'bar', { x: number; y: number }[]>['options'],
    };
    this.chart = new Chart(this.canvas, config);
  }
}
