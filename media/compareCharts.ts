/**
 * The compare view's charts (chart.js, as the run's): per block the FFN output and hidden errors
 * (the mean as a solid bar, the worst token as its paler extension), the top-K overlap, sparsity
 * of A beside B, and KL(A‖B) at each position. Clicking a block's bars selects it.
 */
import { Chart, type ChartConfiguration } from 'chart.js';
import type { CompareView } from '../src/protocol/webview';
import { baseOptions } from './charts';
import { fmt, pct } from './dom';
import { alpha, type ThemeColors } from './theme';

type Config = ChartConfiguration<'bar' | 'line', (number | null)[], string>;
export type CompareChartName = 'errors' | 'overlap' | 'sparsity' | 'kl';

/** Chart.js cannot draw Infinity (A's row zero, B's not): such a bar is left out. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export class CompareCharts {
  private readonly charts = new Map<CompareChartName, Chart>();
  private view: CompareView | undefined;

  constructor(
    private theme: ThemeColors,
    private readonly canvases: Record<CompareChartName, HTMLCanvasElement>,
    private readonly onBlock: (layer: number) => void,
  ) {}

  show(view: CompareView): void {
    this.view = view;
    this.redraw();
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.redraw();
  }

  private redraw(): void {
    const v = this.view;
    if (!v) return;
    this.draw('errors', this.errorsConfig(v));
    this.draw('overlap', this.overlapConfig(v));
    this.draw('sparsity', this.sparsityConfig(v));
    this.draw('kl', this.klConfig(v));
  }

  private draw(name: CompareChartName, config: Config): void {
    this.charts.get(name)?.destroy();
    this.charts.set(name, new Chart(this.canvases[name], config as ChartConfiguration));
  }

  /** Options of a per-block chart: clicking a bar selects its block. */
  private blockOptions(v: CompareView, yTitle: string): Config['options'] {
    const opts = baseOptions(this.theme, 'block (click for its heatmaps)', yTitle) as Record<string, unknown>;
    opts.onClick = (_e: unknown, elements: { index: number }[]) => {
      const hit = elements[0];
      if (hit) this.onBlock(v.layers[hit.index].layer);
    };
    return opts as Config['options'];
  }

  private errorsConfig(v: CompareView): Config {
    const s = this.theme.series;
    const mean = (k: 'outputError' | 'hiddenError'): (number | null)[] => v.layers.map((l) => finite(l[k].mean));
    // the worst token as the part of the bar above the mean
    const worst = (k: 'outputError' | 'hiddenError'): (number | null)[] => v.layers.map((l) => finite(l[k].max - l[k].mean));
    const opts = this.blockOptions(v, '‖B − A‖ / ‖A‖ per token') as Record<string, Record<string, Record<string, unknown>>>;
    opts.scales.x.stacked = true;
    opts.scales.y.stacked = true;
    opts.scales.y.min = 0;
    opts.plugins.tooltip = {
      mode: 'index',
      intersect: false,
      callbacks: {
        label: (c: { datasetIndex: number; dataIndex: number }) => {
          const l = v.layers[c.dataIndex];
          const e = c.datasetIndex < 2 ? l.outputError : l.hiddenError;
          const what = c.datasetIndex < 2 ? 'FFN output' : 'hidden';
          return c.datasetIndex % 2 === 0 ? `${what}: mean ${fmt(e.mean)}` : `${what}: worst token ${fmt(e.max)}`;
        },
      },
    };
    return {
      type: 'bar',
      data: {
        labels: v.layers.map((l) => String(l.layer)),
        datasets: [
          { label: 'FFN output error, mean', data: mean('outputError'), stack: 'output', backgroundColor: alpha(s[0], 0.85) },
          { label: 'worst token', data: worst('outputError'), stack: 'output', backgroundColor: alpha(s[0], 0.25), borderColor: s[0], borderWidth: { top: 2, left: 0, right: 0, bottom: 0 } },
          { label: 'hidden error, mean', data: mean('hiddenError'), stack: 'hidden', backgroundColor: alpha(s[1], 0.85) },
          { label: 'worst token', data: worst('hiddenError'), stack: 'hidden', backgroundColor: alpha(s[1], 0.25), borderColor: s[1], borderWidth: { top: 2, left: 0, right: 0, bottom: 0 } },
        ] as Config['data']['datasets'],
      },
      options: opts as Config['options'],
    };
  }

  private overlapConfig(v: CompareView): Config {
    const opts = this.blockOptions(v, `top-${v.top} overlap (Jaccard)`) as Record<string, Record<string, Record<string, unknown>>>;
    opts.scales.y.min = 0;
    opts.scales.y.max = 1;
    return {
      type: 'bar',
      data: {
        labels: v.layers.map((l) => String(l.layer)),
        datasets: [{ label: `top-${v.top} units shared by A and B, per token`, data: v.layers.map((l) => l.topOverlap), backgroundColor: alpha(this.theme.series[2], 0.8) }],
      },
      options: opts as Config['options'],
    };
  }

  private sparsityConfig(v: CompareView): Config {
    const opts = this.blockOptions(v, 'silenced (%)') as Record<string, Record<string, Record<string, unknown>>>;
    opts.scales.y.min = 0;
    opts.plugins.tooltip = { mode: 'index', intersect: false, callbacks: { label: (c: { dataset: { label: string }; raw: number }) => `${c.dataset.label}: ${pct(c.raw / 100)}` } };
    return {
      type: 'bar',
      data: {
        labels: v.layers.map((l) => String(l.layer)),
        datasets: [
          { label: 'A', data: v.layers.map((l) => 100 * l.sparsityA), backgroundColor: alpha(this.theme.before, 0.8) },
          { label: 'B', data: v.layers.map((l) => 100 * l.sparsityB), backgroundColor: alpha(this.theme.after, 0.8) },
        ],
      },
      options: opts as Config['options'],
    };
  }

  private klConfig(v: CompareView): Config {
    const opts = baseOptions(this.theme, 'position (the next token after it)', 'KL(A‖B), nats') as Record<string, Record<string, Record<string, unknown>>>;
    opts.scales.y.min = 0;
    return {
      type: 'bar',
      data: {
        labels: v.tokens.map((t, i) => `${i}: ${t}`),
        datasets: [{ label: 'KL(A‖B) of the next-token distributions', data: Array.from(v.klPerPosition, finite), backgroundColor: alpha(this.theme.series[3], 0.8) }],
      },
      options: opts as Config['options'],
    };
  }

  dispose(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}
