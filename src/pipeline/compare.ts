/**
 * `compare` (issue 14): two checkpoints of one model on the same token ids, every compared block's
 * FFN side by side, and the next-token distributions; or, with `--weights`, their FFN matrices
 * alone, a block at a time. Each model streams as a single run does (one block's matrices in memory
 * at a time); what is kept of A until B has run is each compared block's FFN output and hidden
 * activations, and A's logits. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { FfnTrace } from '../core/types';
import type { GemmEngine } from '../kernels';
import { compareFfn, compareMatrices, klPerRow } from '../model/compare';
import { modelForward } from '../model/forward';
import { openModel, type OpenModel } from '../model/open';
import type { LinearTensors, ModelSpec } from '../model/spec';
import type { CompareRequest, CompareResult, LayerComparison, TensorComparison, WeightsCompareRequest, WeightsCompareResult } from '../protocol/compare';
import { named, requestIds } from './runModel';

export const DEFAULT_COMPARE_TOP = 10;

export interface CompareOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/** Refuses two models that do not share a vocabulary: sizes, and each token's string where both carry them. */
export function checkSameVocabulary(a: OpenModel, b: OpenModel): void {
  const va = a.spec.vocabSize;
  const vb = b.spec.vocabSize;
  if (va !== vb) throw new FfnLensError(`the two models do not share a vocabulary: ${a.path} has ${va} tokens, ${b.path} has ${vb}`, b.path, 'usage');
  for (let id = 0; id < va; id++) {
    const sa = a.tokenizer.vocabString(id);
    const sb = b.tokenizer.vocabString(id);
    if (sa !== undefined && sb !== undefined && sa !== sb) {
      throw new FfnLensError(`the two models do not share a vocabulary: token ${id} is ${JSON.stringify(sa)} in ${a.path} but ${JSON.stringify(sb)} in ${b.path}`, b.path, 'usage');
    }
  }
}

/** Refuses models whose blocks cannot be set side by side. */
function checkSameShape(a: ModelSpec, b: ModelSpec, pathA: string, pathB: string): void {
  const fields: [string, number, number][] = [
    ['blocks', a.layers, b.layers],
    ['d_model', a.dModel, b.dModel],
    ['d_ff', a.dFf, b.dFf],
  ];
  for (const [name, x, y] of fields) {
    if (x !== y) throw new FfnLensError(`the two models differ in shape: ${name} is ${x} in ${pathA} but ${y} in ${pathB}`, pathB, 'usage');
  }
}

function chosenLayers(spec: ModelSpec, layers: number[] | undefined, path: string): number[] {
  if (!layers) return Array.from({ length: spec.layers }, (_, i) => i);
  const bad = layers.find((l) => !Number.isInteger(l) || l < 0 || l >= spec.layers);
  if (bad !== undefined) throw new FfnLensError(`--layers ${bad}: the models have blocks 0..${spec.layers - 1}`, path, 'usage');
  return [...new Set(layers)].sort((x, y) => x - y);
}

/** Both models on the same ids; the blocks in `req.layers` compared, and the next-token distributions. */
export async function compareOnText(req: CompareRequest, engine: GemmEngine, opts: CompareOptions = {}): Promise<CompareResult> {
  const a = await openModel(req.modelA);
  try {
    const b = await openModel(req.modelB);
    try {
      checkSameShape(a.spec, b.spec, a.path, b.path);
      checkSameVocabulary(a, b);
      // A's tokenizer, or B's when A has none (a folder without tokenizer.json takes --ids either way)
      const tokenizing = req.input.kind === 'text' && a.tokenizer.kind === 'ids-only' ? b : a;
      const { ids, warnings } = requestIds(tokenizing, req);
      if (ids.length > b.spec.maxPositions) throw new FfnLensError(`${ids.length} tokens is longer than the context of ${b.spec.maxPositions}; --truncate keeps the last that fit`, b.path, 'usage');
      const layers = chosenLayers(a.spec, req.layers, a.path);
      const wanted = new Set(layers);
      const top = req.top ?? DEFAULT_COMPARE_TOP;
      const T = ids.length;
      const V = a.spec.vocabSize;
      const progress = (f: number, m: string): void => opts.onProgress?.(f, m);

      // each model runs every block to its logits at every position; `onFfn` sees each block's FFN
      const run = (m: OpenModel, label: 'A' | 'B', onFfn: (block: number, trace: FfnTrace) => void): ReturnType<typeof modelForward> =>
        modelForward(m, ids, {
          engine,
          layer: 0,
          predict: 5,
          logits: true,
          rowNorms: false,
          signal: opts.signal,
          onProgress: (f, msg) => progress((label === 'A' ? 0 : 0.5) + f / 2, `${label}: ${msg}`),
          onFfn,
        });
      const keptA = new Map<number, FfnTrace>();
      progress(0, `running ${a.path}`);
      const outA = await run(a, 'A', (block, trace) => {
        if (wanted.has(block)) keptA.set(block, copyTrace(trace));
      });
      const compared = new Map<number, LayerComparison>();
      const hidden: { a: Float32Array; b: Float32Array }[] = [];
      const keptHidden = new Map<number, { a: Float32Array; b: Float32Array }>();
      const outB = await run(b, 'B', (block, trace) => {
        const ta = keptA.get(block);
        if (!ta) return;
        compared.set(block, compareFfn(block, ta, trace, top, req.threshold));
        if (req.keepHidden) keptHidden.set(block, { a: ta.hidden, b: trace.hidden.slice() });
        keptA.delete(block);
      });
      const kl = klPerRow(outA.logits as Float32Array, outB.logits as Float32Array, T, V);
      for (const l of layers) if (req.keepHidden) hidden.push(keptHidden.get(l) as { a: Float32Array; b: Float32Array });
      const result: CompareResult = {
        tokenIds: ids,
        layers: layers.map((l) => compared.get(l) as LayerComparison),
        nextA: named(a, outA.next) ?? [],
        nextB: named(b, outB.next) ?? [],
        kl: kl.reduce((s, x) => s + x, 0) / T,
        modelA: a.path,
        modelB: b.path,
        tokens: ids.map((id) => tokenizing.tokenizer.display(id)),
        klPerPosition: kl,
        dFf: a.spec.dFf,
        warnings,
      };
      if (req.keepHidden) result.hidden = hidden;
      progress(1, 'done');
      return result;
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}

/** What a comparison keeps of A's block until B's has run (the input and gate only for the sparsity). */
function copyTrace(t: FfnTrace): FfnTrace {
  return { ...t, input: t.input.slice(), preActivation: t.preActivation.slice(), hidden: t.hidden.slice(), output: t.output.slice(), up: undefined };
}

/** The FFN matrices of B against A's, a block at a time and one matrix of each in memory at once. */
export async function compareWeights(req: WeightsCompareRequest, opts: CompareOptions = {}): Promise<WeightsCompareResult> {
  const a = await openModel(req.modelA);
  try {
    const b = await openModel(req.modelB);
    try {
      checkSameShape(a.spec, b.spec, a.path, b.path);
      const layers = chosenLayers(a.spec, req.layers, a.path);
      const top = req.top ?? DEFAULT_COMPARE_TOP;
      const out: WeightsCompareResult = { modelA: a.path, modelB: b.path, layers: [] };
      for (const [n, layer] of layers.entries()) {
        if (opts.signal?.aborted) throw new FfnLensError('cancelled', a.path, 'cancelled');
        opts.onProgress?.(n / layers.length, `block ${layer}`);
        const ma = a.spec.block(layer).mlp;
        const mb = b.spec.block(layer).mlp;
        const tensors: TensorComparison[] = [];
        const roles: ['up' | 'gate' | 'down', LinearTensors | undefined, LinearTensors | undefined][] = [
          ['gate', ma.gate, mb.gate],
          ['up', ma.up, mb.up],
          ['down', ma.down, mb.down],
        ];
        for (const [role, ta, tb] of roles) {
          if (!ta && !tb) continue;
          if (!ta || !tb) throw new FfnLensError(`block ${layer}: only one of the two models has a gate projection (${ta ? a.path : b.path})`, b.path, 'usage');
          tensors.push(await compareTensor(a, b, role, ta, tb, top));
        }
        out.layers.push({ layer, tensors });
      }
      opts.onProgress?.(1, 'done');
      return out;
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}

/**
 * One FFN matrix of each model, as units x d_model: up and gate have a unit per output, down a unit
 * per input. Each side is read in its own storage layout ([out, in] Linear or GGUF, [in, out] Conv1D).
 */
async function compareTensor(a: OpenModel, b: OpenModel, role: 'up' | 'gate' | 'down', ta: LinearTensors, tb: LinearTensors, top: number): Promise<TensorComparison> {
  const { dModel: d, dFf } = a.spec;
  // [units x d] row-major from a stored matrix: out_in stores [out, in]; in_out stores [in, out].
  const unitsMajor = async (m: OpenModel, t: LinearTensors): Promise<Float32Array> => {
    const unitsAreRows = role === 'down' ? t.layout === 'in_out' : t.layout === 'out_in';
    const info = m.source.tensors.find((x) => x.name === t.weight);
    const count = info ? info.shape.reduce((p, s) => p * s, 1) : -1;
    if (count !== d * dFf) throw new FfnLensError(`${t.weight} holds ${count} values, not ${dFf} x ${d}`, m.path);
    if (unitsAreRows) return m.source.read(t.weight);
    return m.source.readTransposed ? m.source.readTransposed(t.weight) : transpose(await m.source.read(t.weight), dFf === 0 ? 0 : count / dFf, dFf);
  };
  const wa = await unitsMajor(a, ta);
  const wb = await unitsMajor(b, tb);
  const r = compareMatrices(wa, wb, dFf, d, 0, top);
  return { role, nameA: ta.weight, nameB: tb.weight, relativeError: r.relativeError, changed: r.changed };
}

/** [rows x cols] to [cols x rows]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}
