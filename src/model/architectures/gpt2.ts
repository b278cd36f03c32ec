/**
 * GPT-2 (Hugging Face `model_type: gpt2`): learned positions, pre-norm LayerNorm with bias,
 * Conv1D weights stored [in, out], one fused c_attn whose output columns are [q | k | v], GELU
 * (tanh approximation, `gelu_new`), the head tied to the token embedding. No `vscode` import.
 */
import { FfnLensError } from '../../core/errors';
import { toPlain } from '../../core/activations';
import type { ConfigFields } from '../config';
import type { BlockTensors, ModelSpec } from '../spec';
import { activationOf, type TensorNames } from './common';

export function gpt2Spec(c: ConfigFields, names: TensorNames): ModelSpec {
  const dModel = c.int('n_embd');
  const heads = c.int('n_head');
  const hidden = c.has('n_inner') ? c.int('n_inner') : 4 * dModel;
  // Hub checkpoints name tensors `h.0...` or `transformer.h.0...`: the file decides.
  const p = names.has('transformer.wte.weight') ? 'transformer.' : '';
  if (!names.has(`${p}wte.weight`)) throw new FfnLensError('a GPT-2 model needs wte.weight (or transformer.wte.weight), and the files have neither', c.file);
  const tied = c.bool('tie_word_embeddings', true);
  const head = !tied && names.has('lm_head.weight') ? 'lm_head.weight' : `${p}wte.weight`;
  const block = (i: number): BlockTensors => {
    const b = `${p}h.${i}.`;
    return {
      attnNorm: { weight: `${b}ln_1.weight`, bias: `${b}ln_1.bias` },
      qkv: { kind: 'fused', qkv: { weight: `${b}attn.c_attn.weight`, bias: `${b}attn.c_attn.bias`, layout: 'in_out' }, order: 'blocks' },
      o: { weight: `${b}attn.c_proj.weight`, bias: `${b}attn.c_proj.bias`, layout: 'in_out' },
      ffnNorm: { weight: `${b}ln_2.weight`, bias: `${b}ln_2.bias` },
      mlp: {
        up: { weight: `${b}mlp.c_fc.weight`, bias: `${b}mlp.c_fc.bias`, layout: 'in_out' },
        down: { weight: `${b}mlp.c_proj.weight`, bias: `${b}mlp.c_proj.bias`, layout: 'in_out' },
      },
    };
  };
  return {
    arch: 'gpt2',
    vocabSize: c.int('vocab_size'),
    dModel,
    layers: c.int('n_layer'),
    heads,
    kvHeads: heads,
    headDim: c.headDim(dModel, heads, 'head_dim'),
    dFf: hidden,
    maxPositions: c.int('n_positions', c.has('n_ctx') ? c.int('n_ctx') : 1024),
    norm: { kind: 'layer', eps: c.positive('layer_norm_epsilon', 1e-5), plusOne: false },
    positions: `${p}wpe.weight`,
    parallelResidual: false,
    activation: toPlain(activationOf(c, 'activation_function', 'gelu_new')),
    embedScale: 1,
    embed: `${p}wte.weight`,
    head,
    tiedHead: head === `${p}wte.weight`,
    finalNorm: { weight: `${p}ln_f.weight`, bias: `${p}ln_f.bias` },
    block,
    bosId: c.has('bos_token_id') ? c.int('bos_token_id', undefined, 0) : undefined,
    eosId: c.has('eos_token_id') ? c.int('eos_token_id', undefined, 0) : undefined,
  };
}
