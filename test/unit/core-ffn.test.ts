import * as assert from 'assert';
import { analyze } from '../../src/core/analyze';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import { forward } from '../../src/core/ffn';
import { Gemm, gemm } from '../../src/core/gemm';
import { ACTIVATIONS, ActivationName, FfnWeights } from '../../src/core/types';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

/** Element-wise |a - b| <= tol · max(1, |b|): relative for |b| >= 1, absolute below. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}[${i}]: got ${a}, expected ${b}`);
  }
}

function expectInputError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFfnLensError(e), `not an FfnLensError: ${String(e)}`);
    assert.strictEqual((e as FfnLensError).kind, 'input');
    assert.strictEqual((e as FfnLensError).message, message);
    return true;
  });
}

// The hand-worked ReLU layer: d_model 2, d_ff 3, two tokens.
//   W1 = [[1, -1, 0.5],      b1 = [0.5, -1, 0]
//         [0,  1, -2 ]]
//   W2 = [[2,  0],           b2 = [0.25, -0.5]
//         [1, -1],
//         [3,  4]]
//   t0 = [1, 2], t1 = [-1, 0.5]
const reluLayer = (): FfnWeights => ({
  dModel: 2,
  dFf: 3,
  activation: 'relu',
  w1: f32([1, -1, 0.5, 0, 1, -2]),
  b1: f32([0.5, -1, 0]),
  w2: f32([2, 0, 1, -1, 3, 4]),
  b2: f32([0.25, -0.5]),
});
const reluInput = f32([1, 2, -1, 0.5]);

describe('core/ffn', () => {
  describe('a 2-token ReLU layer worked by hand', () => {
    const trace = forward(reluLayer(), reluInput, 2);

    it('expands: pre = x·W1 + b1', () => {
      // t0: [1·1 + 2·0 + 0.5, 1·(-1) + 2·1 - 1, 1·0.5 + 2·(-2) + 0] = [1.5, 0, -3.5]
      // t1: [-1·1 + 0.5·0 + 0.5, -1·(-1) + 0.5·1 - 1, -1·0.5 + 0.5·(-2) + 0] = [-0.5, 0.5, -1.5]
      assert.deepStrictEqual(Array.from(trace.preActivation), [1.5, 0, -3.5, -0.5, 0.5, -1.5]);
      assert.strictEqual(trace.up, undefined);
    });

    it('filters: hidden = relu(pre)', () => {
      assert.deepStrictEqual(Array.from(trace.hidden), [1.5, 0, 0, 0, 0.5, 0]);
    });

    it('condenses: out = hidden·W2 + b2', () => {
      // t0: 1.5·[2, 0] + [0.25, -0.5] = [3.25, -0.5];  t1: 0.5·[1, -1] + [0.25, -0.5] = [0.75, -1]
      assert.deepStrictEqual(Array.from(trace.output), [3.25, -0.5, 0.75, -1]);
      assert.deepStrictEqual(Array.from(trace.input), [1, 2, -1, 0.5]);
      assert.deepStrictEqual([trace.tokens, trace.dModel, trace.dFf, trace.activation], [2, 2, 3, 'relu']);
    });

    const analysis = analyze(trace, reluLayer().w2, { topK: 2 });

    it('sparsity: pre <= 0 is silenced (pre = 0 included)', () => {
      // t0 silences units 1 (pre 0) and 2 (pre -3.5); t1 silences 0 and 2.
      assert.strictEqual(analysis.threshold, 0);
      assert.deepStrictEqual(analysis.perToken.map((t) => t.sparsity), [2 / 3, 2 / 3]);
      assert.strictEqual(analysis.sparsity, 4 / 6);
    });

    it('firing rate and dead neurons', () => {
      // unit 0 fires on t0 only, unit 1 on t1 only, unit 2 never.
      assert.deepStrictEqual(Array.from(analysis.neurons.firingRate), [0.5, 0.5, 0]);
      assert.deepStrictEqual(analysis.neurons.dead, [2]);
    });

    it('norms of input, expanded, filtered and output rows', () => {
      const n0 = analysis.perToken[0].norms;
      // t0: |[1,2]| = √5, |[1.5,0,-3.5]| = √14.5, |[1.5,0,0]| = 1.5, |[3.25,-0.5]| = √10.8125
      assertClose([n0.input, n0.expanded, n0.filtered, n0.output], [Math.sqrt(5), Math.sqrt(14.5), 1.5, Math.sqrt(10.8125)], 1e-12, 't0 norms');
      const n1 = analysis.perToken[1].norms;
      // t1: |[-1,0.5]| = √1.25, |[-0.5,0.5,-1.5]| = √2.75, 0.5, |[0.75,-1]| = 1.25
      assertClose([n1.input, n1.expanded, n1.filtered, n1.output], [Math.sqrt(1.25), Math.sqrt(2.75), 0.5, 1.25], 1e-12, 't1 norms');
    });

    it('top neurons by |hidden| x ||W2 row||, ties to the lower index', () => {
      // ||W2 rows|| = [2, √2, 5].
      // t0 scores [1.5·2, 0, 0] = [3, 0, 0]: unit 0, then the tie 1 vs 2 goes to 1.
      const t0 = analysis.perToken[0].topNeurons;
      assert.deepStrictEqual(t0.map((n) => [n.index, n.value]), [[0, 1.5], [1, 0]]);
      assertClose(t0.map((n) => n.score), [3, 0], 1e-12, 't0 scores');
      // t1 scores [0, 0.5·√2, 0]: unit 1, then the tie 0 vs 2 goes to 0.
      const t1 = analysis.perToken[1].topNeurons;
      assert.deepStrictEqual(t1.map((n) => [n.index, n.value]), [[1, 0.5], [0, 0]]);
      assertClose(t1.map((n) => n.score), [Math.SQRT2 / 2, 0], 1e-12, 't1 scores');
    });

    it('labels tokens t0..t{T-1} by default, and lists at most d_ff neurons', () => {
      const all = analyze(trace, reluLayer().w2);
      assert.deepStrictEqual(all.perToken.map((t) => t.token), ['t0', 't1']);
      assert.deepStrictEqual(all.perToken[0].topNeurons.map((n) => n.index), [0, 1, 2]);
    });
  });

  describe('gated layers worked by hand', () => {
    // d_model 2, d_ff 3, one token x = [1, -1].
    //   Wg = [[1, 0, -10], [0, 1, 10]], bg = [0, 0.5, 0]  -> gate pre = [1, -0.5, -20]
    //   W1 (up) = [[2, 1, 1], [1, -1, 0]], b1 = [0.5, 0, 0] -> up = [1.5, 2, 1]
    //   W2 = [[1, 1], [2, 0], [0, 3]], no b2                -> out = [h0 + 2·h1, h0 + 3·h2]
    const layer = (activation: ActivationName): FfnWeights => ({
      dModel: 2,
      dFf: 3,
      activation,
      wGate: f32([1, 0, -10, 0, 1, 10]),
      bGate: f32([0, 0.5, 0]),
      w1: f32([2, 1, 1, 1, -1, 0]),
      b1: f32([0.5, 0, 0]),
      w2: f32([1, 1, 2, 0, 0, 3]),
    });
    // hidden = act(gate) ⊙ up, with act(1), act(-0.5), act(-20) from the closed forms:
    //   silu:      [0.7310585786300049·1.5, -0.18877033439907270·2, -4.122307236380407e-8·1]
    //   gelu:      [0.8413447460685429·1.5, -0.15426876936299344·2, -5.5e-88 (0 in float32)]
    //   gelu_tanh: [0.8411919906082768·1.5, -0.15428599017485606·2, ~ -1e-170 (0 in float32)]
    //   relu:      [1·1.5, 0, 0]
    const cases: Array<[ActivationName, number[], number[]]> = [
      ['swiglu', [1.0965878679450074, -0.3775406687981454, -4.122307236380407e-8], [0.3415065303487166, 1.0965877442757903]],
      ['geglu', [1.2620171191028144, -0.3085375387259869, 0], [0.6449420416508407, 1.2620171191028144]],
      ['geglu_tanh', [1.2617879859124153, -0.3085719803497121, 0], [0.644644025212991, 1.2617879859124153]],
      ['reglu', [1.5, 0, 0], [1.5, 1.5]],
    ];
    for (const [activation, hidden, output] of cases) {
      it(activation, () => {
        const t = forward(layer(activation), f32([1, -1]), 1);
        assert.deepStrictEqual(Array.from(t.preActivation), [1, -0.5, -20]);
        assert.deepStrictEqual(Array.from(t.up ?? []), [1.5, 2, 1]);
        // float32 storage: 1e-7 relative, and silu(-20) keeps its 4e-8 (checked to 1e-7 of it).
        assertClose(t.hidden, hidden, 1e-7, `${activation} hidden`);
        if (activation === 'swiglu') assert.ok(Math.abs(t.hidden[2] / hidden[2] - 1) < 1e-6);
        assertClose(t.output, output, 1e-7, `${activation} output`);
      });
    }
    it('sparsity looks at the gate: reglu exactly, smooth gates against 0.01', () => {
      // reglu: gate pre [1, -0.5, -20] -> units 1 and 2 silenced.
      const r = analyze(forward(layer('reglu'), f32([1, -1]), 1), layer('reglu').w2);
      assert.strictEqual(r.perToken[0].sparsity, 2 / 3);
      // swiglu: |silu| = [0.73, 0.189, 4e-8] -> only unit 2 under 0.01, although |hidden_1| = 0.38.
      const s = analyze(forward(layer('swiglu'), f32([1, -1]), 1), layer('swiglu').w2);
      assert.strictEqual(s.threshold, 0.01);
      assert.strictEqual(s.perToken[0].sparsity, 1 / 3);
      assert.deepStrictEqual(s.neurons.dead, [2]);
      // with threshold 0.2 unit 1 (|silu(-0.5)| = 0.189) is silenced as well.
      assert.strictEqual(analyze(forward(layer('swiglu'), f32([1, -1]), 1), layer('swiglu').w2, { threshold: 0.2 }).perToken[0].sparsity, 2 / 3);
    });
  });

  describe('against a float64 reference on random shapes', () => {
    /** A small LCG, so the test's data does not depend on the code under test. */
    function lcg(seed: number): () => number {
      let s = seed >>> 0;
      return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 4294967296;
      };
    }
    function refErf(x: number): number {
      let term = x;
      let sum = x;
      for (let n = 1; n < 400 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
        term *= (2 * x * x) / (2 * n + 1);
        sum += term;
      }
      return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
    }
    const refAct: Record<string, (x: number) => number> = {
      relu: (x) => Math.max(0, x),
      gelu: (x) => 0.5 * x * (1 + refErf(x / Math.SQRT2)),
      gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
      silu: (x) => x / (1 + Math.exp(-x)),
    };
    const plainOf: Record<ActivationName, string> = {
      relu: 'relu', gelu: 'gelu', gelu_tanh: 'gelu_tanh', silu: 'silu',
      reglu: 'relu', geglu: 'gelu', geglu_tanh: 'gelu_tanh', swiglu: 'silu',
    };
    /** Naive triple loop in double: out[m x n] = a·b + bias. */
    function refMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, bias?: ArrayLike<number>): Float64Array {
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = bias ? bias[j] : 0;
          for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
          out[i * n + j] = s;
        }
      }
      return out;
    }

    const rand = lcg(12345);
    const normalish = (): number => (rand() + rand() + rand() + rand() - 2) * 1.7;
    const fill = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => normalish() * scale);

    for (let trial = 0; trial < 24; trial++) {
      const activation = ACTIVATIONS[trial % ACTIVATIONS.length];
      const T = 1 + Math.floor(rand() * 5);
      const dModel = 1 + Math.floor(rand() * 24);
      const dFf = 1 + Math.floor(rand() * 64);
      const withBias = trial % 3 !== 0;
      it(`${activation}: T=${T}, d_model=${dModel}, d_ff=${dFf}${withBias ? ', biases' : ''}`, () => {
        const gated = plainOf[activation] !== activation;
        const w: FfnWeights = {
          dModel,
          dFf,
          activation,
          w1: fill(dModel * dFf, 1 / Math.sqrt(dModel)),
          w2: fill(dFf * dModel, 1 / Math.sqrt(dFf)),
          ...(withBias ? { b1: fill(dFf, 0.5), b2: fill(dModel, 0.5) } : {}),
          ...(gated ? { wGate: fill(dModel * dFf, 1 / Math.sqrt(dModel)), ...(withBias ? { bGate: fill(dFf, 0.5) } : {}) } : {}),
        };
        const x = fill(T * dModel, 1);
        const act = refAct[plainOf[activation]];
        const pre = refMatmul(x, gated ? (w.wGate as Float32Array) : w.w1, T, dModel, dFf, gated ? w.bGate : w.b1);
        const up = gated ? refMatmul(x, w.w1, T, dModel, dFf, w.b1) : undefined;
        const hidden = pre.map((p, i) => act(p) * (up ? up[i] : 1));
        const out = refMatmul(hidden, w.w2, T, dFf, dModel, w.b2);

        const t = forward(w, x, T);
        assertClose(t.preActivation, pre, 1e-4, 'preActivation');
        if (up) assertClose(t.up ?? [], up, 1e-4, 'up');
        assertClose(t.hidden, hidden, 1e-4, 'hidden');
        assertClose(t.output, out, 1e-4, 'output');
      });
    }
  });

  describe('NaN, Inf and options', () => {
    it('NaN and Inf flow through a token without touching the others', () => {
      const t = forward(reluLayer(), f32([NaN, 2, -1, 0.5]), 2);
      assert.ok(Array.from(t.preActivation.subarray(0, 3)).every(Number.isNaN));
      assert.ok(Array.from(t.output.subarray(0, 2)).every(Number.isNaN));
      assert.deepStrictEqual(Array.from(t.output.subarray(2)), [0.75, -1]);
      const inf = forward(reluLayer(), f32([Infinity, 0, -1, 0.5]), 2);
      // pre t0 = [Inf, -Inf, Inf] (0·w terms are finite here), hidden [Inf, 0, Inf]
      assert.deepStrictEqual(Array.from(inf.hidden.subarray(0, 3)), [Infinity, 0, Infinity]);
      assert.deepStrictEqual(Array.from(inf.output.subarray(2)), [0.75, -1]);
    });

    it('uses the given kernel and keeps its own copy of the input', () => {
      let calls = 0;
      const counting: Gemm = (...args) => {
        calls++;
        return gemm(...args);
      };
      const x = reluInput.slice();
      const t = forward(reluLayer(), x, 2, { gemm: counting });
      assert.strictEqual(calls, 2);
      x[0] = 100;
      assert.strictEqual(t.input[0], 1);
      calls = 0;
      forward({ ...reluLayer(), activation: 'reglu', wGate: f32([1, 0, 0, 0, 1, 0]) }, reluInput, 2, { gemm: counting });
      assert.strictEqual(calls, 3);
    });
  });

  describe('errors', () => {
    it('input width', () => {
      expectInputError(() => forward({ ...reluLayer(), dModel: 4, w1: new Float32Array(12), w2: new Float32Array(12), b2: undefined }, new Float32Array(10), 2),
        "inputs have width 5 but the layer's d_model is 4");
      expectInputError(() => forward(reluLayer(), new Float32Array(5), 2), 'inputs have 5 values, which is not 2 tokens x d_model 2 = 4');
      expectInputError(() => forward(reluLayer(), new Float32Array(0), 0), 'the number of tokens must be a whole number of at least 1, got 0');
    });
    it('weight shapes', () => {
      const l = reluLayer();
      expectInputError(() => forward({ ...l, w1: new Float32Array(5) }, reluInput, 2), 'w1 has 5 values but the layer needs d_model x d_ff = 2 x 3 = 6');
      expectInputError(() => forward({ ...l, b1: new Float32Array(2) }, reluInput, 2), 'b1 has 2 values but the layer needs d_ff = 3');
      expectInputError(() => forward({ ...l, w2: new Float32Array(7) }, reluInput, 2), 'w2 has 7 values but the layer needs d_ff x d_model = 3 x 2 = 6');
      expectInputError(() => forward({ ...l, b2: new Float32Array(3) }, reluInput, 2), 'b2 has 3 values but the layer needs d_model = 2');
      const g = { ...l, activation: 'swiglu' as const, wGate: new Float32Array(6) };
      expectInputError(() => forward({ ...g, wGate: new Float32Array(4) }, reluInput, 2), 'the gate matrix has 4 values but the layer needs d_model x d_ff = 2 x 3 = 6');
      expectInputError(() => forward({ ...g, bGate: new Float32Array(1) }, reluInput, 2), 'the gate bias has 1 values but the layer needs d_ff = 3');
      expectInputError(() => forward({ ...g, w1: new Float32Array(1) }, reluInput, 2), 'the up matrix (w1) has 1 values but the layer needs d_model x d_ff = 2 x 3 = 6');
      expectInputError(() => forward({ ...l, dFf: 0 }, reluInput, 2), 'd_ff must be a whole number of at least 1, got 0');
      expectInputError(() => forward({ ...l, dModel: 2.5 }, reluInput, 2), 'd_model must be a whole number of at least 1, got 2.5');
    });
    it('gate and activation must agree', () => {
      const l = reluLayer();
      expectInputError(() => forward({ ...l, activation: 'swiglu' }, reluInput, 2), 'activation swiglu is gated and needs a gate matrix, but the layer has none');
      expectInputError(() => forward({ ...l, wGate: new Float32Array(6) }, reluInput, 2), 'the layer has a gate matrix but activation relu is not gated (the gated form is reglu)');
      expectInputError(() => forward({ ...l, activation: 'silu', bGate: new Float32Array(3) }, reluInput, 2), 'the layer has a gate bias but activation silu is not gated (the gated form is swiglu)');
      expectInputError(() => forward({ ...l, activation: 'tanh' as ActivationName }, reluInput, 2),
        "unknown activation 'tanh' (known: relu, gelu, gelu_tanh, silu, swiglu, geglu, geglu_tanh, reglu)");
    });
  });
});
