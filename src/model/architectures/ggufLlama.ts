/**
 * LLaMA-family GGUF files (`general.architecture` = llama, as llama.cpp's converter writes LLaMA
 * and Mistral): tensors token_embd / blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
 * ffn_norm, ffn_gate, ffn_up, ffn_down} / output_norm / output, sizes under `llama.*`. The
 * converter permutes q and k back to Meta's interleaved order, so RoPE pairs dimensions 2i and
 * 2i + 1 here (not rotate-half); llama3 scaling arrives as `rope_freqs.weight`. No `vscode` import.
 */
import { FfnLensError } from '../../core/errors';
import { ConfigFields } from '../config';
import type { BlockTensors, ModelSpec } from '../spec';
import type { TensorNames } from './common';

/** GGUF architectures whose tensors this table reads. */
export const GGUF_ARCHITECTURES = ['llama'] as const;

export function ggufLlamaSpec(metadata: Readonly<Record<string, unknown>>, file: string, names: TensorNames, embedShape: readonly number[] | undefined): ModelSpec {
  const arch = metadata['general.architecture'];
  if (arch !== 'llama') {
    throw new FfnLensError(`GGUF architecture "${String(arch)}" is not supported for whole-model runs (supported: ${GGUF_ARCHITECTURES.join(', ')})`, file);
  }
  // Keys are `llama.<field>`; read them through one ConfigFields under their own names.
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) if (k.startsWith('llama.')) fields[k.slice('llama.'.length)] = typeof v === 'bigint' ? Number(v) : v;
  const c = new ConfigFields(fields, file, 'GGUF metadata llama.*');
  const dModel = c.int('embedding_length');
  const heads = c.int('attention.head_count');
  const kvHeads = c.kvHeads('attention.head_count_kv', heads);
  const headDim = c.headDim(dModel, heads, 'attention.key_length');
  if (!embedShape || embedShape.length !== 2) throw new FfnLensError('GGUF file has no 2-D token_embd.weight', file);
  const vocabSize = c.int('vocab_size', embedShape[0]);
  const scalingType = c.string('rope.scaling.type', 'none');
  if (scalingType !== 'none' && scalingType !== 'linear') throw new FfnLensError(`GGUF metadata: rope.scaling.type "${scalingType}" is not supported (supported: none, linear)`, file);
  const block = (i: number): BlockTensors => {
    const b = `blk.${i}.`;
    const linear = (name: string) => ({ weight: `${b}${name}.weight`, bias: names.has(`${b}${name}.bias`) ? `${b}${name}.bias` : undefined, layout: 'out_in' as const });
    return {
      attnNorm: { weight: `${b}attn_norm.weight` },
      qkv: { kind: 'separate', q: linear('attn_q'), k: linear('attn_k'), v: linear('attn_v') },
      o: linear('attn_output'),
      ffnNorm: { weight: `${b}ffn_norm.weight` },
      mlp: { gate: linear('ffn_gate'), up: linear('ffn_up'), down: linear('ffn_down') },
    };
  };
  const tied = !names.has('output.weight');
  return {
    arch: 'llama',
    vocabSize,
    dModel,
    layers: c.int('block_count'),
    heads,
    kvHeads,
    headDim,
    dFf: c.int('feed_forward_length'),
    maxPositions: c.int('context_length', 2048),
    norm: { kind: 'rms', eps: c.positive('attention.layer_norm_rms_epsilon', 1e-5), plusOne: false },
    rope: {
      theta: c.positive('rope.freq_base', 10000),
      dims: c.int('rope.dimension_count', headDim),
      pairing: 'interleaved',
      scaling: scalingType === 'linear' ? { kind: 'linear', factor: c.positive('rope.scaling.factor', 1) } : undefined,
      freqFactors: names.has('rope_freqs.weight') ? 'rope_freqs.weight' : undefined,
    },
    parallelResidual: false,
    activation: 'swiglu',
    embedScale: 1,
    embed: 'token_embd.weight',
    head: tied ? 'token_embd.weight' : 'output.weight',
    tiedHead: tied,
    finalNorm: { weight: 'output_norm.weight' },
    block,
  };
}
