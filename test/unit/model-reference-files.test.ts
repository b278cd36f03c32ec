/**
 * The tiny-model writers (test/helpers/tinyModelFiles.ts) checked on their own: a Hugging Face
 * folder and a llama.cpp-style GGUF read back through the repository's readers (openSource)
 * give the model's tensors; the q/k permutation, Q8_0 blocks and rope_freqs follow
 * convert_hf_to_gguf.py and gguf-py worked out by hand.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { openSource } from '../../src/formats/open';
import { dequantize, ggmlType } from '../../src/formats/ggmlQuants';
import { f16Bits, tempDir } from '../helpers/binaryWriters';
import { ropeInvFreq, ropeScalingOf } from '../helpers/refBlocks';
import {
  ggufPermute, ggufUnpermute, halfValue, makeTinyModel, quantizeQ4_0, quantizeQ8_0, roundModel, roundToDtype, tensorOf, writeHfFolder, writeLlamaGguf, type Arch,
} from '../helpers/tinyModels';

const ARCHS: Arch[] = ['gpt2', 'llama', 'mistral', 'qwen2', 'gemma', 'gpt_neox'];

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

describe('model reference: tiny model files', () => {
  let dir: string;
  before(() => {
    dir = tempDir('tiny-models');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a Hugging Face folder of every family reads back through openSource: names, shapes, float32 values, config', async () => {
    for (const arch of ARCHS) {
      const model = makeTinyModel(arch);
      const file = writeHfFolder(path.join(dir, `hf-${arch}`), model);
      assert.strictEqual(path.basename(file), 'model.safetensors');
      const config = JSON.parse(fs.readFileSync(path.join(dir, `hf-${arch}`, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepStrictEqual(config, { ...model.config, torch_dtype: 'float32' });
      const source = await openSource(file);
      try {
        assert.strictEqual(source.hints.architecture, arch, 'config.json beside the file');
        assert.deepStrictEqual(source.tensors.map((t) => [t.name, t.dtype, t.shape]), [...model.tensors].map(([n, t]) => [n, 'F32', t.shape]));
        for (const [name, t] of model.tensors) assert.deepStrictEqual(await source.read(name), Float32Array.from(t.data), `${arch} ${name}`);
      } finally {
        await source.close();
      }
    }
  });

  it('bfloat16 shards with an index, tokenizer files, and GPT-2 without the transformer. prefix', async () => {
    const model = makeTinyModel('llama');
    const folder = path.join(dir, 'sharded');
    const index = writeHfFolder(folder, model, { dtype: 'BF16', shards: 3, tokenizerJson: { model: { type: 'BPE' } }, tokenizerConfig: { add_bos_token: true } });
    assert.strictEqual(path.basename(index), 'model.safetensors.index.json');
    const weightMap = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    assert.deepStrictEqual(Object.keys(weightMap).sort(), [...model.tensors.keys()].sort());
    assert.deepStrictEqual([...new Set(Object.values(weightMap))].sort(), [1, 2, 3].map((i) => `model-0000${i}-of-00003.safetensors`));
    assert.ok(fs.existsSync(path.join(folder, 'tokenizer.json')) && fs.existsSync(path.join(folder, 'tokenizer_config.json')));
    assert.strictEqual((JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as { torch_dtype: string }).torch_dtype, 'bfloat16');
    const source = await openSource(index);
    try {
      const held = roundModel(model, 'BF16'); // what the reference should run on to match this file
      assert.strictEqual(held.config.torch_dtype, 'bfloat16');
      for (const [name, t] of held.tensors) assert.deepStrictEqual(await source.read(name), Float32Array.from(t.data), name);
      assert.ok(maxAbsDiff(tensorOf(held, 'model.norm.weight').data, tensorOf(model, 'model.norm.weight').data) > 0, 'rounding happened');
    } finally {
      await source.close();
    }

    const gpt2 = makeTinyModel('gpt2', { layers: 1 });
    const bare = await openSource(writeHfFolder(path.join(dir, 'gpt2-bare'), gpt2, { gpt2Prefix: false, dtype: 'F16' }));
    try {
      const names = bare.tensors.map((t) => t.name);
      assert.ok(names.includes('h.0.attn.c_attn.weight') && names.includes('wte.weight') && names.includes('ln_f.bias'));
      assert.ok(!names.some((n) => n.startsWith('transformer.') || n === 'lm_head.weight'), 'tied head not written');
      const w = tensorOf(gpt2, 'transformer.h.0.mlp.c_fc.weight');
      assert.deepStrictEqual(bare.tensors.find((t) => t.name === 'h.0.mlp.c_fc.weight')?.shape, [16, 64], 'Conv1D [in, out]');
      assert.deepStrictEqual(await bare.read('h.0.mlp.c_fc.weight'), Float32Array.from(w.data, (x) => roundToDtype(x, 'F16')));
    } finally {
      await bare.close();
    }
  });

  it('ggufPermute is llama.cpp\'s reshape(n, 2, rows/n/2, cols).swapaxes(1, 2); ggufUnpermute undoes it', () => {
    // One head of 4 rows: HF rotate-half order (a0, a1 | a2, a3) becomes Meta's pairs (a0, a2, a1, a3).
    assert.deepStrictEqual(Array.from(ggufPermute(Float64Array.from([10, 11, 12, 13]), 4, 1, 1)), [10, 12, 11, 13]);
    // Eight rows (not an involution, so the direction shows): GGUF row 2j + s is HF row 4s + j.
    const eight = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepStrictEqual(Array.from(ggufPermute(eight, 8, 1, 1)), [0, 4, 1, 5, 2, 6, 3, 7]);
    assert.deepStrictEqual(Array.from(ggufUnpermute([0, 4, 1, 5, 2, 6, 3, 7], 8, 1, 1)), Array.from(eight));
    // Two heads of 4 rows, 2 columns: each head permuted within itself.
    const w = Float64Array.from({ length: 16 }, (_, i) => i);
    assert.deepStrictEqual(Array.from(ggufPermute(w, 8, 2, 2)), [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
    // k of grouped-query attention: permuted by n_head_kv heads, not n_head.
    const k = Float64Array.from({ length: 8 * 3 }, (_, i) => Math.sin(i));
    assert.deepStrictEqual(ggufUnpermute(ggufPermute(k, 8, 3, 4, 2), 8, 3, 2), k);
    assert.notDeepStrictEqual(ggufUnpermute(ggufPermute(k, 8, 3, 4, 2), 8, 3, 4), k);
  });

  it('Q8_0 blocks are an f16 scale amax/127 and 32 int8 rounded half away from zero', () => {
    const values = new Array<number>(64).fill(0);
    values.splice(0, 5, 127, 2.5, -2.5, 0.4, -0.6); // block 1: d = 1; block 2: all zero
    const bytes = quantizeQ8_0(values);
    assert.strictEqual(bytes.length, 68);
    const view = new DataView(bytes.buffer);
    assert.strictEqual(view.getUint16(0, true), f16Bits(1));
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5].map((i) => view.getInt8(2 + i)), [127, 3, -3, 0, -1, 0]);
    assert.strictEqual(view.getUint16(34, true), 0);
    assert.ok(bytes.subarray(36).every((b) => b === 0));
    assert.throws(() => quantizeQ8_0([1, 2, 3]), /whole blocks/);
  });

  it('Q4_0 blocks are an f16 scale (the signed value of largest magnitude)/-8 and 32 nibbles, worked by hand', () => {
    // block 1: max -8, d = 1, q = min(15, trunc(x + 8.5)); block 2: max 4, d = -0.5, q = trunc(-2x + 8.5)
    const values = new Array<number>(64).fill(0);
    values.splice(0, 5, -8, 4, 1, -1.2, 7.9);
    values[16] = 2;
    values.splice(32, 2, 4, -2);
    const bytes = quantizeQ4_0(values);
    assert.strictEqual(bytes.length, 36);
    const view = new DataView(bytes.buffer);
    assert.strictEqual(view.getUint16(0, true), f16Bits(1));
    // low nibble: value j, high nibble: value 16 + j (q 8 for the zeros)
    assert.deepStrictEqual(Array.from(bytes.subarray(2, 7)), [0 | (10 << 4), 12 | (8 << 4), 9 | (8 << 4), 7 | (8 << 4), 15 | (8 << 4)]);
    assert.ok(bytes.subarray(7, 18).every((b) => b === (8 | (8 << 4))));
    assert.strictEqual(view.getUint16(18, true), f16Bits(-0.5));
    assert.deepStrictEqual([bytes[20] & 15, bytes[21] & 15, bytes[22] & 15], [0, 12, 8]);
    // and the reader decodes (q - 8) · d: -8, 4, 1, -1, 7 (7.9 clipped), 2 / 4, -2, 0
    const out = new Float32Array(64);
    dequantize(ggmlType(2) as NonNullable<ReturnType<typeof ggmlType>>, bytes, out);
    assert.deepStrictEqual(Array.from(out.subarray(0, 5)), [-8, 4, 1, -1, 7]);
    assert.strictEqual(out[16], 2);
    assert.deepStrictEqual(Array.from(out.subarray(32, 35)), [4, -2, -0]); // 0 · (-0.5)
    assert.throws(() => quantizeQ4_0([1, 2, 3]), /whole blocks/);
  });

  it('a llama GGUF reads back: llama.cpp names, reversed ne, permuted q/k, llama.* and tokenizer metadata', async () => {
    const model = makeTinyModel('llama'); // d 16, 4 heads, 2 kv heads of 4, ff 40, vocab 40
    const file = writeLlamaGguf(path.join(dir, 'llama.gguf'), model, {
      tokenizer: { model: 'llama', tokens: ['<unk>', '<s>', '</s>', 'a', 'b'], scores: [0, 0, 0, -1, -2], tokenTypes: [2, 3, 3, 1, 1], bos: 1, eos: 2, addBos: true },
    });
    const source = await openSource(file);
    try {
      const info = new Map(source.tensors.map((t) => [t.name, t]));
      assert.deepStrictEqual(info.get('token_embd.weight')?.shape, [40, 16]);
      assert.deepStrictEqual(info.get('blk.1.attn_q.weight')?.shape, [16, 16]);
      assert.deepStrictEqual(info.get('blk.1.attn_k.weight')?.shape, [8, 16]);
      assert.deepStrictEqual(info.get('blk.0.ffn_down.weight')?.shape, [16, 40]);
      assert.deepStrictEqual(info.get('output.weight')?.shape, [40, 16]);
      assert.deepStrictEqual(info.get('output_norm.weight')?.shape, [16]);
      assert.strictEqual(info.size, 2 + 9 * 2 + 1);
      assert.ok(source.tensors.every((t) => t.dtype === 'F32'));
      const q = tensorOf(model, 'model.layers.1.self_attn.q_proj.weight').data;
      const k = tensorOf(model, 'model.layers.1.self_attn.k_proj.weight').data;
      const f32 = (x: Float64Array): Float64Array => x.map(Math.fround);
      assert.deepStrictEqual(ggufUnpermute(await source.read('blk.1.attn_q.weight'), 16, 16, 4), f32(q));
      assert.deepStrictEqual(ggufUnpermute(await source.read('blk.1.attn_k.weight'), 8, 16, 2), f32(k));
      assert.notDeepStrictEqual(Float64Array.from(await source.read('blk.1.attn_q.weight')), f32(q), 'q is stored permuted');
      assert.deepStrictEqual(await source.read('blk.1.ffn_gate.weight'), Float32Array.from(tensorOf(model, 'model.layers.1.mlp.gate_proj.weight').data));
      const m = source.metadata;
      const expected: Record<string, unknown> = {
        'general.architecture': 'llama', 'llama.block_count': 2, 'llama.context_length': 64, 'llama.embedding_length': 16,
        'llama.feed_forward_length': 40, 'llama.attention.head_count': 4, 'llama.attention.head_count_kv': 2, 'llama.rope.freq_base': 10000,
        'llama.rope.dimension_count': 4, 'llama.vocab_size': 40, 'general.file_type': 0, 'tokenizer.ggml.model': 'llama',
        'tokenizer.ggml.bos_token_id': 1, 'tokenizer.ggml.eos_token_id': 2, 'tokenizer.ggml.add_bos_token': true,
      };
      for (const [key, value] of Object.entries(expected)) assert.strictEqual(m[key], value, key);
      assert.strictEqual(m['llama.attention.layer_norm_rms_epsilon'], Math.fround(1e-5));
      assert.deepStrictEqual(m['tokenizer.ggml.tokens'], ['<unk>', '<s>', '</s>', 'a', 'b']);
    } finally {
      await source.close();
    }
    assert.throws(() => writeLlamaGguf(path.join(dir, 'x.gguf'), makeTinyModel('gemma')), /not a LLaMA/);
  });

  it('Q8_0 GGUF: 2-D tensors in Q8_0 within half a step, norms in F32; rows that are not whole blocks fall back to F16', async () => {
    const model = makeTinyModel('mistral', { hidden: 32, heads: 4, kvHeads: 2, intermediate: 64 });
    const source = await openSource(writeLlamaGguf(path.join(dir, 'q8.gguf'), model, { tensorType: 'Q8_0' }));
    try {
      const dtype = new Map(source.tensors.map((t) => [t.name, t.dtype]));
      assert.strictEqual(dtype.get('blk.0.ffn_down.weight'), 'Q8_0');
      assert.strictEqual(dtype.get('token_embd.weight'), 'Q8_0');
      assert.strictEqual(dtype.get('blk.0.attn_norm.weight'), 'F32');
      const v = tensorOf(model, 'model.layers.0.self_attn.v_proj.weight').data;
      const read = await source.read('blk.0.attn_v.weight');
      for (let b = 0; b < v.length / 32; b++) {
        const block = v.subarray(b * 32, b * 32 + 32);
        const step = halfValue(f16Bits(Math.max(...block.map(Math.abs)) / 127));
        for (let i = 0; i < 32; i++) assert.ok(Math.abs(read[b * 32 + i] - block[i]) <= step * 0.51, `block ${b} value ${i}`);
      }
    } finally {
      await source.close();
    }
    const small = await openSource(writeLlamaGguf(path.join(dir, 'q8-small.gguf'), makeTinyModel('llama'), { tensorType: 'Q8_0' }));
    try {
      assert.strictEqual(small.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.dtype, 'F16', 'rows of 16 are not whole Q8_0 blocks');
    } finally {
      await small.close();
    }
  });

  it('llama3 rope scaling adds rope_freqs.weight: base frequency / factor is the scaled frequency', async () => {
    const ropeScaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const model = makeTinyModel('llama', { headDim: 8, heads: 2, kvHeads: 1, ropeScaling });
    const source = await openSource(writeLlamaGguf(path.join(dir, 'llama3.gguf'), model));
    try {
      assert.strictEqual(source.metadata['llama.attention.key_length'], 8);
      const factors = await source.read('rope_freqs.weight');
      const base = ropeInvFreq(8, 10000);
      const scaled = ropeInvFreq(8, 10000, ropeScalingOf(model.config));
      assert.strictEqual(factors[0], 1, 'short wavelength kept');
      assert.strictEqual(factors[3], 8, 'long wavelength divided by factor');
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(base[i] / factors[i] - scaled[i]) < 1e-6 * base[i], `frequency ${i}`);
    } finally {
      await source.close();
    }
  });
});
