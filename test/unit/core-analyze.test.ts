import * as assert from 'assert';
import { analyze, DEFAULT_SMOOTH_THRESHOLD, DEFAULT_TOP_K } from '../../src/core/analyze';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import { ActivationName, FfnTrace } from '../../src/core/types';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

/**
 * A trace built directly (analyze only reads it): d_model 1, w2 a column, so ||row i of w2|| = |w2[i]|.
 * `hidden` is given explicitly; `pre` is what the silencing rule looks at.
 */
function trace(activation: ActivationName, pre: number[], hidden: number[], tokens = 1): FfnTrace {
  const dFf = pre.length / tokens;
  return {
    tokens,
    dModel: 1,
    dFf,
    activation,
    input: new Float32Array(tokens).fill(1),
    preActivation: f32(pre),
    hidden: f32(hidden),
    output: new Float32Array(tokens),
  };
}

function expectError(fn: () => unknown, kind: string, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFfnLensError(e), String(e));
    assert.strictEqual((e as FfnLensError).kind, kind);
    assert.strictEqual((e as FfnLensError).message, message);
    return true;
  });
}

describe('core/analyze', () => {
  it('exports its defaults', () => {
    assert.strictEqual(DEFAULT_TOP_K, 5);
    assert.strictEqual(DEFAULT_SMOOTH_THRESHOLD, 0.01);
  });

  describe('silencing', () => {
    it('relu: exactly pre <= 0, -0 silenced, NaN not, the threshold option ignored', () => {
      const pre = [-0, 0, 1e-30, -1e-30, NaN, 0.5];
      const a = analyze(trace('relu', pre, pre.map((p) => (p > 0 || Number.isNaN(p) ? p : 0))), f32([1, 1, 1, 1, 1, 1]), { threshold: 0.9 });
      assert.strictEqual(a.threshold, 0);
      // silenced: -0, 0, -1e-30 -> 3 of 6; 1e-30, NaN and 0.5 fire.
      assert.strictEqual(a.perToken[0].sparsity, 3 / 6);
      assert.deepStrictEqual(Array.from(a.neurons.firingRate), [0, 0, 1, 0, 1, 1]);
      assert.deepStrictEqual(a.neurons.dead, [0, 1, 3]);
    });

    it('reglu looks at the gate pre-activation, not at hidden', () => {
      // hidden is act(gate)·up; up = 0 on unit 0 makes hidden 0 although the gate is open.
      const a = analyze(trace('reglu', [2, -1], [0, 0]), f32([1, 1]));
      assert.strictEqual(a.perToken[0].sparsity, 1 / 2);
      assert.deepStrictEqual(a.neurons.dead, [1]);
    });

    it('smooth filters: |act(pre)| <= threshold, default 0.01', () => {
      // silu(-7) = -7/(1+e^7) = -0.00637 (silenced), silu(-5) = -0.0335 (not), silu(0) = 0 (silenced), silu(NaN) fires.
      const pre = [-7, -5, 0, NaN];
      const a = analyze(trace('silu', pre, [0, 0, 0, 0]), f32([1, 1, 1, 1]));
      assert.strictEqual(a.threshold, 0.01);
      assert.deepStrictEqual(Array.from(a.neurons.firingRate), [0, 1, 0, 1]);
      // threshold 0.05 also silences silu(-5)
      assert.strictEqual(analyze(trace('silu', pre, [0, 0, 0, 0]), f32([1, 1, 1, 1]), { threshold: 0.05 }).perToken[0].sparsity, 3 / 4);
      // threshold 0: only the exact zero
      assert.strictEqual(analyze(trace('silu', pre, [0, 0, 0, 0]), f32([1, 1, 1, 1]), { threshold: 0 }).perToken[0].sparsity, 1 / 4);
      // gelu(-3) = -0.00405 (silenced), gelu(-2) = -0.0455 (not)
      assert.deepStrictEqual(Array.from(analyze(trace('geglu', [-3, -2], [0, 0]), f32([1, 1])).neurons.firingRate), [0, 1]);
    });

    it('firing rates and overall sparsity over tokens', () => {
      // 3 tokens x 2 units; pre rows: [1, -1], [-1, -1], [2, -3] -> unit 0 fires 2/3, unit 1 never.
      const a = analyze(trace('relu', [1, -1, -1, -1, 2, -3], [1, 0, 0, 0, 2, 0], 3), f32([1, 1]));
      assert.deepStrictEqual(Array.from(a.neurons.firingRate), [Math.fround(2 / 3), 0]);
      assert.deepStrictEqual(a.neurons.dead, [1]);
      assert.strictEqual(a.sparsity, 4 / 6);
      assert.deepStrictEqual(a.perToken.map((t) => t.sparsity), [0.5, 1, 0.5]);
    });
  });

  describe('top neurons', () => {
    it('ranks by |hidden| x ||w2 row||, Inf first, NaN last, ties to the lower index', () => {
      // scores: u0 |−2|·1 = 2, u1 NaN, u2 1·2 = 2, u3 Inf·1 = Inf, u4 3·0 = 0, u5 0.5·4 = 2
      const a = analyze(trace('relu', [1, 1, 1, 1, 1, 1], [-2, NaN, 1, Infinity, 3, 0.5]), f32([1, 1, 2, 1, 0, -4]), { topK: 6 });
      assert.deepStrictEqual(a.perToken[0].topNeurons.map((n) => n.index), [3, 0, 2, 5, 4, 1]);
      assert.deepStrictEqual(a.perToken[0].topNeurons.slice(0, 4).map((n) => [n.value, n.score]), [[Infinity, Infinity], [-2, 2], [1, 2], [0.5, 2]]);
    });

    it('topK 0 lists nothing; the default is 5', () => {
      const h = [1, 2, 3, 4, 5, 6, 7];
      assert.deepStrictEqual(analyze(trace('relu', h, h), f32(h), { topK: 0 }).perToken[0].topNeurons, []);
      assert.deepStrictEqual(analyze(trace('relu', h, h), f32(h)).perToken[0].topNeurons.map((n) => n.index), [6, 5, 4, 3, 2]);
    });

    it('agrees with a full sort on random rows with many ties', () => {
      let s = 7;
      const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
      for (let trial = 0; trial < 30; trial++) {
        const dFf = 1 + Math.floor(rand() * 300);
        const k = Math.floor(rand() * 12);
        // values from a small set so scores tie often
        const hidden = Array.from({ length: dFf }, () => Math.floor(rand() * 7) - 3);
        const w2 = Array.from({ length: dFf }, () => Math.floor(rand() * 3));
        const got = analyze(trace('relu', hidden, hidden), f32(w2), { topK: k }).perToken[0].topNeurons.map((n) => n.index);
        const want = hidden
          .map((h, i) => ({ i, score: Math.abs(h) * Math.abs(w2[i]) }))
          .sort((x, y) => y.score - x.score || x.i - y.i)
          .slice(0, k)
          .map((x) => x.i);
        assert.deepStrictEqual(got, want, `trial ${trial}`);
      }
    });
  });

  it('uses the given token labels', () => {
    const a = analyze(trace('relu', [1, 2], [1, 2], 2), f32([1]), { tokens: ['The', ' cat'] });
    assert.deepStrictEqual(a.perToken.map((t) => t.token), ['The', ' cat']);
  });

  describe('errors', () => {
    const t = trace('silu', [1, 2], [1, 2]);
    it('mismatched w2, labels or trace', () => {
      expectError(() => analyze(t, f32([1])), 'input', 'w2 has 1 values but the layer needs d_ff x d_model = 2 x 1 = 2');
      expectError(() => analyze(t, f32([1, 1]), { tokens: ['a', 'b'] }), 'input', 'there are 2 token labels for 1 tokens');
      expectError(() => analyze({ ...t, hidden: f32([1]) }, f32([1, 1])), 'input', "the trace's hidden has 1 values, expected 2");
    });
    it('bad options', () => {
      expectError(() => analyze(t, f32([1, 1]), { topK: -1 }), 'usage', 'top-k must be a whole number of at least 0, got -1');
      expectError(() => analyze(t, f32([1, 1]), { topK: 1.5 }), 'usage', 'top-k must be a whole number of at least 0, got 1.5');
      expectError(() => analyze(t, f32([1, 1]), { threshold: -0.1 }), 'usage', 'the sparsity threshold must be a finite number of at least 0, got -0.1');
      expectError(() => analyze(t, f32([1, 1]), { threshold: NaN }), 'usage', 'the sparsity threshold must be a finite number of at least 0, got NaN');
    });
  });
});
