/**
 * From a RunResult (full T x d_ff arrays, kept on the host) to what the webview draws: norms,
 * histograms, top neurons and a heatmap window max-abs pooled to at most MAX_COLUMNS columns.
 * Pure functions, no `vscode` import.
 */
import type { ActivationName } from '../../core/types';
import { buildModelView, isModelRun, summarizeModel, type ModelSummary } from './modelPayload';
import type { RunResult } from '../../protocol/run';
import type { HeatmapWindow, NeuronView, PanelRequest, RunView, UnitSort } from '../../protocol/webview';

/** The heatmap never gets more columns than this, whatever d_ff is. */
export const MAX_COLUMNS = 1024;
const FIRING_BINS = 20;
const CUT_BINS = 48;
const MAX_DEAD_LISTED = 256;

const orders = new WeakMap<RunResult, Int32Array>();

/** Hidden units by firing rate (most active first; ties by mean |h|, then index). */
export function firingOrder(r: RunResult): Int32Array {
  let order = orders.get(r);
  if (order) return order;
  const { dFf } = r;
  const T = r.tokens.length;
  const rate = r.analysis.neurons.firingRate;
  const meanAbs = new Float64Array(dFf);
  for (let t = 0; t < T; t++) {
    const row = t * dFf;
    for (let i = 0; i < dFf; i++) {
      const v = Math.abs(r.hidden[row + i]);
      if (v === v) meanAbs[i] += v;
    }
  }
  const idx = Array.from({ length: dFf }, (_, i) => i);
  idx.sort((a, b) => rate[b] - rate[a] || meanAbs[b] - meanAbs[a] || a - b);
  order = Int32Array.from(idx);
  orders.set(r, order);
  return order;
}

/** Units of the window [start, end) in the given order. */
function windowUnits(r: RunResult, sort: UnitSort, start: number, end: number): Int32Array {
  if (sort === 'firing') return firingOrder(r).slice(start, end);
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

/**
 * The hidden activations of units [start, end) (clamped to d_ff) in `sort` order, pooled into at
 * most `maxCols` columns: each cell holds the value of largest magnitude among its units (NaN wins,
 * so a bad unit stays visible).
 */
export function heatmapWindow(r: RunResult, sort: UnitSort, start: number, end: number, maxCols = MAX_COLUMNS): HeatmapWindow {
  const e = Math.max(1, Math.min(r.dFf, end));
  const s = Math.max(0, Math.min(start, e - 1));
  return pooledWindow(r.hidden, r.tokens.length, r.dFf, windowUnits(r, sort, s, e), sort, s, maxCols);
}

/**
 * A [rows x units] array's columns `unitIndex` (the window starting at sorted position `start`),
 * pooled into at most `maxCols` columns by largest magnitude (NaN wins).
 */
export function pooledWindow(values: Float32Array, rows: number, units: number, unitIndex: Int32Array, sort: UnitSort, start: number, maxCols = MAX_COLUMNS): HeatmapWindow {
  const n = unitIndex.length;
  const cols = Math.max(1, Math.min(n, maxCols));
  const out = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const from = Math.floor((c * n) / cols);
    const to = Math.max(from + 1, Math.floor(((c + 1) * n) / cols));
    for (let t = 0; t < rows; t++) {
      const row = t * units;
      let best = 0;
      for (let k = from; k < to; k++) {
        const v = values[row + unitIndex[k]];
        if (v !== v) {
          best = v;
          break;
        }
        if (Math.abs(v) > Math.abs(best)) best = v;
      }
      out[t * cols + c] = best;
    }
  }
  return { sort, start, end: start + n, units, rows, cols, values: out, unitIndex };
}

/** Counts of `data` in `bins` equal bins over [min, max]; non-finite values are left out. */
export function histogram(data: Float32Array, min: number, max: number, bins: number): Uint32Array {
  const out = new Uint32Array(bins);
  const width = max - min || 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    const b = Math.floor(((v - min) / width) * bins);
    out[b < 0 ? 0 : b >= bins ? bins - 1 : b]++;
  }
  return out;
}

function finiteRange(...arrays: Float32Array[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { min: -1, max: 1 };
  if (min === max) return { min: min - 0.5, max: max + 0.5 };
  return { min, max };
}

/** Largest finite |v| in `a` (0 for none). */
export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m && v !== Infinity) m = v;
  }
  return m;
}

/** Everything the panel draws for `r` (the first heatmap window covers every unit). */
export function buildRunView(r: RunResult, request: PanelRequest, fileName: string, defaultActivation: ActivationName): RunView {
  const T = r.tokens.length;
  const norms = new Float32Array(T * 4);
  const perToken = new Float32Array(T);
  const k = T ? Math.max(0, ...r.analysis.perToken.map((p) => p.topNeurons.length)) : 0;
  const topIndex = new Int32Array(T * k).fill(-1);
  const topValue = new Float32Array(T * k);
  const topScore = new Float32Array(T * k);
  r.analysis.perToken.forEach((p, t) => {
    norms.set([p.norms.input, p.norms.expanded, p.norms.filtered, p.norms.output], t * 4);
    perToken[t] = p.sparsity;
    p.topNeurons.forEach((n, j) => {
      topIndex[t * k + j] = n.index;
      topValue[t * k + j] = n.value;
      topScore[t * k + j] = n.score;
    });
  });
  const firing = histogram(r.analysis.neurons.firingRate, 0, 1, FIRING_BINS);
  const range = finiteRange(r.preActivation, r.hidden);
  const gated = r.layer.kind === 'gated';
  const dead = r.analysis.neurons.dead;
  return {
    request,
    fileName,
    format: r.format,
    layer: { id: r.layer.id, kind: r.layer.kind, convention: r.layer.convention, dModel: r.dModel, dFf: r.dFf },
    layers: r.layers.map((l) => ({ id: l.id, label: `${l.id}: ${l.dModel} → ${l.dFf} → ${l.dModel}` })),
    activation: r.activation,
    defaultActivation,
    tokens: r.tokens,
    norms,
    sparsity: {
      perToken,
      overall: r.analysis.sparsity,
      threshold: r.analysis.threshold,
      firingHistogram: firing,
      deadCount: dead.length,
      dead: Int32Array.from(dead.slice(0, MAX_DEAD_LISTED)),
    },
    cut: {
      min: range.min,
      max: range.max,
      before: histogram(r.preActivation, range.min, range.max, CUT_BINS),
      after: histogram(r.hidden, range.min, range.max, CUT_BINS),
      beforeLabel: gated ? 'gate pre-activation x·Wg' : 'before the filter, x·W1 + b1',
      afterLabel: gated ? `hidden, ${r.activation}(gate) ⊙ up` : `after the filter, ${r.activation}(·)`,
    },
    top: { k, index: topIndex, value: topValue, score: topScore },
    maxAbsHidden: maxAbs(r.hidden),
    heatmap: heatmapWindow(r, 'firing', 0, r.dFf),
    warnings: r.warnings,
    timings: r.timings,
    // A whole model: readable tokens on the charts, and the prompt, chips and predictions.
    ...(isModelRun(r) ? { tokens: r.tokenText, model: buildModelView(r, request) } : {}),
  };
}

/** Unit `index` on every token; undefined when out of range. */
export function neuronView(r: RunResult, index: number): NeuronView | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= r.dFf) return undefined;
  const T = r.tokens.length;
  const hidden = new Float32Array(T);
  const pre = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    hidden[t] = r.hidden[t * r.dFf + index];
    pre[t] = r.preActivation[t * r.dFf + index];
  }
  const view: NeuronView = { index, hidden, pre, firingRate: r.analysis.neurons.firingRate[index], w2Norm: r.w2RowNorms[index] };
  const up = (r as { up?: Float32Array }).up;
  if (up) view.up = Float32Array.from({ length: T }, (_, t) => up[t * r.dFf + index]);
  return view;
}

/** A plain-JSON summary of a RunView, for the `_lastRun` test command. */
export interface RunViewSummary {
  /** Whole-model runs: the block, tokens and predictions. */
  model?: ModelSummary;
  file: string;
  layer: string;
  activation: string;
  defaultActivation: string;
  layers: string[];
  tokens: string[];
  dModel: number;
  dFf: number;
  sparsity: number;
  perTokenSparsity: number[];
  /** [T][input, expanded, filtered, output] */
  norms: number[][];
  /** Per token, the top neuron indices. */
  topNeurons: number[][];
  deadCount: number;
  dead: number[];
  heatmap: { rows: number; cols: number; start: number; end: number; sort: UnitSort };
  cutBins: number;
  warnings: string[];
}

export function summarize(v: RunView): RunViewSummary {
  const T = v.tokens.length;
  const norms: number[][] = [];
  const top: number[][] = [];
  for (let t = 0; t < T; t++) {
    norms.push(Array.from(v.norms.subarray(t * 4, t * 4 + 4)));
    top.push(Array.from(v.top.index.subarray(t * v.top.k, (t + 1) * v.top.k)).filter((i) => i >= 0));
  }
  const h = v.heatmap;
  return {
    file: v.request.file,
    layer: v.layer.id,
    activation: v.activation,
    defaultActivation: v.defaultActivation,
    layers: v.layers.map((l) => l.id),
    tokens: v.tokens,
    dModel: v.layer.dModel,
    dFf: v.layer.dFf,
    sparsity: v.sparsity.overall,
    perTokenSparsity: Array.from(v.sparsity.perToken),
    norms,
    topNeurons: top,
    deadCount: v.sparsity.deadCount,
    dead: Array.from(v.sparsity.dead),
    heatmap: { rows: h.rows, cols: h.cols, start: h.start, end: h.end, sort: h.sort },
    cutBins: v.cut.before.length,
    warnings: v.warnings,
    ...(v.model ? { model: summarizeModel(v.model) } : {}),
  };
}
