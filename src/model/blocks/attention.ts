/**
 * Causal self-attention over one or more sequences at once: per sequence and head, softmax of
 * q·kᵀ/sqrt(head_dim) over the positions up to the query's own (within a sliding window when the
 * model has one), then the weighted sum of v. Grouped-query: query head h reads kv head
 * h / (heads / kvHeads). q, k, v are row-major [rows x heads·headDim] (k, v with kvHeads).
 * The two products of each head (q·kᵀ and p·v) run on the matrix kernel; the mask and the
 * softmax, in double, here. No `vscode` import.
 */
import type { Gemm } from '../../core/gemm';

export interface AttentionShape {
  /** Sequences stacked in the rows, each `tokens` long. */
  sequences: number;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  slidingWindow?: number;
}

/**
 * Writes the attention of every query row into `out` [rows x heads·headDim]. With `gemm` (the
 * WebAssembly kernel) each head's two products run on it; without, plain loops.
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape, out: Float32Array, gemm?: Gemm): Float32Array {
  if (!gemm) return attentionLoops(q, k, v, s, out);
  const { sequences, tokens: T, heads, kvHeads, headDim: hd } = s;
  const qWidth = heads * hd;
  const kvWidth = kvHeads * hd;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const window = s.slidingWindow ?? Infinity;
  const qh = new Float32Array(T * hd);
  const kt = new Float32Array(hd * T);
  const vh = new Float32Array(T * hd);
  const scores = new Float32Array(T * T);
  const oh = new Float32Array(T * hd);
  /** A row's exp(score - max), each computed once (in float64, rounded once when divided). */
  const weights = new Float64Array(T);
  for (let seq = 0; seq < sequences; seq++) {
    const base = seq * T;
    for (let kvh = 0; kvh < kvHeads; kvh++) {
      // this kv head's keys, transposed [hd x T], and values [T x hd]
      for (let j = 0; j < T; j++) {
        const o = (base + j) * kvWidth + kvh * hd;
        for (let e = 0; e < hd; e++) {
          kt[e * T + j] = k[o + e];
          vh[j * hd + e] = v[o + e];
        }
      }
      for (let g = 0; g < group; g++) {
        const h = kvh * group + g;
        for (let i = 0; i < T; i++) qh.set(q.subarray((base + i) * qWidth + h * hd, (base + i) * qWidth + (h + 1) * hd), i * hd);
        gemm(qh, kt, T, hd, T, scores);
        // row i: softmax over keys j in (i - window, i], the rest weigh 0
        for (let i = 0; i < T; i++) {
          const row = i * T;
          const first = Math.max(0, i - window + 1);
          let max = -Infinity;
          for (let j = first; j <= i; j++) if (scores[row + j] > max) max = scores[row + j];
          let sum = 0;
          for (let j = first; j <= i; j++) sum += weights[j] = Math.exp((scores[row + j] - max) * scale);
          for (let j = 0; j < T; j++) scores[row + j] = j >= first && j <= i ? weights[j] / sum : 0;
        }
        gemm(scores, vh, T, T, hd, oh);
        for (let i = 0; i < T; i++) out.set(oh.subarray(i * hd, (i + 1) * hd), (base + i) * qWidth + h * hd);
      }
    }
  }
  return out;
}

/** The same in plain loops, for the TypeScript kernel (whose small products are slower than these). */
function attentionLoops(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape, out: Float32Array): Float32Array {
  const { sequences, tokens: T, heads, kvHeads, headDim } = s;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const window = s.slidingWindow ?? Infinity;
  const scores = new Float64Array(T);
  const acc = new Float64Array(headDim);
  for (let seq = 0; seq < sequences; seq++) {
    const base = seq * T;
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const qo = (base + i) * qWidth + h * headDim;
        const first = Math.max(0, i - window + 1);
        let max = -Infinity;
        for (let j = first; j <= i; j++) {
          const ko = (base + j) * kvWidth + kvh * headDim;
          let dot = 0;
          for (let e = 0; e < headDim; e++) dot += q[qo + e] * k[ko + e];
          scores[j] = dot * scale;
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = first; j <= i; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        acc.fill(0);
        for (let j = first; j <= i; j++) {
          const p = scores[j] / sum;
          const vo = (base + j) * kvWidth + kvh * headDim;
          for (let e = 0; e < headDim; e++) acc[e] += p * v[vo + e];
        }
        for (let e = 0; e < headDim; e++) out[qo + e] = acc[e];
      }
    }
  }
  return out;
}
