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

describe('errors: one-line messages', () => {
  it('escapes control and line-separator characters from file text', () => {
    const e = new FfnLensError('tensor "a\nb\u001b[2J\u2028c": bad', 'f.json');
    assert.strictEqual(e.message, 'tensor "a\\u000ab\\u001b[2J\\u2028c": bad');
  });
  it('keeps the start and the end of an over-long message within the limit', () => {
    const msg = `metadata key '${'k'.repeat(70000)}' appears twice`;
    const e = new FfnLensError(msg, 'm.gguf');
    assert.ok(e.message.length <= 1000, `length ${e.message.length}`);
    assert.ok(e.message.startsWith("metadata key 'kkk"));
    assert.ok(e.message.endsWith("' appears twice"));
  });
});
