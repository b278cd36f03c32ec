/**
 * Causal self-attention over one or more sequences at once: per sequence and head, softmax of
 * q·kᵀ/sqrt(head_dim) over the positions up to the query's own (within a sliding window when the
 * model has one), then the weighted sum of v. Grouped-query: query head h reads kv head
 * h / (heads / kvHeads). q, k, v are row-major [rows x heads·headDim] (k, v with kvHeads). No `vscode` import.
 */

export interface AttentionShape {
  /** Sequences stacked in the rows, each `tokens` long. */
  sequences: number;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  slidingWindow?: number;
}

/** Writes the attention of every query row into `out` [rows x heads·headDim]. */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape, out: Float32Array): Float32Array {
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
