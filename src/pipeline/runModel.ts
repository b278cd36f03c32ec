/**
 * "Run a model on text": open the model, tokenize with its own tokenizer (or take ids), check the
 * ids against its vocabulary and context, stream the blocks up to block L (or to the end to
 * predict), and analyse block L's FFN on its real input exactly as a single layer is analysed.
 * Used unchanged by the CLI and the compute worker. No `vscode` import.
 */
import { analyzeWithNorms } from '../core/analyze';
import { FfnLensError } from '../core/errors';
import type { GemmEngine } from '../kernels';
import { isGated } from '../core/activations';
import type { LayerSpec } from '../layers/types';
import { modelForward, type NextToken } from '../model/forward';
import { openModel, type OpenModel } from '../model/open';
import type { ModelSpec } from '../model/spec';
import type { ModelRunRequest, ModelRunResult, NextTokenInfo } from '../protocol/model';
import type { ModelHolder } from './heldModel';
import { countNonFinite } from './runLayer';

/** What the worker keeps of a model when the request names no budget. */
export const DEFAULT_HOLD_BYTES = 1024 * 1024 * 1024;

export interface ModelRunOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
  /** The worker's held model: kept open with its weights and residuals between runs. */
  holder?: ModelHolder;
}

/** Block i's FFN as the single-layer views know a layer. */
export function blockLayerSpec(spec: ModelSpec, i: number): LayerSpec {
  const mlp = spec.block(i).mlp;
  const prefix = commonPrefix(mlp.up.weight, mlp.down.weight);
  const short = (name: string): string => name.slice(prefix.length).replace(/\.weight$/, '');
  const tensors: LayerSpec['tensors'] = { w1: mlp.up.weight, w2: mlp.down.weight };
  if (mlp.up.bias) tensors.b1 = mlp.up.bias;
  if (mlp.down.bias) tensors.b2 = mlp.down.bias;
  if (mlp.gate) tensors.gate = mlp.gate.weight;
  if (mlp.gate?.bias) tensors.bGate = mlp.gate.bias;
  const layouts: LayerSpec['layouts'] = { w1: mlp.up.layout, w2: mlp.down.layout };
  if (mlp.gate) layouts.gate = mlp.gate.layout;
  return {
    id: prefix.replace(/\.$/, ''),
    index: i,
    kind: isGated(spec.activation) ? 'gated' : 'plain',
    activation: spec.activation,
    activationSource: 'config',
    dModel: spec.dModel,
    dFf: spec.dFf,
    convention: [mlp.gate, mlp.up, mlp.down].filter((l) => l).map((l) => short((l as { weight: string }).weight)).join('/'),
    tensors,
    layouts,
  };
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, a.lastIndexOf('.', i - 1) + 1);
}

/** The ids a request runs: tokenized text or the ids given, checked and (with `truncate`) cut to the context. */
export function requestIds(model: OpenModel, req: Pick<ModelRunRequest, 'input' | 'truncate'>): { ids: number[]; offsets: [number, number][]; warnings: string[] } {
  const warnings: string[] = [];
  let ids: number[];
  let offsets: [number, number][];
  if (req.input.kind === 'text') {
    if (req.input.text.length === 0) throw new FfnLensError('the text is empty: give at least one character', model.path, 'usage');
    const enc = model.tokenizer.encode(req.input.text);
    ids = enc.ids;
    offsets = enc.offsets;
    if (ids.length === 0) throw new FfnLensError('the text gives no tokens', model.path, 'usage');
  } else {
    ids = req.input.ids;
    if (ids.length === 0) throw new FfnLensError('no token ids given', model.path, 'usage');
    offsets = ids.map(() => [0, 0]);
  }
  const V = model.spec.vocabSize;
  const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad >= 0) throw new FfnLensError(`token id ${ids[bad]} (position ${bad}) is outside the vocabulary 0..${V - 1}`, model.path, 'usage');
  const max = model.spec.maxPositions;
  if (ids.length > max) {
    if (!req.truncate) throw new FfnLensError(`${ids.length} tokens is longer than the model's context of ${max}; --truncate keeps the last ${max}`, model.path, 'usage');
    warnings.push(`${ids.length} tokens cut to the last ${max} (the model's context)`);
    ids = ids.slice(-max);
    offsets = offsets.slice(-max);
  }
  return { ids, offsets, warnings };
}

const tokenName = (model: OpenModel, id: number): string => model.tokenizer.vocabString(id) ?? model.tokenizer.display(id);

/** Next tokens with their vocabulary strings and readable text. */
export function named(model: OpenModel, next: NextToken[] | undefined): NextTokenInfo[] | undefined {
  return next?.map((t) => ({ id: t.id, token: tokenName(model, t.id), text: model.tokenizer.display(t.id), prob: t.prob }));
}

/** Runs a model request on `engine`; always closes the model. */
export async function runModel(req: ModelRunRequest, engine: GemmEngine, opts: ModelRunOptions = {}): Promise<ModelRunResult> {
  const started = performance.now();
  const held = opts.holder ? await opts.holder.get(req.model, req.memoryBudgetBytes ?? DEFAULT_HOLD_BYTES) : undefined;
  const model = held ? held.model : await openModel(req.model);
  try {
    const { spec } = model;
    const { ids, offsets, warnings } = requestIds(model, req);
    const ablate = req.ablate?.length ? req.ablate : undefined;
    if (ablate) {
      const bad = ablate.find((u) => !Number.isInteger(u) || u < 0 || u >= spec.dFf);
      if (bad !== undefined) throw new FfnLensError(`--ablate ${bad}: block ${req.layer}'s FFN has hidden units 0..${spec.dFf - 1}`, model.path, 'usage');
    }
    const predict = req.predict ?? (ablate ? 5 : undefined);
    const loaded = performance.now();
    const out = await modelForward(model, ids, {
      engine,
      layer: req.layer,
      predict,
      ablate,
      signal: opts.signal,
      onProgress: opts.onProgress,
      store: held?.store,
      resume: held?.resumeFor(ids, req.layer),
    });
    held?.remember(ids, out.residuals);
    const layers = Array.from({ length: spec.layers }, (_, i) => blockLayerSpec(spec, i));
    const tokens = ids.map((id) => tokenName(model, id));
    const analysis = analyzeWithNorms(out.trace, out.w2RowNorms, { topK: req.topK, threshold: req.threshold, tokens });
    const t = out.trace;
    const { nan, inf } = countNonFinite(t.output);
    if (nan + inf > 0) warnings.push(`block ${req.layer}'s FFN output has ${nan} NaN and ${inf} Inf values`);
    const result: ModelRunResult = {
      file: model.path,
      format: model.format,
      layers,
      layer: layers[req.layer],
      activation: spec.activation,
      tokens,
      dModel: spec.dModel,
      dFf: spec.dFf,
      input: t.input,
      preActivation: t.preActivation,
      hidden: t.hidden,
      output: t.output,
      w2RowNorms: Float32Array.from(out.w2RowNorms),
      analysis,
      warnings,
      timings: { loadMs: loaded - started, computeMs: performance.now() - loaded },
      inputSource: 'model',
      architecture: spec.arch,
      blocks: spec.layers,
      tokenIds: ids,
      offsets,
      tokenText: ids.map((id) => model.tokenizer.display(id)),
      // a copy: the worker keeps the residuals and transfers the result's arrays
      residual: out.residuals[req.layer].slice(),
    };
    if (t.up) result.up = t.up;
    if (ablate) {
      result.ablated = ablate;
      result.next = named(model, out.nextAblated);
      result.nextBaseline = named(model, out.next);
    } else if (out.next) {
      result.next = named(model, out.next);
    }
    return result;
  } finally {
    if (!held) await model.close();
  }
}
