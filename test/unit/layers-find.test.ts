import * as assert from 'assert';
import * as fs from 'fs';
import { isFfnLensError } from '../../src/core/errors';
import { openJsonSource } from '../../src/formats/json';
import type { SourceHints, TensorInfo } from '../../src/formats/source';
import { findLayers, loadLayer, selectLayer } from '../../src/layers';
import type { LayerSpec } from '../../src/layers/types';
import { ALL_CONVENTIONS, type JsonStyle, NAMINGS, isGatedConvention, tempDir, writeJsonLayer, writeJsonLayers } from '../helpers/jsonFixtures';

const F = 'model.file';

/** TensorInfo list from `name: shape` pairs. */
function infos(spec: Record<string, number[]>): TensorInfo[] {
  return Object.entries(spec).map(([name, shape]) => ({ name, dtype: 'F32', shape }));
}

function find(spec: Record<string, number[]>, hints: SourceHints = {}): LayerSpec[] {
  return findLayers(infos(spec), hints, F);
}

function only(spec: Record<string, number[]>, hints: SourceHints = {}): LayerSpec {
  const layers = find(spec, hints);
  assert.strictEqual(layers.length, 1, `expected one layer, found ${layers.map((l) => l.id).join(', ')}`);
  return layers[0];
}

function throwsLens(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFfnLensError(e), String(e));
    assert.strictEqual(e.file, F);
    if (typeof expected === 'string') assert.strictEqual(e.message, expected);
    else assert.match(e.message, expected);
    return true;
  });
}

// d_model 3, d_ff 5: every matrix is non-square, so a transposition shows.
const D = 3;
const FF = 5;
const W1 = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15]];
const WG = [[-1, -2, -3, -4, -5], [-6, -7, -8, -9, -10], [-11, -12, -13, -14, -15]];
const W2 = [[0.5, 1, 1.5], [2, 2.5, 3], [3.5, 4, 4.5], [5, 5.5, 6], [6.5, 7, 7.5]];
const B1 = [0.25, 0.5, 0.75, 1, 1.25];
const BG = [-0.25, -0.5, -0.75, -1, -1.25];
const B2 = [10, 20, 30];

describe('findLayers: every convention, every JSON style, round trip to the math layout', () => {
  const styles: JsonStyle[] = ['flat', 'nested', 'shape-data', 'layer-array'];
  for (const convention of ALL_CONVENTIONS) {
    for (const style of styles) {
      it(`${convention} (${style})`, async () => {
        const dir = tempDir();
        const gated = isGatedConvention(convention);
        const file = writeJsonLayer(dir, convention, { w1: W1, b1: B1, w2: W2, b2: B2, wGate: gated ? WG : undefined, bGate: gated ? BG : undefined }, { dModel: D, dFf: FF, style });
        const text = fs.readFileSync(file, 'utf8');
        if (style === 'layer-array' && /\d\./.test(NAMINGS[convention].prefix)) assert.match(text, /:\[\{/, 'layer-array fixture has no array of layer objects');
        if (style === 'shape-data') assert.match(text, /"shape":\[/);
        const source = await openJsonSource(file);
        const layer = only(Object.fromEntries(source.tensors.map((t) => [t.name, t.shape])), source.hints);
        assert.strictEqual(layer.id, NAMINGS[convention].prefix.replace(/\.$/, '') || 'main');
        assert.strictEqual(layer.kind, gated ? 'gated' : 'plain');
        assert.deepStrictEqual([layer.dModel, layer.dFf], [D, FF]);
        const native = NAMINGS[convention].native === 'math' ? 'in_out' : 'out_in';
        assert.strictEqual(layer.layouts.w1, native);
        const w = await loadLayer(source, layer);
        assert.deepStrictEqual(Array.from(w.w1), W1.flat());
        assert.deepStrictEqual(Array.from(w.w2), W2.flat());
        assert.deepStrictEqual(Array.from(w.b1!), B1);
        assert.deepStrictEqual(Array.from(w.b2!), B2);
        if (gated) {
          assert.deepStrictEqual(Array.from(w.wGate!), WG.flat());
          assert.deepStrictEqual(Array.from(w.bGate!), BG);
        } else {
          assert.strictEqual(w.wGate, undefined);
        }
      });
    }
  }

  it('gated W1/W2 with Wg / bg', async () => {
    const file = writeJsonLayer(tempDir(), 'W1/W2', { w1: W1, w2: W2, wGate: WG, bGate: BG }, { dModel: D, dFf: FF });
    const source = await openJsonSource(file);
    const layer = findLayers(source.tensors, source.hints, file)[0];
    assert.deepStrictEqual([layer.kind, layer.tensors.gate, layer.tensors.bGate, layer.activation], ['gated', 'Wg', 'bg', 'reglu']);
    assert.deepStrictEqual(Array.from((await loadLayer(source, layer)).wGate!), WG.flat());
  });
});

describe('findLayers: real prefixes and names', () => {
  it('GPT-2: mlp.c_fc / mlp.c_proj, attn.c_proj ignored', () => {
    const l = only({
      'transformer.h.0.attn.c_attn.weight': [3, 9], 'transformer.h.0.attn.c_attn.bias': [9],
      'transformer.h.0.attn.c_proj.weight': [3, 3], 'transformer.h.0.attn.c_proj.bias': [3],
      'transformer.h.0.mlp.c_fc.weight': [3, 12], 'transformer.h.0.mlp.c_fc.bias': [12],
      'transformer.h.0.mlp.c_proj.weight': [12, 3], 'transformer.h.0.mlp.c_proj.bias': [3],
    });
    assert.deepStrictEqual(
      [l.id, l.convention, l.tensors.w2, l.tensors.b2, l.layouts.w1, l.dModel, l.dFf, l.activation],
      ['transformer.h.0.mlp', 'c_fc/c_proj', 'transformer.h.0.mlp.c_proj.weight', 'transformer.h.0.mlp.c_proj.bias', 'in_out', 3, 12, 'gelu_tanh'],
    );
  });

  it('GPTBigCode stores c_fc as nn.Linear [out,in]: the biases force torch layout', () => {
    const l = only({ 'h.0.mlp.c_fc.weight': [12, 3], 'h.0.mlp.c_fc.bias': [12], 'h.0.mlp.c_proj.weight': [3, 12], 'h.0.mlp.c_proj.bias': [3] });
    assert.deepStrictEqual([l.layouts.w1, l.layouts.w2, l.dModel, l.dFf], ['out_in', 'out_in', 3, 12]);
  });

  it('BERT: the FFN output.dense, not attention.output.dense', () => {
    const l = only({
      'bert.encoder.layer.0.attention.self.query.weight': [3, 3],
      'bert.encoder.layer.0.attention.output.dense.weight': [3, 3], 'bert.encoder.layer.0.attention.output.dense.bias': [3],
      'bert.encoder.layer.0.intermediate.dense.weight': [12, 3], 'bert.encoder.layer.0.intermediate.dense.bias': [12],
      'bert.encoder.layer.0.output.dense.weight': [3, 12], 'bert.encoder.layer.0.output.dense.bias': [3],
      'bert.encoder.layer.0.output.LayerNorm.weight': [3],
    });
    assert.deepStrictEqual(
      [l.id, l.tensors.w2, l.tensors.b2, l.activation, l.layouts.w1],
      ['bert.encoder.layer.0', 'bert.encoder.layer.0.output.dense.weight', 'bert.encoder.layer.0.output.dense.bias', 'gelu', 'out_in'],
    );
    // Square attention.output.dense beside an intermediate.dense it could pair with by shape: still not an FFN.
    throwsLens(
      () => find({ 'encoder.layer.0.intermediate.dense.weight': [3, 3], 'encoder.layer.0.attention.output.dense.weight': [3, 3] }),
      /^no FFN layer found: .*"encoder\.layer\.0" has intermediate\.dense but no output\.dense/,
    );
  });

  it('OPT fc1/fc2, torch encoder linear1/linear2, GPT-NeoX, GPT-J', () => {
    const opt = only({ 'model.decoder.layers.3.fc1.weight': [12, 3], 'model.decoder.layers.3.fc1.bias': [12], 'model.decoder.layers.3.fc2.weight': [3, 12] });
    assert.deepStrictEqual([opt.id, opt.activation, opt.layouts.w1, opt.dFf], ['model.decoder.layers.3', 'relu', 'out_in', 12]);
    const enc = only({ 'transformer_encoder.layers.0.linear1.weight': [12, 3], 'transformer_encoder.layers.0.linear2.weight': [3, 12] });
    assert.deepStrictEqual([enc.id, enc.activation, enc.convention], ['transformer_encoder.layers.0', 'relu', 'linear1/linear2']);
    const neox = only({ 'gpt_neox.layers.3.mlp.dense_h_to_4h.weight': [12, 3], 'gpt_neox.layers.3.mlp.dense_4h_to_h.weight': [3, 12] });
    assert.deepStrictEqual([neox.id, neox.activation], ['gpt_neox.layers.3.mlp', 'gelu']);
    const gptj = only({ 'transformer.h.0.mlp.fc_in.weight': [12, 3], 'transformer.h.0.mlp.fc_out.weight': [3, 12] });
    assert.deepStrictEqual([gptj.id, gptj.activation], ['transformer.h.0.mlp', 'gelu_tanh']);
  });

  it('T5 wi/wo (relu) and T5 v1.1 wi_0/wi_1/wo (gated, wi_0 is the gate)', () => {
    const t5 = only({ 'encoder.block.0.layer.1.DenseReluDense.wi.weight': [12, 3], 'encoder.block.0.layer.1.DenseReluDense.wo.weight': [3, 12] });
    assert.deepStrictEqual([t5.id, t5.kind, t5.activation], ['encoder.block.0.layer.1.DenseReluDense', 'plain', 'relu']);
    const v11 = only(
      {
        'decoder.block.0.layer.2.DenseReluDense.wi_0.weight': [12, 3], 'decoder.block.0.layer.2.DenseReluDense.wi_1.weight': [12, 3],
        'decoder.block.0.layer.2.DenseReluDense.wo.weight': [3, 12],
      },
      { architecture: 't5' },
    );
    assert.deepStrictEqual(
      [v11.kind, v11.activation, v11.tensors.gate, v11.tensors.w1],
      ['gated', 'geglu_tanh', 'decoder.block.0.layer.2.DenseReluDense.wi_0.weight', 'decoder.block.0.layer.2.DenseReluDense.wi_1.weight'],
    );
  });

  it('LLaMA gate/up/down (swiglu), Gemma (geglu_tanh from the architecture)', () => {
    const names = { 'model.layers.3.mlp.gate_proj.weight': [12, 3], 'model.layers.3.mlp.up_proj.weight': [12, 3], 'model.layers.3.mlp.down_proj.weight': [3, 12] };
    const llama = only(names, { architecture: 'llama' });
    assert.deepStrictEqual([llama.id, llama.kind, llama.activation, llama.dModel, llama.dFf], ['model.layers.3.mlp', 'gated', 'swiglu', 3, 12]);
    assert.strictEqual(only(names).activation, 'swiglu');
    assert.strictEqual(only(names, { architecture: 'gemma2' }).activation, 'geglu_tanh');
  });

  it('Mixtral experts w1/w3/w2 (w1 gate, w3 up), router ignored', () => {
    const e = (n: number): Record<string, number[]> => ({
      [`model.layers.0.block_sparse_moe.experts.${n}.w1.weight`]: [12, 3],
      [`model.layers.0.block_sparse_moe.experts.${n}.w2.weight`]: [3, 12],
      [`model.layers.0.block_sparse_moe.experts.${n}.w3.weight`]: [12, 3],
    });
    const layers = find({ 'model.layers.0.block_sparse_moe.gate.weight': [8, 3], ...e(1), ...e(0) }, { architecture: 'mixtral' });
    assert.deepStrictEqual(layers.map((l) => l.id), ['model.layers.0.block_sparse_moe.experts.0', 'model.layers.0.block_sparse_moe.experts.1']);
    assert.deepStrictEqual(
      [layers[0].kind, layers[0].activation, layers[0].tensors.gate, layers[0].tensors.w1, layers[0].tensors.w2],
      ['gated', 'swiglu', 'model.layers.0.block_sparse_moe.experts.0.w1.weight', 'model.layers.0.block_sparse_moe.experts.0.w3.weight', 'model.layers.0.block_sparse_moe.experts.0.w2.weight'],
    );
  });

  it('GGUF blk.N: gated by default, plain ffn_up/ffn_down by architecture', () => {
    const gated = only({ 'blk.3.ffn_gate_inp.weight': [8, 3], 'blk.3.ffn_gate.weight': [12, 3], 'blk.3.ffn_up.weight': [12, 3], 'blk.3.ffn_down.weight': [3, 12] }, { architecture: 'llama' });
    assert.deepStrictEqual([gated.id, gated.kind, gated.activation, gated.tensors.gate], ['blk.3', 'gated', 'swiglu', 'blk.3.ffn_gate.weight']);
    const plain = { 'blk.0.ffn_up.weight': [12, 3], 'blk.0.ffn_up.bias': [12], 'blk.0.ffn_down.weight': [3, 12], 'blk.0.ffn_down.bias': [3] };
    assert.deepStrictEqual(['gpt2', 'starcoder', 'falcon', 'bloom'].map((a) => only(plain, { architecture: a }).activation), ['gelu_tanh', 'gelu_tanh', 'gelu', 'gelu_tanh']);
    assert.strictEqual(only(plain, { architecture: 'gpt2' }).activationSource, 'architecture');
  });

  it('W1/b1/W2/b2 with no prefix is "main"; lowercase and nested layers', () => {
    const l = only({ W1: [3, 5], b1: [5], W2: [5, 3], b2: [3] });
    assert.deepStrictEqual([l.id, l.convention, l.tensors, l.activation, l.activationSource], [
      'main', 'W1/W2', { w1: 'W1', w2: 'W2', b1: 'b1', b2: 'b2' }, 'relu', 'default',
    ]);
    assert.strictEqual(only({ w1: [3, 5], b1: [5], w2: [5, 3], b2: [3] }).tensors.w1, 'w1');
    assert.strictEqual(only({ 'layers.0.W1': [3, 5], 'layers.0.W2': [5, 3] }).id, 'layers.0');
  });
});

describe('findLayers: layout', () => {
  it('math non-square, forced torch, and no biases (native)', () => {
    assert.deepStrictEqual(
      (({ layouts, dModel, dFf }) => [layouts.w1, dModel, dFf])(only({ W1: [3, 5], b1: [5], W2: [5, 3], b2: [3] })),
      ['in_out', 3, 5],
    );
    // W1 written [out,in]: b1 of length 5 = d_ff only fits torch layout.
    assert.deepStrictEqual(
      (({ layouts, dModel, dFf }) => [layouts.w1, layouts.w2, dModel, dFf])(only({ W1: [5, 3], b1: [5], W2: [3, 5], b2: [3] })),
      ['out_in', 'out_in', 3, 5],
    );
    // linear1 stored [in,out] (math): the biases force it.
    assert.strictEqual(only({ 'layers.0.linear1.weight': [3, 5], 'layers.0.linear1.bias': [5], 'layers.0.linear2.weight': [5, 3] }).layouts.w1, 'in_out');
    // No biases: both readings fit; the native one is kept.
    assert.deepStrictEqual((({ layouts, dModel }) => [layouts.w1, dModel])(only({ W1: [3, 5], W2: [5, 3] })), ['in_out', 3]);
    assert.deepStrictEqual((({ layouts, dModel }) => [layouts.w1, dModel])(only({ 'layers.0.linear1.weight': [5, 3], 'layers.0.linear2.weight': [3, 5] })), ['out_in', 3]);
  });

  it('the inputs width and config sizes settle a layer without biases', () => {
    const inputs = (cols: number): SourceHints['inputs'] => ({ data: new Float32Array(cols), rows: 1, cols });
    const l = only({ 'layers.0.linear1.weight': [5, 3], 'layers.0.linear2.weight': [3, 5] }, { inputs: inputs(5) });
    assert.deepStrictEqual([l.layouts.w1, l.dModel, l.dFf], ['in_out', 5, 3]);
    assert.strictEqual(only({ W1: [3, 5], W2: [5, 3] }, { hiddenSize: 5 }).layouts.w1, 'out_in');
    assert.strictEqual(only({ W1: [3, 5], W2: [5, 3] }, { intermediateSize: 3 }).layouts.w1, 'out_in');
    // inputs that fit neither reading do not matter here (the run reports them)
    assert.strictEqual(only({ W1: [3, 5], W2: [5, 3] }, { inputs: inputs(7) }).layouts.w1, 'in_out');
  });

  it('square and ambiguous: native unless the layout key says otherwise', () => {
    const sq = { W1: [4, 4], b1: [4], W2: [4, 4], b2: [4] };
    assert.strictEqual(only(sq).layouts.w1, 'in_out');
    assert.strictEqual(only(sq, { layout: 'torch' }).layouts.w1, 'out_in');
    assert.strictEqual(only(sq, { layout: 'out_in' }).layouts.w1, 'out_in');
    assert.strictEqual(only(sq, { layout: 'math' }).layouts.w1, 'in_out');
    const lin = { 'layers.0.linear1.weight': [4, 4], 'layers.0.linear2.weight': [4, 4] };
    assert.strictEqual(only(lin).layouts.w1, 'out_in');
    assert.strictEqual(only(lin, { layout: 'math' }).layouts.w1, 'in_out');
    assert.strictEqual(only(lin, { layout: 'in_out' }).layouts.w1, 'in_out');
    // the key never overrides what the shapes force
    assert.strictEqual(only({ W1: [3, 5], b1: [5], W2: [5, 3] }, { layout: 'torch' }).layouts.w1, 'in_out');
    throwsLens(() => only(sq, { layout: 'sideways' }), '"layout" must be "math" or "torch" (also "in_out" / "out_in"), found "sideways"');
  });

  it('square layer read both ways from a file with and without "layout"', async () => {
    const dir = tempDir();
    const w1 = [[1, 2], [3, 4]];
    const w2 = [[5, 6], [7, 8]];
    const plainFile = writeJsonLayer(dir, 'W1/W2', { w1, w2 }, { dModel: 2, dFf: 2, fileName: 'a.json' });
    const torchFile = writeJsonLayer(dir, 'W1/W2', { w1, w2 }, { dModel: 2, dFf: 2, layout: 'torch', layoutKey: 'torch', fileName: 'b.json' });
    for (const f of [plainFile, torchFile]) {
      const s = await openJsonSource(f);
      const l = findLayers(s.tensors, s.hints, f)[0];
      const w = await loadLayer(s, l);
      assert.deepStrictEqual([Array.from(w.w1), Array.from(w.w2)], [[1, 2, 3, 4], [5, 6, 7, 8]], f);
    }
  });
});

describe('findLayers: errors', () => {
  it('shapes that cannot fit together', () => {
    throwsLens(
      () => find({ 'h.0.mlp.c_fc.weight': [768, 3072], 'h.0.mlp.c_proj.weight': [3072, 700] }),
      'layer "h.0.mlp": c_fc is [768, 3072] but c_proj is [3072, 700]; expected [3072, 768]',
    );
    throwsLens(() => find({ W1: [3, 5], b1: [4], W2: [5, 3] }), 'layer "main": b1 has 4 numbers, expected 5 (d_ff)');
    throwsLens(() => find({ W1: [3, 5], b1: [5], W2: [5, 3], b2: [5] }), 'layer "main": b2 has 5 numbers, expected 3 (d_model)');
    throwsLens(
      () => find({ 'h.1.mlp.c_fc.weight': [3, 5], 'h.1.mlp.c_fc.bias': [4], 'h.1.mlp.c_proj.weight': [5, 3] }),
      'layer "h.1.mlp": c_fc.bias has 4 numbers, expected 5 (d_ff)',
    );
    throwsLens(
      () => find({ 'm.gate_proj.weight': [5, 3], 'm.up_proj.weight': [5, 4], 'm.down_proj.weight': [4, 5] }),
      'layer "m": gate_proj is [5, 3] but up_proj is [5, 4]; expected the same shape',
    );
    throwsLens(() => find({ W1: [15], W2: [5, 3] }), 'layer "main": W1 is [15], expected a matrix');
  });

  it('no layer at all lists what it looks for and what it found', () => {
    throwsLens(
      () => find({ 'embed.weight': [10, 3], 'h.0.attn.c_proj.weight': [3, 3], 'ln_f.weight': [3] }),
      /^no FFN layer found: expected W1\/W2, linear1\/linear2, c_fc\/c_proj, fc1\/fc2, .*gate_proj\/up_proj\/down_proj.* \(found tensors: embed\.weight, h\.0\.attn\.c_proj\.weight, ln_f\.weight\)$/,
    );
    throwsLens(
      () => find({ 'model.layers.0.mlp.gate_proj.weight': [5, 3], 'model.layers.0.mlp.down_proj.weight': [3, 5] }),
      /"model\.layers\.0\.mlp" has gate_proj, down_proj but no up_proj/,
    );
  });
});

describe('layer ids, order and selection', () => {
  const gpt2 = (n: number): Record<string, number[]> => ({ [`h.${n}.mlp.c_fc.weight`]: [3, 5], [`h.${n}.mlp.c_proj.weight`]: [5, 3] });

  it('natural order: 2 before 10; index follows it', () => {
    const layers = find({ ...gpt2(10), ...gpt2(2), ...gpt2(1), ...gpt2(0) });
    assert.deepStrictEqual(layers.map((l) => [l.index, l.id]), [[0, 'h.0.mlp'], [1, 'h.1.mlp'], [2, 'h.2.mlp'], [3, 'h.10.mlp']]);
  });

  it('T5 encoder before decoder when the encoder comes first in the file', () => {
    const t = (side: string, b: number, l: number): Record<string, number[]> => ({
      [`${side}.block.${b}.layer.${l}.DenseReluDense.wi.weight`]: [5, 3], [`${side}.block.${b}.layer.${l}.DenseReluDense.wo.weight`]: [3, 5],
    });
    const layers = find({ ...t('encoder', 1, 1), ...t('encoder', 0, 1), ...t('decoder', 0, 2) });
    assert.deepStrictEqual(layers.map((l) => l.id), [
      'encoder.block.0.layer.1.DenseReluDense', 'encoder.block.1.layer.1.DenseReluDense', 'decoder.block.0.layer.2.DenseReluDense',
    ]);
  });

  it('selectLayer by id, index, block number, segment; default the first; errors list the ids', () => {
    const layers = find({ ...gpt2(0), ...gpt2(1), ...gpt2(2), ...gpt2(10) });
    assert.strictEqual(selectLayer(layers, 'h.2.mlp', F).id, 'h.2.mlp');
    assert.strictEqual(selectLayer(layers, '1', F).id, 'h.1.mlp');
    assert.strictEqual(selectLayer(layers, '3', F).id, 'h.10.mlp'); // index 3
    assert.strictEqual(selectLayer(layers, '10', F).id, 'h.10.mlp'); // no index 10: block number 10
    assert.strictEqual(selectLayer(layers, 'h.2', F).id, 'h.2.mlp');
    assert.strictEqual(selectLayer(layers, undefined, F).id, 'h.0.mlp');
    throwsLens(() => selectLayer(layers, 'h.7.mlp', F), 'layer "h.7.mlp" not found; available: h.0.mlp, h.1.mlp, h.2.mlp, h.10.mlp (or an index 0-3)');
    throwsLens(() => selectLayer(layers, 'mlp', F), /^layer "mlp" is ambiguous \(matches h\.0\.mlp, h\.1\.mlp/);
  });

  it('a multi-layer JSON file of layer objects', async () => {
    const dir = tempDir();
    const file = writeJsonLayers(dir, 'W1/W2', [
      { weights: { w1: W1, w2: W2 } },
      { weights: { w1: W1.map((r) => r.map((x) => 2 * x)), w2: W2 } },
    ], { dModel: D, dFf: FF, style: 'layer-array' });
    assert.match(fs.readFileSync(file, 'utf8'), /^\{"layers":\[\{/);
    const s = await openJsonSource(file);
    const layers = findLayers(s.tensors, s.hints, file);
    assert.deepStrictEqual(layers.map((l) => l.id), ['layers.0', 'layers.1']);
    const w = await loadLayer(s, selectLayer(layers, 'layers.1', file));
    assert.strictEqual(w.w1[1], 4);
  });
});
