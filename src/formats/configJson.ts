/**
 * A Hugging Face `config.json` beside a weight file says what the weights alone cannot: the
 * activation and the model type. It is advice, never a reason to refuse a file: a broken
 * config.json is ignored and the reason kept. No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import type { SourceHints } from './source';

/** What a config.json beside a weight file contributed. */
export interface ConfigHints extends SourceHints {
  /** The config.json that was read. */
  configPath: string;
  /** Why the config.json was ignored (not JSON, not an object...), when it was. */
  ignored?: string;
}

/** Keys that name the FFN activation, most specific first. */
const ACTIVATION_KEYS = ['hidden_activation', 'hidden_act', 'activation_function', 'dense_act_fn', 'activation'];

/**
 * The hints in a parsed config object (also used for a JSON weight file's embedded `"config"`).
 * Multimodal configs keep the language model's settings in `text_config`, read when the top level
 * has none. Gemma: its configs say `hidden_act: "gelu"` while transformers runs the tanh
 * approximation, so for `gemma*` only `hidden_activation` counts and otherwise the architecture
 * rule (geglu_tanh) applies.
 */
export function hintsFromConfig(config: Record<string, unknown>): SourceHints {
  const text = config.text_config;
  const inner = typeof text === 'object' && text !== null && !Array.isArray(text) ? (text as Record<string, unknown>) : undefined;
  const pick = (key: string): unknown => (config[key] !== undefined && config[key] !== null ? config[key] : inner?.[key]);
  const hints: SourceHints = {};
  const modelType = pick('model_type');
  if (typeof modelType === 'string' && modelType) hints.architecture = modelType;
  const isGemma = /^gemma/i.test(hints.architecture ?? '');
  for (const key of isGemma ? ['hidden_activation'] : ACTIVATION_KEYS) {
    const v = pick(key);
    if (typeof v === 'string' && v) {
      hints.activation = v;
      break;
    }
  }
  // T5: `feed_forward_proj` is "relu" or "gated-gelu" when dense_act_fn is absent (old configs).
  const ffp = pick('feed_forward_proj');
  if (!hints.activation && typeof ffp === 'string' && ffp) {
    const plain = ffp.replace(/^gated-/, '');
    hints.activation = plain === 'gelu' && ffp.startsWith('gated-') ? 'gelu_new' : plain;
  }
  const hidden = pick('hidden_size') ?? pick('n_embd') ?? pick('d_model');
  if (isPositiveInteger(hidden)) hints.hiddenSize = hidden;
  const inter = pick('intermediate_size') ?? pick('n_inner') ?? pick('d_ff') ?? pick('ffn_dim');
  if (isPositiveInteger(inter)) hints.intermediateSize = inter;
  return hints;
}

/**
 * Reads `config.json` in the weight file's folder. Undefined when there is none (or the weight file
 * is that config.json); a config.json that cannot be used comes back with only `ignored` set.
 */
export async function readConfigBeside(weightPath: string): Promise<ConfigHints | undefined> {
  const configPath = nodePath.join(nodePath.dirname(weightPath), 'config.json');
  if (nodePath.resolve(configPath) === nodePath.resolve(weightPath)) return undefined;
  let text: string;
  try {
    const stat = await fs.stat(configPath);
    if (!stat.isFile()) return { configPath, ignored: 'config.json is not a regular file' };
    if (stat.size > 16 * 1024 * 1024) return { configPath, ignored: `config.json is ${stat.size} bytes, too big for a config` };
    text = await fs.readFile(configPath, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return { configPath, ignored: `cannot read config.json (${typeof code === 'string' ? code : String(e)})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return { configPath, ignored: `config.json is not valid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { configPath, ignored: 'config.json is not a JSON object' };
  }
  return { configPath, ...hintsFromConfig(parsed as Record<string, unknown>) };
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}
