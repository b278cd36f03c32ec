/**
 * Seeded random inputs for a layer when the user has none: the same seed gives the same tokens on
 * every machine. No `vscode` import.
 */
import { FfnLensError } from './errors';

/** The most values randomInputs will make (64 MB of float32): e.g. 2048 tokens x d_model 8192. */
export const MAX_RANDOM_VALUES = 1 << 24;

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): a uniform uint32 stream from a 32-bit state,
 * using only 32-bit integer arithmetic (Math.imul, shifts), so it is identical everywhere.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function checkCount(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new FfnLensError(`${what} must be a whole number of at least 1, got ${v}`, undefined, 'usage');
}

/**
 * T x dModel standard-normal values (token-major) and labels t0..t{T-1}.
 * The stream: mulberry32(seed mod 2^32) gives uint32 pairs (r1, r2); u1 = (r1 + 1) / 2^32 in (0, 1],
 * u2 = r2 / 2^32 in [0, 1); Box–Muller turns each pair into sqrt(-2 ln u1)·cos(2π u2) and
 * sqrt(-2 ln u1)·sin(2π u2), in that order, rounded to float32. The integer stream is exact on
 * every platform; the values rely on Math.log/cos/sin, which can differ in the last bit of a
 * double between JavaScript engines and almost never survive the rounding to float32.
 */
export function randomInputs(tokens: number, dModel: number, seed: number): { data: Float32Array; labels: string[] } {
  checkCount('the number of tokens', tokens);
  checkCount('d_model', dModel);
  if (!Number.isInteger(seed)) throw new FfnLensError(`the seed must be a whole number, got ${seed}`, undefined, 'usage');
  const total = tokens * dModel;
  if (total > MAX_RANDOM_VALUES) {
    throw new FfnLensError(
      `${tokens} tokens x d_model ${dModel} = ${total} random values is more than the limit of ${MAX_RANDOM_VALUES}`,
      undefined,
      'usage',
    );
  }
  const next = mulberry32(seed);
  const data = new Float32Array(total);
  for (let i = 0; i < total; i += 2) {
    const u1 = (next() + 1) / 4294967296;
    const u2 = next() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    data[i] = r * Math.cos(theta);
    if (i + 1 < total) data[i + 1] = r * Math.sin(theta);
  }
  const labels: string[] = [];
  for (let t = 0; t < tokens; t++) labels.push(`t${t}`);
  return { data, labels };
}
