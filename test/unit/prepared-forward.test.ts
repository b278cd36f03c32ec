/**
 * Prepared weights through the layers above the kernel: `forward` with `prepared` matrices gives
 * what it gives with the plain ones; the worker's `prepareWeights` hands the matrices to the
 * kernel without a second copy and keeps the norms of w2's rows; `runLayer` with weights prepared
 * as the worker prepares them gives an identical result.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { analyze, analyzeWithNorms, preparedW2RowNorms, w2RowNorms } from '../../src/core/analyze';
import { isFfnLensError } from '../../src/core/errors';
import { forward, validateWeights } from '../../src/core/ffn';
import { packPanels } from '../../src/core/gemm';
import type { ActivationName, FfnTrace, FfnWeights, PreparedMatrix } from '../../src/core/types';
import { createGemmEngine, type GemmEngine } from '../../src/kernels';
import { runLayer } from '../../src/pipeline';
import { countNonFinite } from '../../src/pipeline/runLayer';
import type { RunRequest, RunResult } from '../../src/protocol/run';
import { prepareWeights } from '../../src/pipeline/heldWeights';
import { safetensorsBytes, tempDir, writeFixture } from '../helpers/binaryWriters';

// d_model not a multiple of 8 (w2's panels go to a new block), d_ff a multiple (w1 and the gate
// are rearranged in place), d_ff (w2's k) above the PANEL_KC-row blocks.
const D = 20;
const F = 600;
const T = 7;

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

function layer(activation: ActivationName, alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): FfnWeights {
  const put = (v: Float32Array): Float32Array => {
    const a = alloc(v.length);
    a.set(v);
    return a;
  };
  const w: FfnWeights = {
    dModel: D,
    dFf: F,
    activation,
    w1: put(values(D * F, 1, 0.4)),
    b1: put(values(F, 2, 0.1)),
    w2: put(values(F * D, 3, 0.2)),
    b2: put(values(D, 4, 0.1)),
  };
  if (activation === 'swiglu') {
    w.wGate = put(values(D * F, 5, 0.4));
    w.bGate = put(values(F, 6, 0.1));
  }
  return w;
}

/** Element-wise |a - b| <= 1e-5 · max(1, |b|). */
function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.strictEqual(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])))) assert.fail(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

function assertSameTrace(got: FfnTrace, want: FfnTrace, what: string): void {
  for (const k of ['input', 'preActivation', 'hidden', 'output', 'up'] as const) {
    const [g, w] = [got[k], want[k]];
    if (!g || !w) {
      assert.strictEqual(g, w, `${what}: ${k} in both or neither`);
      continue;
    }
    assertClose(g, w, `${what}: ${k}`);
  }
}

const ACTS: ActivationName[] = ['relu', 'gelu', 'swiglu'];

describe('prepared weights', () => {
  let engine: GemmEngine;
  before(async () => {
    // Two threads and no threshold: every product is split into column chunks.
    engine = createGemmEngine({ threads: 2, parallelThreshold: 0 });
    await engine.ready();
  });
  after(() => engine.dispose());

  describe('forward', () => {
    for (const activation of ACTS) {
      it(`${activation}: prepared in kernel memory (prepareWeights) gives the trace the plain weights give, within 1e-5`, () => {
        const x = values(T * D, 7);
        // Independent of the WebAssembly kernel: the TypeScript kernel on the plain matrices.
        const want = forward(layer(activation), x, T);
        const arrays: Float32Array[] = [];
        const loaded = layer(activation, (n) => {
          const a = engine.alloc(n);
          arrays.push(a);
          return a;
        });
        const norms = w2RowNorms(loaded.w2, F, D);
        const originals = [loaded.w1, loaded.wGate, loaded.w2];
        const w = prepareWeights(loaded, arrays, engine);
        assert.ok(w.prepared, 'prepared');
        assert.strictEqual(w.w1.length, 0, 'the plain w1 is given up');
        assert.strictEqual(w.w2.length, 0, 'the plain w2 is given up');
        if (activation === 'swiglu') assert.strictEqual(w.wGate?.length, 0, 'the plain gate is given up');
        assert.deepStrictEqual(w.w2RowNorms, norms, 'the norms of the original w2 rows');
        // The arrays to release name each prepared matrix once, and no longer the originals.
        for (const p of [w.prepared.w1, w.prepared.wGate, w.prepared.w2]) if (p) assert.strictEqual(arrays.filter((a) => a === p.data).length, 1);
        for (const o of originals) if (o) assert.ok(!arrays.includes(o));
        assert.strictEqual(new Set(arrays.map((a) => a.byteOffset)).size, arrays.length, 'no block is released twice');
        validateWeights(w);
        assertSameTrace(forward(w, x, T, { gemm: engine.gemm, gemmPrepared: engine.gemmPrepared }), want, 'engine');
        // Without the engine's kernel the TypeScript one reads the panels.
        assertSameTrace(forward(w, x, T), want, 'TypeScript kernel on panels');
        for (const a of arrays) engine.release(a);
      });
    }

    it('matrices sharing memory (tied weights) stay plain, with the norms kept', () => {
      const w = layer('swiglu', (n) => engine.alloc(n));
      const tied: FfnWeights = { ...w, wGate: w.w1 };
      const before = tied.w1.slice();
      const got = prepareWeights(tied, [tied.w1, tied.w2], engine);
      assert.strictEqual(got.prepared, undefined);
      assert.deepStrictEqual(got.w1, before, 'not rearranged');
      assert.deepStrictEqual(got.w2RowNorms, w2RowNorms(w.w2, F, D));
      for (const a of [w.w1, w.b1, w.w2, w.b2, w.wGate, w.bGate]) if (a) engine.release(a);
    });

    it('the TypeScript engine keeps its matrices as they are (rows)', () => {
      const ts = createGemmEngine({ path: 'ts' });
      const plain = layer('swiglu');
      const w = prepareWeights(layer('swiglu'), [], ts);
      assert.strictEqual(w.prepared?.w1.layout, 'rows');
      assert.deepStrictEqual(w.w1, plain.w1);
      const x = values(T * D, 8);
      assertSameTrace(forward(w, x, T, { gemmPrepared: ts.gemmPrepared }), forward(plain, x, T), 'ts');
    });

    it('refuses prepared matrices that do not fit the layer', () => {
      const w = layer('relu');
      const panels = (b: Float32Array, k: number, n: number): PreparedMatrix => ({ k, n, layout: 'panels', data: packPanels(b, k, n) });
      const ok = { w1: panels(w.w1, D, F), w2: panels(w.w2, F, D) };
      validateWeights({ ...w, w1: new Float32Array(0), w2: new Float32Array(0), prepared: ok });
      const bad = (prepared: FfnWeights['prepared'], message: RegExp): void =>
        assert.throws(() => validateWeights({ ...w, w1: new Float32Array(0), w2: new Float32Array(0), prepared }), (e: unknown) => isFfnLensError(e) && message.test(e.message));
      bad({ ...ok, w2: panels(w.w2, D, F) }, /w2 is prepared as 20 x 600 but the layer needs d_ff x d_model = 600 x 20/);
      bad({ ...ok, w1: { ...ok.w1, data: new Float32Array(5) } }, /w1 \(panels, 20 x 600\) has 5 values/);
      bad({ ...ok, wGate: ok.w1 }, /has a gate matrix but activation relu is not gated/);
      assert.throws(() => validateWeights({ ...w, activation: 'swiglu', prepared: ok }), /gated and needs a gate matrix/);
    });
  });

  describe('the norms of w2\'s rows', () => {
    it('analyzeWithNorms(w2RowNorms(w2)) and the norms read back from a prepared w2 give what analyze(w2) gives', () => {
      const w = layer('gelu');
      const trace = forward(w, values(T * D, 9), T);
      const want = analyze(trace, w.w2, { topK: 4 });
      assert.deepStrictEqual(analyzeWithNorms(trace, w2RowNorms(w.w2, F, D), { topK: 4 }), want);
      const prepared: PreparedMatrix = { k: F, n: D, layout: 'panels', data: packPanels(w.w2, F, D) };
      assert.deepStrictEqual(preparedW2RowNorms(prepared), w2RowNorms(w.w2, F, D));
    });

    it('rounded to float32, equal sqrt of the double sum of squares, also for zero, tiny, huge, NaN and Inf rows', () => {
      const n = 5;
      const rows = [
        [0, 0, 0, 0, 0],
        [1e-45, -1e-45, 0, 1e-40, 0],
        [3e38, -3e38, 3e38, 1, 0],
        [1, NaN, 2, Infinity, 0],
        [1, Infinity, -Infinity, 2, 0],
        [0.5, -0.25, 3, 7, -1e-20],
      ];
      const w2 = Float32Array.from(rows.flat());
      const plain = new Float32Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        let s = 0;
        for (let j = i * n; j < (i + 1) * n; j++) s += w2[j] * w2[j];
        plain[i] = Math.sqrt(s);
      }
      assert.deepStrictEqual(Float32Array.from(w2RowNorms(w2, rows.length, n)), plain);
    });
  });

  describe('runLayer with the layer prepared as the worker prepares it', () => {
    let dir = '';
    before(() => {
      dir = tempDir('prepared-run');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const comparable = (r: RunResult): Omit<RunResult, 'timings'> => {
      const { timings: _t, ...rest } = r;
      return rest;
    };
    const list = (v: Float32Array): number[] => Array.from(v);

    it('counts NaN and Inf anywhere in an array of any length (the finite fast path included)', () => {
      for (let n = 0; n <= 9; n++) {
        assert.deepStrictEqual(countNonFinite(values(n, n + 1)), { nan: 0, inf: 0 }, `finite, length ${n}`);
        for (let at = 0; at < n; at++) {
          for (const [bad, want] of [[NaN, { nan: 1, inf: 0 }], [Infinity, { nan: 0, inf: 1 }], [-Infinity, { nan: 0, inf: 1 }]] as const) {
            const a = values(n, at + 1);
            a[at] = bad;
            assert.deepStrictEqual(countNonFinite(a), want, `${bad} at ${at} of ${n}`);
          }
        }
      }
      assert.deepStrictEqual(countNonFinite(Float32Array.of(NaN, Infinity, 1, -Infinity, NaN, 3e38 * 10)), { nan: 2, inf: 3 });
    });

    it('gives an identical result (plain and gated layers, a NaN weight warned about the same)', async () => {
      const w2 = values(F * D, 13, 0.3);
      w2[5] = NaN;
      const files = [
        writeFixture(dir, 'gpt2.safetensors', safetensorsBytes([
          { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [D, F], values: list(values(D * F, 11, 0.3)) },
          { name: 'h.0.mlp.c_fc.bias', dtype: 'F32', shape: [F], values: list(values(F, 12, 0.1)) },
          { name: 'h.0.mlp.c_proj.weight', dtype: 'F32', shape: [F, D], values: list(w2) },
          { name: 'h.0.mlp.c_proj.bias', dtype: 'F32', shape: [D], values: list(values(D, 14, 0.1)) },
        ])),
        writeFixture(dir, 'llama.safetensors', safetensorsBytes([
          { name: 'model.layers.0.mlp.gate_proj.weight', dtype: 'F16', shape: [F, D], values: list(values(D * F, 21, 0.3)) },
          { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F32', shape: [F, D], values: list(values(D * F, 22, 0.3)) },
          { name: 'model.layers.0.mlp.down_proj.weight', dtype: 'F16', shape: [D, F], values: list(values(F * D, 23, 0.3)) },
        ])),
      ];
      for (const file of files) {
        const req: RunRequest = { file, inputs: { kind: 'random', tokens: T, seed: 3 }, topK: 6 };
        const want = await runLayer(req, { gemm: engine.gemm });
        const held: Float32Array[] = [];
        const alloc = (n: number): Float32Array => {
          const a = engine.alloc(n);
          held.push(a);
          return a;
        };
        let prepared: FfnWeights | undefined;
        const got = await runLayer(req, {
          gemm: engine.gemm,
          gemmPrepared: engine.gemmPrepared,
          alloc,
          weights: async (_key, load) => {
            const arrays: Float32Array[] = [];
            const w = await load();
            // what load allocated is in `held` too: track it apart for prepareWeights
            arrays.push(...held.splice(0));
            prepared = prepareWeights(w, arrays, engine);
            held.push(...arrays);
            return { weights: prepared, reused: false };
          },
        });
        assert.ok(prepared?.prepared && prepared.w2.length === 0, 'the run used prepared weights');
        // The same micro-kernel sums in the same order, packed per product or once: bit for bit.
        assert.deepStrictEqual(comparable(got), comparable(want));
        if (file.endsWith('gpt2.safetensors')) assert.ok(got.warnings.some((w) => /weight h\.0\.mlp\.c_proj\.weight has 1 NaN/.test(w)), got.warnings.join('; '));
        for (const a of held) engine.release(a);
      }
    });
  });
});
