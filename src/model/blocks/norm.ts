/**
 * The norms before each sublayer and at the end: LayerNorm (mean and variance, gain and bias) and
 * RMSNorm (root mean square, gain; Gemma's gain is 1 + γ). Row by row over T x d, sums in double.
 * No `vscode` import.
 */

/** LayerNorm of each row: (x - mean) / sqrt(var + eps) · γ + β (biased variance, as torch). */
export function layerNorm(x: Float32Array, rows: number, d: number, gain: Float32Array, bias: Float32Array | undefined, eps: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[o + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) {
      const c = x[o + i] - mean;
      v += c * c;
    }
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) out[o + i] = (x[o + i] - mean) * inv * gain[i] + (bias ? bias[i] : 0);
  }
  return out;
}

/** RMSNorm of each row: x / sqrt(mean(x²) + eps) · γ, or · (1 + γ) with `plusOne` (Gemma). */
export function rmsNorm(x: Float32Array, rows: number, d: number, gain: Float32Array, eps: number, plusOne: boolean, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / d + eps);
    // HF casts the normalised row to the weight's dtype before the gain: float32 here.
    for (let i = 0; i < d; i++) out[o + i] = Math.fround(x[o + i] * inv) * (plusOne ? 1 + gain[i] : gain[i]);
  }
  return out;
}
