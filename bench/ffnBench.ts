/**
 * FFN Lens's forward pass on the benchmark shapes, in this thread, with the weights resident in
 * kernel memory (as a loader decoding straight into `engine.alloc` arrays would leave them) and,
 * for A and B, also as ordinary arrays (each product then copies its weight matrix in first).
 */
import { forward } from '../src/core/ffn';
import type { FfnWeights } from '../src/core/types';
import type { GemmEngine } from '../src/kernels';
import { fill, type FfnCase } from './shapes';

export interface FfnTiming {
  name: string;
  /** ms per forward pass, one entry per timed repetition (or batch, for tiny shapes) */
  residentMs: number[];
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
function time(c: FfnCase, w: FfnWeights, x: Float32Array, engine: GemmEngine, reps: number): number[] {
  const run = (): unknown => forward(w, x, c.T, { gemm: engine.gemm });
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
  const residentMs = time(c, resident, x, engine, c.reps);
  const gemmOnlyMs = timeGemms(c, resident, x, engine, c.reps);
  release(resident, engine);
  const result: FfnTiming = { name: c.name, residentMs, gemmOnlyMs };
  if (!c.gated && c.name !== 'C') {
    const plain = weightsFor(c, (n) => new Float32Array(n));
    result.copyInMs = time(c, plain, x, engine, Math.max(3, Math.ceil(c.reps / 3)));
  }
  return result;
}
