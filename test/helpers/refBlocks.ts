/**
 * The pieces of the float64 reference forward (refModel.ts), each written from its formula in the
 * transformers modeling files and independent of src/: LayerNorm, RMSNorm (and Gemma's 1 + w),
 * rotate-half RoPE with llama3/linear scaling of the inverse frequencies, and a log-softmax.
 */
import { refActivation } from './reference';

/** LayerNorm over one vector: (x - mean) / sqrt(var + eps) · w + b, with the biased variance. */
export function refLayerNorm(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | undefined, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
  variance /= n;
  const inv = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * w[i] + (b ? b[i] : 0);
  return out;
}

/** RMSNorm over one vector: x / sqrt(mean(x²) + eps) · w, or · (1 + w) for Gemma (`plusOne`). */
export function refRmsNorm(x: ArrayLike<number>, w: ArrayLike<number>, eps: number, plusOne = false): Float64Array {
  const n = x.length;
  let ms = 0;
  for (let i = 0; i < n; i++) ms += x[i] * x[i];
  const inv = 1 / Math.sqrt(ms / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i] * inv * (plusOne ? 1 + w[i] : w[i]);
  return out;
}

/** A config's RoPE scaling, normalised (rope_scaling, or transformers v5's rope_parameters; `type` is the old key). */
export interface RopeScaling {
  type: 'llama3' | 'linear';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** The RoPE scaling a config asks for; undefined for none or "default"; throws on kinds the reference does not implement. */
export function ropeScalingOf(config: Record<string, unknown>): RopeScaling | undefined {
  const raw = (config.rope_scaling ?? config.rope_parameters) as Record<string, unknown> | null | undefined;
  if (!raw) return undefined;
  const type = raw.rope_type ?? raw.type;
  if (type === undefined || type === 'default') return undefined;
  if (type !== 'llama3' && type !== 'linear') throw new Error(`reference: rope scaling ${String(type)} is not implemented`);
  return {
    type,
    factor: Number(raw.factor),
    lowFreqFactor: Number(raw.low_freq_factor ?? 1),
    highFreqFactor: Number(raw.high_freq_factor ?? 4),
    originalMaxPositions: Number(raw.original_max_position_embeddings ?? 8192),
  };
}

/**
 * Inverse frequencies of the `dim` rotated dims: theta^(-2i/dim) for i < dim/2; linear scaling
 * divides them by `factor`; llama3 (modeling_rope_utils._compute_llama3_parameters) divides the
 * long wavelengths (> original/low_freq_factor) by `factor`, keeps the short ones
 * (< original/high_freq_factor) and blends between with smooth = (original/wavelen - low)/(high - low).
 */
export function ropeInvFreq(dim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = theta ** (-(2 * i) / dim);
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: old } = scaling;
  const lowFreqWavelen = old / low;
  const highFreqWavelen = old / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / factor;
    const smooth = (old / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * Rotate-half RoPE on one head vector at position `pos`: for i < r/2 (r = 2 · invFreq.length
 * rotated dims, the rest pass through), the pair (x_i, x_{i+r/2}) turns by pos · invFreq[i]:
 * out_i = x_i cos - x_{i+r/2} sin, out_{i+r/2} = x_{i+r/2} cos + x_i sin (x·cos + rotate_half(x)·sin).
 */
export function refRope(x: ArrayLike<number>, pos: number, invFreq: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(x);
  const half = invFreq.length;
  for (let i = 0; i < half; i++) {
    const c = Math.cos(pos * invFreq[i]);
    const s = Math.sin(pos * invFreq[i]);
    out[i] = x[i] * c - x[i + half] * s;
    out[i + half] = x[i + half] * c + x[i] * s;
  }
  return out;
}

/** The scalar activation a config's activation name stands for (transformers' ACT2FN names). */
export function hfActivation(name: string): (x: number) => number {
  switch (name) {
    case 'gelu':
      return refActivation('gelu');
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return refActivation('gelu_tanh');
    case 'silu':
    case 'swish':
      return refActivation('silu');
    case 'relu':
      return refActivation('relu');
    default:
      throw new Error(`reference: activation ${name} is not implemented`);
  }
}

/** log softmax of one row, with the max subtracted first. */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const logSum = Math.log(sum);
  return Float64Array.from(row, (v) => v - max - logSum);
}

/** Mean next-token cross-entropy of T x vocab `logits` on `ids`: -1/(T-1) Σ_{t<T-1} log p_t(ids[t+1]). */
export function nextTokenLoss(logits: Float64Array, vocab: number, ids: readonly number[]): number {
  let total = 0;
  for (let t = 0; t + 1 < ids.length; t++) total -= logSoftmax(logits.subarray(t * vocab, (t + 1) * vocab))[ids[t + 1]];
  return total / (ids.length - 1);
}
