import * as assert from 'assert';
import {
  activateInPlace,
  erf,
  erfc,
  gateFunction,
  gateInPlace,
  gelu,
  geluInPlace,
  geluTanh,
  geluTanhInPlace,
  isGated,
  parseActivation,
  relu,
  reluInPlace,
  silu,
  siluInPlace,
  toGated,
  toPlain,
} from '../../src/core/activations';
import { ACTIVATIONS, GATED_ACTIVATIONS, PLAIN_ACTIVATIONS } from '../../src/core/types';

/** |actual - expected| <= tol · |expected| (or exact equality, for 0 and the infinities). */
function closeRel(actual: number, expected: number, tol: number, what: string): void {
  const ok = actual === expected || Math.abs(actual - expected) <= tol * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (relative tolerance ${tol})`);
}

/**
 * An erf independent of the code under test: erf(x) = 2/√π · e^(-x²) · Σ 2^n x^(2n+1) / (1·3·…·(2n+1)),
 * a series of positive terms (no cancellation) that converges for every x; fine for |x| <= 6.
 */
function seriesErf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 400 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

describe('core/activations', () => {
  describe('erf and erfc', () => {
    // Reference values: a libm erf/erfc (CPython's math module), not this code.
    const erfValues: Array<[number, number]> = [
      [0, 0],
      [1e-10, 1.1283791670955126e-10],
      [0.1, 0.1124629160182849],
      [0.3, 0.3286267594591274],
      [0.5, 0.5204998778130465],
      [-0.7, -0.6778011938374184],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
    ];
    for (const [x, want] of erfValues) {
      it(`erf(${x}) = ${want} to 1e-7 relative`, () => closeRel(erf(x), want, 1e-7, `erf(${x})`));
    }
    const erfcValues: Array<[number, number]> = [
      [-1, 1.842700792949715],
      [3, 2.2090496998585438e-5],
      [5, 1.5374597944280351e-12],
      [10, 2.088487583762545e-45],
    ];
    for (const [x, want] of erfcValues) {
      it(`erfc(${x}) = ${want} to 1.2e-7 relative`, () => closeRel(erfc(x), want, 1.2e-7, `erfc(${x})`));
    }
    it('agrees with an independent series on a grid over [-6, 6]', () => {
      for (let x = -6; x <= 6; x += 0.01) closeRel(erf(x), seriesErf(x), 1e-7, `erf(${x})`);
    });
    it('is odd, saturates and keeps NaN', () => {
      assert.strictEqual(erf(0.37), -erf(-0.37));
      assert.strictEqual(erf(Infinity), 1);
      assert.strictEqual(erf(-Infinity), -1);
      assert.strictEqual(erfc(Infinity), 0);
      assert.strictEqual(erfc(-Infinity), 2);
      assert.ok(Number.isNaN(erf(NaN)));
      assert.ok(Number.isNaN(erfc(NaN)));
    });
  });

  describe('scalars at chosen points', () => {
    // Expected values from closed forms evaluated in double precision outside this code base:
    // gelu(x) = x·Φ(x), gelu_tanh = 0.5x(1+tanh(√(2/π)(x+0.044715x³))), silu = x/(1+e^-x).
    const cases: Array<[string, (x: number) => number, number, number]> = [
      ['gelu', gelu, 1, 0.8413447460685429],
      ['gelu', gelu, -1, -0.15865525393145707],
      ['gelu', gelu, 2, 1.9544997361036416],
      ['gelu', gelu, -0.5, -0.15426876936299344],
      ['gelu', gelu, -3, -0.004049694094890287],
      ['gelu', gelu, 0.25, 0.14967658142073093],
      ['gelu', gelu, -30, -1.4720141781446293e-196],
      ['gelu_tanh', geluTanh, 1, 0.8411919906082768],
      ['gelu_tanh', geluTanh, 2, 1.954597694087775],
      ['gelu_tanh', geluTanh, -0.5, -0.15428599017485606],
      ['gelu_tanh', geluTanh, -3, -0.0036373920817729943],
      ['silu', silu, 1, 0.7310585786300049],
      ['silu', silu, -1, -0.2689414213699951],
      ['silu', silu, 2, 1.7615941559557646],
      ['silu', silu, -20, -4.122307236380407e-8],
    ];
    for (const [name, fn, x, want] of cases) {
      // gelu carries erfc's 1.2e-7; the others are closed forms, so only rounding is allowed.
      const tol = name === 'gelu' ? 1.2e-7 : 1e-14;
      it(`${name}(${x}) = ${want}`, () => closeRel(fn(x), want, tol, `${name}(${x})`));
    }
    it('relu', () => {
      assert.strictEqual(relu(3.5), 3.5);
      assert.strictEqual(relu(-2), 0);
      assert.strictEqual(relu(0), 0);
      assert.ok(Object.is(relu(-0), 0));
      assert.ok(Number.isNaN(relu(NaN)));
    });
    it('gelu_tanh and silu follow their formulas on a grid', () => {
      for (let x = -8; x <= 8; x += 0.05) {
        const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
        // Away from the deep negative tail, 1 + tanh(u) does not cancel badly.
        if (x > -3) closeRel(geluTanh(x), 0.5 * x * (1 + Math.tanh(u)), 1e-12, `gelu_tanh(${x})`);
        closeRel(silu(x), x / (1 + Math.exp(-x)), 1e-14, `silu(${x})`);
        // Below -3 the reference's 1 + erf cancels; the tail is checked at -3 and -30 above.
        if (x > -3) closeRel(gelu(x), 0.5 * x * (1 + seriesErf(x / Math.SQRT2)), 2e-7, `gelu(${x})`);
      }
    });
    it('large |x| gives the limits without NaN', () => {
      for (const fn of [gelu, geluTanh, silu, relu]) {
        assert.strictEqual(fn(1000), 1000);
        assert.ok(fn(-1000) === 0, `${fn.name}(-1000) = ${fn(-1000)}`); // 0 or -0
        assert.strictEqual(fn(Infinity), Infinity);
        assert.strictEqual(fn(-Infinity), 0);
        assert.ok(Number.isNaN(fn(NaN)), `${fn.name}(NaN)`);
      }
    });
  });

  describe('in-place array versions', () => {
    const xs = [-4, -1, -0.5, -0, 0, 0.25, 1, 3, NaN, Infinity, -Infinity];
    const pairs: Array<[string, (d: Float32Array) => Float32Array, (x: number) => number]> = [
      ['relu', (d) => reluInPlace(d), relu],
      ['gelu', (d) => geluInPlace(d), gelu],
      ['gelu_tanh', (d) => geluTanhInPlace(d), geluTanh],
      ['silu', (d) => siluInPlace(d), silu],
    ];
    for (const [name, inPlace, scalar] of pairs) {
      it(`${name} matches the scalar, rounded to float32`, () => {
        const data = Float32Array.from(xs);
        const returned = inPlace(data);
        assert.strictEqual(returned, data);
        xs.forEach((x, i) => assert.ok(Object.is(data[i], Math.fround(scalar(Math.fround(x)))) || (data[i] === 0 && scalar(x) === 0), `${name}(${x})`));
      });
    }
    it('touches only the given range', () => {
      const data = Float32Array.from([-1, -1, -1, -1]);
      activateInPlace('reglu', data, 1, 2);
      assert.deepStrictEqual(Array.from(data), [-1, 0, 0, -1]);
      const s = Float32Array.from([1, 1, 1]);
      activateInPlace('swiglu', s, 2);
      assert.deepStrictEqual(Array.from(s), [1, 1, Math.fround(0.7310585786300049)]);
    });
    it('gateInPlace multiplies act(gate) by up', () => {
      const gate = Float32Array.from([1, -2]);
      const up = Float32Array.from([2, 3]);
      gateInPlace('reglu', gate, up);
      assert.deepStrictEqual(Array.from(gate), [2, 0]);
      assert.throws(() => gateInPlace('swiglu', new Float32Array(2), new Float32Array(3)), /the gate has 2 values but the up projection has 3/);
    });
  });

  describe('names', () => {
    it('knows which are gated', () => {
      for (const a of GATED_ACTIVATIONS) assert.ok(isGated(a), a);
      for (const a of PLAIN_ACTIVATIONS) assert.ok(!isGated(a), a);
    });
    it('maps plain <-> gated both ways', () => {
      const pairs: Array<[string, string]> = [['relu', 'reglu'], ['silu', 'swiglu'], ['gelu', 'geglu'], ['gelu_tanh', 'geglu_tanh']];
      for (const [plain, gated] of pairs) {
        assert.strictEqual(toGated(plain as 'relu'), gated);
        assert.strictEqual(toPlain(gated as 'reglu'), plain);
        assert.strictEqual(toPlain(plain as 'relu'), plain);
        assert.strictEqual(toGated(gated as 'reglu'), gated);
      }
    });
    it('gives the gate function', () => {
      assert.strictEqual(gateFunction('swiglu'), silu);
      assert.strictEqual(gateFunction('silu'), silu);
      assert.strictEqual(gateFunction('geglu'), gelu);
      assert.strictEqual(gateFunction('geglu_tanh'), geluTanh);
      assert.strictEqual(gateFunction('reglu'), relu);
      assert.strictEqual(gateFunction('gelu'), gelu);
    });
    it('parses what configs write', () => {
      const cases: Array<[string, string | undefined]> = [
        ['relu', 'relu'], ['ReLU', 'relu'], ['gelu', 'gelu'], ['GELU', 'gelu'],
        ['gelu_new', 'gelu_tanh'], ['gelu_pytorch_tanh', 'gelu_tanh'], ['gelu_fast', 'gelu_tanh'], ['gelu_tanh', 'gelu_tanh'],
        ['silu', 'silu'], ['swish', 'silu'], ['SwiGLU', 'swiglu'], ['geglu', 'geglu'], ['geglu_tanh', 'geglu_tanh'], ['reglu', 'reglu'],
        [' silu ', 'silu'], ['quick_gelu', undefined], ['tanh', undefined], ['', undefined], ['constructor', undefined], ['__proto__', undefined],
      ];
      for (const [s, want] of cases) assert.strictEqual(parseActivation(s), want, JSON.stringify(s));
      for (const a of ACTIVATIONS) assert.strictEqual(parseActivation(a), a);
    });
  });
});
