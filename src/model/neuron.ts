/**
 * What one FFN unit writes and reads, from the weights alone (issue 12's neuron card):
 *  - promotes / suppresses: W_U · (g ⊙ w_out_i), where w_out_i is what unit i adds to the residual
 *    stream (its row of the down projection in [in, out] form), g the final norm's gain ((1 + γ)
 *    for Gemma; 1 with `raw`) and W_U the unembedding (the head, or the tied embedding);
 *  - respondsTo: W_E · (g_ffn ⊙ w_in_i), where w_in_i is the unit's row of the up projection (of
 *    the gate for gated FFNs) and g_ffn the pre-FFN norm's gain: the tokens whose embeddings alone
 *    excite it.
 * The vocabulary matrices are streamed a chunk of rows at a time. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { TensorSource } from '../formats/source';
import type { OpenModel } from './open';
import type { LinearTensors, ModelSpec, NormTensors } from './spec';
import { topIds, vocabScores } from './vocab';

export interface VocabScore {
  id: number;
  /** The vocabulary string (`Ġwhale`). */
  token: string;
  /** Its readable text (` whale`), for display. */
  text: string;
  value: number;
}

export interface NeuronCard {
  layer: number;
  neuron: number;
  promotes: VocabScore[];
  suppresses: VocabScore[];
  respondsTo: VocabScore[];
}

/** Row `i` of a linear map's weight in [in, out] form is column i of an [out, in] tensor, row i of an [in, out] one; `unitAxis` says which axis holds the units. */
async function unitVector(source: TensorSource, l: LinearTensors, unit: number, unitAxis: 'in' | 'out', inDim: number, outDim: number): Promise<Float32Array> {
  // The unit's vector is a row of the stored tensor when the units run along its first axis.
  const stored = l.layout === 'in_out' ? [inDim, outDim] : [outDim, inDim];
  const unitsFirst = (l.layout === 'in_out') === (unitAxis === 'in');
  if (unitsFirst && source.readRows) return source.readRows(l.weight, unit, 1);
  const all = await source.read(l.weight);
  const [rows, cols] = stored;
  if (unitsFirst) return all.slice(unit * cols, (unit + 1) * cols);
  const v = new Float32Array(rows);
  for (let r = 0; r < rows; r++) v[r] = all[r * cols + unit];
  return v;
}

async function gain(source: TensorSource, spec: ModelSpec, n: NormTensors, raw: boolean): Promise<Float32Array> {
  const d = spec.dModel;
  if (raw) return new Float32Array(d).fill(1);
  const g = await source.read(n.weight);
  return spec.norm.plusOne ? g.map((x) => 1 + x) : g;
}

/** The k largest (by `sign` · score) of `scores`, with their scores. */
function extremes(scores: Float64Array, k: number, sign: 1 | -1): [number, number][] {
  return topIds(scores, k, sign).map((id) => [id, scores[id]]);
}

/**
 * A vocabulary matrix times a vector, as one product on a kept, kernel-laid-out matrix (the
 * worker's held model: a card then costs one matrix-vector product), else streamed in chunks.
 */
export type VocabProduct = (name: string, V: number, v: Float32Array) => Promise<Float64Array | undefined>;

/** The `k` largest and `k` smallest of `M · v` over a [V x d] matrix streamed from `name`. */
export async function vocabExtremes(source: TensorSource, name: string, V: number, v: Float32Array, k: number, product?: VocabProduct): Promise<{ top: [number, number][]; bottom: [number, number][] }> {
  return (await vocabExtremesOf(source, name, V, [v], k, product))[0];
}

/** vocabExtremes for several vectors against the same matrix: one pass over it (without `product`). */
async function vocabExtremesOf(source: TensorSource, name: string, V: number, vs: Float32Array[], k: number, product?: VocabProduct): Promise<{ top: [number, number][]; bottom: [number, number][] }[]> {
  const both = (scores: Float64Array): { top: [number, number][]; bottom: [number, number][] } => ({ top: extremes(scores, k, 1), bottom: extremes(scores, k, -1) });
  if (product) {
    // one after the other: each may lay the matrix out in the worker's memory first
    const fast: Float64Array[] = [];
    for (const v of vs) {
      const f = await product(name, V, v);
      if (!f) break;
      fast.push(f);
    }
    if (fast.length === vs.length) return fast.map(both);
  }
  const d = vs[0].length;
  const readRows = async (first: number, count: number): Promise<Float32Array> =>
    source.readRows ? source.readRows(name, first, count) : (await source.read(name)).subarray(first * d, (first + count) * d);
  return (await vocabScores(readRows, V, vs)).map(both);
}

/** The neuron card of unit `neuron` of block `layer`. */
export async function neuronCard(model: OpenModel, layer: number, neuron: number, k = 10, raw = false, product?: VocabProduct): Promise<NeuronCard> {
  const { spec, source } = model;
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.layers) throw new FfnLensError(`layer ${layer} does not exist: the model has blocks 0..${spec.layers - 1}`, model.path, 'usage');
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= spec.dFf) throw new FfnLensError(`neuron ${neuron} does not exist: block ${layer}'s FFN has units 0..${spec.dFf - 1}`, model.path, 'usage');
  const mlp = spec.block(layer).mlp;
  const d = spec.dModel;
  // what unit i writes: its row of the down projection [d_ff x d_model]
  const wOut = await unitVector(source, mlp.down, neuron, 'in', spec.dFf, d);
  const g = await gain(source, spec, spec.finalNorm, raw);
  const out = wOut.map((x, i) => x * g[i]);
  const name = (id: number): string => model.tokenizer.vocabString(id) ?? model.tokenizer.display(id);
  const scored = (pairs: [number, number][]): VocabScore[] => pairs.map(([id, value]) => ({ id, token: name(id), text: model.tokenizer.display(id), value }));
  // what it reads: its row of the gate (gated FFNs) or up projection [d_model x d_ff] -> column i
  const wIn = await unitVector(source, mlp.gate ?? mlp.up, neuron, 'out', d, spec.dFf);
  const gIn = await gain(source, spec, spec.block(layer).ffnNorm, false);
  const reads = wIn.map((x, i) => x * gIn[i]);
  // a tied head is the embedding: one pass over it scores both
  const [written, read] =
    spec.head === spec.embed
      ? await vocabExtremesOf(source, spec.head, spec.vocabSize, [out, reads], k, product)
      : [await vocabExtremes(source, spec.head, spec.vocabSize, out, k, product), await vocabExtremes(source, spec.embed, spec.vocabSize, reads, k, product)];
  return { layer, neuron, promotes: scored(written.top), suppresses: scored(written.bottom), respondsTo: scored(read.top) };
}
