/**
 * The LLaMA family in Hugging Face form: `llama` (1/2/3, llama3 rope_scaling), `mistral` (sliding
 * window), `qwen2` (q/k/v biases), `gemma` ((1 + γ) RMSNorm, embeddings scaled by sqrt(d_model),
 * GeGLU, its own head_dim). All pre-norm RMSNorm, RoPE rotate-half on the stored q/k (the HF
 * export permutes Meta's weights for it), grouped-query attention, a SiLU- or GELU-gated FFN with
 * gate/up/down stored [out, in]. No `vscode` import.
 */
import { toGated } from '../../core/activations';
import type { ConfigFields } from '../config';
import type { ArchName, BlockTensors, ModelSpec } from '../spec';
import { activationOf, ropeScalingOf, type TensorNames } from './common';

/** The float formats Gemma's embedding normaliser is rounded to (`torch_dtype`). */
function roundToDtype(x: number, dtype: string | undefined): number {
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
    const rounded = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
    return new Float32Array(new Uint32Array([rounded]).buffer)[0];
  }
  if (dtype === 'float16') {
    // sqrt of a hidden size is far inside float16's normal range: round the mantissa to 10 bits.
    const e = Math.floor(Math.log2(x));
    const step = 2 ** (e - 10);
    return Math.round(x / step) * step;
  }
  return Math.fround(x);
}

export function llamaSpec(arch: Extract<ArchName, 'llama' | 'mistral' | 'qwen2' | 'gemma'>, c: ConfigFields, names: TensorNames): ModelSpec {
  const gemma = arch === 'gemma';
  const dModel = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  const kvHeads = c.kvHeads('num_key_value_heads', heads);
  const headDim = c.headDim(dModel, heads);
  const tied = c.bool('tie_word_embeddings', gemma);
  const head = !tied && names.has('lm_head.weight') ? 'lm_head.weight' : tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
  // Gemma's MLP reads hidden_activation (default gelu_pytorch_tanh) and ignores hidden_act.
  const activation = gemma ? activationOf(c, 'hidden_activation', 'gelu_pytorch_tanh') : activationOf(c, 'hidden_act', 'silu');
  const optionalBias = (name: string): string | undefined => (names.has(name) ? name : undefined);
  const block = (i: number): BlockTensors => {
    const b = `model.layers.${i}.`;
    const linear = (name: string, bias: boolean | 'optional') => ({
      weight: `${b}${name}.weight`,
      bias: bias === true ? `${b}${name}.bias` : bias === 'optional' ? optionalBias(`${b}${name}.bias`) : undefined,
      layout: 'out_in' as const,
    });
    const qkvBias = arch === 'qwen2' ? true : 'optional';
    return {
      attnNorm: { weight: `${b}input_layernorm.weight` },
      qkv: { kind: 'separate', q: linear('self_attn.q_proj', qkvBias), k: linear('self_attn.k_proj', qkvBias), v: linear('self_attn.v_proj', qkvBias) },
      o: linear('self_attn.o_proj', 'optional'),
      ffnNorm: { weight: `${b}post_attention_layernorm.weight` },
      mlp: { gate: linear('mlp.gate_proj', 'optional'), up: linear('mlp.up_proj', 'optional'), down: linear('mlp.down_proj', 'optional') },
    };
  };
  const window = arch === 'mistral' || (arch === 'qwen2' && c.bool('use_sliding_window', false)) ? c.raw('sliding_window') : undefined;
  return {
    arch,
    vocabSize: c.int('vocab_size'),
    dModel,
    layers: c.int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    dFf: c.int('intermediate_size'),
    maxPositions: c.int('max_position_embeddings', 2048),
    norm: { kind: 'rms', eps: c.positive('rms_norm_eps', 1e-6), plusOne: gemma },
    rope: {
      theta: c.positive('rope_theta', 10000),
      dims: headDim,
      pairing: 'half',
      scaling: ropeScalingOf(c),
    },
    parallelResidual: false,
    activation: toGated(activation),
    slidingWindow: window === undefined || window === null ? undefined : c.int('sliding_window'),
    embedScale: gemma ? roundToDtype(Math.sqrt(dModel), c.string('torch_dtype')) : 1,
    embed: 'model.embed_tokens.weight',
    head,
    tiedHead: head === 'model.embed_tokens.weight',
    finalNorm: { weight: 'model.norm.weight' },
    block,
    bosId: c.has('bos_token_id') ? c.int('bos_token_id', undefined, 0) : undefined,
    eosId: typeof c.raw('eos_token_id') === 'number' ? c.int('eos_token_id', undefined, 0) : undefined,
  };
}
