/**
 * The chart.js charts of the panel (bundled, tree-shaken; no CDN): stage norms, per-token
 * sparsity, firing-rate histogram, before/after-filter histograms, top neurons of a token and one
 * neuron across tokens. Every chart is created once and updated; colours follow the theme.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import type { NeuronView, RunView } from '../src/protocol/webview';
import { fmt, pct } from './dom';
import { alpha, ThemeColors } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, Tooltip, Legend);

/** Token lines drawn individually in the stage chart; beyond, the mean and the extremes. */
const MAX_TOKEN_LINES = 16;

type AnyChart = Chart<'bar' | 'line', number[], string>;

/** Chart.js options every panel chart starts from: no animation, responsive, axes and text in the theme's colours. */
export function baseOptions(theme: ThemeColors, xTitle: string, yTitle: string, log = false): ChartConfiguration<'bar' | 'line', number[], string>['options'] {
  const axis = (title: string) => ({
    title: { display: true, text: title, color: theme.muted },
    ticks: { color: theme.muted },
    grid: { color: alpha(theme.grid, theme.highContrast ? 0.9 : 0.35) },
    border: { color: theme.grid },
  });
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    color: theme.foreground,
    font: { family: theme.fontFamily },
    plugins: {
      legend: { labels: { color: theme.foreground, boxWidth: 12 } },
      tooltip: { intersect: false, mode: 'index' },
    },
    scales: { x: axis(xTitle), y: { ...axis(yTitle), type: log ? 'logarithmic' : 'linear' } },
  } as ChartConfiguration<'bar' | 'line', number[], string>['options'];
}

export class Charts {
  private readonly charts = new Map<string, AnyChart>();
  private run: RunView | undefined;
  private neuron: NeuronView | undefined;
  private token = 0;

  constructor(
    private theme: ThemeColors,
    private readonly canvases: Record<'stages' | 'sparsity' | 'firing' | 'cut' | 'top' | 'neuron', HTMLCanvasElement>,
    private readonly onNeuronClick: (index: number) => void,
  ) {}

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.redraw();
  }

  show(run: RunView, token: number): void {
    this.run = run;
    this.token = Math.min(token, run.tokens.length - 1);
    this.neuron = undefined;
    this.redraw();
  }

  showToken(token: number): void {
    this.token = token;
    if (this.run) this.draw('top', this.topConfig(this.run));
  }

  showNeuron(n: NeuronView): void {
    this.neuron = n;
    if (this.run) this.draw('neuron', this.neuronConfig(this.run, n));
  }

  private redraw(): void {
    const r = this.run;
    if (!r) return;
    this.draw('stages', this.stagesConfig(r));
    this.draw('sparsity', this.sparsityConfig(r));
    this.draw('firing', this.firingConfig(r));
    this.draw('cut', this.cutConfig(r));
    this.draw('top', this.topConfig(r));
    if (this.neuron) this.draw('neuron', this.neuronConfig(r, this.neuron));
  }

  /** Replaces a chart (cheap at these sizes, and it picks up new colours and scale types). */
  private draw(key: keyof Charts['canvases'], config: ChartConfiguration<'bar' | 'line', number[], string>): void {
    this.charts.get(key)?.destroy();
    this.charts.set(key, new Chart(this.canvases[key], config) as AnyChart);
  }

  private stagesConfig(r: RunView): ChartConfiguration<'bar' | 'line', number[], string> {
    const { dModel, dFf } = r.layer;
    const labels = [`input (${dModel})`, `expanded (${dFf})`, `filtered (${dFf})`, `output (${dModel})`];
    const T = r.tokens.length;
    const s = this.theme.series;
    const row = (t: number) => Array.from(r.norms.subarray(t * 4, t * 4 + 4));
    let datasets;
    if (T <= MAX_TOKEN_LINES) {
      datasets = r.tokens.map((tok, t) => ({ type: 'line' as const, label: tok, data: row(t), borderColor: s[t % s.length], backgroundColor: s[t % s.length], tension: 0 }));
    } else {
      const stat = (f: (xs: number[]) => number) => [0, 1, 2, 3].map((k) => f(r.tokens.map((_, t) => r.norms[t * 4 + k])));
      datasets = [
        { type: 'line' as const, label: `mean of ${T} tokens`, data: stat((xs) => xs.reduce((a, b) => a + b, 0) / xs.length), borderColor: s[0], backgroundColor: s[0] },
        { type: 'line' as const, label: 'max', data: stat((xs) => Math.max(...xs)), borderColor: s[1], backgroundColor: s[1], borderDash: [4, 3] },
        { type: 'line' as const, label: 'min', data: stat((xs) => Math.min(...xs)), borderColor: s[2], backgroundColor: s[2], borderDash: [4, 3] },
      ];
    }
    return { type: 'line', data: { labels, datasets }, options: baseOptions(this.theme, 'stage (width)', 'L2 norm ‖·‖') };
  }

  private sparsityConfig(r: RunView): ChartConfiguration<'bar' | 'line', number[], string> {
    const opts = baseOptions(this.theme, 'token', 'silenced units (%)');
    (opts as { scales: { y: { max?: number; min?: number } } }).scales.y.max = 100;
    (opts as { scales: { y: { max?: number; min?: number } } }).scales.y.min = 0;
    return {
      type: 'bar',
      data: {
        labels: r.tokens.map((t, i) => `${i}: ${t}`),
        datasets: [{ label: 'sparsity per token', data: Array.from(r.sparsity.perToken, (v) => 100 * v), backgroundColor: alpha(this.theme.series[0], 0.75) }],
      },
      options: opts,
    };
  }

  private firingConfig(r: RunView): ChartConfiguration<'bar' | 'line', number[], string> {
    const bins = r.sparsity.firingHistogram.length;
    const labels = Array.from({ length: bins }, (_, i) => `${Math.round((100 * i) / bins)}–${Math.round((100 * (i + 1)) / bins)}%`);
    return {
      type: 'bar',
      data: { labels, datasets: [{ label: 'neurons', data: Array.from(r.sparsity.firingHistogram), backgroundColor: alpha(this.theme.series[2], 0.8) }] },
      options: baseOptions(this.theme, 'firing rate (share of tokens where the unit passes the filter)', 'neurons'),
    };
  }

  private cutConfig(r: RunView): ChartConfiguration<'bar' | 'line', number[], string> {
    const { min, max, before, after } = r.cut;
    const bins = before.length;
    const w = (max - min) / bins;
    const labels = Array.from({ length: bins }, (_, i) => fmt(min + (i + 0.5) * w, 3));
    return {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: r.cut.beforeLabel, data: Array.from(before), backgroundColor: alpha(this.theme.before, 0.55), borderColor: this.theme.before, borderWidth: 1, grouped: false } as never,
          { label: r.cut.afterLabel, data: Array.from(after), backgroundColor: alpha(this.theme.after, 0.55), borderColor: this.theme.after, borderWidth: 1, grouped: false } as never,
        ],
      },
      options: baseOptions(this.theme, 'value', 'count (log)', true),
    };
  }

  private topConfig(r: RunView): ChartConfiguration<'bar' | 'line', number[], string> {
    const { k, index, value, score } = r.top;
    const rows: { i: number; v: number; s: number }[] = [];
    for (let j = 0; j < k; j++) {
      const i = index[this.token * k + j];
      if (i >= 0) rows.push({ i, v: value[this.token * k + j], s: score[this.token * k + j] });
    }
    const opts = baseOptions(this.theme, '|h| × ‖W2 row‖ (what the unit writes into the output)', 'unit') as Record<string, unknown>;
    opts.indexAxis = 'y';
    opts.onClick = (_e: unknown, elements: { index: number }[]) => {
      const hit = elements[0];
      if (hit) this.onNeuronClick(rows[hit.index].i);
    };
    (opts.plugins as Record<string, unknown>).tooltip = {
      callbacks: { label: (c: { dataIndex: number }) => `score ${fmt(rows[c.dataIndex].s)}, h = ${fmt(rows[c.dataIndex].v)} (click for every token)` },
    };
    (opts.scales as Record<string, Record<string, unknown>>).x.title = { display: true, text: '|h| × ‖W2 row‖', color: this.theme.muted };
    (opts.scales as Record<string, Record<string, unknown>>).y.title = { display: true, text: 'unit', color: this.theme.muted };
    // the bars lie along x: the unit labels are y's categories (baseOptions() made y a linear value axis)
    (opts.scales as Record<string, Record<string, unknown>>).y.type = 'category';
    return {
      type: 'bar',
      data: {
        labels: rows.map((x) => `#${x.i}`),
        datasets: [{ label: `top units for ${JSON.stringify(r.tokens[this.token] ?? '')}`, data: rows.map((x) => x.s), backgroundColor: rows.map((x) => alpha(x.v >= 0 ? this.theme.positive : this.theme.negative, 0.8)) }],
      },
      options: opts as ChartConfiguration<'bar' | 'line', number[], string>['options'],
    };
  }

  private neuronConfig(r: RunView, n: NeuronView): ChartConfiguration<'bar' | 'line', number[], string> {
    return {
      type: 'bar',
      data: {
        labels: r.tokens.map((t, i) => `${i}: ${t}`),
        datasets: [
          { type: 'bar', label: n.up ? `unit #${n.index}: product act(gate) · up` : `unit #${n.index}: h (after the filter)`, data: Array.from(n.hidden), backgroundColor: alpha(this.theme.after, 0.8) },
          { type: 'line', label: n.up ? 'gate (before its activation)' : 'pre-activation', data: Array.from(n.pre), borderColor: this.theme.before, backgroundColor: this.theme.before, tension: 0 },
          // gated FFNs: the up projection too, so gate, up and product are each seen
          ...(n.up ? [{ type: 'line' as const, label: 'up', data: Array.from(n.up), borderColor: this.theme.series[2], backgroundColor: this.theme.series[2], borderDash: [4, 3], tension: 0 }] : []),
        ],
      },
      options: baseOptions(this.theme, `token · firing rate ${pct(n.firingRate)} · ‖W2 row‖ ${fmt(n.w2Norm)}`, 'activation'),
    };
  }

  dispose(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}
