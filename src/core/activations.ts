/**
 * The filters an FFN applies between expand and condense, as scalars and as in-place array passes.
 * Every function returns its mathematical limit at ±Infinity and NaN for NaN, so bad weights show
 * up as NaN in the trace instead of an exception. No `vscode` import.
 */
import { FfnLensError } from './errors';
import { ActivationName, GatedActivation, PlainActivation } from './types';

/** A scalar activation. */
export type ScalarActivation = (x: number) => number;

const SQRT1_2 = Math.SQRT1_2;
/** √(2/π), the constant inside the tanh approximation of GELU. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** 2/√π, the factor in front of the erf series. */
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erfc(x) to a relative error below 1.2e-7 for every x (Numerical Recipes' Chebyshev fit `erfcc`;
 * checked against a libm erfc on a grid over [-25, 25]). Only one exp per call, so GELU stays cheap.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  if (z === Infinity) return x > 0 ? 0 : 2;
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r; // NaN falls through to 2 - NaN = NaN
}

/**
 * erf(x) to a relative error of about 1e-7. Near 0, 1 - erfc(x) would lose the relative accuracy
 * (erf(x) ≈ 1.128·x), so |x| < 0.5 uses the Maclaurin series, which is exact to double there.
 */
export function erf(x: number): number {
  if (Math.abs(x) < 0.5) {
    // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1)); 12 terms reach 1e-17 for |x| < 0.5.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 12; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  return 1 - erfc(x);
}

/** max(0, x); NaN stays NaN. */
export function relu(x: number): number {
  return x > 0 || x !== x ? x : 0;
}

/**
 * Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), computed as 0.5·x·erfc(-x/√2) so the negative tail
 * keeps its relative accuracy instead of cancelling in 1 + erf.
 */
export function gelu(x: number): number {
  if (x === -Infinity) return 0;
  return 0.5 * x * erfc(-x * SQRT1_2);
}

/** The logistic function, without overflow for any x. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * The tanh approximation of GELU (GPT-2's `gelu_new`, PyTorch's `gelu(approximate='tanh')`):
 * 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·sigmoid(2u), the same function without
 * the cancellation in 1 + tanh(u) for negative x.
 */
export function geluTanh(x: number): number {
  if (x === -Infinity) return 0;
  if (x === Infinity) return x;
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  return x * sigmoid(2 * u);
}

/** SiLU / swish, x·sigmoid(x). */
export function silu(x: number): number {
  if (x === -Infinity) return 0;
  return x * sigmoid(x);
}

const SCALARS: Record<PlainActivation, ScalarActivation> = {
  relu,
  gelu,
  gelu_tanh: geluTanh,
  silu,
};

const GATED_TO_PLAIN: Record<GatedActivation, PlainActivation> = {
  reglu: 'relu',
  swiglu: 'silu',
  geglu: 'gelu',
  geglu_tanh: 'gelu_tanh',
};

const PLAIN_TO_GATED: Record<PlainActivation, GatedActivation> = {
  relu: 'reglu',
  silu: 'swiglu',
  gelu: 'geglu',
  gelu_tanh: 'geglu_tanh',
};

/** True for the gated activations (swiglu, geglu, geglu_tanh, reglu). */
export function isGated(name: ActivationName): name is GatedActivation {
  return Object.prototype.hasOwnProperty.call(GATED_TO_PLAIN, name);
}

/** The plain activation a gated one applies to its gate (swiglu -> silu); plain names map to themselves. */
export function toPlain(name: ActivationName): PlainActivation {
  return isGated(name) ? GATED_TO_PLAIN[name] : name;
}

/** The gated activation whose gate is `name` (silu -> swiglu); gated names map to themselves. */
export function toGated(name: ActivationName): GatedActivation {
  return isGated(name) ? name : PLAIN_TO_GATED[name];
}

/** The scalar filter: applied to the pre-activation of a plain layer, or to the gate of a gated one. */
export function gateFunction(name: ActivationName): ScalarActivation {
  return SCALARS[toPlain(name)];
}

/** Names as configs and frameworks spell them (lower-cased), mapped to ours. */
const ALIASES: Readonly<Record<string, ActivationName>> = {
  relu: 'relu',
  gelu: 'gelu',
  gelu_tanh: 'gelu_tanh',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
  swiglu: 'swiglu',
  geglu: 'geglu',
  geglu_tanh: 'geglu_tanh',
  reglu: 'reglu',
};

/**
 * Our name for an activation as people and frameworks write it (`hidden_act` in config.json, a
 * GGUF architecture's default...), case-insensitive; undefined for anything we do not compute
 * exactly (e.g. `quick_gelu`, which is x·sigmoid(1.702x), not GELU).
 */
export function parseActivation(s: string): ActivationName | undefined {
  const key = s.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(ALIASES, key) ? ALIASES[key] : undefined;
}

/** Applies `fn` to data[offset .. offset+length) in place and returns `data`. */
function mapInPlace(fn: ScalarActivation, data: Float32Array, offset: number, length: number): Float32Array {
  const end = offset + length;
  for (let i = offset; i < end; i++) data[i] = fn(data[i]);
  return data;
}

/** relu over a range of `data`, in place (the whole array by default). */
export function reluInPlace(data: Float32Array, offset = 0, length = data.length - offset): Float32Array {
  const end = offset + length;
  for (let i = offset; i < end; i++) {
    const x = data[i];
    if (x <= 0) data[i] = 0;
  }
  return data;
}

/** Exact gelu over a range of `data`, in place. */
export function geluInPlace(data: Float32Array, offset = 0, length = data.length - offset): Float32Array {
  return mapInPlace(gelu, data, offset, length);
}

/** Tanh-approximated gelu over a range of `data`, in place. */
export function geluTanhInPlace(data: Float32Array, offset = 0, length = data.length - offset): Float32Array {
  return mapInPlace(geluTanh, data, offset, length);
}

/** silu over a range of `data`, in place. */
export function siluInPlace(data: Float32Array, offset = 0, length = data.length - offset): Float32Array {
  return mapInPlace(silu, data, offset, length);
}

/** The filter of `name` (its gate function for gated names) over a range of `data`, in place. */
export function activateInPlace(name: ActivationName, data: Float32Array, offset = 0, length = data.length - offset): Float32Array {
  const plain = toPlain(name);
  return plain === 'relu' ? reluInPlace(data, offset, length) : mapInPlace(SCALARS[plain], data, offset, length);
}

/**
 * The gated filter in place: gate[i] = act(gate[i]) · up[i] for every i, the hidden vector a
 * gated layer hands to its down projection. `gate` and `up` must have the same length.
 */
export function gateInPlace(name: ActivationName, gate: Float32Array, up: Float32Array): Float32Array {
  if (gate.length !== up.length) {
    throw new FfnLensError(`the gate has ${gate.length} values but the up projection has ${up.length}`);
  }
  const fn = gateFunction(name);
  const n = gate.length;
  for (let i = 0; i < n; i++) gate[i] = fn(gate[i]) * up[i];
  return gate;
}
