import * as assert from 'assert';
import { isFfnLensError } from '../../src/core/errors';
import { jsonSourceFromText } from '../../src/formats/json';
import type { TensorSource } from '../../src/formats/source';
import { findLayers, loadLayer, transpose } from '../../src/layers';
import type { LayerSpec } from '../../src/layers/types';

const F = 'w.json';

/** y = x·W1 + b1 -> relu -> ·W2 + b2, in float64 from math-layout rows: the reference the loaded weights must reproduce. */
function forward(x: number[], w1: number[][], b1: number[], w2: number[][], b2: number[]): number[] {
  const h = w1[0].map((_, j) => Math.max(0, x.reduce((s, xi, i) => s + xi * w1[i][j], b1[j])));
  return w2[0].map((_, k) => h.reduce((s, hj, j) => s + hj * w2[j][k], b2[k]));
}

/** The same with core-layout flat arrays. */
function forwardFlat(x: number[], w: { w1: Float32Array; b1?: Float32Array; w2: Float32Array; b2?: Float32Array; dModel: number; dFf: number }): number[] {
  const h: number[] = [];
  for (let j = 0; j < w.dFf; j++) {
    let s = w.b1 ? w.b1[j] : 0;
    for (let i = 0; i < w.dModel; i++) s += x[i] * w.w1[i * w.dFf + j];
    h.push(Math.max(0, s));
  }
  const y: number[] = [];
  for (let k = 0; k < w.dModel; k++) {
    let s = w.b2 ? w.b2[k] : 0;
    for (let j = 0; j < w.dFf; j++) s += h[j] * w.w2[j * w.dModel + k];
    y.push(s);
  }
  return y;
}

describe('transpose', () => {
  it('a 2 x 3 by hand', () => {
    assert.deepStrictEqual(Array.from(transpose(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3)), [1, 4, 2, 5, 3, 6]);
  });

  it('sizes around the 32 block, element by element', () => {
    for (const [rows, cols] of [[1, 1], [1, 70], [70, 1], [31, 33], [32, 32], [65, 97]]) {
      const src = new Float32Array(rows * cols).map((_, i) => i * 0.5 - 7);
      const t = transpose(src, rows, cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.strictEqual(t[c * rows + r], src[r * cols + c], `${rows}x${cols} at ${r},${c}`);
      assert.deepStrictEqual(transpose(t, cols, rows), src);
    }
  });
});

describe('loadLayer', () => {
  // d_model 2, d_ff 3, written by hand in each layout.
  const w1 = [[1, -2, 3], [4, 5, -6]]; // [d_model x d_ff]
  const w2 = [[1, 0.5], [-1, 2], [0.25, -3]]; // [d_ff x d_model]
  const b1 = [0.5, -1, 2];
  const b2 = [10, -10];

  const files: Record<string, string> = {
    math: JSON.stringify({ W1: w1, b1, W2: w2, b2 }),
    torch: JSON.stringify({
      'layers.0.linear1.weight': [[1, 4], [-2, 5], [3, -6]], 'layers.0.linear1.bias': b1,
      'layers.0.linear2.weight': [[1, -1, 0.25], [0.5, 2, -3]], 'layers.0.linear2.bias': b2,
    }),
    conv1d: JSON.stringify({
      'h.0.mlp.c_fc.weight': w1, 'h.0.mlp.c_fc.bias': b1, 'h.0.mlp.c_proj.weight': w2, 'h.0.mlp.c_proj.bias': b2, activation: 'relu',
    }),
  };

  for (const [layout, text] of Object.entries(files)) {
    it(`${layout} file -> core layout, element by element and through a forward pass`, async () => {
      const s = jsonSourceFromText(text, F);
      const spec = findLayers(s.tensors, s.hints, F)[0];
      const w = await loadLayer(s, spec);
      assert.deepStrictEqual([w.dModel, w.dFf], [2, 3]);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) assert.strictEqual(w.w1[i * 3 + j], w1[i][j], `w1[${i}][${j}]`);
      for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) assert.strictEqual(w.w2[j * 2 + k], w2[j][k], `w2[${j}][${k}]`);
      const x = [0.75, -0.5];
      assert.deepStrictEqual(forwardFlat(x, w), forward(x, w1, b1, w2, b2));
    });
  }

  it('a gated torch layer: gate and up both transposed', async () => {
    const s = jsonSourceFromText(JSON.stringify({
      'blk.0.ffn_gate.weight': [[1, 2], [3, 4], [5, 6]],
      'blk.0.ffn_up.weight': [[7, 8], [9, 10], [11, 12]],
      'blk.0.ffn_down.weight': [[1, 2, 3], [4, 5, 6]],
    }), F);
    const w = await loadLayer(s, findLayers(s.tensors, s.hints, F)[0]);
    assert.deepStrictEqual(Array.from(w.wGate!), [1, 3, 5, 2, 4, 6]);
    assert.deepStrictEqual(Array.from(w.w1), [7, 9, 11, 8, 10, 12]);
    assert.deepStrictEqual(Array.from(w.w2), [1, 4, 2, 5, 3, 6]);
  });

  it('reads only the layer\'s tensors', async () => {
    const s = jsonSourceFromText(JSON.stringify({
      layers: [{ W1: w1, b1, W2: w2, b2 }, { W1: w1, W2: w2 }], other: [[1, 2], [3, 4]],
    }), F);
    const names: string[] = [];
    const spy: TensorSource = { ...s, path: s.path, tensors: s.tensors, metadata: s.metadata, hints: s.hints, read: (n, o) => (names.push(n), s.read(n, o)), close: () => s.close() };
    const layers = findLayers(s.tensors, s.hints, F);
    await loadLayer(spy, layers[1]);
    assert.deepStrictEqual(names.sort(), ['layers.1.W1', 'layers.1.W2']);
  });

  it('a tensor that reads back with the wrong length, and a cancelled load', async () => {
    const s = jsonSourceFromText(JSON.stringify({ W1: w1, W2: w2 }), F);
    const spec: LayerSpec = findLayers(s.tensors, s.hints, F)[0];
    const short: TensorSource = { ...s, path: F, tensors: s.tensors, metadata: {}, hints: {}, read: async () => new Float32Array(5), close: async () => undefined };
    await assert.rejects(loadLayer(short, spec), (e: unknown) => isFfnLensError(e) && e.message === 'layer "main": tensor "W1" has 5 numbers, expected 6');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(loadLayer(s, spec, { signal: ac.signal }), (e: unknown) => isFfnLensError(e) && e.kind === 'cancelled');
  });
});
