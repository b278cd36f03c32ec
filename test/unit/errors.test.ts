import * as assert from 'assert';
import { FfnLensError, describeError, isFfnLensError } from '../../src/core/errors';

describe('errors', () => {
  it('names the file first', () => {
    const e = new FfnLensError('header length 9999999999 is larger than the file', 'w.safetensors');
    assert.strictEqual(describeError(e), 'w.safetensors: header length 9999999999 is larger than the file');
    assert.ok(isFfnLensError(e));
    assert.strictEqual(e.kind, 'input');
  });
  it('describes foreign errors by message only', () => {
    assert.strictEqual(describeError(new RangeError('bad')), 'bad');
    assert.ok(!isFfnLensError(new Error('x')));
  });
});
