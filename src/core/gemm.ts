/**
 * Dense matrix product for the FFN's expand and condense: the `Gemm` and `PreparedGemm`
 * signatures the WebAssembly kernels (src/kernels) implement, and the TypeScript reference
 * kernels behind them. No `vscode` import.
 */
import { FfnLensError } from './errors';
import type { PreparedMatrix } from './types';

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

/** Rows of k per block of the `panels` layout (the WebAssembly kernel's KCP, see src/kernels/gemm.wat). */
export const PANEL_KC = 512;
/** Columns per panel of the `panels` layout (the micro-kernel's width). */
export const PANEL_NR = 8;

/** Values a k x n matrix takes in the `panels` layout: k x n rounded up to whole panels. */
export function panelsLength(k: number, n: number): number {
  return k * Math.ceil(n / PANEL_NR) * PANEL_NR;
}

/**
 * out[m x b.n] = a[m x b.k] · B (+ bias), with B prepared once for many products (see
 * PreparedMatrix). Same contract as `Gemm` otherwise.
 */
export type PreparedGemm = (a: Float32Array, b: PreparedMatrix, m: number, out?: Float32Array, bias?: Float32Array) => Float32Array;

/** Throws unless `p` is a k x n prepared matrix whose data has the length its layout needs. */
export function checkPrepared(p: PreparedMatrix, what = 'the prepared matrix'): void {
  const { k, n } = p;
  for (const [name, v] of [['k', k], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new FfnLensError(`${what}: ${name} = ${v} is not a non-negative integer`);
  }
  const want = p.layout === 'rows' ? k * n : p.layout === 'panels' ? panelsLength(k, n) : -1;
  if (want < 0) throw new FfnLensError(`${what}: unknown layout '${String(p.layout)}'`);
  if (p.data.length !== want) throw new FfnLensError(`${what} (${p.layout}, ${k} x ${n}) has ${p.data.length} values, expected ${want}`);
}

/** checkGemmShapes for a product with a prepared B (whose own data checkPrepared checks). */
export function checkPreparedShapes(a: Float32Array, b: PreparedMatrix, m: number, out?: Float32Array, bias?: Float32Array): void {
  checkPrepared(b);
  const { k, n } = b;
  if (!Number.isInteger(m) || m < 0) throw new FfnLensError(`matrix product: m = ${m} is not a non-negative integer`);
  const expect = (what: string, got: number, want: number, shape: string): void => {
    if (got !== want) throw new FfnLensError(`matrix product: ${what} has ${got} values, expected ${shape} = ${want}`);
  };
  expect('a', a.length, m * k, `${m} x ${k}`);
  if (out) expect('out', out.length, m * n, `${m} x ${n}`);
  if (bias) expect('bias', bias.length, n, `${n}`);
}

/**
 * `b` (row-major k x n) in the `panels` layout, written into `out` (panelsLength(k, n) values;
 * allocated when not given). The layout the WebAssembly kernel's pack_b writes, in TypeScript.
 */
export function packPanels(b: Float32Array, k: number, n: number, out?: Float32Array): Float32Array {
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  const dst = out ?? new Float32Array(k * npad);
  if (b.length !== k * n) throw new FfnLensError(`packPanels: b has ${b.length} values, expected ${k} x ${n} = ${k * n}`);
  if (dst.length !== k * npad) throw new FfnLensError(`packPanels: out has ${dst.length} values, expected ${k * npad}`);
  for (let k0 = 0; k0 < k; k0 += PANEL_KC) {
    const kc = Math.min(PANEL_KC, k - k0);
    for (let p = 0; p < kc; p++) {
      const row = (k0 + p) * n;
      for (let q = 0; q < npad / PANEL_NR; q++) {
        const at = k0 * npad + q * kc * PANEL_NR + p * PANEL_NR;
        for (let j = 0; j < PANEL_NR; j++) {
          const col = q * PANEL_NR + j;
          dst[at + j] = col < n ? b[row + col] : 0;
        }
      }
    }
  }
  return dst;
}

/**
 * The reference kernel on a prepared matrix of either layout: `rows` goes through `gemm`; `panels`
 * is read where it lies, in the same i-k-j order (so the same sums as `gemm` on the plain matrix).
 */
export const gemmPrepared: PreparedGemm = (a, b, m, out, bias) => {
  checkPreparedShapes(a, b, m, out, bias);
  if (b.layout === 'rows') return gemm(a, b.data, m, b.k, b.n, out, bias);
  const { k, n, data } = b;
  checkPreparedShapes(a, b, m, out, bias);
  const c = out ?? new Float32Array(m * n);
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  for (let i = 0; i < m; i++) {
    const rowC = i * n;
    if (bias) c.set(bias, rowC);
    else c.fill(0, rowC, rowC + n);
    const rowA = i * k;
    for (let k0 = 0; k0 < k; k0 += PANEL_KC) {
      const kc = Math.min(PANEL_KC, k - k0);
      for (let p = 0; p < kc; p++) {
        const aip = a[rowA + k0 + p];
        for (let q = 0, j0 = 0; j0 < n; q++, j0 += PANEL_NR) {
          const at = k0 * npad + q * kc * PANEL_NR + p * PANEL_NR;
          const cols = Math.min(PANEL_NR, n - j0);
          for (let j = 0; j < cols; j++) c[rowC + j0 + j] += aip * data[at + j];
        }
      }
    }
  }
  return c;
};

/** Row i (0 <= i < k) of a prepared matrix, as n values in `out` (allocated when not given). */
export function preparedRow(p: PreparedMatrix, i: number, out = new Float32Array(p.n)): Float32Array {
  const { k, n, data } = p;
  if (!Number.isInteger(i) || i < 0 || i >= k) throw new FfnLensError(`row ${i} of a ${k} x ${n} matrix`);
  if (p.layout === 'rows') {
    out.set(data.subarray(i * n, (i + 1) * n));
    return out;
  }
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  const k0 = i - (i % PANEL_KC);
  const kc = Math.min(PANEL_KC, k - k0);
  for (let j0 = 0, q = 0; j0 < n; j0 += PANEL_NR, q++) {
    const at = k0 * npad + q * kc * PANEL_NR + (i - k0) * PANEL_NR;
    out.set(data.subarray(at, at + Math.min(PANEL_NR, n - j0)), j0);
  }
  return out;
}
