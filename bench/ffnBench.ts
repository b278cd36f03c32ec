/**
 * FFN Lens's forward pass on the benchmark shapes, in this thread, as the pipeline runs it in the
 * worker: weights resident in kernel memory (the loader decodes straight into `engine.alloc`
 * arrays) and prepared once (engine.prepare: packed in place into the micro-kernel's panels, so no
 * product packs B), the trace allocated in kernel memory too. For comparison, timed in the same
 * rounds: the previous path (the same weights unprepared: every product packs B block by block),
 * the trace in fresh ordinary arrays, the products alone, and (A and B) weights in ordinary
 * arrays (each product then copies its matrix in). Also how long preparing a layer takes.
 */
import { w2RowNorms } from '../src/core/analyze';
import { forward } from '../src/core/ffn';
import type { FfnWeights } from '../src/core/types';
import type { GemmEngine } from '../src/kernels';
import { fill, median, type FfnCase } from './shapes';

export interface FfnTiming {
  name: string;
  /** ms per forward with prepared weights, as the worker runs it; one entry per timed repetition (or batch, for tiny shapes) */
  preparedMs: number[];
  /** the same with the weights unprepared (each product packs B itself: the path before prepare) */
  residentMs: number[];
  /** prepared weights, the trace in fresh ordinary arrays (forward without `alloc`) */
  freshTraceMs: number[];
  /** the same weights in ordinary Float32Arrays, unprepared (A and B only) */
  copyInMs?: number[];
  /** the matrix products alone, into preallocated outputs (no fresh arrays, no activation): prepared, and unprepared */
  gemmOnlyPreparedMs: number[];
  gemmOnlyMs: number[];
  /** ms to prepare the layer's matrices (in place), median of a few */
  prepareMs: number;
  /** ms for the norms of w2's rows, which the worker computes before preparing w2 (median of 3) */
  normsMs: number;
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

/** Matrices of `w` prepared by `engine`, as the worker's prepareWeights leaves them (copies: `w` stays as it is). */
function preparedCopy(w: FfnWeights, engine: GemmEngine): { weights: FfnWeights; ms: number } {
  const copy = (a: Float32Array): Float32Array => {
    const b = engine.alloc(a.length);
    b.set(a);
    return b;
  };
  const [w1, wGate, w2] = [copy(w.w1), w.wGate && copy(w.wGate), copy(w.w2)];
  const t0 = performance.now();
  const prepared = { w1: engine.prepare(w1, w.dModel, w.dFf), wGate: wGate && engine.prepare(wGate, w.dModel, w.dFf), w2: engine.prepare(w2, w.dFf, w.dModel) };
  const ms = performance.now() - t0;
  const empty = new Float32Array(0);
  const weights: FfnWeights = { ...w, w1: empty, w2: empty, prepared: { w1: prepared.w1, w2: prepared.w2 } };
  if (prepared.wGate && weights.prepared) {
    weights.wGate = empty;
    weights.prepared.wGate = prepared.wGate;
  }
  return { weights, ms };
}

function release(w: FfnWeights, engine: GemmEngine): void {
  for (const a of [w.w1, w.w2, w.wGate, w.b1, w.b2]) if (a) engine.release(a);
}

/** Gives back the prepared matrices of a preparedCopy (its biases are the original's). */
function releasePrepared(w: FfnWeights, engine: GemmEngine): void {
  for (const a of [w.prepared?.w1.data, w.prepared?.wGate?.data, w.prepared?.w2.data]) if (a) engine.release(a);
}

/**
 * ms per run of each job, timed round-robin (one run of each per round, so a burst of load from
 * elsewhere hits them all alike) after a warm-up; tiny shapes are timed in batches so the clock
 * resolves them.
 */
function timeRounds(jobs: (() => unknown)[], rounds: number, batch: number): number[][] {
  for (const job of jobs) for (let i = 0; i < Math.min(3, rounds) * batch; i++) job();
  const out = jobs.map((): number[] => []);
  for (let r = 0; r < Math.ceil(rounds / batch); r++) {
    jobs.forEach((job, j) => {
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) job();
      out[j].push((performance.now() - t0) / batch);
    });
  }
  return out;
}

/** One forward of `w`: the trace in kernel memory (released after) or, without `useAlloc`, in fresh arrays. */
function forwardJob(c: FfnCase, w: FfnWeights, x: Float32Array, engine: GemmEngine, useAlloc: boolean): () => unknown {
  const held: Float32Array[] = [];
  const alloc = (n: number): Float32Array => {
    const a = engine.alloc(n);
    held.push(a);
    return a;
  };
  const kernels = { gemm: engine.gemm, gemmPrepared: engine.gemmPrepared };
  return () => {
    if (!useAlloc) return forward(w, x, c.T, kernels);
    const trace = forward(w, x, c.T, { ...kernels, alloc });
    for (const a of held) engine.release(a);
    held.length = 0;
    return trace;
  };
}

/** Just the products forward makes, writing into reused output arrays. */
function gemmsJob(c: FfnCase, w: FfnWeights, x: Float32Array, engine: GemmEngine): () => void {
  const { T, d, f } = c;
  const [h, g, y] = [new Float32Array(T * f), new Float32Array(T * f), new Float32Array(T * d)];
  const p = w.prepared;
  if (p) {
    return () => {
      engine.gemmPrepared(x, p.w1, T, h, w.b1);
      if (p.wGate) engine.gemmPrepared(x, p.wGate, T, g);
      engine.gemmPrepared(h, p.w2, T, y, w.b2);
    };
  }
  return () => {
    engine.gemm(x, w.w1, T, d, f, h, w.b1);
    if (w.wGate) engine.gemm(x, w.wGate, T, d, f, g);
    engine.gemm(h, w.w2, T, f, d, y, w.b2);
  };
}

export function benchFfn(c: FfnCase, engine: GemmEngine): FfnTiming {
  const x = fill(new Float32Array(c.T * c.d), 6);
  const resident = weightsFor(c, (n) => engine.alloc(n));
  // Preparing: a few times on fresh copies (each prepare consumes its copy).
  const prepareRuns: number[] = [];
  let prepared: FfnWeights | undefined;
  for (let i = 0; i < 3; i++) {
    if (prepared) releasePrepared(prepared, engine);
    const p = preparedCopy(resident, engine);
    prepareRuns.push(p.ms);
    prepared = p.weights;
  }
  const normsRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    w2RowNorms(resident.w2, c.f, c.d);
    normsRuns.push(performance.now() - t0);
  }
  const pw = prepared as FfnWeights;
  const batch = c.T * c.d * c.f < 1e6 ? 100 : 1;
  const [preparedMs, residentMs, freshTraceMs, gemmOnlyPreparedMs, gemmOnlyMs] = timeRounds(
    [
      forwardJob(c, pw, x, engine, true),
      forwardJob(c, resident, x, engine, true),
      forwardJob(c, pw, x, engine, false),
      gemmsJob(c, pw, x, engine),
      gemmsJob(c, resident, x, engine),
    ],
    c.reps,
    batch,
  );
  releasePrepared(pw, engine);
  release(resident, engine);
  const result: FfnTiming = { name: c.name, preparedMs, residentMs, freshTraceMs, gemmOnlyPreparedMs, gemmOnlyMs, prepareMs: median(prepareRuns), normsMs: median(normsRuns) };
  if (!c.gated && c.name !== 'C') {
    const plain = weightsFor(c, (n) => new Float32Array(n));
    [result.copyInMs] = timeRounds([forwardJob(c, plain, x, engine, false)], Math.max(3, Math.ceil(c.reps / 3)), 1);
  }
  return result;
}
