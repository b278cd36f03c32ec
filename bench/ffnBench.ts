/**
 * FFN Lens's forward pass on the benchmark shapes, in this thread, as the pipeline runs it in the
 * worker: weights resident in kernel memory (the loader decodes straight into `engine.alloc`
 * arrays) and the trace allocated there too. For comparison: the same with fresh ordinary trace
 * arrays, and (A and B) with weights in ordinary arrays (each product then copies its matrix in).
 */
import { forward } from '../src/core/ffn';
import type { FfnWeights } from '../src/core/types';
import type { GemmEngine } from '../src/kernels';
import { fill, type FfnCase } from './shapes';

export interface FfnTiming {
  name: string;
  /** ms per forward pass, one entry per timed repetition (or batch, for tiny shapes) */
  residentMs: number[];
  /** the same with the trace in fresh ordinary arrays (forward without `alloc`) */
  freshTraceMs: number[];
  /** the same with weights in ordinary Float32Arrays (A and B only) */
  copyInMs?: number[];
  /** the matrix products alone, into preallocated outputs (no fresh arrays, no activation) */
  gemmOnlyMs: number[];
}

function weightsFor(c: FfnCase, alloc: (n: number) => Float32Array): FfnWeights {
  const { d, f } = c;
  const w: FfnWeights = {
    dModel: d,
    dFf: f,
    activation: c.gated ? 'swiglu' : 'relu',
    w1: fill(alloc(d * f), 1, 1 / Math.sqrt(d)),
    w2: fill(alloc(f * d), 2, 1 / Math.sqrt(f)),
  };
  if (c.gated) w.wGate = fill(alloc(d * f), 3, 1 / Math.sqrt(d));
  else {
    w.b1 = fill(alloc(f), 4, 0.1);
    w.b2 = fill(alloc(d), 5, 0.1);
  }
  return w;
}

function release(w: FfnWeights, engine: GemmEngine): void {
  for (const a of [w.w1, w.w2, w.wGate, w.b1, w.b2]) if (a) engine.release(a);
}

/** ms per forward: `reps` timings; tiny shapes are timed in batches so the clock resolves them. */
function time(c: FfnCase, w: FfnWeights, x: Float32Array, engine: GemmEngine, reps: number, useAlloc: boolean): number[] {
  const held: Float32Array[] = [];
  const alloc = (n: number): Float32Array => {
    const a = engine.alloc(n);
    held.push(a);
    return a;
  };
  const run = (): unknown => {
    if (!useAlloc) return forward(w, x, c.T, { gemm: engine.gemm });
    const trace = forward(w, x, c.T, { gemm: engine.gemm, alloc });
    for (const a of held) engine.release(a);
    held.length = 0;
    return trace;
  };
  const batch = c.T * c.d * c.f < 1e6 ? 100 : 1;
  for (let i = 0; i < Math.min(3, reps) * batch; i++) run();
  const out: number[] = [];
  for (let r = 0; r < Math.ceil(reps / batch); r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) run();
    out.push((performance.now() - t0) / batch);
  }
  return out;
}

/** ms per pass of just the products forward makes, writing into reused output arrays. */
function timeGemms(c: FfnCase, w: FfnWeights, x: Float32Array, engine: GemmEngine, reps: number): number[] {
  const { T, d, f } = c;
  const [h, g, y] = [new Float32Array(T * f), new Float32Array(T * f), new Float32Array(T * d)];
  const run = (): void => {
    engine.gemm(x, w.w1, T, d, f, h, w.b1);
    if (w.wGate) engine.gemm(x, w.wGate, T, d, f, g);
    engine.gemm(h, w.w2, T, f, d, y, w.b2);
  };
  const batch = T * d * f < 1e6 ? 100 : 1;
  for (let i = 0; i < 3 * batch; i++) run();
  const out: number[] = [];
  for (let r = 0; r < Math.ceil(reps / batch); r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) run();
    out.push((performance.now() - t0) / batch);
  }
  return out;
}

export function benchFfn(c: FfnCase, engine: GemmEngine): FfnTiming {
  const x = fill(new Float32Array(c.T * c.d), 6);
  const resident = weightsFor(c, (n) => engine.alloc(n));
  const residentMs = time(c, resident, x, engine, c.reps, true);
  const freshTraceMs = time(c, resident, x, engine, c.reps, false);
  const gemmOnlyMs = timeGemms(c, resident, x, engine, c.reps);
  release(resident, engine);
  const result: FfnTiming = { name: c.name, residentMs, freshTraceMs, gemmOnlyMs };
  if (!c.gated && c.name !== 'C') {
    const plain = weightsFor(c, (n) => new Float32Array(n));
    result.copyInMs = time(c, plain, x, engine, Math.max(3, Math.ceil(c.reps / 3)), false);
  }
  return result;
}
