/**
 * The vocabulary a GGUF file embeds, read from its `tokenizer.ggml.*` metadata and checked the way
 * llama.cpp checks it (llama_vocab::impl::load): per-token arrays at least as long as the token
 * list, no duplicate tokens, special ids inside the vocabulary, llama.cpp's defaults where a key is
 * absent. The metadata must hold these arrays whole (open the file with
 * `fullArrayPrefixes: [GGUF_TOKENIZER_PREFIX]`). No `vscode` import.
 */
import { FfnLensError } from '../../core/errors';

/** The metadata keys of a GGUF vocabulary; open GGUF files with this in `fullArrayPrefixes`. */
export const GGUF_TOKENIZER_PREFIX = 'tokenizer.ggml.';

/** `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** A checked GGUF vocabulary. */
export interface GgufVocab {
  model: 'gpt2' | 'llama';
  /** The token strings (an empty one renamed `[EMPTY_<id>]`, as llama.cpp does). */
  tokens: string[];
  /** One per token (float32 in the file); zeros when the file has none. */
  scores: number[];
  /** One per token; undefined when the file has none. */
  types?: number[];
  merges?: string[];
  pre?: string;
  bosId?: number;
  eosId?: number;
  unkId?: number;
  /** As the file says; undefined means "llama.cpp's default for the model". */
  addBos?: boolean;
  addEos?: boolean;
  /** SentencePiece: prepend a space to the text (default true). */
  addSpacePrefix: boolean;
}

/** What `tokenizer.ggml.model` names FFN Lens reads. */
const MODELS = ['gpt2', 'llama'] as const;

/** Reads and checks the vocabulary in `metadata`; `file` names the GGUF in messages. */
export function readGgufVocab(metadata: Record<string, unknown>, file: string): GgufVocab {
  const fail = (msg: string): never => {
    throw new FfnLensError(msg, file);
  };
  const get = (key: string): unknown => (Object.prototype.hasOwnProperty.call(metadata, key) ? metadata[key] : undefined);

  const model = get('tokenizer.ggml.model');
  if (model === undefined) fail('the file has no vocabulary (no tokenizer.ggml.model)');
  if (typeof model !== 'string' || !(MODELS as readonly string[]).includes(model)) {
    fail(`tokenizer.ggml.model ${JSON.stringify(model)} is not a vocabulary type FFN Lens reads (it reads 'gpt2' byte-level BPE and 'llama' SentencePiece)`);
  }

  function array<T extends 'string' | 'number'>(name: string, itemType: T): (T extends 'string' ? string : number)[] | undefined {
    const key = GGUF_TOKENIZER_PREFIX + name;
    const v = get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      const summary = typeof v === 'object' && v !== null && 'length' in v;
      return fail(summary ? `${key} was read as a summary, not whole: open the GGUF with fullArrayPrefixes ['${GGUF_TOKENIZER_PREFIX}']` : `${key} is not an array`);
    }
    v.forEach((item, i) => {
      if (typeof item !== itemType || (itemType === 'number' && !Number.isFinite(item))) fail(`${key}[${i}] is not a ${itemType}`);
    });
    return v as (T extends 'string' ? string : number)[];
  }

  const raw = array('tokens', 'string');
  if (!raw || raw.length === 0) return fail('the file has no vocabulary (no tokenizer.ggml.tokens)');
  const n = raw.length;
  const perToken = (name: string): number[] | undefined => {
    const values = array(name, 'number');
    if (values && values.length < n) fail(`tokenizer.ggml.${name} has ${values.length} entries for ${n} tokens`);
    return values?.slice(0, n);
  };
  const scores = perToken('scores') ?? new Array<number>(n).fill(0);
  const types = perToken('token_type');

  const tokens = raw.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => {
    const first = seen.get(t);
    if (first !== undefined) fail(`tokenizer.ggml.tokens has '${t}' twice (ids ${first} and ${i})`);
    seen.set(t, i);
  });

  const merges = array('merges', 'string');
  if (model === 'gpt2' && !merges) fail('a gpt2 vocabulary needs tokenizer.ggml.merges, and the file has none');

  const id = (name: string, fallback: number | undefined): number | undefined => {
    const key = GGUF_TOKENIZER_PREFIX + name;
    const v = get(key);
    if (v === undefined) return fallback !== undefined && fallback < n ? fallback : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) fail(`${key} ${JSON.stringify(v)} is not a token id of the vocabulary (0..${n - 1})`);
    return v as number;
  };
  const flag = (name: string): boolean | undefined => {
    const key = GGUF_TOKENIZER_PREFIX + name;
    const v = get(key);
    if (v !== undefined && typeof v !== 'boolean') fail(`${key} is not a bool`);
    return v as boolean | undefined;
  };
  const pre = get('tokenizer.ggml.pre');
  if (pre !== undefined && typeof pre !== 'string') fail('tokenizer.ggml.pre is not a string');

  // llama.cpp's defaults: LLaMA's <unk>=0, <s>=1, </s>=2; gpt2's 11 (GPT-2's own ids come from the keys).
  const spm = model === 'llama';
  return {
    model: model as GgufVocab['model'],
    tokens,
    scores,
    types,
    merges,
    pre: pre as string | undefined,
    bosId: id('bos_token_id', spm ? 1 : 11),
    eosId: id('eos_token_id', spm ? 2 : 11),
    unkId: id('unknown_token_id', spm ? 0 : undefined),
    addBos: flag('add_bos_token'),
    addEos: flag('add_eos_token'),
    addSpacePrefix: flag('add_space_prefix') ?? true,
  };
}
