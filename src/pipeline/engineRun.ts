/**
 * runLayer on a matrix kernel (a GemmEngine from src/kernels): the one compute path of every
 * entry point. The CLI, the compute worker and the benchmarks all run a layer this way:
 * weights decoded straight into kernel memory in the core's layout, laid out once for the kernel
 * (in place), the trace in kernel memory too, and everything given back when the run settles.
 * With `held` (the worker) the whole layer is kept for a later run; without it (a one-shot run:
 * the CLI) the layer streams through one matrix of memory. No `vscode` import.
 */
import { isFfnLensError } from '../core/errors';
import type { Gemm, PreparedGemm } from '../core/gemm';
import type { FfnWeights, PreparedMatrix } from '../core/types';
import type { GemmEngine } from '../kernels';
import type { RunRequest, RunResult } from '../protocol/run';
import { prepareWeights, type HeldWeights, type WeightsUse } from './heldWeights';
import { runLayer, type MatrixStream, type RunOptions } from './runLayer';

/** Which compute path ran, as `run --json` reports it. */
export type EngineName = 'wasm' | 'ts';

/** `wasm` for both WebAssembly kernels (relaxed SIMD or plain SIMD), else `ts`. */
export function engineName(engine: Pick<GemmEngine, 'path'>): EngineName {
  return engine.path === 'ts' ? 'ts' : 'wasm';
}

export interface EngineRunOptions extends Pick<RunOptions, 'signal' | 'onProgress' | 'computeReady'> {
  /** The engine's products as the caller wants them run (the worker's are cancellable); default the engine's own. */
  gemm?: Gemm;
  gemmPrepared?: PreparedGemm;
  /** Keeps the layer's prepared weights after the run (the worker's last layer); default: release them. */
  held?: HeldWeights;
}

/**
 * Runs `req` on `engine`. Arrays that kernel memory cannot take (past WebAssembly's 4 GiB) fall
 * back to ordinary ones, which the products copy in; the result's arrays are always the caller's.
 */
export async function runLayerOnEngine(req: RunRequest, engine: GemmEngine, opts: EngineRunOptions = {}): Promise<RunResult> {
  const trace: Float32Array[] = [];
  let loading: Float32Array[] | undefined;
  let using: WeightsUse | undefined;
  let ownWeights: Float32Array[] = [];
  const alloc = (length: number): Float32Array => {
    let array: Float32Array;
    try {
      array = engine.alloc(length);
    } catch (e) {
      if (!(isFfnLensError(e) && e.kind === 'budget')) throw e;
      return new Float32Array(length);
    }
    (loading ?? trace).push(array);
    return array;
  };
  const weights = async (key: string, load: () => Promise<FfnWeights>): Promise<{ weights: FfnWeights; reused: boolean }> => {
    const held = opts.held;
    using = held?.take(key);
    if (using) return { weights: using.weights, reused: true };
    held?.drop(); // before reading the next layer, so the two never both take memory
    const arrays: Float32Array[] = [];
    loading = arrays;
    try {
      const loaded = await load();
      // Laid out once for the kernel, in place, after the kernel has warmed up (which has the
      // packing code optimised); the norms of w2's rows are kept for the analysis.
      await opts.computeReady;
      const prepared = prepareWeights(loaded, arrays, engine);
      if (held) using = held.hold(key, prepared, arrays);
      else ownWeights = arrays;
      return { weights: prepared, reused: false };
    } catch (e) {
      for (const array of arrays) engine.release(array);
      throw e;
    } finally {
      loading = undefined;
    }
  };
  const EMPTY = new Float32Array(0);
  // A one-shot run streams the layer: each matrix laid out for the kernel as it is read and
  // given back after its product, so the next reuses memory that is already mapped.
  const stream: MatrixStream = {
    prepare: (plain, k, n) => {
      const i = trace.indexOf(plain);
      if (i >= 0) trace.splice(i, 1); // the supply owns it now
      let prepared: PreparedMatrix;
      try {
        prepared = engine.prepare(plain, k, n);
      } catch (e) {
        if (!(isFfnLensError(e) && e.kind === 'budget')) throw e;
        prepared = { k, n, layout: 'rows', data: plain };
      }
      return { plain: prepared.layout === 'rows' ? prepared.data : EMPTY, prepared };
    },
    release: (supply) => {
      const data = supply.prepared?.data ?? supply.plain;
      const i = trace.indexOf(data);
      if (i >= 0) trace.splice(i, 1); // decoded straight into panels: given back here, not with the trace
      engine.release(data);
    },
    panels: engine.path !== 'ts',
  };
  try {
    return await runLayer(req, {
      signal: opts.signal,
      onProgress: opts.onProgress,
      computeReady: opts.computeReady,
      gemm: opts.gemm ?? engine.gemm,
      gemmPrepared: opts.gemmPrepared ?? engine.gemmPrepared,
      activate: (name, data) => engine.activate(name, data),
      alloc,
      ...(opts.held ? { weights } : { stream }),
    });
  } finally {
    for (const array of trace) engine.release(array);
    for (const array of ownWeights) engine.release(array);
    using?.done();
  }
}
