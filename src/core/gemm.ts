/**
 * Dense matrix product for the FFN's expand and condense. Plain TypeScript for now; a WebAssembly
 * SIMD kernel can replace it behind the same `Gemm` signature. No `vscode` import.
 */
import { FfnLensError } from './errors';

/**
 * out[m x n] = a[m x k] · b[k x n] (+ bias[n] added to every row), all row-major float32.
 * Returns `out` (allocated when not given). Implementations must not skip zero entries of `a`:
 * 0 · NaN and 0 · Inf are NaN, and the trace has to show them.
 */
export type Gemm = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out?: Float32Array,
  bias?: Float32Array,
) => Float32Array;

/** Throws unless the buffers have exactly the lengths the shapes say. */
export function checkGemmShapes(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out?: Float32Array, bias?: Float32Array): void {
  for (const [what, v] of [['m', m], ['k', k], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new FfnLensError(`matrix product: ${what} = ${v} is not a non-negative integer`);
  }
  const expect = (what: string, got: number, want: number, shape: string): void => {
    if (got !== want) throw new FfnLensError(`matrix product: ${what} has ${got} values, expected ${shape} = ${want}`);
  };
  expect('a', a.length, m * k, `${m} x ${k}`);
  expect('b', b.length, k * n, `${k} x ${n}`);
  if (out) expect('out', out.length, m * n, `${m} x ${n}`);
  if (bias) expect('bias', bias.length, n, `${n}`);
}

/**
 * The reference kernel: i-k-j order, so the inner loop walks one row of `b` and one row of `out`
 * contiguously, accumulating in the float32 output row.
 */
export const gemm: Gemm = (a, b, m, k, n, out, bias) => {
  checkGemmShapes(a, b, m, k, n, out, bias);
  const c = out ?? new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const rowC = i * n;
    if (bias) c.set(bias, rowC);
    else c.fill(0, rowC, rowC + n);
    const rowA = i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[rowA + p];
      const rowB = p * n;
      for (let j = 0; j < n; j++) c[rowC + j] += aip * b[rowB + j];
    }
  }
  return c;
};
