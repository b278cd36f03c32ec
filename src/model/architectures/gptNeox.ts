/**
 * GPT-NeoX / Pythia (`model_type: gpt_neox`): LayerNorm with bias, a fused query_key_value stored
 * [out, in] whose output is laid out per head as [q_h, k_h, v_h], partial rotary (rotate-half on the
 * first rotary_pct of each head), the parallel residual x + attn(ln1(x)) + mlp(ln2(x)), exact
 * GELU, and an untied head (embed_out). No `vscode` import.
 */
import { toPlain } from '../../core/activations';
import { FfnLensError } from '../../core/errors';
import type { ConfigFields } from '../config';
import type { BlockTensors, ModelSpec } from '../spec';
import { activationOf, ropeScalingOf, type TensorNames } from './common';

export function gptNeoxSpec(c: ConfigFields, names: TensorNames): ModelSpec {
  const dModel = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  const headDim = c.headDim(dModel, heads, 'head_dim');
  // transformers: rotary_ndims = int(head_size * rotary_pct)
  const dims = Math.floor(headDim * c.fraction('rotary_pct', 0.25));
  if (dims % 2 !== 0 || dims === 0) throw new FfnLensError(`config.json: rotary_pct gives ${dims} rotary dimensions per head, which must be even and above 0`, c.file);
  const tied = c.bool('tie_word_embeddings', false);
  const head = tied || !names.has('embed_out.weight') ? 'gpt_neox.embed_in.weight' : 'embed_out.weight';
  const block = (i: number): BlockTensors => {
    const b = `gpt_neox.layers.${i}.`;
    const linear = (name: string) => ({ weight: `${b}${name}.weight`, bias: `${b}${name}.bias`, layout: 'out_in' as const });
    return {
      attnNorm: { weight: `${b}input_layernorm.weight`, bias: `${b}input_layernorm.bias` },
      qkv: { kind: 'fused', qkv: linear('attention.query_key_value'), order: 'per-head' },
      o: linear('attention.dense'),
      ffnNorm: { weight: `${b}post_attention_layernorm.weight`, bias: `${b}post_attention_layernorm.bias` },
      mlp: { up: linear('mlp.dense_h_to_4h'), down: linear('mlp.dense_4h_to_h') },
    };
  };
  return {
    arch: 'gpt_neox',
    vocabSize: c.int('vocab_size'),
    dModel,
    layers: c.int('num_hidden_layers'),
    heads,
    kvHeads: heads,
    headDim,
    dFf: c.int('intermediate_size', 4 * dModel),
    maxPositions: c.int('max_position_embeddings', 2048),
    norm: { kind: 'layer', eps: c.positive('layer_norm_eps', 1e-5), plusOne: false },
    rope: { theta: c.positive('rotary_emb_base', c.positive('rope_theta', 10000)), dims, pairing: 'half', scaling: ropeScalingOf(c) },
    parallelResidual: c.bool('use_parallel_residual', true),
    activation: toPlain(activationOf(c, 'hidden_act', 'gelu')),
    embedScale: 1,
    embed: 'gpt_neox.embed_in.weight',
    head,
    tiedHead: head === 'gpt_neox.embed_in.weight',
    finalNorm: { weight: 'gpt_neox.final_layer_norm.weight', bias: 'gpt_neox.final_layer_norm.bias' },
    block,
  };
}
