/**
 * Tiny whole models for tests: a Hugging Face config.json and seeded random weights under the
 * Hugging Face parameter names and layouts of six families, read from the transformers modeling
 * files (gpt2, llama, mistral, qwen2, gemma, gpt_neox). Norm gains are drawn around their
 * neutral value with noise (1 for LayerNorm/RMSNorm, 0 for Gemma's stored `w` of `1 + w`), so a
 * wrong norm convention changes every output. Writers of these models to files are in
 * tinyModelFiles.ts (re-exported here); the float64 forward pass that reads them is refModel.ts.
 */
import { refF16 } from './fuzz';
import { bf16Bits, f16Bits } from './binaryWriters';
import * as fs from 'fs';
import * as path from 'path';
import { TORCH_DTYPE, writeHfFolder } from './tinyModelFiles';

export type Arch = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'gemma' | 'gpt_neox';

/** One parameter: row-major `data` in its Hugging Face `shape`. */
export interface TinyTensor {
  shape: number[];
  data: Float64Array;
}

export interface TinyModel {
  arch: Arch;
  /** Exactly a Hugging Face config.json for this `model_type`. */
  config: Record<string, unknown>;
  /** Hugging Face parameter names and layouts (Conv1D [in, out] for GPT-2, nn.Linear [out, in] elsewhere). */
  tensors: Map<string, TinyTensor>;
}

export interface TinyModelOptions {
  seed?: number;
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  /** config `head_dim` (llama/mistral/qwen2/gemma); written only when given or for Gemma. */
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  /** Share the embedding with the output head (no head tensor stored). */
  tied?: boolean;
  /** e.g. { rope_type: 'llama3', factor, low_freq_factor, high_freq_factor, original_max_position_embeddings }. */
  ropeScaling?: object;
  /** rope_theta (GPT-NeoX: rotary_emb_base). */
  ropeTheta?: number;
  /** Mistral `sliding_window` (default 4096, larger than any test sequence; null for none). */
  slidingWindow?: number | null;
  /** GPT-NeoX `rotary_pct` (default 0.5, so rotate-half pairs differ from adjacent pairs). */
  rotaryPct?: number;
  /** GPT-NeoX `use_parallel_residual` (default true). */
  parallelResidual?: boolean;
}

/** Storage dtypes the writers know. */
export type StoreDtype = 'F32' | 'F16' | 'BF16';

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds a tiny model of `arch` with seeded weights; every option has a small default. */
export function makeTinyModel(arch: Arch, opts: TinyModelOptions = {}): TinyModel {
  const uniform = rng(opts.seed ?? 1);
  const normal = (std: number): number => std * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const tensors = new Map<string, TinyTensor>();
  const put = (name: string, shape: number[], draw: () => number): void => {
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = draw();
    tensors.set(name, { shape, data });
  };
  const w = (): number => normal(0.2);
  const bias = (): number => normal(0.1);
  const embed = (): number => normal(0.5);
  const gain = (): number => 1 + normal(0.1);

  const gemma = arch === 'gemma';
  const neox = arch === 'gpt_neox';
  const d = opts.hidden ?? (gemma ? 24 : 16);
  const heads = opts.heads ?? (neox ? 2 : 4);
  const kvDefault = gemma ? 1 : arch === 'gpt2' || neox ? heads : Math.max(1, heads / 2);
  const kv = opts.kvHeads ?? kvDefault;
  const hd = opts.headDim ?? (gemma ? 8 : d / heads);
  const ff = opts.intermediate ?? (arch === 'gpt2' ? 4 * d : 40);
  const V = opts.vocab ?? 40;
  const P = opts.maxPositions ?? 64;
  const L = opts.layers ?? 2;
  const tied = opts.tied ?? (arch === 'gpt2' || gemma);
  if (!Number.isInteger(hd)) throw new Error(`tinyModels: hidden ${d} is not a multiple of heads ${heads}`);
  if ((arch === 'gpt2' || neox) && kv !== heads) throw new Error(`tinyModels: ${arch} has no grouped-query attention`);

  if (arch === 'gpt2') {
    const p = 'transformer.';
    put(`${p}wte.weight`, [V, d], embed);
    put(`${p}wpe.weight`, [P, d], embed);
    for (let l = 0; l < L; l++) {
      const h = `${p}h.${l}.`;
      put(`${h}ln_1.weight`, [d], gain);
      put(`${h}ln_1.bias`, [d], bias);
      put(`${h}attn.c_attn.weight`, [d, 3 * d], w); // Conv1D: [in, out], out = [q | k | v]
      put(`${h}attn.c_attn.bias`, [3 * d], bias);
      put(`${h}attn.c_proj.weight`, [d, d], w);
      put(`${h}attn.c_proj.bias`, [d], bias);
      put(`${h}ln_2.weight`, [d], gain);
      put(`${h}ln_2.bias`, [d], bias);
      put(`${h}mlp.c_fc.weight`, [d, ff], w);
      put(`${h}mlp.c_fc.bias`, [ff], bias);
      put(`${h}mlp.c_proj.weight`, [ff, d], w);
      put(`${h}mlp.c_proj.bias`, [d], bias);
    }
    put(`${p}ln_f.weight`, [d], gain);
    put(`${p}ln_f.bias`, [d], bias);
    if (!tied) put('lm_head.weight', [V, d], w);
    const config: Record<string, unknown> = {
      activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], attn_pdrop: 0.1, bos_token_id: V - 1, embd_pdrop: 0.1,
      eos_token_id: V - 1, initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: P, n_embd: d, n_head: heads,
      n_layer: L, n_positions: P, resid_pdrop: 0.1, scale_attn_weights: true, torch_dtype: 'float32', use_cache: true, vocab_size: V,
    };
    if (ff !== 4 * d) config.n_inner = ff;
    if (!tied) config.tie_word_embeddings = false;
    return { arch, config, tensors };
  }

  if (neox) {
    const p = 'gpt_neox.';
    put(`${p}embed_in.weight`, [V, d], embed);
    for (let l = 0; l < L; l++) {
      const h = `${p}layers.${l}.`;
      put(`${h}input_layernorm.weight`, [d], gain);
      put(`${h}input_layernorm.bias`, [d], bias);
      put(`${h}post_attention_layernorm.weight`, [d], gain);
      put(`${h}post_attention_layernorm.bias`, [d], bias);
      put(`${h}attention.query_key_value.weight`, [3 * d, d], w); // rows: per head [q | k | v]
      put(`${h}attention.query_key_value.bias`, [3 * d], bias);
      put(`${h}attention.dense.weight`, [d, d], w);
      put(`${h}attention.dense.bias`, [d], bias);
      put(`${h}mlp.dense_h_to_4h.weight`, [ff, d], w);
      put(`${h}mlp.dense_h_to_4h.bias`, [ff], bias);
      put(`${h}mlp.dense_4h_to_h.weight`, [d, ff], w);
      put(`${h}mlp.dense_4h_to_h.bias`, [d], bias);
    }
    put(`${p}final_layer_norm.weight`, [d], gain);
    put(`${p}final_layer_norm.bias`, [d], bias);
    if (!tied) put('embed_out.weight', [V, d], w);
    const config: Record<string, unknown> = {
      architectures: ['GPTNeoXForCausalLM'], bos_token_id: 0, eos_token_id: 0, hidden_act: 'gelu', hidden_size: d, initializer_range: 0.02,
      intermediate_size: ff, layer_norm_eps: 1e-5, max_position_embeddings: P, model_type: 'gpt_neox', num_attention_heads: heads,
      num_hidden_layers: L, rotary_emb_base: opts.ropeTheta ?? 10000, rotary_pct: opts.rotaryPct ?? 0.5, tie_word_embeddings: tied,
      torch_dtype: 'float32', use_cache: true, use_parallel_residual: opts.parallelResidual ?? true, vocab_size: V,
    };
    return { arch, config, tensors };
  }

  // LLaMA family: llama, mistral, qwen2, gemma.
  const normGain = gemma ? (): number => normal(0.1) : gain; // Gemma stores w of (1 + w)
  put('model.embed_tokens.weight', [V, d], embed);
  for (let l = 0; l < L; l++) {
    const h = `model.layers.${l}.`;
    put(`${h}input_layernorm.weight`, [d], normGain);
    put(`${h}self_attn.q_proj.weight`, [heads * hd, d], w);
    put(`${h}self_attn.k_proj.weight`, [kv * hd, d], w);
    put(`${h}self_attn.v_proj.weight`, [kv * hd, d], w);
    if (arch === 'qwen2') {
      put(`${h}self_attn.q_proj.bias`, [heads * hd], bias);
      put(`${h}self_attn.k_proj.bias`, [kv * hd], bias);
      put(`${h}self_attn.v_proj.bias`, [kv * hd], bias);
    }
    put(`${h}self_attn.o_proj.weight`, [d, heads * hd], w);
    put(`${h}post_attention_layernorm.weight`, [d], normGain);
    put(`${h}mlp.gate_proj.weight`, [ff, d], w);
    put(`${h}mlp.up_proj.weight`, [ff, d], w);
    put(`${h}mlp.down_proj.weight`, [d, ff], w);
  }
  put('model.norm.weight', [d], normGain);
  if (!tied) put('lm_head.weight', [V, d], w);
  const base: Record<string, unknown> = {
    attention_dropout: 0, hidden_size: d, initializer_range: 0.02, intermediate_size: ff, max_position_embeddings: P,
    num_attention_heads: heads, num_hidden_layers: L, num_key_value_heads: kv,
  };
  const explicitHeadDim = opts.headDim !== undefined || gemma ? { head_dim: hd } : {};
  const common = { ...base, ...explicitHeadDim, tie_word_embeddings: tied, torch_dtype: 'float32', use_cache: true, vocab_size: V };
  const ropeScaling = opts.ropeScaling ?? null;
  let config: Record<string, unknown>;
  switch (arch) {
    case 'llama':
      config = {
        architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', mlp_bias: false,
        model_type: 'llama', pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: ropeScaling, rope_theta: opts.ropeTheta ?? 10000, ...common,
      };
      break;
    case 'mistral':
      config = {
        architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', model_type: 'mistral', rms_norm_eps: 1e-5,
        rope_theta: opts.ropeTheta ?? 1000000, sliding_window: opts.slidingWindow === undefined ? 4096 : opts.slidingWindow, ...common,
      };
      if (opts.ropeScaling) config.rope_scaling = ropeScaling;
      break;
    case 'qwen2':
      config = {
        architectures: ['Qwen2ForCausalLM'], bos_token_id: V - 2, eos_token_id: V - 1, hidden_act: 'silu', max_window_layers: L,
        model_type: 'qwen2', rms_norm_eps: 1e-6, rope_theta: opts.ropeTheta ?? 1000000, sliding_window: P, use_sliding_window: false, ...common,
      };
      if (opts.ropeScaling) config.rope_scaling = ropeScaling;
      break;
    case 'gemma':
      // Gemma's own configs say hidden_act "gelu"; transformers runs hidden_activation (tanh GELU).
      config = {
        architectures: ['GemmaForCausalLM'], attention_bias: false, bos_token_id: 2, eos_token_id: 1, hidden_act: 'gelu',
        hidden_activation: 'gelu_pytorch_tanh', model_type: 'gemma', pad_token_id: 0, rms_norm_eps: 1e-6, rope_scaling: ropeScaling,
        rope_theta: opts.ropeTheta ?? 10000, ...common,
      };
      break;
  }
  return { arch, config, tensors };
}

// ---- storage rounding ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of IEEE half bits (the definition, shared with the fuzz tests). */
export const halfValue = refF16;

/** The value of bfloat16 bits. */
export function bf16Value(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** `x` as stored in `dtype` and read back (F64: unchanged). */
export function roundToDtype(x: number, dtype: StoreDtype | 'F64'): number {
  switch (dtype) {
    case 'F64': return x;
    case 'F32': return Math.fround(x);
    case 'F16': return halfValue(f16Bits(x));
    case 'BF16': return bf16Value(bf16Bits(x));
  }
}

/** The model as a file of `dtype` holds it: every weight rounded, config `torch_dtype` set. */
export function roundModel(model: TinyModel, dtype: StoreDtype): TinyModel {
  const tensors = new Map<string, TinyTensor>();
  for (const [name, t] of model.tensors) tensors.set(name, { shape: [...t.shape], data: t.data.map((x) => roundToDtype(x, dtype)) });
  return { arch: model.arch, config: { ...model.config, torch_dtype: TORCH_DTYPE[dtype] }, tensors };
}

/**
 * Two checkpoints of `model` to compare: folder `a` in float32 and folder `b` in float16 (the
 * weights rounded), both with `tokenizerJson` and no BOS added. Returns their paths.
 */
export function writeF32F16Pair(dir: string, model: TinyModel, tokenizerJson: object): { a: string; b: string } {
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  for (const [folder, m, dtype] of [[a, model, 'F32'], [b, roundModel(model, 'F16'), 'F16']] as const) {
    fs.mkdirSync(folder);
    writeHfFolder(folder, m, { dtype, tokenizerJson, tokenizerConfig: { add_bos_token: false } });
  }
  return { a, b };
}

/** A tensor of the model, or an error naming it. */
export function tensorOf(model: TinyModel, name: string): TinyTensor {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`tiny ${model.arch} model has no tensor ${name}`);
  return t;
}

export { TORCH_DTYPE, writeHfFolder, writeLlamaGguf, ggufPermute, ggufUnpermute, quantizeQ4_0, quantizeQ8_0 } from './tinyModelFiles';
export type { HfFolderOptions, GgufTokenizer, LlamaGgufOptions } from './tinyModelFiles';
