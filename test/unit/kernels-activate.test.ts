/**
 * The engine's own filters (`act` in src/kernels/gemm.wat, GemmEngine.activate): the tanh GELU
 * and SiLU in float32 SIMD, against float64 values computed here from the formulas, on both
 * WebAssembly modules; the special values worked by hand; lengths that are not a multiple of 4 and
 * arrays outside kernel memory; and the filters it leaves to the core.
 */
import * as assert from 'assert';
import { createGemmEngine, detectWasmFeatures, type GemmEngine } from '../../src/kernels';

/** Float64, from the definitions: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) and x / (1 + e^−x). */
const GELU_TANH = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const SILU = (x: number): number => x / (1 + Math.exp(-x));

/** A seeded uniform stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const features = detectWasmFeatures();
const paths = (['simd', 'relaxed-simd'] as const).filter((p) => (p === 'simd' ? features.simd : features.relaxedSimd) && features.sharedMemory);

describe('kernels: the filters in float32 SIMD', () => {
  for (const path of paths) {
    describe(path, () => {
      let engine: GemmEngine;
      before(async () => {
        engine = createGemmEngine({ path, threads: 1 });
        await engine.ready();
      });
      after(() => engine.dispose());

      // The sigmoid's argument t (x for SiLU, exact; 2·√(2/π)(x + 0.044715x³) for the GELU, rounded
      // to float32 in three products) carries its own rounding, relative 2^-23·|t| at most, into
      // exp(t): so the GELU may be off by 4 + 1.5·|t| ulps where SiLU stays within 4.
      const slack = { gelu_tanh: (x: number) => 1.5 * Math.abs(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)), silu: () => 0 };
      for (const [name, ref] of [['gelu_tanh', GELU_TANH], ['silu', SILU]] as const) {
        it(`${name}: within 4 float32 ulps (plus its argument's rounding) of the float64 value where it is above 1e-3 in size, within 2e-6 absolute everywhere`, () => {
          const next = rng(name.length);
          const n = 100_003; // not a multiple of 4: the rest goes through the core
          const x = new Float32Array(n).map((_, i) => (next() - 0.5) * (i % 5 === 0 ? 60 : 12));
          const y = x.slice();
          assert.strictEqual(engine.activate(name, y), true);
          let worstUlps = 0;
          let worstAbs = 0;
          for (let i = 0; i < n; i++) {
            const want = ref(x[i]);
            const err = Math.abs(y[i] - want);
            worstAbs = Math.max(worstAbs, err);
            if (Math.abs(want) > 1e-3) worstUlps = Math.max(worstUlps, err / (Math.abs(want) * 2 ** -23) - slack[name](x[i]));
          }
          assert.ok(worstUlps <= 4, `worst ${worstUlps.toFixed(2)} ulps beyond the argument's rounding`);
          assert.ok(worstAbs <= 2e-6, `worst absolute error ${worstAbs}`);
        });
      }

      it('special values, worked by hand', () => {
        // x:               0   -0   +inf      -inf  NaN  1e-30     -1e-30     40  -40  -100 (rest)
        const x = Float32Array.of(0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 40, -40, -100, 2);
        for (const name of ['gelu_tanh', 'silu'] as const) {
          const y = x.slice();
          engine.activate(name, y);
          assert.ok(Object.is(y[0], 0) && Object.is(y[1], -0), `${name}: ±0 keep their sign`);
          assert.strictEqual(y[2], Infinity, `${name}(+inf) = +inf`);
          assert.ok(Object.is(y[3], 0) || Object.is(y[3], -0), `${name}(-inf) = 0, not NaN`);
          assert.ok(Number.isNaN(y[4]), `${name}(NaN) = NaN`);
          // near 0 both are x/2 (sigmoid(0) = 1/2)
          assert.strictEqual(y[5], Math.fround(5e-31));
          assert.strictEqual(y[6], Math.fround(-5e-31));
          assert.strictEqual(y[7], 40, `${name}(40) = 40 in float32 (the sigmoid rounds to 1)`);
          assert.ok(Math.abs(y[8]) < 1e-15 && y[8] <= 0, `${name}(-40) is a tiny negative number or -0: ${y[8]}`);
          assert.ok(Math.abs(y[9]) < 1e-36, `${name}(-100) flushes to (almost) 0: ${y[9]}`);
        }
        // silu(-40) = -40·e^-40 / (1 + e^-40) = -1.6993e-16: the tail keeps its relative accuracy
        const s = Float32Array.of(-40);
        engine.activate('silu', s);
        assert.ok(Math.abs(s[0] / (-40 * Math.exp(-40)) - 1) < 1e-6, `silu(-40) = ${s[0]}`);
      });

      it('an array in kernel memory is filtered in place, as an ordinary one is', () => {
        const next = rng(3);
        const plain = new Float32Array(70_001).map(() => (next() - 0.5) * 10);
        const resident = engine.alloc(plain.length);
        resident.set(plain);
        try {
          engine.activate('silu', plain);
          engine.activate('silu', resident);
          assert.deepStrictEqual(Array.from(resident), Array.from(plain));
        } finally {
          engine.release(resident);
        }
      });

      it('leaves relu and the exact GELU to the core (false, data untouched)', () => {
        for (const name of ['relu', 'gelu'] as const) {
          const y = Float32Array.of(-1, 1);
          assert.strictEqual(engine.activate(name, y), false);
          assert.deepStrictEqual(Array.from(y), [-1, 1]);
        }
      });
    });
  }

  it('the TypeScript engine has no filter of its own', () => {
    const ts = createGemmEngine({ path: 'ts' });
    const y = Float32Array.of(-1, 1);
    assert.strictEqual(ts.activate('silu', y), false);
    assert.deepStrictEqual(Array.from(y), [-1, 1]);
  });
});
