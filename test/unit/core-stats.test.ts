import * as assert from 'assert';
import { l2Norm, tensorStats } from '../../src/core/stats';

describe('core/stats', () => {
  describe('tensorStats', () => {
    it('a small array with NaN and Inf, by hand', () => {
      // finite values 1, 2, 0, -3: mean 0, population variance (1 + 4 + 0 + 9) / 4 = 3.5,
      // l2 = √14; zeros 1 of 6 elements; one NaN, one Inf.
      const s = tensorStats([1, 2, NaN, Infinity, 0, -3]);
      assert.strictEqual(s.count, 6);
      assert.strictEqual(s.mean, 0);
      assert.ok(Math.abs(s.std - Math.sqrt(3.5)) < 1e-15, `std ${s.std}`);
      assert.deepStrictEqual([s.min, s.max], [-3, 2]);
      assert.ok(Math.abs(s.l2 - Math.sqrt(14)) < 1e-15, `l2 ${s.l2}`);
      assert.strictEqual(s.zeroFraction, 1 / 6);
      assert.deepStrictEqual([s.nanCount, s.infCount], [1, 1]);
    });

    it('counts -Inf and -0', () => {
      const s = tensorStats(Float32Array.from([-0, -Infinity, 4]));
      assert.deepStrictEqual([s.count, s.infCount, s.nanCount, s.zeroFraction, s.mean, s.min, s.max, s.l2], [3, 1, 0, 1 / 3, 2, -0, 4, 4]);
      assert.strictEqual(s.std, 2); // values -0 and 4: mean 2, variance (4 + 4) / 2
    });

    it('an empty tensor is all zeros, never NaN', () => {
      assert.deepStrictEqual(tensorStats([]), { count: 0, mean: 0, std: 0, min: 0, max: 0, l2: 0, zeroFraction: 0, nanCount: 0, infCount: 0 });
    });

    it('a tensor with no finite value', () => {
      const s = tensorStats([NaN, Infinity, NaN]);
      assert.deepStrictEqual(s, { count: 3, mean: 0, std: 0, min: 0, max: 0, l2: 0, zeroFraction: 0, nanCount: 2, infCount: 1 });
    });

    it('keeps the variance under a large offset', () => {
      // 1e9 + {1, 2, 3}: variance 2/3 whatever the offset; a naive E[x²] - E[x]² loses it.
      const s = tensorStats([1e9 + 1, 1e9 + 2, 1e9 + 3]);
      assert.ok(Math.abs(s.std - Math.sqrt(2 / 3)) < 1e-6, `std ${s.std}`);
      assert.strictEqual(s.mean, 1e9 + 2);
    });
  });

  describe('l2Norm', () => {
    it('over a range', () => {
      assert.strictEqual(l2Norm([9, 3, 4, 9]), Math.sqrt(81 + 9 + 16 + 81));
      assert.strictEqual(l2Norm([9, 3, 4, 9], 1, 2), 5);
      assert.strictEqual(l2Norm([9, 3, 4, 9], 2), Math.sqrt(16 + 81));
      assert.strictEqual(l2Norm([1, 2], 1, 0), 0);
    });
    it('NaN and Inf', () => {
      assert.ok(Number.isNaN(l2Norm([1, NaN, Infinity])));
      assert.strictEqual(l2Norm([1, -Infinity]), Infinity);
    });
    it('neither overflows nor underflows', () => {
      assert.ok(Math.abs(l2Norm([3e200, 4e200]) / 5e200 - 1) < 1e-15);
      assert.ok(Math.abs(l2Norm([3e-200, 4e-200, 0]) / 5e-200 - 1) < 1e-15);
    });
  });
});
