/**
 * One description of a whole transformer, whatever file it came from (a Hugging Face
 * config.json, or a GGUF file's metadata): sizes, conventions and the tensor names of each block.
 * The forward pass reads only this. No `vscode` import.
 */
import type { ActivationName } from '../core/types';
import type { MatrixLayout } from '../layers/types';

/** The architecture families FFN Lens runs. */
export const ARCHITECTURES = ['gpt2', 'llama', 'mistral', 'qwen2', 'gemma', 'gpt_neox'] as const;
export type ArchName = (typeof ARCHITECTURES)[number];

/** A norm's gain (and bias, for LayerNorm). */
export interface NormTensors {
  weight: string;
  bias?: string;
}

/** A linear map's tensors; `layout` is how the weight is stored ([in, out] Conv1D, or [out, in] Linear). */
export interface LinearTensors {
  weight: string;
  bias?: string;
  layout: MatrixLayout;
}

/**
 * The attention's projections: separate q, k and v, or one fused matrix whose output columns are
 * `[q | k | v]` (GPT-2's c_attn) or, per head, `[q_h, k_h, v_h]` (GPT-NeoX's query_key_value).
 */
export type QkvTensors =
  | { kind: 'separate'; q: LinearTensors; k: LinearTensors; v: LinearTensors }
  | { kind: 'fused'; qkv: LinearTensors; order: 'blocks' | 'per-head' };

/** One block's tensors. `mlp.gate` only for gated FFNs (then `up` is the up projection). */
export interface BlockTensors {
  attnNorm: NormTensors;
  qkv: QkvTensors;
  o: LinearTensors;
  ffnNorm: NormTensors;
  mlp: { up: LinearTensors; gate?: LinearTensors; down: LinearTensors };
}

/** llama3's frequency-dependent RoPE scaling (transformers' `rope_type: "llama3"`). */
export interface Llama3Scaling {
  kind: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

/** Linear position interpolation (`rope_type: "linear"`): positions divided by `factor`. */
export interface LinearScaling {
  kind: 'linear';
  factor: number;
}

export interface RopeSpec {
  theta: number;
  /** Dimensions of each head that rotate (all of them, or GPT-NeoX's rotary_pct share), even. */
  dims: number;
  /**
   * Which dimensions rotate together: `half` pairs i with i + dims/2 (Hugging Face rotate-half,
   * and GPT-NeoX everywhere); `interleaved` pairs 2i with 2i + 1 (Meta's order, which GGUF files
   * of LLaMA-family models keep for q and k).
   */
  pairing: 'half' | 'interleaved';
  scaling?: Llama3Scaling | LinearScaling;
  /** GGUF `rope_freqs.weight`: a divisor per frequency (llama3 scaling baked into the file). */
  freqFactors?: string;
}

export interface ModelSpec {
  arch: ArchName;
  vocabSize: number;
  dModel: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  dFf: number;
  /** The longest sequence the model takes (its position table or its trained context). */
  maxPositions: number;
  norm: { kind: 'layer' | 'rms'; eps: number; /** Gemma's (1 + γ) gain. */ plusOne: boolean };
  /** Learned absolute positions (`positions` names their table) or RoPE. */
  positions?: string;
  rope?: RopeSpec;
  /** GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)); otherwise the two sublayers run one after the other. */
  parallelResidual: boolean;
  /** The FFN's activation in FFN Lens' names (gelu_tanh, swiglu, geglu_tanh, gelu...). */
  activation: ActivationName;
  /** Mistral's sliding window: a key more than this many positions back is not seen. */
  slidingWindow?: number;
  /** Embeddings multiplied by this (Gemma: sqrt(d_model), rounded to the checkpoint's dtype). */
  embedScale: number;
  embed: string;
  /** The unembedding [vocab x d_model]: the head, or the embedding itself when tied. */
  head: string;
  tiedHead: boolean;
  finalNorm: NormTensors;
  block(i: number): BlockTensors;
  /** Special token ids the config names (for display only; the tokenizer decides what it adds). */
  bosId?: number;
  eosId?: number;
}
