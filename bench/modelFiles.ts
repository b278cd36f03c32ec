/**
 * Whole-model folders for the benchmark, as Hugging Face lays them out (config.json, safetensors
 * weights, sharded with model.safetensors.index.json when asked, tokenizer.json), written in
 * 4 MiB pieces so a 1.8 GB folder never sits in memory (yielding between pieces, so a signal
 * handler can still run). Values come from the LCG of shapes.ts,
 * uniform with the standard deviation asked for; norm gains are 1. The caller deletes the folders.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import * as fs from 'fs';
import * as path from 'path';
import { safetensorsPrelude } from './files';
import { fill } from './shapes';

export interface ModelTensor {
  name: string;
  shape: number[];
  dtype: 'F32' | 'BF16';
  /** LCG values of this standard deviation (uniform), or every value `value`. */
  init: { std: number; seed: number } | { value: number };
  /**
   * A "fine-tune" on top of `init` (the same values, then rounded to the dtype): uniform LCG noise of
   * standard deviation `std` added to every value, times `boost[k]` on unit `units[k]` (a row of the
   * stored matrix when `axis` is 0, a column when 1). Without it the values are `init`'s alone.
   */
  perturb?: { std: number; seed: number; axis: 0 | 1; units: number[]; boost: number[] };
}

const PIECE = 1 << 20; // values per write

const count = (t: ModelTensor): number => t.shape.reduce((a, b) => a * b, 1);
const bytesOf = (t: ModelTensor): number => count(t) * (t.dtype === 'BF16' ? 2 : 4);

/** float32 to bf16 bits, rounded to nearest even (torch's .to(torch.bfloat16)). */
function toBf16(values: Float32Array, out: Uint16Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  return out;
}

/** Lets signals and timers run between writes (a Ctrl-C handler can then remove the files). */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One safetensors file, streamed; returns its size. */
async function writeFile(file: string, tensors: ModelTensor[]): Promise<number> {
  const prelude = safetensorsPrelude(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: bytesOf(t) })),
    { format: 'pt' },
  );
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, prelude);
    const piece = new Float32Array(PIECE);
    const half = new Uint16Array(PIECE);
    const noise = new Float32Array(PIECE);
    for (const t of tensors) {
      let seed = 'seed' in t.init ? t.init.seed * 1000003 : 0;
      const p = t.perturb;
      let noiseSeed = p ? p.seed * 1000003 : 0;
      const cols = t.shape[t.shape.length - 1];
      // each unit's noise scale: 1, or its boost
      const scale = p ? new Float32Array(p.axis === 0 ? count(t) / cols : cols).fill(1) : undefined;
      if (p && scale) p.units.forEach((u, k) => (scale[u] = p.boost[k] ?? 1));
      for (let left = count(t); left > 0; ) {
        const n = Math.min(left, PIECE);
        const view = piece.subarray(0, n);
        // Uniform on [-a, a) has standard deviation a / sqrt(3).
        if ('std' in t.init) fill(view, seed++, t.init.std * Math.sqrt(3));
        else view.fill(t.init.value);
        if (p && scale) {
          fill(noise, noiseSeed++, p.std * Math.sqrt(3));
          const at = count(t) - left; // index of view[0] in the tensor
          for (let k = 0; k < n; k++) {
            const i = at + k;
            view[k] += noise[k] * scale[p.axis === 0 ? Math.floor(i / cols) : i % cols];
          }
        }
        fs.writeSync(fd, t.dtype === 'BF16' ? new Uint8Array(toBf16(view, half).buffer, 0, n * 2) : new Uint8Array(view.buffer, 0, n * 4));
        left -= n;
        await tick();
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

/**
 * Writes config.json and the weights into `dir`: model.safetensors, or `shards` files of about
 * equal size (tensors in order, as save_pretrained splits them) plus model.safetensors.index.json.
 * Returns the bytes of weights written.
 */
export async function writeModelFolder(dir: string, config: object, tensors: ModelTensor[], shards = 1): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (shards <= 1) return writeFile(path.join(dir, 'model.safetensors'), tensors);
  const total = tensors.reduce((s, t) => s + bytesOf(t), 0);
  const groups: ModelTensor[][] = [[]];
  let filled = 0;
  for (const t of tensors) {
    if (filled >= (groups.length * total) / shards && groups.length < shards) groups.push([]);
    groups[groups.length - 1].push(t);
    filled += bytesOf(t);
  }
  const weightMap: Record<string, string> = {};
  let size = 0;
  for (const [i, g] of groups.entries()) {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`;
    size += await writeFile(path.join(dir, name), g);
    for (const t of g) weightMap[t.name] = name;
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return size;
}

const STD = 0.02;

/** A LLaMA's widths: d_model, d_ff, vocabulary, attention heads. */
export interface LlamaDims {
  d: number;
  f: number;
  vocab: number;
  heads: number;
}

/** LLaMA-7B's (Llama 2's) widths. */
export const LLAMA7B: LlamaDims = { d: 4096, f: 11008, vocab: 32000, heads: 32 };

/**
 * A fine-tune of one block's MLP, for `compare`: uniform noise of `relative` x the weights' standard
 * deviation on gate, up and down of block `block`, 10x on unit fineTunedUnits(f)[0] and 5x on
 * [1] (rows of gate and up, columns of down): those are the most changed units, in that order.
 */
export interface FineTune {
  block: number;
  relative: number;
  seed: number;
}

/** The two units a FineTune changes most, most first (distinct, inside 0..f-1). */
export function fineTunedUnits(f: number): number[] {
  return [Math.floor(f / 3), Math.floor((2 * f) / 3) + 1];
}

/** LLaMA-7B's config.json (Llama 2's, as published) with `blocks` blocks (other widths with `dims`). */
export function llama7bConfig(blocks: number, dims: LlamaDims = LLAMA7B): object {
  return {
    architectures: ['LlamaForCausalLM'],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: dims.d,
    initializer_range: STD,
    intermediate_size: dims.f,
    max_position_embeddings: 4096,
    model_type: 'llama',
    num_attention_heads: dims.heads,
    num_hidden_layers: blocks,
    num_key_value_heads: dims.heads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: dims.vocab,
  };
}

/**
 * LLaMA-7B's tensors in bf16 with `blocks` blocks and an untied lm_head (about 1.8 GB for 3); other
 * widths with `dims`; with `fineTune`, the same values but for that block's MLP (see FineTune).
 */
export function llama7bTensors(blocks: number, opts: { dims?: LlamaDims; fineTune?: FineTune } = {}): ModelTensor[] {
  const { d, f, vocab: v } = opts.dims ?? LLAMA7B;
  const ft = opts.fineTune;
  let seed = 100;
  const w = (name: string, shape: number[]): ModelTensor => ({ name, shape, dtype: 'BF16', init: { std: STD, seed: seed++ } });
  const one = (name: string): ModelTensor => ({ name, shape: [d], dtype: 'BF16', init: { value: 1 } });
  // gate and up [f, d]: a unit is a row; down [d, f]: a column
  const tuned = (t: ModelTensor, axis: 0 | 1, k: number): ModelTensor =>
    ft ? { ...t, perturb: { std: ft.relative * STD, seed: ft.seed * 10 + k, axis, units: fineTunedUnits(f), boost: [10, 5] } } : t;
  const out: ModelTensor[] = [w('model.embed_tokens.weight', [v, d])];
  for (let i = 0; i < blocks; i++) {
    const p = `model.layers.${i}.`;
    out.push(
      one(`${p}input_layernorm.weight`),
      w(`${p}self_attn.q_proj.weight`, [d, d]),
      w(`${p}self_attn.k_proj.weight`, [d, d]),
      w(`${p}self_attn.v_proj.weight`, [d, d]),
      w(`${p}self_attn.o_proj.weight`, [d, d]),
      one(`${p}post_attention_layernorm.weight`),
    );
    const mlp = [w(`${p}mlp.gate_proj.weight`, [f, d]), w(`${p}mlp.up_proj.weight`, [f, d]), w(`${p}mlp.down_proj.weight`, [d, f])];
    out.push(...(ft?.block === i ? [tuned(mlp[0], 0, 0), tuned(mlp[1], 0, 1), tuned(mlp[2], 1, 2)] : mlp));
  }
  out.push(one('model.norm.weight'), w('lm_head.weight', [v, d]));
  return out;
}

/** GPT-2 small's config.json, as on the hub. */
export function gpt2Config(): object {
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    bos_token_id: 50256,
    eos_token_id: 50256,
    initializer_range: STD,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: 1024,
    n_embd: 768,
    n_head: 12,
    n_layer: 12,
    n_positions: 1024,
    torch_dtype: 'float32',
    vocab_size: 50257,
  };
}

/** GPT-2 small's tensors in float32, named as the hub's gpt2 checkpoint (no `transformer.`, head tied). */
export function gpt2SmallTensors(): ModelTensor[] {
  const [d, f, v] = [768, 3072, 50257];
  let seed = 500;
  const w = (name: string, shape: number[], std = STD): ModelTensor => ({ name, shape, dtype: 'F32', init: { std, seed: seed++ } });
  const c = (name: string, value: number): ModelTensor => ({ name, shape: [d], dtype: 'F32', init: { value } });
  const out: ModelTensor[] = [w('wte.weight', [v, d]), w('wpe.weight', [1024, d], 0.01)];
  for (let i = 0; i < 12; i++) {
    const p = `h.${i}.`;
    out.push(
      c(`${p}ln_1.weight`, 1),
      c(`${p}ln_1.bias`, 0),
      w(`${p}attn.c_attn.weight`, [d, 3 * d]),
      w(`${p}attn.c_attn.bias`, [3 * d], 0.01),
      w(`${p}attn.c_proj.weight`, [d, d]),
      w(`${p}attn.c_proj.bias`, [d], 0.01),
      c(`${p}ln_2.weight`, 1),
      c(`${p}ln_2.bias`, 0),
      w(`${p}mlp.c_fc.weight`, [d, f]),
      w(`${p}mlp.c_fc.bias`, [f], 0.01),
      w(`${p}mlp.c_proj.weight`, [f, d]),
      w(`${p}mlp.c_proj.bias`, [d], 0.01),
    );
  }
  out.push(c('ln_f.weight', 1), c('ln_f.bias', 0));
  return out;
}

// ---- a byte-level BPE tokenizer.json, trained here ----

/** GPT-2's byte-to-character alphabet (openai/gpt-2 encoder.py `bytes_to_unicode`). */
const BYTE_CHAR: string[] = (() => {
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let moved = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(keep(b) ? b : 0x100 + moved++));
})();
const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));

/** GPT-2's pre-tokenizer pattern (what ByteLevel with use_regex splits on). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Learns up to `maxMerges` byte-level BPE merges from `text`: the most frequent adjacent pair
 * (ties to the smaller string) merged everywhere, repeatedly, as the tokenizers library's trainer
 * does, with pair counts updated only in the words that hold the merged pair.
 */
export function trainBpe(text: string, maxMerges: number): string[] {
  const freq = new Map<string, number>();
  for (const m of text.matchAll(GPT2_SPLIT)) {
    const w = Array.from(Buffer.from(m[0], 'utf8'), (b) => BYTE_CHAR[b]).join('');
    freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  const words = [...freq].map(([w, n]) => ({ syms: [...w], n }));
  const pairs = new Map<string, number>();
  const where = new Map<string, Set<number>>();
  const tally = (i: number, sign: 1 | -1): void => {
    const { syms, n } = words[i];
    for (let j = 0; j + 1 < syms.length; j++) {
      const key = `${syms[j]} ${syms[j + 1]}`;
      pairs.set(key, (pairs.get(key) ?? 0) + sign * n);
      if (sign > 0) (where.get(key) ?? where.set(key, new Set()).get(key)!).add(i);
    }
  };
  words.forEach((_, i) => tally(i, 1));
  const merges: string[] = [];
  while (merges.length < maxMerges) {
    let best = '';
    let most = 1;
    for (const [key, n] of pairs) if (n > most || (n === most && n > 1 && key < best)) [best, most] = [key, n];
    if (!best) break;
    merges.push(best);
    const [a, b] = best.split(' ');
    for (const i of where.get(best) ?? []) {
      tally(i, -1);
      const s = words[i].syms;
      const merged: string[] = [];
      for (let j = 0; j < s.length; j++) {
        if (j + 1 < s.length && s[j] === a && s[j + 1] === b) merged.push(a + b), j++;
        else merged.push(s[j]);
      }
      words[i].syms = merged;
      tally(i, 1);
    }
    pairs.delete(best);
    where.delete(best);
  }
  return merges;
}

/** The README text of the npm packages installed under `nodeModules` (top level, by name): about 1.5 MB of English. */
export function readmeCorpus(nodeModules: string): string {
  const parts: string[] = [];
  for (const pkg of fs.readdirSync(nodeModules).sort()) {
    const dir = path.join(nodeModules, pkg);
    const readme = fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? fs.readdirSync(dir).find((f) => /^readme\.md$/i.test(f)) : undefined;
    if (readme) parts.push(fs.readFileSync(path.join(dir, readme), 'utf8'));
  }
  return parts.join('\n');
}

/**
 * GPT-2's tokenizer.json layout (ByteLevel pre-tokenizer without prefix space, ByteLevel decoder,
 * BPE) over the 256 byte symbols, the merges' tokens, unused padding tokens up to `vocabSize - 1`
 * and `<|endoftext|>` last, as GPT-2 numbers it.
 */
export function byteLevelTokenizerJson(merges: string[], vocabSize: number): Record<string, unknown> {
  const tokens = [...BYTE_CHAR, ...merges.map((m) => m.replace(' ', ''))];
  for (let i = 0; tokens.length < vocabSize - 1; i++) tokens.push(`<|unused_${i}|>`);
  tokens.push('<|endoftext|>');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: vocabSize - 1, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges },
  };
}

/** English prose for the GPT-2 run; `cutToTokens` trims it. */
export const ENGLISH = [
  'A transformer reads a sentence as a sequence of tokens and passes each of them through a stack of identical blocks.',
  'Every block first lets the tokens look at one another through attention, and then sends each token on its own through a small',
  'feed-forward network: the vector is expanded to four times its width, filtered by a smooth non-linearity that silences most of',
  'the neurons, and condensed back to the width of the residual stream. Researchers who study these networks often find that single',
  'neurons respond to recognisable patterns, such as a date, a closing bracket or the name of a city, which is why it helps to see them.',
].join(' ');

/** The ids @huggingface/tokenizers gives `text` under `tokenizerJson` (no special tokens). */
export function encodeIds(tokenizerJson: object, text: string): number[] {
  return new Tokenizer(tokenizerJson, {}).encode(text, { add_special_tokens: false }).ids;
}

/** The longest prefix of `text` (ending at a token boundary) that `tokenizerJson` encodes as exactly `n` tokens, or undefined. */
export function cutToTokens(tokenizerJson: object, text: string, n: number): string | undefined {
  const tok = new Tokenizer(tokenizerJson, {});
  const tokens = tok.encode(text, { add_special_tokens: false }).tokens;
  const textOf = (k: number): string => Buffer.from(tokens.slice(0, k).join('').split('').map((c) => CHAR_BYTE.get(c) ?? 0)).toString('utf8');
  for (let k = Math.min(tokens.length, n + 8); k >= n; k--) {
    const cut = textOf(k);
    if (tok.encode(cut, { add_special_tokens: false }).ids.length === n) return cut;
  }
  return undefined;
}
