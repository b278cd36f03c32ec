/**
 * `compare` (issue 14): two checkpoints of one model on the same token ids, every compared block's
 * FFN side by side, and the next-token distributions; or, with `--weights`, their FFN matrices
 * alone, a block at a time. Each model streams as a single run does (one block's matrices in memory
 * at a time), and the two take turns a block at a time, so what waits of A for B is one block's FFN
 * output and hidden activations, and at the end A's logits. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { FfnTrace } from '../core/types';
import type { GemmEngine } from '../kernels';
import { compareMatrices, compareSides, ffnSide, klPerRow, type FfnSide } from '../model/compare';
import { modelForward, type ModelForwardResult } from '../model/forward';
import { openModel, type OpenModel } from '../model/open';
import type { LinearTensors, ModelSpec } from '../model/spec';
import type { CompareRequest, CompareResult, LayerComparison, TensorComparison, WeightsCompareRequest, WeightsCompareResult } from '../protocol/compare';
import { named, requestIds } from './runModel';
import { Turns, type Side } from './turns';

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

      // Each model runs every block to its logits at every position, taking turns a block at a
      // time (A's block b, then B's): only A's side of the current block waits for B's.
      const turns = new Turns();
      const fraction = { A: 0, B: 0 };
      const run = (m: OpenModel, label: Side, onFfn: (block: number, trace: FfnTrace) => void): Promise<ModelForwardResult> =>
        modelForward(m, ids, {
          engine,
          layer: 0,
          predict: 5,
          logits: true,
          rowNorms: false,
          signal: opts.signal,
          onProgress: (f, msg) => {
            fraction[label] = f;
            progress((fraction.A + fraction.B) / 2, `${label}: ${msg}`);
          },
          onFfn: (block, trace) => {
            onFfn(block, trace);
            return turns.hand(label);
          },
        });
      const sidesA = new Map<number, FfnSide>();
      const compared = new Map<number, LayerComparison>();
      const kept = new HiddenKeeper(req.keepHidden ? (req.hiddenBudgetBytes ?? Infinity) : 0, 2 * T * a.spec.dFf * 4);
      progress(0, `running ${a.path}`);
      // a failure on either side rejects the other where it waits: the first error is thrown
      const [outA, outB] = await Promise.all([
        turns.take('A', () =>
          run(a, 'A', (block, trace) => {
            // copied: B's products may reuse the engine's buffers before this block is compared
            if (wanted.has(block)) sidesA.set(block, ffnSide(trace, req.threshold, true));
          }),
        ),
        turns.take('B', () =>
          run(b, 'B', (block, trace) => {
            const sa = sidesA.get(block);
            if (!sa) return;
            sidesA.delete(block);
            const sb = ffnSide(trace, req.threshold);
            const c = compareSides(block, sa, sb, top);
            compared.set(block, c);
            kept.offer(block, c.hiddenError.mean, () => ({ a: sa.hidden, b: sb.hidden.slice() }));
          }),
        ),
      ]);
      const kl = klPerRow(outA.logits as Float32Array, outB.logits as Float32Array, T, V);
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
      if (req.keepHidden) {
        result.hidden = layers.map((l) => kept.get(l) ?? null);
        const dropped = layers.filter((l) => !kept.get(l));
        if (dropped.length) {
          const mib = (x: number): string => `${(x / 1048576).toFixed(x < 10 * 1048576 ? 1 : 0)} MiB`;
          warnings.push(
            `block heatmaps kept for ${layers.length - dropped.length} of ${layers.length} blocks, those with the largest hidden error: ` +
              `each needs ${mib(kept.blockBytes)} (A and B, ${T} tokens x ${a.spec.dFf} units), and the memory budget is ${mib(req.hiddenBudgetBytes ?? 0)}; ` +
              `not kept: ${listBlocks(dropped)}`,
          );
        }
      }
      progress(1, 'done');
      return result;
    } finally {
      await b.close();
    }
  } finally {
    await a.close();
  }
}

/** "1, 2, 5-9" */
function listBlocks(blocks: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < blocks.length; ) {
    let j = i;
    while (j + 1 < blocks.length && blocks[j + 1] === blocks[j] + 1) j++;
    parts.push(j > i + 1 ? `${blocks[i]}-${blocks[j]}` : j === i + 1 ? `${blocks[i]}, ${blocks[j]}` : `${blocks[i]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * The compared blocks' hidden activations (A and B) for the panel's heatmaps, within a budget: as
 * many blocks as fit, those with the largest hidden error (the earlier block on a tie).
 */
export class HiddenKeeper {
  private readonly kept = new Map<number, { error: number; pair: { a: Float32Array; b: Float32Array } }>();
  readonly capacity: number;

  constructor(
    budgetBytes: number,
    readonly blockBytes: number,
  ) {
    this.capacity = blockBytes > 0 ? Math.floor(budgetBytes / blockBytes) : Infinity;
  }

  /** Keeps `block` (taking its pair) if it fits, else in place of the kept block of least error when its own is larger. */
  offer(block: number, error: number, pair: () => { a: Float32Array; b: Float32Array }): void {
    if (this.capacity < 1) return;
    const e = Number.isNaN(error) ? Infinity : error;
    if (this.kept.size >= this.capacity) {
      let least: { block: number; error: number } | undefined;
      for (const [l, k] of this.kept) if (!least || k.error < least.error || (k.error === least.error && l > least.block)) least = { block: l, error: k.error };
      if (!least || !(e > least.error)) return;
      this.kept.delete(least.block);
    }
    this.kept.set(block, { error: e, pair: pair() });
  }

  get(block: number): { a: Float32Array; b: Float32Array } | undefined {
    return this.kept.get(block)?.pair;
  }
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
