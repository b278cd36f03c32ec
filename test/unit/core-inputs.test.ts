import * as assert from 'assert';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import { MAX_RANDOM_VALUES, mulberry32, randomInputs } from '../../src/core/inputs';

describe('core/inputs', () => {
  it('mulberry32 follows the published algorithm', () => {
    // First outputs computed by a separate Python implementation of mulberry32.
    const a = mulberry32(42);
    assert.deepStrictEqual([a(), a(), a(), a()], [2581720956, 1925393290, 3661312704, 2876485805]);
    const b = mulberry32(0);
    assert.deepStrictEqual([b(), b()], [1144304738, 1416247]);
  });

  it('the first pair is Box–Muller of the first two draws', () => {
    // seed 42: u1 = (2581720956 + 1) / 2^32, u2 = 1925393290 / 2^32, r = √(-2 ln u1);
    // r·cos(2π u2) and r·sin(2π u2) in float32 (computed in Python).
    const { data } = randomInputs(1, 2, 42);
    assert.deepStrictEqual(Array.from(data), [-0.9561622142791748, 0.32207024097442627]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = randomInputs(3, 5, 7);
    const b = randomInputs(3, 5, 7);
    const c = randomInputs(3, 5, 8);
    assert.deepStrictEqual(Array.from(a.data), Array.from(b.data));
    assert.notDeepStrictEqual(Array.from(a.data), Array.from(c.data));
    assert.strictEqual(a.data.length, 15); // odd: the last value uses only the cosine
    assert.deepStrictEqual(a.labels, ['t0', 't1', 't2']);
  });

  it('is standard normal over a large sample', () => {
    const { data } = randomInputs(200, 1000, 1);
    let sum = 0;
    let sq = 0;
    let within1 = 0;
    for (const x of data) {
      sum += x;
      sq += x * x;
      if (Math.abs(x) < 1) within1++;
    }
    const n = data.length;
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    // standard errors for n = 200000: mean 0.0022, std 0.0016, P(|z|<1) 0.001
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);
    assert.ok(Math.abs(within1 / n - 0.6826894921370859) < 0.005, `P(|z| < 1) ${within1 / n}`);
  });

  it('refuses bad sizes as usage errors', () => {
    const usage = (fn: () => unknown, message: string): void => {
      assert.throws(fn, (e: unknown) => {
        assert.ok(isFfnLensError(e));
        assert.strictEqual((e as FfnLensError).kind, 'usage');
        assert.strictEqual((e as FfnLensError).message, message);
        return true;
      });
    };
    usage(() => randomInputs(0, 4, 1), 'the number of tokens must be a whole number of at least 1, got 0');
    usage(() => randomInputs(2, 0, 1), 'd_model must be a whole number of at least 1, got 0');
    usage(() => randomInputs(1.5, 4, 1), 'the number of tokens must be a whole number of at least 1, got 1.5');
    usage(() => randomInputs(2, 4, 0.5), 'the seed must be a whole number, got 0.5');
    assert.strictEqual(MAX_RANDOM_VALUES, 16777216);
    usage(() => randomInputs(4097, 4096, 1), `4097 tokens x d_model 4096 = 16781312 random values is more than the limit of 16777216`);
  });
});
