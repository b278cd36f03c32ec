// Prepared weight matrices (GemmEngine.prepare / gemmPrepared, the core's `panels` layout):
// products against an independent float64 product, on every kernel path, 1 and 2 threads.
import * as assert from 'assert';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import { gemmPrepared, packPanels, PANEL_KC, panelsLength, preparedRow } from '../../src/core/gemm';
import type { PreparedMatrix } from '../../src/core/types';
import { createGemmEngine, type GemmEngine } from '../../src/kernels';
import { assertClose, describeEngines, reference, values, WASM_PATHS as WASM } from '../helpers/products';

// m x k x n: m not a multiple of 4, n not a multiple of 8 (new allocation) or a multiple (in
// place), k below, at and not a multiple of the PANEL_KC-row blocks (odd too: pack_b packs rows
// in pairs), n below 8, and n across several column chunks and the 1536-column blocks.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [5, 95, 8],
  [7, PANEL_KC - 1, 9],
  [13, PANEL_KC + 1, 3],
  [4, PANEL_KC, 16],
  [17, 2 * PANEL_KC + 100, 264],
  [6, 200, 1601],
  [9, 130, 3200],
];


describe('kernels: prepared matrices', () => {
  it('runs on both WebAssembly paths here', () => {
    assert.deepStrictEqual(WASM, ['simd', 'relaxed-simd']);
  });

  describe('the panels layout (TypeScript)', () => {
    it('puts B[p][j] where PreparedMatrix says, zero past n', () => {
      const [k, n] = [PANEL_KC + 5, 11];
      const b = values(k * n, 3);
      const data = packPanels(b, k, n);
      const npad = 16;
      assert.strictEqual(data.length, k * npad);
      assert.strictEqual(panelsLength(k, n), k * npad);
      for (let p = 0; p < k; p++) {
        const k0 = p < PANEL_KC ? 0 : PANEL_KC;
        const kc = p < PANEL_KC ? PANEL_KC : 5;
        for (let j = 0; j < npad; j++) {
          const at = k0 * npad + Math.floor(j / 8) * kc * 8 + (p - k0) * 8 + (j % 8);
          assert.strictEqual(data[at], j < n ? b[p * n + j] : 0, `B[${p}][${j}]`);
        }
      }
    });

    it('is what the WebAssembly prepare writes, value for value', async function () {
      if (!WASM.includes('simd')) this.skip();
      const e = createGemmEngine({ path: 'simd' });
      try {
        for (const [k, n] of [[2 * PANEL_KC + 3, 24], [PANEL_KC + 1, 13]]) {
          const b = values(k * n, k + n);
          const want = packPanels(b, k, n);
          const inKernel = e.alloc(k * n);
          inKernel.set(b);
          for (const p of [e.prepare(inKernel, k, n), e.prepare(b.slice(), k, n)]) {
            assert.deepStrictEqual(Array.from(p.data), Array.from(want), `${k} x ${n}`);
            e.release(p.data);
          }
        }
      } finally {
        await e.dispose();
      }
    });

    it('reads rows back (preparedRow) for both layouts', () => {
      const [k, n] = [2 * PANEL_KC + 7, 13];
      const b = values(k * n, 4);
      for (const p of [{ k, n, layout: 'panels', data: packPanels(b, k, n) }, { k, n, layout: 'rows', data: b }] as PreparedMatrix[]) {
        for (const i of [0, 1, PANEL_KC - 1, PANEL_KC, k - 1]) assert.deepStrictEqual(Array.from(preparedRow(p, i)), Array.from(b.subarray(i * n, (i + 1) * n)), `${p.layout} row ${i}`);
      }
    });

    it('refuses a prepared matrix whose data does not fit its shape', () => {
      const bad: PreparedMatrix = { k: 3, n: 5, layout: 'panels', data: new Float32Array(15) };
      assert.throws(() => gemmPrepared(new Float32Array(6), bad, 2), (e: unknown) => isFfnLensError(e) && /has 15 values, expected 24/.test(e.message));
      const ok: PreparedMatrix = { k: 3, n: 5, layout: 'panels', data: new Float32Array(24) };
      assert.throws(() => gemmPrepared(new Float32Array(5), ok, 2), (e: unknown) => isFfnLensError(e) && /a has 5 values/.test(e.message));
    });
  });

  describeEngines((t) => {
    const { kernel } = t;

    for (const [m, k, n] of SHAPES) {
      for (const withBias of [false, true]) {
        it(`${m}x${k}x${n}${withBias ? ' + bias' : ''}: B prepared in kernel memory matches float64 within 1e-5 relative`, () => {
          const a = values(m * k, m * 31 + k);
          const plain = values(k * n, n * 17 + k);
          const bias = withBias ? values(n, n + 5) : undefined;
          const want = reference(a, plain, m, k, n, bias);
          const b = t.engine.alloc(k * n);
          b.set(plain);
          const p = t.engine.prepare(b, k, n);
          assert.strictEqual(p.layout, kernel === 'ts' ? 'rows' : 'panels');
          if (kernel !== 'ts' && n % 8 === 0) assert.strictEqual(p.data.byteOffset, b.byteOffset, 'rearranged in place');
          // Twice: a product must not disturb the prepared matrix.
          assertClose(t.engine.gemmPrepared(a, p, m, undefined, bias), want, kernel);
          const out = t.engine.alloc(m * n).fill(99);
          assert.strictEqual(t.engine.gemmPrepared(a, p, m, out, bias), out);
          assertClose(out, want, `${kernel}, into kernel memory`);
          t.engine.release(out);
          t.engine.release(p.data);
        });
      }
    }

    it('prepares an ordinary array too (copied into kernel memory), and leaves it as it was', () => {
      const [m, k, n] = [5, 150, 40];
      const a = values(m * k, 1);
      const b = values(k * n, 2);
      const copy = b.slice();
      const p = t.engine.prepare(b, k, n);
      assertClose(t.engine.gemmPrepared(a, p, m), reference(a, copy, m, k, n), kernel);
      if (kernel !== 'ts') assert.deepStrictEqual(b, copy, 'an ordinary array is read, not rearranged');
      t.engine.release(p.data);
    });

    it('multiplies a panels matrix made elsewhere (copied in per product) and a rows one', () => {
      const [m, k, n] = [6, 100, 21];
      const a = values(m * k, 5);
      const b = values(k * n, 6);
      const want = reference(a, b, m, k, n);
      assertClose(t.engine.gemmPrepared(a, { k, n, layout: 'panels', data: packPanels(b, k, n) }, m), want, 'panels');
      assertClose(t.engine.gemmPrepared(a, { k, n, layout: 'rows', data: b }, m), want, 'rows');
    });

    it('propagates NaN and Inf from the prepared matrix, even through a zero of a', () => {
      const b = t.engine.prepare(Float32Array.of(NaN, Infinity, 1, 1, 1, 1), 2, 3);
      const r = t.engine.gemmPrepared(Float32Array.of(0, 1), b, 1);
      assert.ok(Number.isNaN(r[0]) && Number.isNaN(r[1]), `got ${Array.from(r)}`);
      assert.strictEqual(r[2], 1);
      t.engine.release(b.data);
    });

    it('k = 0 gives the bias; m = 0 gives nothing', () => {
      const p = t.engine.prepare(new Float32Array(0), 0, 2);
      assert.deepStrictEqual(Array.from(t.engine.gemmPrepared(new Float32Array(0), p, 2, undefined, Float32Array.of(3, -1))), [3, -1, 3, -1]);
      const q = t.engine.prepare(values(6, 1), 3, 2);
      assert.deepStrictEqual(Array.from(t.engine.gemmPrepared(new Float32Array(0), q, 0)), []);
      t.engine.release(p.data);
      t.engine.release(q.data);
    });

    it('refuses a matrix whose length does not match the shape, and leaves it as it was', () => {
      const b = t.engine.alloc(10).fill(1);
      assert.throws(() => t.engine.prepare(b, 3, 4), (e: unknown) => isFfnLensError(e) && /10 values/.test(e.message));
      assert.deepStrictEqual(Array.from(b), new Array(10).fill(1));
      t.engine.release(b);
    });
  });

  describe('WebAssembly memory', () => {
    let engine: GemmEngine | undefined;
    after(() => engine?.dispose());

    it('in place: preparing a multiple-of-8-wide matrix takes no lasting memory; releasing it frees its block', async function () {
      if (!WASM.includes('simd')) this.skip();
      const e = createGemmEngine({ path: 'simd', threads: 1 });
      engine = e;
      const [k, n] = [1000, 2048];
      const b = e.alloc(k * n);
      b.set(values(k * n, 9));
      const after = e.alloc(16); // a block right after b
      const p = e.prepare(b, k, n);
      assert.strictEqual(p.data.byteOffset, b.byteOffset);
      assert.strictEqual(p.data.length, k * n);
      e.release(p.data);
      const again = e.alloc(k * n);
      assert.strictEqual(again.byteOffset, b.byteOffset, 'the block is free again');
      e.release(again);
      e.release(after);
    });

    it('with n not a multiple of 8, the old block is given back once the panels are written', async function () {
      if (!WASM.includes('simd')) this.skip();
      const e = createGemmEngine({ path: 'simd', threads: 1 });
      const [k, n] = [300, 1001];
      const b = e.alloc(k * n);
      b.set(values(k * n, 10));
      const p = e.prepare(b, k, n);
      assert.notStrictEqual(p.data.byteOffset, b.byteOffset);
      assert.strictEqual(p.data.length, panelsLength(k, n));
      const reuse = e.alloc(k * n);
      assert.strictEqual(reuse.byteOffset, b.byteOffset, "b's block was released");
      e.release(reuse);
      e.release(p.data);
      await e.dispose();
    });
  });

  describe('threads', () => {
    let engine: GemmEngine | undefined;
    afterEach(async () => {
      await engine?.dispose();
      engine = undefined;
    });

    it('a helper thread computes every chunk of a prepared product right when the caller leaves them all to it', async function () {
      if (!WASM.includes('relaxed-simd')) this.skip();
      const e = createGemmEngine({ path: 'relaxed-simd', threads: 2, parallelThreshold: 0 });
      engine = e;
      await e.ready();
      const [m, k, n] = [13, 270, 1001];
      const a = values(m * k, 11);
      const b = values(k * n, 12);
      const bias = values(n, 13);
      const want = reference(a, b, m, k, n, bias);
      const p = e.prepare(b, k, n);
      const nap = new Int32Array(new SharedArrayBuffer(4));
      e.cancelCheck = () => {
        const until = Date.now() + 10000;
        for (let s = e.splitStats(); s && s.finished < s.chunks && Date.now() < until; s = e.splitStats()) Atomics.wait(nap, 0, 0, 10);
        return false;
      };
      const c = e.gemmPrepared(a, p, m, undefined, bias);
      e.cancelCheck = undefined;
      const split = e.splitStats();
      assert.ok(split && split.chunks > 1 && split.byCaller === 0, `split ${JSON.stringify(split)}`);
      assertClose(c, want, 'helper');
      // The same engine's plain products still pack B themselves (the helper switches back).
      assertClose(e.gemm(a, b, m, k, n, undefined, bias), want, 'plain after prepared');
    });

    it('a prepared product cancelled between chunks throws a cancelled error, and the next one is right', async function () {
      if (!WASM.includes('simd')) this.skip();
      const e = createGemmEngine({ path: 'simd', threads: 2, parallelThreshold: 0 });
      engine = e;
      await e.ready();
      const [m, k, n] = [8, 64, 4096];
      const a = values(m * k, 8);
      const b = values(k * n, 9);
      const want = reference(a, b, m, k, n);
      const p = e.prepare(b, k, n);
      e.cancelCheck = () => true;
      assert.throws(() => e.gemmPrepared(a, p, m), (err: unknown) => err instanceof FfnLensError && err.kind === 'cancelled');
      e.cancelCheck = undefined;
      assertClose(e.gemmPrepared(a, p, m), want, 'after cancel');
    });
  });
});
