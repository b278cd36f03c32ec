/**
 * Writes tiny models (tinyModels.ts) as the files people download or convert: a Hugging Face
 * folder (config.json + model.safetensors or shards with model.safetensors.index.json), and a
 * GGUF v3 file laid out as llama.cpp's convert_hf_to_gguf.py writes a LLaMA/Mistral model
 * (LlamaModel.permute on q/k, norms and 1-D tensors in F32, Q8_0 from gguf-py's quants.py with
 * its F16 fallback for rows that are not whole blocks, rope_freqs.weight for llama3 scaling).
 */
import * as fs from 'fs';
import * as path from 'path';
import { encodeValues, f16Bits, safetensorsBytes, writeShardedSafetensors, type StTensor } from './binaryWriters';
import { GGML_TYPE, buildGguf, type KvValue, type WriterTensor } from './ggufWriter';
import type { StoreDtype, TinyModel, TinyTensor } from './tinyModels';
import { ropeInvFreq, ropeScalingOf } from './refBlocks';

/** config.json `torch_dtype` of each storage dtype. */
export const TORCH_DTYPE: Record<StoreDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

function tensorOf(model: TinyModel, name: string): TinyTensor {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`tiny ${model.arch} model has no tensor ${name}`);
  return t;
}

export interface HfFolderOptions {
  dtype?: StoreDtype;
  /** Number of safetensors shards (default 1: a single model.safetensors). */
  shards?: number;
  tokenizerJson?: object;
  tokenizerConfig?: object;
  /** GPT-2 only: keep the `transformer.` prefix (default true); false names tensors `h.0.attn.c_attn.weight`, `wte.weight` as the gpt2 hub checkpoint does. */
  gpt2Prefix?: boolean;
}

/**
 * Writes config.json (with `torch_dtype` of the chosen dtype) and the weights into `dir`, plus
 * tokenizer.json / tokenizer_config.json when given. Returns the path to open: model.safetensors,
 * or model.safetensors.index.json when sharded. A tied head is not written, as save_pretrained does.
 */
export function writeHfFolder(dir: string, model: TinyModel, opts: HfFolderOptions = {}): string {
  const dtype = opts.dtype ?? 'F32';
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...model.config, torch_dtype: TORCH_DTYPE[dtype] }, null, 2));
  if (opts.tokenizerJson) fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(opts.tokenizerJson));
  if (opts.tokenizerConfig) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(opts.tokenizerConfig, null, 2));
  const strip = model.arch === 'gpt2' && opts.gpt2Prefix === false;
  const tensors: StTensor[] = [...model.tensors].map(([name, t]) => ({
    name: strip ? name.replace(/^transformer\./, '') : name,
    dtype,
    shape: t.shape,
    values: encodeValues(dtype, Array.from(t.data)),
  }));
  const shards = opts.shards ?? 1;
  if (shards <= 1) {
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, safetensorsBytes(tensors, { format: 'pt' }));
    return file;
  }
  const per = Math.ceil(tensors.length / shards);
  const groups = Array.from({ length: shards }, (_, i) => tensors.slice(i * per, (i + 1) * per));
  const totalSize = tensors.reduce((s, t) => s + (t.values as Uint8Array).length, 0);
  return writeShardedSafetensors(dir, 'model', groups, { total_size: totalSize }).index;
}

// ---- GGUF ----

/** A GGUF vocabulary as convert_hf_to_gguf.py writes it (tokenizer.ggml.*). */
export interface GgufTokenizer {
  model: 'gpt2' | 'llama';
  tokens: string[];
  merges?: string[];
  scores?: number[];
  /** llama.cpp token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); default all 1. */
  tokenTypes?: number[];
  bos?: number;
  eos?: number;
  addBos?: boolean;
  /** tokenizer.ggml.pre (default 'default' for llama, 'gpt-2' for gpt2). */
  pre?: string;
}

export interface LlamaGgufOptions {
  tokenizer?: GgufTokenizer;
  /** Type of the 2-D tensors (default F32); 1-D tensors and norms stay F32. */
  tensorType?: 'F32' | 'F16' | 'Q8_0' | 'Q4_0';
  /** general.name (default `tiny-<arch>`). */
  name?: string;
}

/**
 * llama.cpp's `LlamaModel.permute(w, n_head, n_head_kv)`: the rows of each head go from HF's
 * rotate-half order [x_0..x_{h/2-1} | x_{h/2}..x_{h-1}] back to Meta's interleaved pairs
 * (x_0, x_{h/2}, x_1, x_{h/2+1}, ...). `w` is [rows, cols] row-major; `nHeadKv` replaces `nHead` when it differs.
 */
export function ggufPermute(w: Float64Array, rows: number, cols: number, nHead: number, nHeadKv?: number): Float64Array {
  const n = nHeadKv !== undefined && nHeadKv !== nHead ? nHeadKv : nHead;
  const half = rows / n / 2;
  const out = new Float64Array(w.length);
  // reshape(n, 2, half, cols).swapaxes(1, 2): new row (h, j, s) = old row (h, s, j)
  for (let h = 0; h < n; h++) {
    for (let j = 0; j < half; j++) {
      for (let s = 0; s < 2; s++) {
        const from = h * 2 * half + s * half + j;
        const to = h * 2 * half + 2 * j + s;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** The inverse of `ggufPermute`, written separately: GGUF row h·hd + 2j + s goes back to HF row h·hd + s·hd/2 + j. */
export function ggufUnpermute(w: ArrayLike<number>, rows: number, cols: number, nHeads: number): Float64Array {
  const hd = rows / nHeads;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const h = Math.floor(r / hd);
    const within = r % hd;
    const hfRow = h * hd + (within % 2) * (hd / 2) + Math.floor(within / 2);
    for (let c = 0; c < cols; c++) out[hfRow * cols + c] = w[r * cols + c];
  }
  return out;
}

/** roundf: half away from zero, as gguf-py's np_roundf and C's roundf. */
const roundAway = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

/**
 * Q8_0 blocks of 32 values as gguf-py's quants.Q8_0 writes them (bit-exact with ggml-quants.c):
 * in float32, d = amax / 127, id = 1 / d, q = roundf(x · id); each block is d as f16 then 32 int8.
 */
export function quantizeQ8_0(values: ArrayLike<number>): Uint8Array {
  if (values.length % 32) throw new Error(`Q8_0: ${values.length} values are not whole blocks of 32`);
  const out = new Uint8Array((values.length / 32) * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(Math.fround(values[b * 32 + i])));
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    view.setUint16(b * 34, f16Bits(d), true);
    for (let i = 0; i < 32; i++) view.setInt8(b * 34 + 2 + i, roundAway(Math.fround(Math.fround(values[b * 32 + i]) * id)));
  }
  return out;
}

/**
 * Q4_0 blocks of 32 values as ggml-quants.c's quantize_row_q4_0_ref (and gguf-py's quants.Q4_0)
 * writes them: in float32, `max` the value of largest magnitude (signed, the first on a tie),
 * d = max / −8, id = 1 / d, q = min(15, trunc(x · id + 8.5)); each block is d as f16, then 16
 * bytes whose low nibbles hold values 0..15 and high nibbles values 16..31. Decoded: (q − 8) · d.
 */
export function quantizeQ4_0(values: ArrayLike<number>): Uint8Array {
  if (values.length % 32) throw new Error(`Q4_0: ${values.length} values are not whole blocks of 32`);
  const out = new Uint8Array((values.length / 32) * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / 32; b++) {
    let amax = 0;
    let max = 0;
    for (let i = 0; i < 32; i++) {
      const x = Math.fround(values[b * 32 + i]);
      if (Math.abs(x) > amax) {
        amax = Math.abs(x);
        max = x;
      }
    }
    const d = Math.fround(max / -8);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    view.setUint16(b * 18, f16Bits(d), true);
    const q = (i: number): number => Math.min(15, Math.trunc(Math.fround(Math.fround(Math.fround(values[b * 32 + i]) * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[b * 18 + 2 + j] = q(j) | (q(16 + j) << 4);
  }
  return out;
}

const u32 = (value: number): KvValue => ({ type: 'uint32', value });
const f32 = (value: number): KvValue => ({ type: 'float32', value });
const str = (value: string): KvValue => ({ type: 'string', value });

/**
 * Writes `model` (llama or mistral) to `file` as convert_hf_to_gguf.py would: tensor names
 * token_embd / blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up,
 * ffn_down} / output_norm / output, q and k permuted, `ne` the reverse of the numpy shape, and
 * the llama.* metadata. Returns `file`.
 */
export function writeLlamaGguf(file: string, model: TinyModel, opts: LlamaGgufOptions = {}): string {
  if (model.arch !== 'llama' && model.arch !== 'mistral') throw new Error(`writeLlamaGguf: ${model.arch} is not a LLaMA-architecture model`);
  const c = model.config as Record<string, number>;
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const headDim = c.head_dim ?? c.hidden_size / heads;
  const kind = opts.tensorType ?? 'F32';
  const tensors: WriterTensor[] = [];
  const add = (name: string, shape: number[], data: ArrayLike<number>): void => {
    const ne = [...shape].reverse();
    const values = Array.from(data, (x) => Math.fround(x));
    const matrix = shape.length >= 2 && !name.endsWith('_norm.weight');
    const quantize = kind === 'Q8_0' ? quantizeQ8_0 : kind === 'Q4_0' ? quantizeQ4_0 : undefined;
    if (matrix && quantize && shape[shape.length - 1] % 32 === 0) {
      tensors.push({ name, ne, type: GGML_TYPE[kind as 'Q8_0' | 'Q4_0'], data: quantize(values) });
    } else if (matrix && kind !== 'F32') {
      // F16 requested, or a block type impossible (gguf-py raises QuantError and convert falls back to F16).
      tensors.push({ name, ne, type: GGML_TYPE.F16, data: encodeValues('F16', values) });
    } else {
      tensors.push({ name, ne, type: GGML_TYPE.F32, data: encodeValues('F32', values) });
    }
  };
  const scaling = ropeScalingOf(model.config);
  if (scaling?.type === 'llama3') {
    // generate_extra_tensors: llama.cpp divides each frequency by its factor.
    const plain = ropeInvFreq(headDim, c.rope_theta ?? 10000);
    const scaled = ropeInvFreq(headDim, c.rope_theta ?? 10000, scaling);
    add('rope_freqs.weight', [plain.length], Array.from(plain, (f, i) => f / scaled[i]));
  }
  const hf = (name: string): Float64Array => tensorOf(model, name).data;
  const shapeOf = (name: string): number[] => tensorOf(model, name).shape;
  add('token_embd.weight', shapeOf('model.embed_tokens.weight'), hf('model.embed_tokens.weight'));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const q = `${p}self_attn.q_proj.weight`;
    const k = `${p}self_attn.k_proj.weight`;
    add(`blk.${l}.attn_norm.weight`, shapeOf(`${p}input_layernorm.weight`), hf(`${p}input_layernorm.weight`));
    add(`blk.${l}.attn_q.weight`, shapeOf(q), ggufPermute(hf(q), heads * headDim, c.hidden_size, heads, heads));
    add(`blk.${l}.attn_k.weight`, shapeOf(k), ggufPermute(hf(k), kvHeads * headDim, c.hidden_size, heads, kvHeads));
    add(`blk.${l}.attn_v.weight`, shapeOf(`${p}self_attn.v_proj.weight`), hf(`${p}self_attn.v_proj.weight`));
    add(`blk.${l}.attn_output.weight`, shapeOf(`${p}self_attn.o_proj.weight`), hf(`${p}self_attn.o_proj.weight`));
    add(`blk.${l}.ffn_norm.weight`, shapeOf(`${p}post_attention_layernorm.weight`), hf(`${p}post_attention_layernorm.weight`));
    add(`blk.${l}.ffn_gate.weight`, shapeOf(`${p}mlp.gate_proj.weight`), hf(`${p}mlp.gate_proj.weight`));
    add(`blk.${l}.ffn_up.weight`, shapeOf(`${p}mlp.up_proj.weight`), hf(`${p}mlp.up_proj.weight`));
    add(`blk.${l}.ffn_down.weight`, shapeOf(`${p}mlp.down_proj.weight`), hf(`${p}mlp.down_proj.weight`));
  }
  add('output_norm.weight', shapeOf('model.norm.weight'), hf('model.norm.weight'));
  if (model.tensors.has('lm_head.weight') && model.config.tie_word_embeddings !== true) {
    add('output.weight', shapeOf('lm_head.weight'), hf('lm_head.weight'));
  }

  const fileType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 }[kind];
  const kv: [string, KvValue][] = [
    ['general.architecture', str('llama')],
    ['general.type', str('model')],
    ['general.name', str(opts.name ?? `tiny-${model.arch}`)],
    ['llama.block_count', u32(c.num_hidden_layers)],
    ['llama.context_length', u32(c.max_position_embeddings)],
    ['llama.embedding_length', u32(c.hidden_size)],
    ['llama.feed_forward_length', u32(c.intermediate_size)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(kvHeads)],
    ['llama.rope.freq_base', f32(c.rope_theta ?? 10000)],
    ['llama.attention.layer_norm_rms_epsilon', f32(c.rms_norm_eps)],
  ];
  if (c.head_dim !== undefined) kv.push(['llama.attention.key_length', u32(headDim)], ['llama.attention.value_length', u32(headDim)]);
  kv.push(
    ['general.file_type', u32(fileType)],
    ['llama.vocab_size', u32(c.vocab_size)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['general.quantization_version', u32(2)],
  );
  if (opts.tokenizer) kv.push(...tokenizerKv(opts.tokenizer));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buildGguf({ kv, tensors }).bytes);
  return file;
}

/** tokenizer.ggml.* in the order convert_hf_to_gguf.py's _set_vocab_gpt2 / _set_vocab_sentencepiece add them. */
function tokenizerKv(t: GgufTokenizer): [string, KvValue][] {
  const kv: [string, KvValue][] = [
    ['tokenizer.ggml.model', str(t.model)],
    ['tokenizer.ggml.pre', str(t.pre ?? (t.model === 'llama' ? 'default' : 'gpt-2'))],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', items: t.tokens }],
  ];
  if (t.scores) kv.push(['tokenizer.ggml.scores', { type: 'array', itemType: 'float32', items: t.scores }]);
  kv.push(['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', items: t.tokenTypes ?? t.tokens.map(() => 1) }]);
  if (t.merges) kv.push(['tokenizer.ggml.merges', { type: 'array', itemType: 'string', items: t.merges }]);
  if (t.bos !== undefined) kv.push(['tokenizer.ggml.bos_token_id', u32(t.bos)]);
  if (t.eos !== undefined) kv.push(['tokenizer.ggml.eos_token_id', u32(t.eos)]);
  if (t.addBos !== undefined) kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: t.addBos }]);
  return kv;
}
