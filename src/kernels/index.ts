/**
 * The fastest matrix kernel this engine can run, behind the core's `Gemm` signature:
 * relaxed-SIMD WebAssembly, else plain SIMD WebAssembly, else the core's TypeScript kernel; on
 * one thread or split by columns across worker threads. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { gemm as tsGemm, gemmPrepared as tsGemmPrepared, type Gemm, type PreparedGemm } from '../core/gemm';
import type { PlainActivation, PreparedMatrix } from '../core/types';
import type { KernelPath } from '../protocol/worker';
import { detectWasmFeatures, type WasmFeatures } from './features';
import { WasmGemm } from './wasmGemm';

export { detectWasmFeatures, type WasmFeatures } from './features';
export { DEFAULT_PARALLEL_THRESHOLD } from './wasmGemm';
export { lowerThreadPriority } from './priority';
/** Which kernel runs: WebAssembly with relaxed SIMD, with plain SIMD, or TypeScript. */
export type { KernelPath } from '../protocol/worker';

export interface GemmEngineOptions {
  /** Threads including the calling one (default 1; the TypeScript path always uses 1). */
  threads?: number;
  /** Force a kernel (tests, benchmarks); `auto` (default) takes the best available. */
  path?: KernelPath | 'auto';
  /** Turn on V8's relaxed-SIMD flag when only the flag is missing (Node 20). Default true. */
  enableRelaxedFlag?: boolean;
  /** Products with fewer multiply-adds than this stay on the calling thread. */
  parallelThreshold?: number;
  /** Nice value for the helper threads, so they yield to a UI thread (Linux only; default 0). */
  helperNice?: number;
}

export interface GemmEngine {
  /** The product, synchronous (it blocks the calling thread: call it from a worker). */
  readonly gemm: Gemm;
  /**
   * The product with a matrix from `prepare` (any PreparedMatrix works: a `panels` matrix made
   * elsewhere is copied in per product, like an ordinary array given to `gemm`).
   */
  readonly gemmPrepared: PreparedGemm;
  /**
   * Lays out b (k x n, row-major: a weight matrix) once in the form this kernel multiplies
   * fastest, so products with it skip rearranging it each time. b is handed over: its memory
   * may become the prepared matrix's (WebAssembly: an `alloc`ated b with n a multiple of 8 is
   * rearranged in place; otherwise b is released once copied), so afterwards use the result,
   * and give it back with `release(result.data)`, never b. The TypeScript path returns b itself
   * (`rows`). Throws with b untouched when kernel memory cannot hold the result.
   */
  prepare(b: Float32Array, k: number, n: number): PreparedMatrix;
  readonly path: KernelPath;
  readonly threads: number;
  readonly features: WasmFeatures;
  /**
   * A float32 array the kernel can use in place (no copy per product). Load weights into these
   * to save a copy of each matrix per run; ordinary arrays work too.
   */
  alloc(length: number): Float32Array;
  /**
   * The filter `name` over `data` in place, in float32 SIMD where this kernel has it (the tanh
   * GELU and SiLU on WebAssembly); false, with data untouched, where the core's float64 filter is
   * to be used.
   */
  activate(name: PlainActivation, data: Float32Array): boolean;
  /** Gives an `alloc`ated array back. It must not be used afterwards. */
  release(array: Float32Array): void;
  /** Called between column chunks of a threaded product; true abandons it with a cancelled error. */
  cancelCheck: (() => boolean) | undefined;
  /** How the latest threaded product was split across threads (undefined for the TypeScript path). */
  splitStats(): { chunks: number; finished: number; byCaller: number } | undefined;
  /**
   * Resolves when the helper threads are up. A thread boots only while its parent's event loop
   * runs; products before then are correct but computed by the calling thread alone.
   */
  ready(): Promise<void>;
  /** Stops helper threads. */
  dispose(): Promise<void>;
}

/** The path `auto` resolves to with these features. */
export function bestPath(features: WasmFeatures): KernelPath {
  // The module imports a shared memory, so both WebAssembly paths need it.
  if (!features.sharedMemory) return 'ts';
  if (features.relaxedSimd) return 'relaxed-simd';
  if (features.simd) return 'simd';
  return 'ts';
}

/**
 * Builds a kernel. Throws when a forced path is not available here (so a test never silently
 * measures another kernel).
 */
export function createGemmEngine(options: GemmEngineOptions = {}): GemmEngine {
  const features = detectWasmFeatures({ enableRelaxedFlag: options.enableRelaxedFlag });
  const wanted = options.path ?? 'auto';
  const path = wanted === 'auto' ? bestPath(features) : wanted;
  if (path !== 'ts' && !features.sharedMemory) throw new Error('shared WebAssembly memory is not available in this engine');
  if (path === 'relaxed-simd' && !features.relaxedSimd) throw new Error('relaxed SIMD is not available in this engine');
  if (path === 'simd' && !features.simd) throw new Error('WebAssembly SIMD is not available in this engine');
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  if (path === 'ts') {
    return {
      gemm: tsGemm,
      gemmPrepared: tsGemmPrepared,
      prepare: (b, k, n) => {
        if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || b.length !== k * n) {
          throw new FfnLensError(`prepare: b has ${b.length} values, expected ${k} x ${n}`);
        }
        return { k, n, layout: 'rows', data: b };
      },
      path,
      threads: 1,
      features,
      alloc: (length) => new Float32Array(length),
      activate: () => false,
      release: () => undefined,
      cancelCheck: undefined,
      splitStats: () => undefined,
      ready: async () => undefined,
      dispose: async () => undefined,
    };
  }
  const wasm = new WasmGemm({ relaxed: path === 'relaxed-simd', threads, parallelThreshold: options.parallelThreshold, helperNice: options.helperNice });
  return {
    gemm: wasm.gemm,
    gemmPrepared: wasm.gemmPrepared,
    prepare: (b, k, n) => wasm.prepare(b, k, n),
    path,
    threads: wasm.threads,
    features,
    alloc: (length) => wasm.memory.alloc(length),
    activate: (name, data) => wasm.activate(name, data),
    release: (array) => wasm.memory.release(array),
    get cancelCheck() {
      return wasm.cancelCheck;
    },
    set cancelCheck(check) {
      wasm.cancelCheck = check;
    },
    splitStats: () => wasm.splitStats(),
    ready: () => wasm.ready(),
    dispose: () => wasm.dispose(),
  };
}
