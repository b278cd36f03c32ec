/**
 * What a whole-model run asks for and gives back: text (or token ids) through a real model's
 * earlier blocks to block L's FFN, and optionally on to the next-token prediction, with an
 * ablation beside the baseline. Shared by the CLI, the worker and the panel. No `vscode` import.
 */
import type { RunResult } from './run';

/** Where the tokens come from: text through the model's own tokenizer, or ids as given. */
export type ModelInput = { kind: 'text'; text: string } | { kind: 'ids'; ids: number[] };

export interface ModelRunRequest {
  /** A Hugging Face model folder, a .safetensors file inside one, or a .gguf file. */
  model: string;
  input: ModelInput;
  /** The block whose FFN is shown (0-based). */
  layer: number;
  /** Also run the rest of the model and give the K most likely next tokens. */
  predict?: number;
  /** Hidden units of block `layer` to zero (at every position) in an ablated run beside the baseline. */
  ablate?: number[];
  /** Keep the last tokens that fit the model's context instead of refusing a longer input. */
  truncate?: boolean;
  topK?: number;
  threshold?: number;
  /** The most the worker keeps in memory of a model between runs (its weights), in bytes. */
  memoryBudgetBytes?: number;
}

/** One of the most likely next tokens. */
export interface NextTokenInfo {
  id: number;
  /** The token's vocabulary string (its id as `#id` when the model has no vocabulary). */
  token: string;
  /** Its readable text (bytes decoded, Ġ and ▁ as spaces), for display. */
  text: string;
  prob: number;
}

/** A RunResult of the real layer input, plus the model's side of it. */
export interface ModelRunResult extends RunResult {
  inputSource: 'model';
  architecture: string;
  /** Blocks in the model. */
  blocks: number;
  tokenIds: number[];
  /** Each token's [start, end) in the text (UTF-16 indices); empty for ids input. */
  offsets: [number, number][];
  /** Readable text of each token (Ġ and ▁ shown as spaces). */
  tokenText: string[];
  /** [T x dModel]: the residual stream entering block `layer`. */
  residual: Float32Array;
  /** [T x dFf]: gated FFNs only, the up projection (preActivation is the gate). */
  up?: Float32Array;
  /** With `predict` (and no ablation): the next tokens; with an ablation: the ablated prediction. */
  next?: NextTokenInfo[];
  /** With an ablation: the prediction without it. */
  nextBaseline?: NextTokenInfo[];
  ablated?: number[];
}

/** The neuron card of one unit (issue 12), from the weights alone. */
export interface NeuronCardRequest {
  model: string;
  layer: number;
  neuron: number;
  top: number;
  raw?: boolean;
  memoryBudgetBytes?: number;
}

/** A corpus scan of block `layer`: the files in the order given (already sorted), each named as reported. */
export interface ScanRequest {
  model: string;
  layer: number;
  files: { path: string; name: string }[];
  ctx: number;
  top: number;
  neurons?: number[];
  threshold?: number;
  memoryBudgetBytes?: number;
}
