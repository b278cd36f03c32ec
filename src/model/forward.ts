/**
 * The whole model, streamed block by block: embeddings of the prompt's tokens only, then each block
 * as its four parts (norm, attention, norm, FFN) with every matrix read just before its product and
 * given back after it, the residual stream kept entering every block, block L's FFN traced by the
 * one FFN core (forwardSteps), and, to predict, the final norm and the head a chunk of the
 * vocabulary at a time. An ablation runs as a second copy of the sequence from block L on, beside
 * the baseline, so the blocks after L are read once for both. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { forwardSteps, type FfnMatrixName, type MatrixSupply } from '../core/ffn';
import { preparedW2RowNorms, w2RowNorms } from '../core/analyze';
import type { FfnTrace } from '../core/types';
import type { GemmEngine } from '../kernels';
import { causalAttention } from './blocks/attention';
import { layerNorm, rmsNorm } from './blocks/norm';
import { applyRope, ropeFrequencies } from './blocks/rope';
import type { OpenModel } from './open';
import type { BlockTensors, ModelSpec, NormTensors } from './spec';
import type { WeightStore } from './store';
import { topIds, vocabScores } from './vocab';
import { ModelWeights } from './weights';

export interface ModelForwardOptions {
  engine: GemmEngine;
  /** The block whose FFN is traced (0-based). */
  layer: number;
  /** Hidden units of block `layer` to zero at every position in a second, ablated copy (needs `predict`). */
  ablate?: readonly number[];
  /** Run every block and give the `predict` most likely next tokens after the last position. */
  predict?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
  /** A residual stream already computed entering block `from` (the panel's cache): earlier blocks are skipped. */
  resume?: { from: number; residual: Float32Array };
  /** Keeps weights between runs (the worker's); without it every matrix is streamed and given back. */
  store?: WeightStore;
  /** Whether to compute the traced block's down-projection row norms (default true; a scan needs none). */
  rowNorms?: boolean;
  /** Run every block and give the logits at every position (`score`, `compare`). */
  logits?: boolean;
  /**
   * Called with each block's FFN (baseline rows) as it runs, for callers that look at every block
   * (`compare`). The trace is valid until the call returns (or its promise settles); the next block
   * waits for it.
   */
  onFfn?: (block: number, trace: FfnTrace) => void | Promise<void>;
}

export interface NextToken {
  id: number;
  prob: number;
}

export interface ModelForwardResult {
  tokens: number;
  /** The residual stream entering each block run, [T x d_model] each (index = block). */
  residuals: Float32Array[];
  /** Block `layer`'s FFN: input (after the pre-FFN norm), gate/up, hidden, output (before the residual add). */
  trace: FfnTrace;
  /** ||row i of the down projection|| per hidden unit of block `layer`. */
  w2RowNorms: Float64Array;
  next?: NextToken[];
  /** With `ablate`: the prediction with those units zeroed. */
  nextAblated?: NextToken[];
  /** With `logits`: T x vocab, the head's output at every position (of the baseline). */
  logits?: Float32Array;
}

/** Runs `ids` through `model` as far as the options need. */
export async function modelForward(model: OpenModel, ids: readonly number[], opts: ModelForwardOptions): Promise<ModelForwardResult> {
  const { spec } = model;
  const T = ids.length;
  const d = spec.dModel;
  if (!Number.isInteger(opts.layer) || opts.layer < 0 || opts.layer >= spec.layers) {
    throw new FfnLensError(`layer ${opts.layer} does not exist: the model has blocks 0..${spec.layers - 1}`, model.path, 'usage');
  }
  if (opts.ablate?.length && !opts.predict) throw new FfnLensError('an ablation needs a prediction to compare (predict)', model.path, 'usage');
  const w = new ModelWeights(model.source, opts.engine, opts.signal, opts.store);
  const progress = (f: number, m: string): void => opts.onProgress?.(f, m);
  const inv = spec.rope ? ropeFrequencies(spec.rope, spec.rope.freqFactors ? await w.vector(spec.rope.freqFactors) : undefined) : undefined;
  const last = opts.predict || opts.logits ? spec.layers - 1 : opts.layer;
  const residuals: Float32Array[] = [];
  let x: Float32Array;
  let start = 0;
  if (opts.resume && opts.resume.from <= opts.layer) {
    start = opts.resume.from;
    x = opts.resume.residual.slice();
    residuals[start] = opts.resume.residual;
  } else {
    progress(0, 'embedding the tokens');
    x = await embed(w, spec, ids);
  }
  let sequences = 1;
  let traced: { trace: FfnTrace; norms: Float64Array } | undefined;
  for (let b = start; b <= last; b++) {
    if (opts.signal?.aborted) throw new FfnLensError('cancelled', model.path, 'cancelled');
    progress(b / (last + 2), `block ${b} of ${spec.layers}`);
    if (b === opts.layer && opts.ablate?.length) {
      // From here on a second copy of the sequence carries the ablation.
      const two = new Float32Array(2 * T * d);
      two.set(x);
      two.set(x, T * d);
      x = two;
      sequences = 2;
    }
    residuals[b] = x.subarray(0, T * d).slice();
    const capture = b === opts.layer;
    const out = await runBlock(w, spec, b, x, T, sequences, inv, capture ? { ablate: opts.ablate, norms: opts.rowNorms ?? true } : undefined);
    x = out.x;
    await opts.onFfn?.(b, out.ffn);
    if (out.traced) traced = out.traced;
  }
  if (!traced) throw new Error('block not traced');
  const result: ModelForwardResult = { tokens: T, residuals, trace: traced.trace, w2RowNorms: traced.norms };
  if (opts.predict) {
    progress((last + 1) / (last + 2), 'predicting the next token');
    const tops = await predict(w, spec, x, T, sequences, opts.predict);
    result.next = tops[0];
    if (sequences === 2) result.nextAblated = tops[1];
  }
  if (opts.logits) {
    const h = await norm(w, spec, spec.finalNorm, x.subarray(0, T * d), T);
    result.logits = await w.linear({ weight: spec.head, layout: 'out_in' }, h, T, d, spec.vocabSize);
  }
  progress(1, 'done');
  return result;
}

/** Token embeddings (only the prompt's rows are read), scaled, plus learned positions. */
async function embed(w: ModelWeights, spec: ModelSpec, ids: readonly number[]): Promise<Float32Array> {
  const d = spec.dModel;
  const x = new Float32Array(ids.length * d);
  const rows = new Map<number, Float32Array>();
  for (const id of ids) if (!rows.has(id)) rows.set(id, await w.rows(spec.embed, id, 1));
  ids.forEach((id, t) => {
    const row = rows.get(id) as Float32Array;
    for (let i = 0; i < d; i++) x[t * d + i] = row[i] * spec.embedScale;
  });
  if (spec.positions) {
    const pos = await w.rows(spec.positions, 0, ids.length);
    for (let i = 0; i < x.length; i++) x[i] += pos[i];
  }
  return x;
}

async function norm(w: ModelWeights, spec: ModelSpec, n: NormTensors, x: Float32Array, rows: number): Promise<Float32Array> {
  const out = new Float32Array(rows * spec.dModel);
  const gain = await w.vector(n.weight);
  if (spec.norm.kind === 'layer') return layerNorm(x, rows, spec.dModel, gain, n.bias ? await w.vector(n.bias) : undefined, spec.norm.eps, out);
  return rmsNorm(x, rows, spec.dModel, gain, spec.norm.eps, spec.norm.plusOne, out);
}

/** q, k, v [rows x width] from the block's projections (fused or separate). */
async function projections(w: ModelWeights, spec: ModelSpec, bt: BlockTensors, h: Float32Array, rows: number): Promise<[Float32Array, Float32Array, Float32Array]> {
  const { dModel: d, heads, kvHeads, headDim } = spec;
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  if (bt.qkv.kind === 'separate') {
    return [await w.linear(bt.qkv.q, h, rows, d, qDim), await w.linear(bt.qkv.k, h, rows, d, kvDim), await w.linear(bt.qkv.v, h, rows, d, kvDim)];
  }
  const width = qDim + 2 * kvDim;
  const qkv = await w.linear(bt.qkv.qkv, h, rows, d, width);
  const [q, k, v] = [new Float32Array(rows * qDim), new Float32Array(rows * kvDim), new Float32Array(rows * kvDim)];
  for (let r = 0; r < rows; r++) {
    const src = qkv.subarray(r * width, (r + 1) * width);
    if (bt.qkv.order === 'blocks') {
      // GPT-2: [q | k | v]
      q.set(src.subarray(0, qDim), r * qDim);
      k.set(src.subarray(qDim, qDim + kvDim), r * kvDim);
      v.set(src.subarray(qDim + kvDim), r * kvDim);
    } else {
      // GPT-NeoX: per head [q_h | k_h | v_h]
      for (let hd = 0; hd < heads; hd++) {
        const o = hd * 3 * headDim;
        q.set(src.subarray(o, o + headDim), r * qDim + hd * headDim);
        k.set(src.subarray(o + headDim, o + 2 * headDim), r * kvDim + hd * headDim);
        v.set(src.subarray(o + 2 * headDim, o + 3 * headDim), r * kvDim + hd * headDim);
      }
    }
  }
  return [q, k, v];
}

/** The block's FFN through the FFN core, each matrix streamed in as forwardSteps asks for it. */
async function ffn(w: ModelWeights, spec: ModelSpec, bt: BlockTensors, input: Float32Array, rows: number, traced: boolean, ablate?: { units: readonly number[]; fromRow: number }): Promise<{ trace: FfnTrace; norms?: Float64Array }> {
  const { dModel: d, dFf } = spec;
  const mlp = bt.mlp;
  const biases = {
    b1: mlp.up.bias ? await w.vector(mlp.up.bias) : undefined,
    bGate: mlp.gate?.bias ? await w.vector(mlp.gate.bias) : undefined,
    b2: mlp.down.bias ? await w.vector(mlp.down.bias) : undefined,
  };
  const steps = forwardSteps({ dModel: d, dFf, activation: spec.activation, ...biases }, input, rows, { gemmPrepared: w.gemmPrepared, activate: w.activate, ablate });
  const tensorOf: Record<FfnMatrixName, [typeof mlp.up, number, number]> = {
    w1: [mlp.up, d, dFf],
    wGate: [mlp.gate ?? mlp.up, d, dFf],
    w2: [mlp.down, dFf, d],
  };
  let held: MatrixSupply | undefined;
  let norms: Float64Array | undefined;
  try {
    let step = steps.next();
    while (!step.done) {
      if (held) w.release(held);
      held = undefined;
      const [l, k, n] = tensorOf[step.value];
      held = await w.matrix(l.weight, l.layout, k, n);
      // the norms of the down projection's rows rank the traced block's neurons; no other block needs them
      if (traced && step.value === 'w2') norms = held.prepared?.layout === 'panels' ? preparedW2RowNorms(held.prepared) : w2RowNorms(held.plain, k, n);
      step = steps.next(held);
    }
    return { trace: step.value, norms };
  } finally {
    if (held) w.release(held);
  }
}

/** One block on `sequences` stacked copies of T tokens; traces its FFN when `capture` is given. */
async function runBlock(
  w: ModelWeights,
  spec: ModelSpec,
  b: number,
  x: Float32Array,
  T: number,
  sequences: number,
  inv: Float64Array | undefined,
  capture: { ablate?: readonly number[]; norms: boolean } | undefined,
): Promise<{ x: Float32Array; ffn: FfnTrace; traced?: { trace: FfnTrace; norms: Float64Array } }> {
  const bt = spec.block(b);
  const rows = sequences * T;
  const { dModel: d, heads, kvHeads, headDim } = spec;
  const h = await norm(w, spec, bt.attnNorm, x, rows);
  const [q, k, v] = await projections(w, spec, bt, h, rows);
  if (spec.rope && inv) {
    applyRope(q, rows, heads, headDim, spec.rope, inv, (r) => r % T);
    applyRope(k, rows, kvHeads, headDim, spec.rope, inv, (r) => r % T);
  }
  const att = causalAttention(q, k, v, { sequences, tokens: T, heads, kvHeads, headDim, slidingWindow: spec.slidingWindow }, new Float32Array(rows * heads * headDim), w.gemm);
  const a = await w.linear(bt.o, att, rows, heads * headDim, d);
  const out = new Float32Array(rows * d);
  let mlpIn: Float32Array;
  if (spec.parallelResidual) {
    mlpIn = await norm(w, spec, bt.ffnNorm, x, rows);
    for (let i = 0; i < out.length; i++) out[i] = x[i] + a[i];
  } else {
    for (let i = 0; i < out.length; i++) out[i] = x[i] + a[i];
    mlpIn = await norm(w, spec, bt.ffnNorm, out, rows);
  }
  const ablate = capture?.ablate?.length && sequences === 2 ? { units: capture.ablate, fromRow: T } : undefined;
  const { trace, norms } = await ffn(w, spec, bt, mlpIn, rows, !!capture?.norms, ablate);
  for (let i = 0; i < out.length; i++) out[i] += trace.output[i];
  // The trace of the baseline copy (the first T rows) is what the run shows.
  const baseline = firstRows(trace, T);
  if (!capture) return { x: out, ffn: baseline };
  return { x: out, ffn: baseline, traced: { trace: baseline, norms: norms ?? new Float64Array(0) } };
}

/** The first T rows of every array of a trace. */
function firstRows(t: FfnTrace, T: number): FfnTrace {
  if (t.tokens === T) return t;
  const cut = (a: Float32Array, width: number): Float32Array => a.slice(0, T * width);
  const out: FfnTrace = { ...t, tokens: T, input: cut(t.input, t.dModel), preActivation: cut(t.preActivation, t.dFf), hidden: cut(t.hidden, t.dFf), output: cut(t.output, t.dModel) };
  if (t.up) out.up = cut(t.up, t.dFf);
  return out;
}

/** The top-k next tokens after each sequence's last position: final norm, head streamed in chunks, softmax. */
async function predict(w: ModelWeights, spec: ModelSpec, x: Float32Array, T: number, sequences: number, k: number): Promise<NextToken[][]> {
  const d = spec.dModel;
  const lastRows = new Float32Array(sequences * d);
  for (let s = 0; s < sequences; s++) lastRows.set(x.subarray((s * T + T - 1) * d, (s * T + T) * d), s * d);
  const h = await norm(w, spec, spec.finalNorm, lastRows, sequences);
  const V = spec.vocabSize;
  if (w.keeps) {
    // A process that keeps weights (the worker) holds the head too, laid out for the kernel: the
    // logits are one product (about 2 ms for GPT-2 small instead of 80 ms of dot products).
    const out = await w.linear({ weight: spec.head, layout: 'out_in' }, h, sequences, d, V);
    return Array.from({ length: sequences }, (_, s) => topSoftmax(Float64Array.from(out.subarray(s * V, (s + 1) * V)), k));
  }
  const vectors = Array.from({ length: sequences }, (_, s) => h.subarray(s * d, (s + 1) * d));
  const logits = await vocabScores((first, count) => w.rows(spec.head, first, count), V, vectors);
  return logits.map((l) => topSoftmax(l, k));
}

/** The k largest probabilities of softmax(logits), largest first (ties by lower id). */
export function topSoftmax(logits: Float64Array, k: number): NextToken[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return topIds(logits, k).map((id) => ({ id, prob: Math.exp(logits[id] - max) / sum }));
}
