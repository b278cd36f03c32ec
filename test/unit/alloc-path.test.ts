/**
 * The no-copy path: `forward`, `loadLayer` and `runLayer` with an allocator (the worker passes
 * the matrix kernel's `alloc`) give exactly what they give without one, and really use it.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { forward } from '../../src/core/ffn';
import type { FfnWeights } from '../../src/core/types';
import { openSource } from '../../src/formats/open';
import { createGemmEngine, type GemmEngine } from '../../src/kernels';
import { findLayers, loadLayer } from '../../src/layers';
import { runLayer } from '../../src/pipeline';
import type { RunRequest, RunResult } from '../../src/protocol/run';
import { safetensorsBytes, tempDir, writeFixture } from '../helpers/binaryWriters';

const D = 24;
const F = 40;
const T = 5;

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** An allocator over `engine.alloc` that counts calls and floats, and remembers what it gave. */
function counting(engine: GemmEngine): { alloc: (n: number) => Float32Array; calls: number; floats: number; given: Float32Array[]; releaseAll: () => void } {
  const c = {
    calls: 0,
    floats: 0,
    given: [] as Float32Array[],
    alloc: (n: number): Float32Array => {
      c.calls++;
      c.floats += n;
      const a = engine.alloc(n);
      a.fill(NaN); // unspecified contents: everything the code relies on must be written
      c.given.push(a);
      return a;
    },
    releaseAll: (): void => {
      for (const a of c.given) engine.release(a);
      c.given = [];
    },
  };
  return c;
}

const sameBits = (a: Float32Array, b: Float32Array, what: string): void =>
  assert.deepStrictEqual(Array.from(new Uint32Array(a.slice().buffer)), Array.from(new Uint32Array(b.slice().buffer)), what);

/** The result without its timings (they differ run to run). */
function comparable(r: RunResult): Omit<RunResult, 'timings'> {
  const { timings: _timings, ...rest } = r;
  return rest;
}

describe('no-copy path: arrays from the kernel allocator', () => {
  let engine: GemmEngine;
  let dir = '';
  before(() => {
    engine = createGemmEngine({ threads: 1 });
    dir = tempDir('alloc-path');
  });
  after(async () => {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const activation of ['relu', 'swiglu'] as const) {
    it(`forward (${activation}) with alloc gives the same trace, every array allocated`, () => {
      const w: FfnWeights = {
        dModel: D,
        dFf: F,
        activation,
        w1: Float32Array.from(values(D * F, 1, 0.3)),
        b1: Float32Array.from(values(F, 2, 0.1)),
        w2: Float32Array.from(values(F * D, 3, 0.3)),
        b2: Float32Array.from(values(D, 4, 0.1)),
      };
      if (activation === 'swiglu') w.wGate = Float32Array.from(values(D * F, 5, 0.3));
      const x = Float32Array.from(values(T * D, 6));
      const plain = forward(w, x, T, { gemm: engine.gemm });
      const a = counting(engine);
      const viaAlloc = forward(w, x, T, { gemm: engine.gemm, alloc: a.alloc });
      for (const k of ['input', 'preActivation', 'hidden', 'output', 'up'] as const) {
        const p = plain[k];
        const q = viaAlloc[k];
        if (!p || !q) {
          assert.strictEqual(p, q, `${k} present in both or neither`);
          continue;
        }
        sameBits(q, p, k);
        assert.ok(a.given.includes(q), `${k} came from the allocator`);
      }
      const gated = activation === 'swiglu';
      assert.strictEqual(a.calls, gated ? 5 : 4);
      assert.strictEqual(a.floats, T * D * 2 + T * F * (gated ? 3 : 2));
      assert.notStrictEqual(viaAlloc.input, x, 'the input is copied, never aliased');
      a.releaseAll();
    });
  }

  /** A GPT-2-style F32 [in,out] layer (read straight into the allocation) and a LLaMA-style F16 [out,in] one (transposed into it). */
  const files = (): { plain: string; gated: string } => ({
    plain: writeFixture(dir, 'gpt2.safetensors', safetensorsBytes([
      { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [D, F], values: values(D * F, 11, 0.3) },
      { name: 'h.0.mlp.c_fc.bias', dtype: 'F32', shape: [F], values: values(F, 12, 0.1) },
      { name: 'h.0.mlp.c_proj.weight', dtype: 'F32', shape: [F, D], values: values(F * D, 13, 0.3) },
      { name: 'h.0.mlp.c_proj.bias', dtype: 'F32', shape: [D], values: values(D, 14, 0.1) },
    ])),
    gated: writeFixture(dir, 'llama.safetensors', safetensorsBytes([
      { name: 'model.layers.0.mlp.gate_proj.weight', dtype: 'F16', shape: [F, D], values: values(D * F, 21, 0.3) },
      { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'BF16', shape: [F, D], values: values(D * F, 22, 0.3) },
      { name: 'model.layers.0.mlp.down_proj.weight', dtype: 'F16', shape: [D, F], values: values(F * D, 23, 0.3) },
    ])),
  });

  it('loadLayer with alloc: the same weights, all in kernel memory', async () => {
    const { plain, gated } = files();
    for (const file of [plain, gated]) {
      const source = await openSource(file);
      try {
        const spec = findLayers(source.tensors, source.hints, file)[0];
        const want = await loadLayer(source, spec);
        const a = counting(engine);
        const got = await loadLayer(source, spec, { alloc: a.alloc });
        for (const k of ['w1', 'b1', 'wGate', 'bGate', 'w2', 'b2'] as const) {
          const p = want[k];
          const q = got[k];
          if (!p || !q) {
            assert.strictEqual(p, q, `${k} present in both or neither`);
            continue;
          }
          sameBits(q, p, `${file}: ${k}`);
          assert.ok(a.given.includes(q), `${k} came from the allocator`);
        }
        assert.strictEqual(a.calls, spec.kind === 'gated' ? 3 : 4);
        a.releaseAll();
      } finally {
        await source.close();
      }
    }
  });

  it('runLayer with alloc gives an identical result whose arrays are its own', async () => {
    const { plain, gated } = files();
    for (const file of [plain, gated]) {
      const req: RunRequest = { file, inputs: { kind: 'random', tokens: T, seed: 3 } };
      const without = await runLayer(req, { gemm: engine.gemm });
      const a = counting(engine);
      const withAlloc = await runLayer(req, { gemm: engine.gemm, alloc: a.alloc });
      assert.deepStrictEqual(comparable(withAlloc), comparable(without));
      const gatedLayer = withAlloc.layer.kind === 'gated';
      // Weights (3 matrices, or 2 and their biases) plus the trace (x, pre, hidden, output, up when gated).
      const weights = gatedLayer ? 3 * D * F : 2 * D * F + F + D;
      const trace = T * D * 2 + T * F * (gatedLayer ? 3 : 2);
      assert.strictEqual(a.floats, weights + trace, 'floats allocated');
      for (const k of ['input', 'preActivation', 'hidden', 'output'] as const) {
        assert.ok(withAlloc[k].buffer instanceof ArrayBuffer, `${k} is in an ordinary (transferable) buffer`);
        assert.ok(!a.given.includes(withAlloc[k]), `${k} is a copy`);
      }
      // Releasing (and scribbling over) the allocations leaves the result intact.
      const before = Array.from(withAlloc.output);
      for (const g of a.given) g.fill(0);
      a.releaseAll();
      assert.deepStrictEqual(Array.from(withAlloc.output), before);
    }
  });
});
