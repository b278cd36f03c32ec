// The worker's held layer: a re-run of the same layer reuses it; replacing it never gives back
// arrays a run still uses, and never loses (leaks) an entry.
import * as assert from 'assert';
import type { FfnWeights } from '../../src/core/types';
import { HeldWeights } from '../../src/pipeline/heldWeights';

function layer(n: number): { weights: FfnWeights; arrays: Float32Array[] } {
  const w1 = new Float32Array(4).fill(n);
  const w2 = new Float32Array(4).fill(-n);
  return { weights: { dModel: 2, dFf: 2, activation: 'relu', w1, w2 }, arrays: [w1, w2] };
}

describe('worker: HeldWeights', () => {
  let released: Float32Array[];
  let held: HeldWeights;
  beforeEach(() => {
    released = [];
    held = new HeldWeights((a) => released.push(a));
  });

  it('gives the held weights to a run of the same key only', () => {
    const a = layer(1);
    held.hold('a', a.weights, a.arrays).done();
    assert.strictEqual(held.take('b'), undefined);
    const use = held.take('a');
    assert.strictEqual(use?.weights, a.weights);
    use?.done();
    assert.deepStrictEqual(released, []);
  });

  it('gives back a replaced layer at once when no run uses it', () => {
    const a = layer(1);
    const b = layer(2);
    held.hold('a', a.weights, a.arrays).done();
    held.drop();
    assert.deepStrictEqual(released, a.arrays);
    held.hold('b', b.weights, b.arrays).done();
    assert.strictEqual(held.key, 'b');
  });

  it('keeps a replaced layer until the last run using it is done', () => {
    const a = layer(1);
    const b = layer(2);
    const first = held.hold('a', a.weights, a.arrays);
    const second = held.take('a');
    held.drop();
    held.hold('b', b.weights, b.arrays).done();
    assert.deepStrictEqual(released, [], 'arrays two runs still use were given back');
    first.done();
    first.done(); // twice counts once
    assert.deepStrictEqual(released, []);
    second?.done();
    assert.deepStrictEqual(released, a.arrays);
    assert.strictEqual(held.take('a'), undefined);
  });

  it('two layers read at the same time: the one finishing second is held, the other given back when done', () => {
    const a = layer(1);
    const b = layer(2);
    // Both runs found nothing held and read their layer; b finished reading first.
    const useB = held.hold('b', b.weights, b.arrays);
    const useA = held.hold('a', a.weights, a.arrays);
    assert.strictEqual(held.key, 'a');
    assert.deepStrictEqual(released, [], 'b is still in use');
    useB.done();
    assert.deepStrictEqual(released, b.arrays, 'b was lost instead of given back');
    useA.done();
    assert.strictEqual(held.take('a')?.weights, a.weights);
  });
});
