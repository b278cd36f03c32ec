import * as assert from 'assert';
import { isFfnLensError } from '../../src/core/errors';
import { gemm } from '../../src/core/gemm';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('core/gemm', () => {
  // a = [[1, 2, 3], [-1, 0, 0.5]] (2x3), b = [[1, 0], [0, 1], [2, -1]] (3x2), bias = [10, 20]
  // row 0: [1·1 + 2·0 + 3·2, 1·0 + 2·1 + 3·(-1)] = [7, -1]   -> +bias [17, 19]
  // row 1: [-1·1 + 0 + 0.5·2, -1·0 + 0 + 0.5·(-1)] = [0, -0.5] -> +bias [10, 19.5]
  const a = f32([1, 2, 3, -1, 0, 0.5]);
  const b = f32([1, 0, 0, 1, 2, -1]);

  it('multiplies a small product worked by hand', () => {
    assert.deepStrictEqual(Array.from(gemm(a, b, 2, 3, 2)), [7, -1, 0, -0.5]);
  });

  it('adds the bias to every row', () => {
    assert.deepStrictEqual(Array.from(gemm(a, b, 2, 3, 2, undefined, f32([10, 20]))), [17, 19, 10, 19.5]);
  });

  it('overwrites a given output buffer instead of accumulating into it', () => {
    const out = f32([99, 99, 99, 99]);
    const r = gemm(a, b, 2, 3, 2, out);
    assert.strictEqual(r, out);
    assert.deepStrictEqual(Array.from(out), [7, -1, 0, -0.5]);
  });

  it('propagates NaN and Inf, even through a zero entry of a', () => {
    // a row [0, 1] times b = [[NaN, Inf], [1, 1]]: 0·NaN = NaN, 0·Inf = NaN.
    const r = gemm(f32([0, 1]), f32([NaN, Infinity, 1, 1]), 1, 2, 2);
    assert.ok(Number.isNaN(r[0]) && Number.isNaN(r[1]));
    const s = gemm(f32([2]), f32([Infinity, -1]), 1, 1, 2);
    assert.deepStrictEqual(Array.from(s), [Infinity, -2]);
  });

  it('handles empty dimensions', () => {
    assert.deepStrictEqual(Array.from(gemm(new Float32Array(0), new Float32Array(0), 2, 0, 0)), []);
    // k = 0: the product is all zeros, plus the bias.
    assert.deepStrictEqual(Array.from(gemm(new Float32Array(0), new Float32Array(0), 2, 0, 1, undefined, f32([3]))), [3, 3]);
  });

  it('refuses buffers that do not match the shapes', () => {
    const bad = (fn: () => unknown, message: RegExp): void => {
      assert.throws(fn, (e: unknown) => isFfnLensError(e) && message.test(e.message));
    };
    bad(() => gemm(a, b, 2, 2, 2), /^matrix product: a has 6 values, expected 2 x 2 = 4$/);
    bad(() => gemm(a, f32([1]), 2, 3, 2), /^matrix product: b has 1 values, expected 3 x 2 = 6$/);
    bad(() => gemm(a, b, 2, 3, 2, new Float32Array(3)), /^matrix product: out has 3 values, expected 2 x 2 = 4$/);
    bad(() => gemm(a, b, 2, 3, 2, undefined, f32([1])), /^matrix product: bias has 1 values, expected 2 = 2$/);
    bad(() => gemm(a, b, 1.5, 3, 2), /^matrix product: m = 1.5 is not a non-negative integer$/);
  });
});
