/**
 * Summary statistics of tensors and rows, in double precision whatever the data's type.
 * No `vscode` import.
 */
import { TensorStats } from './types';

/**
 * Statistics of `data` in one pass.
 *  - count: every element, NaN and ±Inf included;
 *  - mean, std (population, divide by n), min, max, l2: over the finite elements only, all 0 when
 *    there is none (an empty tensor included), so they are never NaN;
 *  - zeroFraction: elements equal to 0 (or -0) over count, 0 for an empty tensor;
 *  - nanCount, infCount: NaN and ±Inf elements.
 * Mean and variance use Welford's update, so a large common offset does not cancel the variance
 * away; l2 is sqrt(M2 + n·mean²), the sum of squares recovered from the same two accumulators.
 */
export function tensorStats(data: ArrayLike<number>): TensorStats {
  const count = data.length;
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let nanCount = 0;
  let infCount = 0;
  for (let i = 0; i < count; i++) {
    const x = data[i];
    if (x !== x) {
      nanCount++;
      continue;
    }
    if (x === Infinity || x === -Infinity) {
      infCount++;
      continue;
    }
    if (x === 0) zeros++;
    n++;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (n === 0) {
    return { count, mean: 0, std: 0, min: 0, max: 0, l2: 0, zeroFraction: count ? zeros / count : 0, nanCount, infCount };
  }
  return {
    count,
    mean,
    std: Math.sqrt(m2 / n),
    min,
    max,
    l2: Math.sqrt(m2 + n * mean * mean),
    zeroFraction: zeros / count,
    nanCount,
    infCount,
  };
}

/**
 * The Euclidean norm of data[offset .. offset+length) (the whole array by default). NaN if any
 * element is NaN, else Infinity if any is infinite. Sums squares in double; only when that
 * overflows or underflows does it take a second, scaled pass.
 */
export function l2Norm(data: ArrayLike<number>, offset = 0, length = data.length - offset): number {
  const end = offset + length;
  let sum = 0;
  for (let i = offset; i < end; i++) {
    const x = data[i];
    sum += x * x;
  }
  // Below 1e-290 (0 included) squares may have underflowed; at Infinity (or NaN) they overflowed or met Inf/NaN.
  if (sum > 1e-290 && sum < Infinity) return Math.sqrt(sum);
  return scaledNorm(data, offset, end);
}

/** LAPACK dnrm2's rescaling: keeps scale = max |x| seen so far and sums (x/scale)². */
function scaledNorm(data: ArrayLike<number>, start: number, end: number): number {
  let scale = 0;
  let ssq = 1;
  let inf = false;
  for (let i = start; i < end; i++) {
    const x = data[i];
    if (x !== x) return NaN;
    const ax = Math.abs(x);
    if (ax === Infinity) {
      inf = true;
      continue;
    }
    if (ax === 0) continue;
    if (ax > scale) {
      const r = scale / ax;
      ssq = 1 + ssq * r * r;
      scale = ax;
    } else {
      const r = ax / scale;
      ssq += r * r;
    }
  }
  return inf ? Infinity : scale * Math.sqrt(ssq);
}
