/**
 * A Hugging Face model folder's tokenizer: `tokenizer.json` (+ `tokenizer_config.json`) run by
 * @huggingface/tokenizers. The file is checked before the library sees it, so a hostile or broken
 * one gets one FfnLensError naming it: an unknown model type (the library would silently treat it
 * as a lookup table), ids beyond the entries the file lists, malformed entries. No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import { FfnLensError } from '../../core/errors';
import { idsOnlyTokenizer } from './idsOnly';
import { buildLibraryTokenizer, LibraryTokenizer } from './library';
import type { TokenStyle } from './tokenText';
import type { ModelTokenizer } from './types';

/** Bounds on the files read whole. */
export const HF_TOKENIZER_LIMITS = {
  /** The largest tokenizer.json read (Gemma 3's, with 262k tokens, is 33 MB). */
  maxTokenizerJsonBytes: 256 * 1024 * 1024,
  maxConfigBytes: 16 * 1024 * 1024,
} as const;

/** The model types @huggingface/tokenizers runs. */
const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'];

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Reads a JSON object file; undefined when it does not exist. */
async function readJsonObject(file: string, maxBytes: number): Promise<Json | undefined> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new FfnLensError('is not a regular file', file);
    if (stat.size > maxBytes) throw new FfnLensError(`is ${stat.size} bytes, over the limit of ${maxBytes} bytes for this file`, file);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (e instanceof FfnLensError) throw e;
    throw new FfnLensError(`cannot read it (${typeof code === 'string' ? code : String(e)})`, file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new FfnLensError(`is not valid JSON (${e instanceof Error ? e.message : String(e)})`, file);
  }
  if (!isObject(parsed)) throw new FfnLensError('is not a JSON object', file);
  return parsed;
}

/** Whether a component tree (pre_tokenizer, decoder...) has a part of `type` anywhere in it. */
function hasType(node: unknown, type: string, depth = 0): boolean {
  if (depth > 32 || typeof node !== 'object' || node === null) return false;
  if (Array.isArray(node)) return node.some((n) => hasType(n, type, depth + 1));
  if ((node as Json).type === type) return true;
  return Object.values(node as Json).some((n) => hasType(n, type, depth + 1));
}

/** How the vocabulary spells text, read from the components around the model. */
function styleOf(json: Json, model: Json): TokenStyle {
  if (hasType(json.pre_tokenizer, 'ByteLevel') || hasType(json.decoder, 'ByteLevel')) return 'byte-level';
  if (model.type === 'WordPiece') return 'wordpiece';
  const around = JSON.stringify([json.normalizer ?? null, json.pre_tokenizer ?? null, json.decoder ?? null]);
  if (model.byte_fallback === true || around.includes('\u2581') || hasType(json.pre_tokenizer, 'Metaspace')) return 'metaspace';
  return 'plain';
}

/** What the checks found: the ids in use and which are added tokens. */
interface Checked {
  /** Highest id + 1. */
  size: number;
  addedIds: Set<number>;
}

/**
 * Checks the model and added tokens: the model type is one the library runs, entries are well
 * formed, and every id is below the number of entries the file lists (a file cannot claim ids
 * for tokens it does not hold, so nothing is sized by a hostile id).
 */
function checkTokenizerJson(json: Json, file: string): Checked {
  const fail = (msg: string): never => {
    throw new FfnLensError(msg, file);
  };
  const model = json.model;
  if (!isObject(model)) return fail('has no "model" object');
  if (typeof model.type !== 'string') return fail('its model has no "type" (BPE, WordPiece or Unigram)');
  if (!MODEL_TYPES.includes(model.type)) {
    return fail(`its model type '${model.type}' is not supported: @huggingface/tokenizers runs ${MODEL_TYPES.join(', ')}`);
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) return fail('"added_tokens" is not a list');
  const ids: [string, number][] = [];
  if (model.type === 'Unigram') {
    if (!Array.isArray(model.vocab)) return fail('its Unigram model vocab is not a list of [piece, score]');
    model.vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') fail(`Unigram vocab entry #${i} is not [piece, score]`);
    });
    const unk = model.unk_id;
    if (unk !== undefined && unk !== null && !(isId(unk) && unk < model.vocab.length)) fail(`its Unigram unk_id ${String(unk)} is not an entry of the vocab`);
  } else {
    if (!isObject(model.vocab)) return fail(`its ${model.type} model vocab is not an object of token: id`);
    for (const [token, id] of Object.entries(model.vocab)) {
      if (!isId(id)) fail(`its vocab gives '${token}' the id ${JSON.stringify(id)}, not a whole number >= 0`);
      ids.push([token, id as number]);
    }
  }
  if (model.type === 'BPE') {
    if (!Array.isArray(model.merges)) return fail('its BPE model has no "merges" list');
    model.merges.forEach((m, i) => {
      const ok = typeof m === 'string' ? m.includes(' ') : Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string';
      if (!ok) fail(`BPE merge #${i} is not "a b" or ["a", "b"]`);
    });
  }
  const vocabCount = Array.isArray(model.vocab) ? model.vocab.length : ids.length;
  if (vocabCount === 0) fail('its vocab is empty');
  const addedIds = new Set<number>();
  added.forEach((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || t.content === '' || !isId(t.id)) fail(`added_tokens #${i} has no content string and id`);
    const token = t as { content: string; id: number };
    ids.push([token.content, token.id]);
    addedIds.add(token.id);
  });
  const listed = vocabCount + added.length;
  let size = Array.isArray(model.vocab) ? model.vocab.length : 0;
  for (const [token, id] of ids) {
    if (id >= listed) fail(`gives '${token}' the id ${id}, but it lists only ${listed} tokens`);
    size = Math.max(size, id + 1);
  }
  return { size, addedIds };
}

/** The token string a tokenizer_config entry names (`"<s>"` or `{ "content": "<s>" }`). */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * A tokenizer from a parsed tokenizer.json and tokenizer_config.json. `vocabSize` is the model's
 * (its embedding rows); without it the tokenizer's own id count is used. tokenizer_config's
 * `add_bos_token` / `add_eos_token`, when set, decide over the post-processor, as transformers does
 * for Llama-style tokenizers; otherwise the post-processor's template is the rule.
 */
export function hfTokenizer(json: Json, config: Json, file: string, vocabSize?: number): ModelTokenizer {
  const checked = checkTokenizerJson(json, file);
  const model = json.model as Json;
  // The library wants every component key present (null when absent).
  const full: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json, added_tokens: json.added_tokens ?? [] };
  const lib = buildLibraryTokenizer(full, config, file);
  const idOf = (v: unknown): number | undefined => {
    const name = tokenName(v);
    return name === undefined ? undefined : lib.token_to_id(name);
  };
  const flag = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
  return new LibraryTokenizer(lib, {
    kind: 'hf',
    file,
    style: styleOf(json, model),
    wordpiecePrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
    vocabSize: vocabSize ?? checked.size,
    addedIds: checked.addedIds,
    bosId: idOf(config.bos_token),
    eosId: idOf(config.eos_token),
    addBos: flag(config.add_bos_token),
    addEos: flag(config.add_eos_token),
  });
}

/**
 * The tokenizer of a Hugging Face model folder. `vocabSize` is the model's vocabulary (config.json
 * `vocab_size`). A folder without tokenizer.json gets an ids-only tokenizer, whose `encode` throws
 * an FfnLensError naming the missing file.
 */
export async function loadFolderTokenizer(dir: string, vocabSize: number): Promise<ModelTokenizer> {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new FfnLensError(`the vocabulary size must be a positive whole number, not ${vocabSize}`, dir, 'usage');
  const file = nodePath.join(dir, 'tokenizer.json');
  const json = await readJsonObject(file, HF_TOKENIZER_LIMITS.maxTokenizerJsonBytes);
  if (!json) {
    const spm = await fs.stat(nodePath.join(dir, 'tokenizer.model')).then((s) => s.isFile(), () => false);
    return idsOnlyTokenizer(dir, vocabSize, spm);
  }
  const config = (await readJsonObject(nodePath.join(dir, 'tokenizer_config.json'), HF_TOKENIZER_LIMITS.maxConfigBytes)) ?? {};
  return hfTokenizer(json, config, file, vocabSize);
}
