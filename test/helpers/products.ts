// Shared by the kernel and worker tests: reproducible inputs and an independent float64 product
// to check matrix products against.
import * as assert from 'assert';
import { createGemmEngine, detectWasmFeatures, type GemmEngine, type KernelPath } from '../../src/kernels';

/** Deterministic values in [-scale, scale) (xorshift32), so a failure reproduces. */
export function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** The naive float64 product a[m x k]·b[k x n] (+ bias), and for each output the sum of |terms| (the scale of its rounding error). */
export function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number, bias?: Float32Array): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      let t = bias ? Math.abs(bias[j]) : 0;
      for (let p = 0; p < k; p++) {
        s += a[i * k + p] * b[p * n + j];
        t += Math.abs(a[i * k + p] * b[p * n + j]);
      }
      c[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { c, scale };
}

/** Each element within 1e-5 of the sum of its terms' magnitudes of the float64 product. */
export function assertClose(got: Float32Array, want: { c: Float64Array; scale: Float64Array }, what: string): void {
  assert.strictEqual(got.length, want.c.length, what);
  for (let i = 0; i < got.length; i++) {
    const tol = 1e-5 * Math.max(want.scale[i], 1e-30);
    if (!(Math.abs(got[i] - want.c[i]) <= tol)) assert.fail(`${what}: element ${i} is ${got[i]}, expected ${want.c[i]} (±${tol})`);
  }
}

const features = detectWasmFeatures();
/** The WebAssembly kernel paths this Node runs (both need shared memory). */
export const WASM_PATHS: KernelPath[] = [
  ...(features.simd && features.sharedMemory ? (['simd'] as const) : []),
  ...(features.relaxedSimd && features.sharedMemory ? (['relaxed-simd'] as const) : []),
];
/** Every kernel path here: the TypeScript one, then the WebAssembly ones. */
export const KERNEL_PATHS: KernelPath[] = ['ts', ...WASM_PATHS];

/** What a `describeEngines` body tests: `engine` is set (ready) by the time its tests run. */
export interface EngineUnderTest {
  engine: GemmEngine;
  kernel: KernelPath;
  threads: number;
}

/**
 * One mocha `describe` per kernel path and thread count (the WebAssembly paths with 1 and 2
 * threads), each with a ready engine that splits every product into column chunks however small
 * (parallelThreshold 0), disposed afterwards.
 */
export function describeEngines(body: (t: EngineUnderTest) => void): void {
  for (const kernel of KERNEL_PATHS) {
    for (const threads of kernel === 'ts' ? [1] : [1, 2]) {
      describe(`${kernel}, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
        const t = { kernel, threads } as EngineUnderTest;
        before(async () => {
          t.engine = createGemmEngine({ path: kernel, threads, parallelThreshold: 0 });
          await t.engine.ready();
        });
        after(() => t.engine.dispose());
        body(t);
      });
    }
  }
}
