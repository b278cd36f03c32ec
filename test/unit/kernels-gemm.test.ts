import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import { createGemmEngine, detectWasmFeatures, type GemmEngine } from '../../src/kernels';
import { assertClose, describeEngines, KERNEL_PATHS as PATHS, reference, values } from '../helpers/products';

// m x k x n: most not multiples of the 4 x 8 tile, and some that cross the 96 x 1536 packing
// blocks in k and n.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [128, 64, 96],
  [9, 300, 270],
  [6, 513, 17],
  [5, 100, 1601],
];

const features = detectWasmFeatures();

describe('kernels: GEMM', () => {
  it('finds WebAssembly SIMD and relaxed SIMD in this Node', () => {
    // Node 20 has SIMD natively and relaxed SIMD behind a flag the detector turns on.
    assert.ok(features.simd, 'SIMD');
    assert.ok(features.relaxedSimd, 'relaxed SIMD');
    assert.ok(features.sharedMemory, 'shared memory');
  });

  it('ships a gemm.wasm.ts assembled from the current gemm.wat', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { render } = require('../../scripts/buildWasm.js') as { render: () => Promise<string> };
    const committed = fs.readFileSync(path.join(__dirname, '../../src/kernels/gemm.wasm.ts'), 'utf8');
    assert.ok(committed === (await render()), 'src/kernels/gemm.wasm.ts is stale: run `node scripts/buildWasm.js`');
  });

  describeEngines((t) => {
    const { kernel, threads } = t;

    it('reports the kernel it was asked for', () => {
      assert.strictEqual(t.engine.path, kernel);
      assert.strictEqual(t.engine.threads, threads);
    });

    for (const [m, k, n] of SHAPES) {
      for (const withBias of [false, true]) {
        it(`${m}x${k}x${n}${withBias ? ' + bias' : ''} matches float64 within 1e-5 relative`, () => {
          const a = values(m * k, m * 31 + k);
          const b = values(k * n, n * 17 + k);
          const bias = withBias ? values(n, n + 5) : undefined;
          assertClose(t.engine.gemm(a, b, m, k, n, undefined, bias), reference(a, b, m, k, n, bias), kernel);
        });
      }
    }

    it('overwrites a given output instead of accumulating, and returns it', () => {
      const a = values(5 * 9, 1);
      const b = values(9 * 11, 2);
      const out = new Float32Array(5 * 11).fill(99);
      assert.strictEqual(t.engine.gemm(a, b, 5, 9, 11, out), out);
      assertClose(out, reference(a, b, 5, 9, 11), kernel);
    });

    it('works in place on arrays allocated in kernel memory', () => {
      const [m, k, n] = [7, 40, 19];
      const a = t.engine.alloc(m * k);
      const b = t.engine.alloc(k * n);
      const bias = t.engine.alloc(n);
      const out = t.engine.alloc(m * n);
      a.set(values(m * k, 3));
      b.set(values(k * n, 4));
      bias.set(values(n, 5));
      assert.strictEqual(t.engine.gemm(a, b, m, k, n, out, bias), out);
      assertClose(out, reference(a, b, m, k, n, bias), kernel);
      for (const x of [a, b, bias, out]) t.engine.release(x);
    });

    it('propagates NaN and Inf, even through a zero of a (0 · NaN = NaN)', () => {
      // a = [[0, 1]], b = [[NaN, Inf, 1], [1, 1, 1]]
      const r = t.engine.gemm(Float32Array.of(0, 1), Float32Array.of(NaN, Infinity, 1, 1, 1, 1), 1, 2, 3);
      assert.ok(Number.isNaN(r[0]) && Number.isNaN(r[1]), `got ${Array.from(r)}`);
      assert.strictEqual(r[2], 1);
    });

    it('handles empty dimensions: k = 0 gives the bias', () => {
      assert.deepStrictEqual(Array.from(t.engine.gemm(new Float32Array(0), new Float32Array(0), 2, 0, 2, undefined, Float32Array.of(3, -1))), [3, -1, 3, -1]);
      assert.deepStrictEqual(Array.from(t.engine.gemm(new Float32Array(0), new Float32Array(0), 0, 3, 0)), []);
    });

    it('refuses buffers whose length does not match the shape', () => {
      assert.throws(() => t.engine.gemm(new Float32Array(5), new Float32Array(6), 2, 3, 2), (e: unknown) => isFfnLensError(e) && /a has 5 values/.test(e.message));
    });
  });

  describe('helper threads', () => {
    let engine: GemmEngine | undefined;
    after(() => engine?.dispose());

    it('compute every chunk right when the calling thread leaves them all to the helper', async function () {
      if (!PATHS.includes('simd')) this.skip();
      const e = createGemmEngine({ path: 'simd', threads: 2, parallelThreshold: 0 });
      engine = e;
      await e.ready();
      const [m, k, n] = [13, 270, 1001];
      const a = values(m * k, 11);
      const b = values(k * n, 12);
      const bias = values(n, 13);
      const nap = new Int32Array(new SharedArrayBuffer(4));
      // The caller checks for cancellation before each chunk it takes: wait there until the
      // helper has finished every chunk (it may still be starting up).
      e.cancelCheck = () => {
        const until = Date.now() + 10000;
        for (let s = e.splitStats(); s && s.finished < s.chunks && Date.now() < until; s = e.splitStats()) Atomics.wait(nap, 0, 0, 10);
        return false;
      };
      const c = e.gemm(a, b, m, k, n, undefined, bias);
      e.cancelCheck = undefined;
      const split = e.splitStats();
      assert.ok(split && split.chunks > 1 && split.byCaller === 0, `split ${JSON.stringify(split)}`);
      assertClose(c, reference(a, b, m, k, n, bias), 'helper');
    });
  });

  describe('threaded product, cancelled between chunks', () => {
    let engine: GemmEngine | undefined;
    after(() => engine?.dispose());

    it('throws a cancelled error, and the next product is right', async function () {
      if (!PATHS.includes('simd')) this.skip();
      engine = createGemmEngine({ path: 'simd', threads: 2, parallelThreshold: 0 });
      await engine.ready();
      const [m, k, n] = [8, 64, 4096];
      const a = values(m * k, 8);
      const b = values(k * n, 9);
      engine.cancelCheck = () => true;
      assert.throws(() => engine?.gemm(a, b, m, k, n), (e: unknown) => e instanceof FfnLensError && e.kind === 'cancelled');
      engine.cancelCheck = undefined;
      assertClose(engine.gemm(a, b, m, k, n), reference(a, b, m, k, n), 'after cancel');
    });
  });
});
