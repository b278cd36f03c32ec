/**
 * An independent float64 forward pass of the tiny models (tinyModels.ts), written from the
 * transformers modeling files with plain loops: clarity over speed, nothing shared with src/.
 * The config.json is the contract, read in one place (`refSpec`); one block serves all six
 * families and differs only where they do: norms (LayerNorm / RMSNorm / Gemma 1 + w), positions
 * (GPT-2's learned wpe / RoPE, NeoX partial rotary), q/k/v packing (GPT-2 Conv1D columns, NeoX
 * per-head [q, k, v] rows, separate projections with Qwen2's biases), grouped-query attention,
 * Mistral's sliding window, gated or plain MLP, and NeoX's parallel residual.
 */
import { hfActivation, refLayerNorm, refRmsNorm, refRope, ropeInvFreq, ropeScalingOf } from './refBlocks';
import { roundToDtype, tensorOf, type Arch, type StoreDtype, type TinyModel } from './tinyModels';

/** What one block's MLP saw and made, each T x width, row-major. */
export interface RefFfnTrace {
  /** After the pre-FFN norm (NeoX parallel: ln2 of the block's input). */
  input: Float64Array;
  /** Gated MLPs: gate_proj(x) before the activation. */
  gate?: Float64Array;
  /** Gated MLPs: up_proj(x). Plain MLPs: the first projection (c_fc / dense_h_to_4h) before the activation. */
  up?: Float64Array;
  /** What enters the down projection (after any ablation). */
  hidden: Float64Array;
  /** The MLP's output before the residual add. */
  output: Float64Array;
}

export interface RefForward {
  /** The residual stream entering each block, T x d. */
  residual: Float64Array[];
  ffn: RefFfnTrace[];
  /** After the final norm, T x d. */
  finalHidden: Float64Array;
  /** T x vocab. */
  logits: Float64Array;
}

export interface RefForwardOptions {
  /** Zero these hidden units (what enters the down projection) of this block at every position. */
  ablate?: { layer: number; units: number[] };
  /** Dtype Gemma's sqrt(hidden) normalizer is rounded to (default: config torch_dtype, as transformers does). */
  normalizerDtype?: StoreDtype | 'F64';
}

/** Everything the forward needs from config.json, with each family's defaults. */
export interface RefSpec {
  arch: Arch;
  layers: number;
  d: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ff: number;
  vocab: number;
  norm: 'layer' | 'rms' | 'rms1p';
  eps: number;
  act: (x: number) => number;
  gated: boolean;
  /** Rotated dims per head (0: learned positions). */
  rotaryDims: number;
  invFreq: Float64Array;
  parallelResidual: boolean;
  tied: boolean;
  /** Multiplies the embedding (Gemma: sqrt(hidden) rounded to the model dtype). */
  embedScale: number;
  /** Sliding window of a block, if it has one: key k is seen from query q when q - k < window. */
  window: (layer: number) => number | undefined;
}

const DTYPE_OF: Record<string, StoreDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

/** Reads `model.config` as the family's modeling file does. */
export function refSpec(model: TinyModel, opts: RefForwardOptions = {}): RefSpec {
  const c = model.config;
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number') throw new Error(`reference: config ${key} missing`);
    return v;
  };
  const arch = model.arch;
  if (arch === 'gpt2') {
    const d = num('n_embd');
    const inner = c.n_inner;
    return {
      arch, layers: num('n_layer'), d, heads: num('n_head'), kvHeads: num('n_head'), headDim: d / num('n_head'),
      ff: typeof inner === 'number' ? inner : 4 * d, vocab: num('vocab_size'), norm: 'layer', eps: num('layer_norm_epsilon', 1e-5),
      act: hfActivation(String(c.activation_function ?? 'gelu_new')), gated: false, rotaryDims: 0, invFreq: new Float64Array(0),
      parallelResidual: false, tied: c.tie_word_embeddings !== false, embedScale: 1, window: () => undefined,
    };
  }
  const d = num('hidden_size');
  const heads = num('num_attention_heads');
  if (arch === 'gpt_neox') {
    const headDim = d / heads;
    const rotaryDims = Math.trunc(headDim * num('rotary_pct', 0.25)); // int(head_size * rotary_pct)
    return {
      arch, layers: num('num_hidden_layers'), d, heads, kvHeads: heads, headDim, ff: num('intermediate_size'), vocab: num('vocab_size'),
      norm: 'layer', eps: num('layer_norm_eps', 1e-5), act: hfActivation(String(c.hidden_act ?? 'gelu')), gated: false, rotaryDims,
      invFreq: ropeInvFreq(rotaryDims, num('rotary_emb_base', 10000), ropeScalingOf(c)),
      parallelResidual: c.use_parallel_residual !== false, tied: c.tie_word_embeddings === true, embedScale: 1, window: () => undefined,
    };
  }
  const headDim = num('head_dim', d / heads);
  const gemma = arch === 'gemma';
  const dtype = opts.normalizerDtype ?? DTYPE_OF[String(c.torch_dtype ?? 'float32')] ?? 'F32';
  let window: (layer: number) => number | undefined = () => undefined;
  if (arch === 'mistral' && typeof c.sliding_window === 'number') {
    const w = c.sliding_window;
    window = () => w;
  } else if (arch === 'qwen2' && c.use_sliding_window === true && typeof c.sliding_window === 'number') {
    // Qwen2 layer_types: sliding attention only from max_window_layers on.
    const w = c.sliding_window;
    const from = num('max_window_layers', 0);
    window = (layer) => (layer >= from ? w : undefined);
  }
  return {
    arch, layers: num('num_hidden_layers'), d, heads, kvHeads: num('num_key_value_heads', heads), headDim, ff: num('intermediate_size'),
    vocab: num('vocab_size'), norm: gemma ? 'rms1p' : 'rms', eps: num('rms_norm_eps', 1e-6),
    // Gemma runs hidden_activation (default gelu_pytorch_tanh) whatever hidden_act says.
    act: hfActivation(String(gemma ? c.hidden_activation ?? 'gelu_pytorch_tanh' : c.hidden_act ?? 'silu')), gated: true,
    rotaryDims: headDim, invFreq: ropeInvFreq(headDim, num('rope_theta', 10000), ropeScalingOf(c)), parallelResidual: false,
    tied: c.tie_word_embeddings === undefined ? gemma : c.tie_word_embeddings === true,
    embedScale: gemma ? roundToDtype(Math.sqrt(d), dtype) : 1, window,
  };
}

// ---- tensor names per family ----

interface LayerNames {
  norm1: string;
  norm2: string;
}

function layerPrefix(arch: Arch, l: number): string {
  return arch === 'gpt2' ? `transformer.h.${l}.` : arch === 'gpt_neox' ? `gpt_neox.layers.${l}.` : `model.layers.${l}.`;
}

function normNames(arch: Arch, l: number): LayerNames {
  const p = layerPrefix(arch, l);
  return arch === 'gpt2' ? { norm1: `${p}ln_1`, norm2: `${p}ln_2` } : { norm1: `${p}input_layernorm`, norm2: `${p}post_attention_layernorm` };
}

const EMBED: Record<Arch, string> = {
  gpt2: 'transformer.wte.weight', gpt_neox: 'gpt_neox.embed_in.weight', llama: 'model.embed_tokens.weight',
  mistral: 'model.embed_tokens.weight', qwen2: 'model.embed_tokens.weight', gemma: 'model.embed_tokens.weight',
};
const FINAL_NORM: Record<Arch, string> = {
  gpt2: 'transformer.ln_f', gpt_neox: 'gpt_neox.final_layer_norm', llama: 'model.norm', mistral: 'model.norm', qwen2: 'model.norm', gemma: 'model.norm',
};

// ---- linear algebra on T x n row-major matrices ----

/**
 * y = x Wᵀ + b for an nn.Linear weight [out, in], or y = x W + b for a GPT-2 Conv1D weight
 * [in, out] (`conv1d`). x is T x in.
 */
function linear(x: Float64Array, T: number, model: TinyModel, name: string, conv1d = false): Float64Array {
  const w = tensorOf(model, `${name}.weight`);
  const [inDim, outDim] = conv1d ? w.shape : [w.shape[1], w.shape[0]];
  const b = model.tensors.get(`${name}.bias`)?.data;
  const y = new Float64Array(T * outDim);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * (conv1d ? w.data[i * outDim + o] : w.data[o * inDim + i]);
      y[t * outDim + o] = s;
    }
  }
  return y;
}

function normRows(spec: RefSpec, model: TinyModel, name: string, x: Float64Array, T: number): Float64Array {
  const w = tensorOf(model, `${name}.weight`).data;
  const out = new Float64Array(T * spec.d);
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * spec.d, (t + 1) * spec.d);
    const n = spec.norm === 'layer' ? refLayerNorm(row, w, tensorOf(model, `${name}.bias`).data, spec.eps) : refRmsNorm(row, w, spec.eps, spec.norm === 'rms1p');
    out.set(n, t * spec.d);
  }
  return out;
}

// ---- attention ----

/** q (T x heads·hd), k and v (T x kvHeads·hd), heads contiguous within a row. */
function qkv(spec: RefSpec, model: TinyModel, l: number, x: Float64Array, T: number): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const p = layerPrefix(spec.arch, l);
  const { d, heads, kvHeads, headDim: hd } = spec;
  if (spec.arch === 'gpt2') {
    // Conv1D output columns are [q | k | v], each d wide (split(embed_dim, dim=2)).
    const y = linear(x, T, model, `${p}attn.c_attn`, true);
    const part = (j: number): Float64Array => {
      const out = new Float64Array(T * d);
      for (let t = 0; t < T; t++) out.set(y.subarray(t * 3 * d + j * d, t * 3 * d + (j + 1) * d), t * d);
      return out;
    };
    return { q: part(0), k: part(1), v: part(2) };
  }
  if (spec.arch === 'gpt_neox') {
    // query_key_value rows are per head [q_h | k_h | v_h] (view(..., heads, 3 * head_size)).
    const y = linear(x, T, model, `${p}attention.query_key_value`);
    const part = (j: number): Float64Array => {
      const out = new Float64Array(T * d);
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < heads; h++) {
          const from = t * 3 * d + h * 3 * hd + j * hd;
          out.set(y.subarray(from, from + hd), t * d + h * hd);
        }
      }
      return out;
    };
    return { q: part(0), k: part(1), v: part(2) };
  }
  const q = linear(x, T, model, `${p}self_attn.q_proj`);
  const k = linear(x, T, model, `${p}self_attn.k_proj`);
  const v = linear(x, T, model, `${p}self_attn.v_proj`);
  if (q.length !== T * heads * hd || k.length !== T * kvHeads * hd) throw new Error('reference: q/k shapes do not match the config');
  return { q, k, v };
}

/** Causal (optionally windowed) softmax attention with RoPE and grouped-query heads; returns T x heads·hd before the output projection. */
function attention(spec: RefSpec, l: number, q: Float64Array, k: Float64Array, v: Float64Array, T: number): Float64Array {
  const { heads, kvHeads, headDim: hd } = spec;
  const group = heads / kvHeads;
  const head = (m: Float64Array, t: number, h: number, n: number): Float64Array => m.slice((t * n + h) * hd, (t * n + h + 1) * hd);
  const rope = (x: Float64Array, pos: number): Float64Array => (spec.rotaryDims ? refRope(x, pos, spec.invFreq) : x);
  const window = spec.window(l);
  const out = new Float64Array(T * heads * hd);
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / group); // repeat_kv: query head h reads kv head h // n_rep
    const keys = Array.from({ length: T }, (_, s) => rope(head(k, s, kvh, kvHeads), s));
    for (let t = 0; t < T; t++) {
      const qt = rope(head(q, t, h, heads), t);
      const scores: number[] = [];
      for (let s = 0; s <= t; s++) {
        if (window !== undefined && t - s >= window) scores.push(-Infinity);
        else scores.push(keys[s].reduce((acc, ks, i) => acc + ks * qt[i], 0) / Math.sqrt(hd));
      }
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const z = e.reduce((a, b) => a + b, 0);
      for (let s = 0; s <= t; s++) {
        const vs = head(v, s, kvh, kvHeads);
        for (let i = 0; i < hd; i++) out[(t * heads + h) * hd + i] += (e[s] / z) * vs[i];
      }
    }
  }
  return out;
}

// ---- MLP ----

function mlp(spec: RefSpec, model: TinyModel, l: number, x: Float64Array, T: number, ablate: number[] | undefined): RefFfnTrace {
  const p = layerPrefix(spec.arch, l);
  const names = spec.arch === 'gpt2'
    ? { up: `${p}mlp.c_fc`, down: `${p}mlp.c_proj` }
    : spec.arch === 'gpt_neox' ? { up: `${p}mlp.dense_h_to_4h`, down: `${p}mlp.dense_4h_to_h` } : { up: `${p}mlp.up_proj`, down: `${p}mlp.down_proj` };
  const conv1d = spec.arch === 'gpt2';
  const up = linear(x, T, model, names.up, conv1d);
  const gate = spec.gated ? linear(x, T, model, `${p}mlp.gate_proj`) : undefined;
  const hidden = new Float64Array(T * spec.ff);
  for (let i = 0; i < hidden.length; i++) hidden[i] = gate ? spec.act(gate[i]) * up[i] : spec.act(up[i]);
  for (const u of ablate ?? []) for (let t = 0; t < T; t++) hidden[t * spec.ff + u] = 0;
  return { input: x, gate, up, hidden, output: linear(hidden, T, model, names.down, conv1d) };
}

// ---- the model ----

/** Runs `ids` through `model` in float64 and keeps the residual entering each block and each MLP's trace. */
export function refForward(model: TinyModel, ids: number[], opts: RefForwardOptions = {}): RefForward {
  const spec = refSpec(model, opts);
  const { d, vocab } = spec;
  const T = ids.length;
  const embed = tensorOf(model, EMBED[spec.arch]).data;
  const x = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    if (!(ids[t] >= 0 && ids[t] < vocab)) throw new Error(`reference: token id ${ids[t]} out of range`);
    for (let i = 0; i < d; i++) x[t * d + i] = embed[ids[t] * d + i] * spec.embedScale;
  }
  if (spec.arch === 'gpt2') {
    const wpe = tensorOf(model, 'transformer.wpe.weight').data;
    for (let i = 0; i < T * d; i++) x[i] += wpe[i]; // position t's row is wpe[t]
  }
  const residual: Float64Array[] = [];
  const ffn: RefFfnTrace[] = [];
  for (let l = 0; l < spec.layers; l++) {
    residual.push(x.slice());
    const { norm1, norm2 } = normNames(spec.arch, l);
    const a = normRows(spec, model, norm1, x, T);
    const { q, k, v } = qkv(spec, model, l, a, T);
    const mixed = attention(spec, l, q, k, v, T);
    const p = layerPrefix(spec.arch, l);
    const proj = spec.arch === 'gpt2' ? `${p}attn.c_proj` : spec.arch === 'gpt_neox' ? `${p}attention.dense` : `${p}self_attn.o_proj`;
    const attnOut = linear(mixed, T, model, proj, spec.arch === 'gpt2');
    const ablate = opts.ablate?.layer === l ? opts.ablate.units : undefined;
    if (spec.parallelResidual) {
      // x + attn(ln1(x)) + mlp(ln2(x)), both norms of the block's input.
      const trace = mlp(spec, model, l, normRows(spec, model, norm2, x, T), T, ablate);
      for (let i = 0; i < x.length; i++) x[i] += attnOut[i] + trace.output[i];
      ffn.push(trace);
    } else {
      for (let i = 0; i < x.length; i++) x[i] += attnOut[i];
      const trace = mlp(spec, model, l, normRows(spec, model, norm2, x, T), T, ablate);
      for (let i = 0; i < x.length; i++) x[i] += trace.output[i];
      ffn.push(trace);
    }
  }
  const finalHidden = normRows(spec, model, FINAL_NORM[spec.arch], x, T);
  const headName = spec.arch === 'gpt_neox' ? 'embed_out.weight' : 'lm_head.weight';
  const head = spec.tied ? embed : tensorOf(model, headName).data;
  const logits = new Float64Array(T * vocab);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < vocab; o++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += finalHidden[t * d + i] * head[o * d + i];
      logits[t * vocab + o] = s;
    }
  }
  return { residual, ffn, finalHidden, logits };
}
