/**
 * The measures of `compare` (issue 14), on arrays already computed: relative errors per token, the
 * overlap of the units that fire most, the units whose activity changed, the KL divergence of two
 * next-token distributions, and the difference of two weight matrices per unit. All sums in float64.
 * No `vscode` import.
 */
import { analyzeWithNorms } from '../core/analyze';
import type { FfnTrace } from '../core/types';
import type { ErrorSummary, LayerComparison } from '../protocol/compare';
import { topIds } from './vocab';

/** ‖b_t − a_t‖ / ‖a_t‖ for each of T rows of `width`; a zero row of A gives 0 when B's is zero too, else Infinity. */
export function rowRelativeErrors(a: Float32Array, b: Float32Array, T: number, width: number): Float64Array {
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let num = 0;
    let den = 0;
    for (let i = t * width; i < (t + 1) * width; i++) {
      const d = b[i] - a[i];
      num += d * d;
      den += a[i] * a[i];
    }
    out[t] = den > 0 ? Math.sqrt(num / den) : num > 0 ? Infinity : 0;
  }
  return out;
}

export function summarize(values: ArrayLike<number>): ErrorSummary {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (values[i] > max) max = values[i];
  }
  return { mean: values.length ? sum / values.length : 0, max };
}

/** The Jaccard overlap of the top-k units by |h| of A and of B, per token, averaged over tokens. */
export function topOverlap(hA: Float32Array, hB: Float32Array, T: number, dFf: number, k: number): number {
  if (T === 0 || k === 0) return 1;
  const abs = (h: Float32Array, t: number): Float64Array => Float64Array.from(h.subarray(t * dFf, (t + 1) * dFf), Math.abs);
  let total = 0;
  for (let t = 0; t < T; t++) {
    const a = new Set(topIds(abs(hA, t), k));
    const b = topIds(abs(hB, t), k);
    const both = b.filter((i) => a.has(i)).length;
    total += both / (a.size + b.length - both);
  }
  return total / T;
}

/** The k units whose mean |h| over tokens changed most (delta = B's − A's), largest |delta| first, ties by lower index. */
export function changedUnits(hA: Float32Array, hB: Float32Array, T: number, dFf: number, k: number): { index: number; delta: number }[] {
  const delta = new Float64Array(dFf);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < dFf; i++) delta[i] += Math.abs(hB[t * dFf + i]) - Math.abs(hA[t * dFf + i]);
  }
  for (let i = 0; i < dFf; i++) delta[i] /= T;
  return topIds(Float64Array.from(delta, Math.abs), k).map((index) => ({ index, delta: delta[index] }));
}

/** KL(A‖B) = Σ p_A (log p_A − log p_B) of softmax(logits) at each of T positions. */
export function klPerRow(logitsA: Float32Array, logitsB: Float32Array, T: number, V: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const la = logSoftmax(logitsA.subarray(t * V, (t + 1) * V));
    const lb = logSoftmax(logitsB.subarray(t * V, (t + 1) * V));
    let kl = 0;
    for (let i = 0; i < V; i++) {
      const p = Math.exp(la[i]);
      if (p > 0) kl += p * (la[i] - lb[i]);
    }
    out.push(Math.max(0, kl));
  }
  return out;
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const log = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - log);
}

/** What a comparison needs of one model's FFN in a block: its hidden activations, output and sparsity. */
export interface FfnSide {
  tokens: number;
  dFf: number;
  dModel: number;
  hidden: Float32Array;
  output: Float32Array;
  sparsity: number;
}

/** `trace`'s side of a comparison; `copy` when the trace's buffers will be reused before it is compared. */
export function ffnSide(t: FfnTrace, threshold?: number, copy = false): FfnSide {
  const sparsity = analyzeWithNorms(t, new Float64Array(t.dFf).fill(1), { topK: 0, threshold }).sparsity;
  return {
    tokens: t.tokens,
    dFf: t.dFf,
    dModel: t.dModel,
    hidden: copy ? t.hidden.slice() : t.hidden,
    output: copy ? t.output.slice() : t.output,
    sparsity,
  };
}

/** Block `layer` of B against A's. */
export function compareSides(layer: number, a: FfnSide, b: FfnSide, top: number): LayerComparison {
  const T = a.tokens;
  return {
    layer,
    outputError: summarize(rowRelativeErrors(a.output, b.output, T, a.dModel)),
    hiddenError: summarize(rowRelativeErrors(a.hidden, b.hidden, T, a.dFf)),
    sparsityA: a.sparsity,
    sparsityB: b.sparsity,
    topOverlap: topOverlap(a.hidden, b.hidden, T, a.dFf, Math.min(top, a.dFf)),
    changed: changedUnits(a.hidden, b.hidden, T, a.dFf, top),
  };
}

/** One block's FFN of A against B's on the same tokens. */
export function compareFfn(layer: number, a: FfnTrace, b: FfnTrace, top: number, threshold?: number): LayerComparison {
  return compareSides(layer, ffnSide(a, threshold), ffnSide(b, threshold), top);
}

/**
 * Two matrices of the same shape [rows x cols], whose units run along `unitAxis` (0: a unit is a
 * row, 1: a column): ‖B − A‖_F / ‖A‖_F, and the k units whose weights changed most relative to A's.
 */
export function compareMatrices(a: Float32Array, b: Float32Array, rows: number, cols: number, unitAxis: 0 | 1, k: number): { relativeError: number; changed: { index: number; relative: number }[] } {
  const units = unitAxis === 0 ? rows : cols;
  const num = new Float64Array(units);
  const den = new Float64Array(units);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const d = b[i] - a[i];
      const u = unitAxis === 0 ? r : c;
      num[u] += d * d;
      den[u] += a[i] * a[i];
    }
  }
  let n = 0;
  let dd = 0;
  for (let u = 0; u < units; u++) {
    n += num[u];
    dd += den[u];
  }
  const relative = Float64Array.from(num, (x, u) => (den[u] > 0 ? Math.sqrt(x / den[u]) : x > 0 ? Infinity : 0));
  return {
    relativeError: dd > 0 ? Math.sqrt(n / dd) : n > 0 ? Infinity : 0,
    changed: topIds(relative, k).map((index) => ({ index, relative: relative[index] })),
  };
}
