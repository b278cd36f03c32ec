/**
 * Rotary position embeddings: the frequencies (with llama3 or linear scaling, or a GGUF file's
 * per-frequency divisors) and their rotation of q and k in place, for either pairing of the
 * dimensions. No `vscode` import.
 */
import type { RopeSpec } from '../spec';

/**
 * inv_freq[i] = theta^(-2i / dims) for i < dims / 2, scaled as transformers' rope utilities do
 * (llama3: long wavelengths divided by `factor`, short ones kept, a smooth blend between).
 */
export function ropeFrequencies(rope: RopeSpec, freqFactors?: Float32Array): Float64Array {
  const half = rope.dims / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / rope.dims);
  const s = rope.scaling;
  if (s?.kind === 'linear') for (let i = 0; i < half; i++) inv[i] /= s.factor;
  if (s?.kind === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  if (freqFactors) for (let i = 0; i < half; i++) inv[i] /= freqFactors[i];
  return inv;
}

/**
 * Rotates the first `rope.dims` dimensions of every head of `x` ([rows x heads·headDim], row r at
 * position positions[r]) in place: pairs (i, i + dims/2) for `half`, (2i, 2i + 1) for `interleaved`.
 */
export function applyRope(x: Float32Array, rows: number, heads: number, headDim: number, rope: RopeSpec, inv: Float64Array, positions: (row: number) => number): void {
  const half = rope.dims / 2;
  const width = heads * headDim;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let r = 0; r < rows; r++) {
    const pos = positions(r);
    for (let i = 0; i < half; i++) {
      // float32 angles and cos/sin, as torch computes them
      const angle = Math.fround(pos * Math.fround(inv[i]));
      cos[i] = Math.fround(Math.cos(angle));
      sin[i] = Math.fround(Math.sin(angle));
    }
    for (let h = 0; h < heads; h++) {
      const o = r * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const [a, b] = rope.pairing === 'half' ? [o + i, o + i + half] : [o + 2 * i, o + 2 * i + 1];
        const x0 = x[a];
        const x1 = x[b];
        x[a] = x0 * cos[i] - x1 * sin[i];
        x[b] = x1 * cos[i] + x0 * sin[i];
      }
    }
  }
}
