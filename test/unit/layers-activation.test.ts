import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isFfnLensError } from '../../src/core/errors';
import { openSource } from '../../src/formats/open';
import type { SourceHints, TensorInfo } from '../../src/formats/source';
import { findLayers, loadLayer } from '../../src/layers';
import { tempDir, writeJsonLayer } from '../helpers/jsonFixtures';

const F = 'model.file';
const plain: TensorInfo[] = [
  { name: 'W1', dtype: 'F32', shape: [3, 5] },
  { name: 'W2', dtype: 'F32', shape: [5, 3] },
];
const gated: TensorInfo[] = [
  { name: 'model.layers.0.mlp.gate_proj.weight', dtype: 'F32', shape: [5, 3] },
  { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'F32', shape: [5, 3] },
  { name: 'model.layers.0.mlp.down_proj.weight', dtype: 'F32', shape: [3, 5] },
];

function act(tensors: TensorInfo[], hints: SourceHints): [string, string] {
  const l = findLayers(tensors, hints, F)[0];
  return [l.activation, l.activationSource];
}

function throwsLens(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFfnLensError(e), String(e));
    if (typeof expected === 'string') assert.strictEqual(e.message, expected);
    else assert.match(e.message, expected);
    return true;
  });
}

describe('layer activation', () => {
  it('default: relu for a plain layer (reglu, its gated form, for a gated W1/W2)', () => {
    assert.deepStrictEqual(act(plain, {}), ['relu', 'default']);
    const withGate = [...plain, { name: 'Wg', dtype: 'F32', shape: [3, 5] }];
    assert.deepStrictEqual(act(withGate, {}), ['reglu', 'default']);
  });

  it('from the file, validated and normalised', () => {
    assert.deepStrictEqual(act(plain, { activation: 'gelu' }), ['gelu', 'file']);
    assert.deepStrictEqual(act(plain, { activation: 'GELU_new' }), ['gelu_tanh', 'file']);
    assert.deepStrictEqual(act(plain, { activation: 'silu', activationFrom: 'config' }), ['silu', 'config']);
  });

  it('from the architecture', () => {
    assert.deepStrictEqual(act(plain, { architecture: 'gpt2' }), ['gelu_tanh', 'architecture']);
    assert.deepStrictEqual(act(plain, { architecture: 'bert' }), ['gelu', 'architecture']);
    assert.deepStrictEqual(act(plain, { architecture: 'opt' }), ['relu', 'architecture']);
    assert.deepStrictEqual(act(gated, { architecture: 'llama' }), ['swiglu', 'architecture']);
    assert.deepStrictEqual(act(gated, { architecture: 'Qwen2' }), ['swiglu', 'architecture']);
    assert.deepStrictEqual(act(gated, { architecture: 'gemma' }), ['geglu_tanh', 'architecture']);
    assert.deepStrictEqual(act(plain, { architecture: 'some-new-thing' }), ['relu', 'default']);
  });

  it('the file beats the architecture; a plain name on a gated layer becomes its gated form', () => {
    assert.deepStrictEqual(act(plain, { activation: 'relu', architecture: 'gpt2' }), ['relu', 'file']);
    assert.deepStrictEqual(act(gated, { activation: 'silu' }), ['swiglu', 'file']);
    assert.deepStrictEqual(act(gated, { activation: 'gelu' }), ['geglu', 'file']);
    assert.deepStrictEqual(act(gated, { activation: 'gelu_pytorch_tanh', architecture: 'gemma' }), ['geglu_tanh', 'file']);
  });

  it('a gated name on a plain layer and an unknown name are errors', () => {
    throwsLens(() => act(plain, { activation: 'swiglu' }), 'layer "main": activation "swiglu" is gated but the layer has no gate matrix (W1/W2); use "silu"');
    throwsLens(
      () => act(plain, { activation: 'quick_gelu', activationFrom: 'config' }),
      'unknown activation "quick_gelu" (from config.json); known: relu, gelu, gelu_tanh, silu, swiglu, geglu, geglu_tanh, reglu (also gelu_new, gelu_pytorch_tanh, swish)',
    );
    throwsLens(() => act(plain, { activation: 'tanh' }), /^unknown activation "tanh" \(from the file\); known: relu, gelu/);
  });

  it('a per-layer activation applies to its layer only', () => {
    const tensors: TensorInfo[] = [
      { name: 'layers.0.W1', dtype: 'F32', shape: [3, 5] }, { name: 'layers.0.W2', dtype: 'F32', shape: [5, 3] },
      { name: 'layers.1.W1', dtype: 'F32', shape: [3, 5] }, { name: 'layers.1.W2', dtype: 'F32', shape: [5, 3] },
    ];
    const layers = findLayers(tensors, { activation: 'silu', layerActivations: { 'layers.0': 'gelu' } }, F);
    assert.deepStrictEqual(layers.map((l) => [l.id, l.activation, l.activationSource]), [['layers.0', 'gelu', 'file'], ['layers.1', 'silu', 'file']]);
    throwsLens(() => findLayers(tensors, { layerActivations: { 'layers.1': 'wat' } }, F), /^unknown activation "wat" \("layers\.1\.activation" in the file\)/);
  });

  it('an override beats everything, even an unknown name in the file', () => {
    const l = findLayers(plain, { activation: 'quick_gelu' }, F, { activation: 'gelu' })[0];
    assert.deepStrictEqual([l.activation, l.activationSource], ['gelu', 'override']);
    assert.strictEqual(findLayers(gated, {}, F, { activation: 'relu' })[0].activation, 'reglu');
  });

  it('end to end: config.json beside the file, the file\'s own key, the architecture and the default', async () => {
    const dir = tempDir();
    const w = { w1: [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]], w2: [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]] };
    const layerOf = async (file: string): Promise<[string, string]> => {
      const s = await openSource(file);
      const l = findLayers(s.tensors, s.hints, s.path)[0];
      return [l.activation, l.activationSource];
    };
    const bare = writeJsonLayer(dir, 'W1/W2', w, { dModel: 3, dFf: 5, fileName: 'bare.json' });
    assert.deepStrictEqual(await layerOf(bare), ['relu', 'default']);
    const gpt2 = writeJsonLayer(dir, 'c_fc/c_proj', w, { dModel: 3, dFf: 5, fileName: 'gpt2.json' });
    assert.deepStrictEqual(await layerOf(gpt2), ['gelu_tanh', 'architecture']);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_act: 'gelu' }));
    assert.deepStrictEqual(await layerOf(bare), ['gelu', 'config']);
    const own = writeJsonLayer(dir, 'W1/W2', w, { dModel: 3, dFf: 5, activation: 'silu', fileName: 'own.json' });
    assert.deepStrictEqual(await layerOf(own), ['silu', 'file']);
  });

  it('loadLayer fits an override to the layer', async () => {
    const dir = tempDir();
    const file = writeJsonLayer(dir, 'gate_proj/up_proj/down_proj', {
      w1: [[1, 2], [3, 4]], wGate: [[5, 6], [7, 8]], w2: [[1, 0], [0, 1]],
    }, { dModel: 2, dFf: 2 });
    const s = await openSource(file);
    const l = findLayers(s.tensors, s.hints, file)[0];
    assert.strictEqual((await loadLayer(s, l, { activation: 'gelu' })).activation, 'geglu');
    assert.strictEqual((await loadLayer(s, l)).activation, 'swiglu');
  });
});
