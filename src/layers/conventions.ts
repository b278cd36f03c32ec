/**
 * How real exports name an FFN layer's tensors, which layout each family stores its matrices in,
 * and which activation each architecture uses. Pure data plus small lookups; the matching itself is
 * in find.ts. No `vscode` import.
 */
import { isGated, parseActivation, toGated, toPlain } from '../core/activations';
import { FfnLensError } from '../core/errors';
import { ACTIVATIONS, type ActivationName } from '../core/types';
import type { MatrixLayout } from './types';

/** One matrix of a layer: its names after the layer prefix (`X`, `X.weight`) and its bias names. */
export interface Role {
  /** Local names without `.weight`; the first is how real exports spell it (used in messages). */
  names: readonly string[];
  /** Extra bias names besides `<name>.bias` (the JSON convention's `b1`). */
  biases?: readonly string[];
}

export interface Convention {
  /** Shown as LayerSpec.convention. */
  name: string;
  kind: 'plain' | 'gated';
  /** The layout this family writes; kept whenever the shapes allow it. */
  native: MatrixLayout;
  up: Role;
  down: Role;
  gate?: Role;
  /** The family's activation when neither the file nor the architecture names one. */
  activation?: ActivationName;
  /** Prefixes that belong to something else (BERT's `attention.output.dense` is attention). */
  excludePrefix?: RegExp;
}

const role = (names: string[], biases?: string[]): Role => ({ names, biases });

/**
 * Every convention, most specific first: where two match the same tensors (Meta's `w1/w3/w2`
 * versus our lowercase `w1/w2`) the earlier one wins.
 */
export const CONVENTIONS: readonly Convention[] = [
  { name: 'gate_proj/up_proj/down_proj', kind: 'gated', native: 'out_in', activation: 'swiglu',
    gate: role(['gate_proj']), up: role(['up_proj']), down: role(['down_proj']) },
  { name: 'ffn_gate/ffn_up/ffn_down', kind: 'gated', native: 'out_in', activation: 'swiglu',
    gate: role(['ffn_gate']), up: role(['ffn_up']), down: role(['ffn_down']) },
  { name: 'w1/w3/w2', kind: 'gated', native: 'out_in', activation: 'swiglu',
    gate: role(['w1']), up: role(['w3']), down: role(['w2']) },
  { name: 'wi_0/wi_1/wo', kind: 'gated', native: 'out_in', activation: 'geglu_tanh',
    gate: role(['wi_0']), up: role(['wi_1']), down: role(['wo']) },
  { name: 'W1/W2', kind: 'gated', native: 'in_out',
    gate: role(['Wg', 'W_gate', 'Wgate', 'wg', 'w_gate'], ['bg', 'b_gate', 'bgate']),
    up: role(['W1', 'w1'], ['b1', 'B1']), down: role(['W2', 'w2'], ['b2', 'B2']) },
  { name: 'W1/W2', kind: 'plain', native: 'in_out',
    up: role(['W1', 'w1'], ['b1', 'B1']), down: role(['W2', 'w2'], ['b2', 'B2']) },
  { name: 'linear1/linear2', kind: 'plain', native: 'out_in', activation: 'relu',
    up: role(['linear1']), down: role(['linear2']) },
  { name: 'c_fc/c_proj', kind: 'plain', native: 'in_out', activation: 'gelu_tanh',
    up: role(['c_fc']), down: role(['c_proj']) },
  { name: 'fc_in/fc_out', kind: 'plain', native: 'out_in', activation: 'gelu_tanh',
    up: role(['fc_in']), down: role(['fc_out']) },
  { name: 'fc1/fc2', kind: 'plain', native: 'out_in', activation: 'relu',
    up: role(['fc1']), down: role(['fc2']) },
  { name: 'wi/wo', kind: 'plain', native: 'out_in', activation: 'relu',
    up: role(['wi']), down: role(['wo']) },
  { name: 'intermediate/output', kind: 'plain', native: 'out_in', activation: 'gelu',
    up: role(['intermediate.dense']), down: role(['output.dense']), excludePrefix: /(^|\.)attention\.$/ },
  { name: 'dense_h_to_4h/dense_4h_to_h', kind: 'plain', native: 'out_in', activation: 'gelu',
    up: role(['dense_h_to_4h']), down: role(['dense_4h_to_h']) },
  { name: 'ffn_up/ffn_down', kind: 'plain', native: 'out_in',
    up: role(['ffn_up']), down: role(['ffn_down']) },
];

/** The pairs people look for, for the "no FFN layer found" message. */
export const CONVENTION_SUMMARY =
  'W1/W2, linear1/linear2, c_fc/c_proj, fc1/fc2, fc_in/fc_out, wi/wo, wi_0/wi_1/wo, intermediate.dense/output.dense, ' +
  'dense_h_to_4h/dense_4h_to_h, gate_proj/up_proj/down_proj, w1/w3/w2, ffn_gate/ffn_up/ffn_down, ffn_up/ffn_down';

/** Architecture families (config.json `model_type`, GGUF `general.architecture`) and their FFN activations. */
const ARCHITECTURES: readonly [RegExp, { plain?: ActivationName; gated?: ActivationName }][] = [
  [/^gemma/, { plain: 'gelu_tanh', gated: 'geglu_tanh' }],
  [/^(t5|mt5|umt5|t5encoder|longt5)$/, { plain: 'relu', gated: 'geglu_tanh' }],
  [/^nomicbert/, { plain: 'gelu', gated: 'swiglu' }],
  [/^(llama|mistral|mixtral|qwen|phi3|phimoe|internlm|baichuan|yi|deepseek|olmo|granite|cohere|command|stablelm|minicpm|exaone|smollm|openelm|orion|xverse|arctic)/,
    { gated: 'swiglu' }],
  [/^(gpt2|starcoder|gptbigcode|gptj|phi|bloom|codegen|refact)/, { plain: 'gelu_tanh' }],
  [/^(bert|roberta|xlmroberta|distilbert|electra|deberta|camembert|mpnet|gptneox|falcon|bart|mbart|mpt|whisper|vit)/, { plain: 'gelu' }],
  [/^opt$/, { plain: 'relu' }],
];

/** The activation `architecture` uses for a layer of `kind`, when we know the family. */
export function architectureActivation(architecture: string | undefined, kind: 'plain' | 'gated'): ActivationName | undefined {
  if (!architecture) return undefined;
  const key = architecture.toLowerCase().replace(/[-_ .]/g, '');
  for (const [re, acts] of ARCHITECTURES) if (re.test(key)) return acts[kind];
  return undefined;
}

/** Validates an activation name from a file, a config.json or a user. */
export function checkActivation(name: string, from: string, file?: string): ActivationName {
  const parsed = parseActivation(name);
  if (parsed) return parsed;
  throw new FfnLensError(
    `unknown activation "${name}" (${from}); known: ${ACTIVATIONS.join(', ')} (also gelu_new, gelu_pytorch_tanh, swish)`,
    file,
  );
}

/** Fits an activation to a layer: a plain one on a gated layer becomes its gated form; the reverse is an error. */
export function fitActivation(act: ActivationName, kind: 'plain' | 'gated', layerId: string, convention: string, file?: string): ActivationName {
  if (kind === 'gated') return toGated(act);
  if (isGated(act)) {
    throw new FfnLensError(
      `layer "${layerId}": activation "${act}" is gated but the layer has no gate matrix (${convention}); use "${toPlain(act)}"`,
      file,
    );
  }
  return act;
}

/** `hints.layout` as a MatrixLayout: math / in_out are [in,out], torch / out_in are [out,in]. */
export function parseLayout(layout: string | undefined, file?: string): MatrixLayout | undefined {
  if (layout === undefined) return undefined;
  const key = layout.trim().toLowerCase();
  if (key === 'math' || key === 'in_out') return 'in_out';
  if (key === 'torch' || key === 'out_in') return 'out_in';
  throw new FfnLensError(`"layout" must be "math" or "torch" (also "in_out" / "out_in"), found "${layout}"`, file);
}
