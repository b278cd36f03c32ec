/**
 * From a CompareResult (every compared block's hidden activations of A and B, kept on the host) to
 * what the compare view draws: the per-block measures and next tokens at once, and a block's three
 * heatmaps (A, B, B − A) on demand, max-abs pooled like a run's; and a comparison of the weights
 * alone (WeightsCompareResult) to the weights view. Pure functions, no `vscode` import.
 */
import { mostChangedMatrix, type CompareResult, type LayerComparison, type WeightsCompareResult } from '../../protocol/compare';
import type { ComparePanelRequest, CompareHeatmaps, CompareSort, CompareView, CompareWeightsView } from '../../protocol/webview';
import { maxAbs, MAX_COLUMNS, pooledWindow } from './payload';

/** What the view says about the two models and the text. */
export interface CompareLabels {
  nameA: string;
  nameB: string;
  text: string;
  top: number;
  /** The blocks asked for (undefined: all). */
  layers?: number[];
}

/** What a restored panel compares again: the pair, the text, K and the blocks asked for (none: all). */
function panelRequest(r: { modelA: string; modelB: string }, labels: Omit<CompareLabels, 'text'>, text: string): ComparePanelRequest {
  return { modelA: r.modelA, modelB: r.modelB, text, top: labels.top, ...(labels.layers ? { layers: [...labels.layers] } : {}) };
}

/** The view of comparison number `id` of the panel. */
export function buildCompareView(r: CompareResult, labels: CompareLabels, id = 0): CompareView {
  const next = (list: CompareResult['nextA']): CompareView['nextA'] => list.map((t) => ({ id: t.id, text: t.text, prob: t.prob }));
  const { nameA, nameB, text, top } = labels;
  const request = panelRequest(r, labels, text);
  return {
    id,
    nameA,
    nameB,
    text,
    top,
    request,
    tokenIds: Int32Array.from(r.tokenIds),
    tokens: r.tokens,
    dFf: r.dFf,
    layers: r.layers,
    nextA: next(r.nextA),
    nextB: next(r.nextB),
    kl: r.kl,
    klPerPosition: Float32Array.from(r.klPerPosition),
    heatmaps: r.hidden ? r.layers.filter((_, i) => !!r.hidden?.[i]).map((l) => l.layer) : [],
    warnings: r.warnings,
  };
}

type Hidden = { a: Float32Array; b: Float32Array };

/** Per block: B − A, and the units by mean |hB − hA| over tokens (largest first, ties by index). */
const derived = new WeakMap<Hidden, { diff: Float32Array; order: Int32Array }>();

function diffOf(h: Hidden, dFf: number): { diff: Float32Array; order: Int32Array } {
  let d = derived.get(h);
  if (d) return d;
  const diff = new Float32Array(h.a.length);
  const change = new Float64Array(dFf);
  for (let i = 0; i < diff.length; i++) {
    diff[i] = h.b[i] - h.a[i];
    const v = Math.abs(diff[i]);
    change[i % dFf] += v === v ? v : Infinity; // NaN first: a broken unit is what to look at
  }
  const order = Int32Array.from(Array.from({ length: dFf }, (_, i) => i).sort((x, y) => change[y] - change[x] || x - y));
  d = { diff, order };
  derived.set(h, d);
  return d;
}

/** Block `layer`'s A, B and B − A for units [start, end) in `sort` order; undefined when the block was not compared or its activations were not kept. */
export function compareHeatmaps(r: CompareResult, layer: number, sort: CompareSort, start: number, end: number, maxCols = MAX_COLUMNS): CompareHeatmaps | undefined {
  const pos = r.layers.findIndex((l) => l.layer === layer);
  const h = r.hidden?.[pos];
  if (pos < 0 || !h) return undefined;
  const { dFf } = r;
  const T = r.tokenIds.length;
  const { diff, order } = diffOf(h, dFf);
  const e = Math.max(1, Math.min(dFf, end));
  const s = Math.max(0, Math.min(start, e - 1));
  const units = sort === 'change' ? order.slice(s, e) : Int32Array.from({ length: e - s }, (_, i) => s + i);
  return {
    layer,
    a: pooledWindow(h.a, T, dFf, units, sort, s, maxCols),
    b: pooledWindow(h.b, T, dFf, units, sort, s, maxCols),
    diff: pooledWindow(diff, T, dFf, units, sort, s, maxCols),
    maxAbs: Math.max(maxAbs(h.a), maxAbs(h.b)),
    maxAbsDiff: maxAbs(diff),
  };
}

/** A plain-JSON summary of a comparison the panel shows, for the `_lastRun` test command. */
export interface CompareSummary {
  nameA: string;
  nameB: string;
  modelA: string;
  modelB: string;
  text: string;
  tokenIds: number[];
  tokens: string[];
  dFf: number;
  top: number;
  layers: LayerComparison[];
  nextA: { id: number; prob: number }[];
  nextB: { id: number; prob: number }[];
  kl: number;
  klPerPosition: number[];
  /** How many blocks' heatmaps can be shown (their hidden activations came with it). */
  heatmapBlocks: number;
  warnings: string[];
}

export function summarizeCompare(v: CompareView, r: CompareResult): CompareSummary {
  const ids = (list: CompareView['nextA']): { id: number; prob: number }[] => list.map((t) => ({ id: t.id, prob: t.prob }));
  return {
    nameA: v.nameA,
    nameB: v.nameB,
    modelA: r.modelA,
    modelB: r.modelB,
    text: v.text,
    tokenIds: r.tokenIds,
    tokens: r.tokens,
    dFf: r.dFf,
    top: v.top,
    layers: r.layers,
    nextA: ids(v.nextA),
    nextB: ids(v.nextB),
    kl: r.kl,
    klPerPosition: r.klPerPosition,
    heatmapBlocks: r.hidden?.filter((h) => h !== null).length ?? 0,
    warnings: r.warnings,
  };
}

/** The weights view of comparison number `id` (the result as `ffn-lens compare --weights` computes it). */
export function buildWeightsView(r: WeightsCompareResult, labels: Omit<CompareLabels, 'text'>, id = 0): CompareWeightsView {
  return { id, nameA: labels.nameA, nameB: labels.nameB, top: labels.top, layers: r.layers, request: { ...panelRequest(r, labels, ''), weights: true } };
}

/** A plain-JSON summary of a weights comparison the panel shows, for the `_lastRun` test command. */
export interface WeightsSummary {
  nameA: string;
  nameB: string;
  modelA: string;
  modelB: string;
  blocks: number[];
  tensors: number;
  /** The matrix that moved most (relative Frobenius difference), if any moved. */
  worst: { layer: number; role: string; relativeError: number; unit: number | null } | null;
}

export function summarizeWeights(v: CompareWeightsView, r: WeightsCompareResult): WeightsSummary {
  const most = mostChangedMatrix(r.layers);
  const worst = most ? { layer: most.layer, role: most.tensor.role, relativeError: most.tensor.relativeError, unit: most.tensor.changed[0]?.index ?? null } : null;
  return { nameA: v.nameA, nameB: v.nameB, modelA: r.modelA, modelB: r.modelB, blocks: r.layers.map((l) => l.layer), tensors: r.layers.reduce((n, l) => n + l.tensors.length, 0), worst };
}
