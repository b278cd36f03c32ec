import * as assert from 'assert';
import { closeTo, referenceFfn, refActivation, refErf } from '../helpers/reference';

// The reference checks the CLI, so it is checked itself: against published values and the hand layer.
describe('pipeline: the float64 reference used by the CLI tests', () => {
  it('erf matches tabulated values to 1e-14', () => {
    // Abramowitz & Stegun / mpmath values.
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, want] of table) assert.ok(Math.abs(refErf(x) - want) < 1e-14, `erf(${x}) = ${refErf(x)}, want ${want}`);
  });

  it('activations match their formulas at known points', () => {
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-13;
    assert.ok(near(refActivation('gelu')(1), 0.8413447460685429));
    assert.ok(near(refActivation('gelu')(-2), -0.04550026389635842));
    assert.ok(near(refActivation('gelu_tanh')(1), 0.8411919906082768));
    assert.ok(near(refActivation('silu')(1), 0.7310585786300049));
    assert.strictEqual(refActivation('relu')(-3), 0);
    assert.strictEqual(refActivation('reglu')(2.5), 2.5);
  });

  it('runs the hand ReLU layer exactly', () => {
    const r = referenceFfn(
      { w1: [[1, -1, 0.5], [2, 1, -1]], b1: [0, 0.5, -1], w2: [[1, 0], [0, 2], [-1, 1]], b2: [0.5, -0.5] },
      [[1, 1], [-1, 2]],
      { activation: 'relu', topK: 2, threshold: 0 },
    );
    assert.deepStrictEqual(r.output, [[3.5, 0.5], [3.5, 6.5]]);
    assert.deepStrictEqual(r.pre, [[3, 0.5, -1.5], [3, 3.5, -3.5]]);
    assert.deepStrictEqual(r.dead, [2]);
    assert.deepStrictEqual(r.firingRate, [1, 1, 0]);
    assert.deepStrictEqual(r.perToken[1].top.map((t) => t.index), [1, 0]);
    assert.strictEqual(r.perToken[0].norms.expanded, Math.sqrt(11.5));
    assert.strictEqual(r.sparsity, 1 / 3);
  });

  it('gates: hidden = act(gate) x up, sparsity from the gate alone', () => {
    const r = referenceFfn(
      { w1: [[2, 3]], wGate: [[1, -1]], w2: [[1], [1]] },
      [[1]],
      { activation: 'swiglu', topK: 2, threshold: 0.3 },
    );
    const silu = (x: number): number => x / (1 + Math.exp(-x));
    assert.deepStrictEqual(r.hidden, [[silu(1) * 2, silu(-1) * 3]]);
    // |silu(-1)| = 0.269 <= 0.3 although |hidden_1| = 0.807 > 0.3
    assert.deepStrictEqual(r.silenced, [[false, true]]);
  });

  it('closeTo is relative above 1 and absolute below', () => {
    assert.ok(closeTo(1000.09, 1000));
    assert.ok(!closeTo(1000.2, 1000));
    assert.ok(closeTo(0.00005, 0));
    assert.ok(!closeTo(0.0002, 0));
  });
});
