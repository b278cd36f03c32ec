/**
 * A GGUF file's own vocabulary as a tokenizer: the `tokenizer.ggml.*` metadata becomes the
 * equivalent tokenizer.json object in memory, run by @huggingface/tokenizers like any other.
 *
 * - `gpt2` (byte-level BPE): the file's tokens and merges, llama.cpp's pre-tokenizer regexes for
 *   `tokenizer.ggml.pre`, then GPT-2's byte-to-character mapping.
 * - `llama` (SentencePiece): spaces become `▁` and one is prepended to each piece of text between
 *   special tokens (llama.cpp's `add_space_prefix`), then BPE with merges derived from the token
 *   scores and `<0xNN>` byte fallback (see spmMerges.ts for why BPE, not Unigram).
 *
 * Control, unknown and user-defined tokens are added tokens, matched in the text as written (as
 * llama.cpp does when it parses special tokens). BOS is added when `tokenizer.ggml.add_bos_token`
 * says so, else by llama.cpp's default: always for `llama`, for `gpt2` only with the Llama 3
 * family of pre-tokenizers. No `vscode` import.
 */
import type { Tokenizer } from '@huggingface/tokenizers';
import { openGgufSource } from '../../formats/gguf';
import { buildLibraryTokenizer, LibraryTokenizer } from './library';
import { ggufPreTokenizer } from './preTokenizers';
import { mergesFromScores } from './spmMerges';
import { GGUF_TOKEN_TYPE, GGUF_TOKENIZER_PREFIX, readGgufVocab, type GgufVocab } from './ggufVocab';
import type { ModelTokenizer } from './types';

/** Token types matched in the text as whole tokens before the model runs. */
const ADDED_TYPES: readonly number[] = [GGUF_TOKEN_TYPE.unknown, GGUF_TOKEN_TYPE.control, GGUF_TOKEN_TYPE.userDefined];

/** token -> id, without a prototype (a token may be called `__proto__`). */
function vocabObject(tokens: readonly string[]): Record<string, number> {
  const vocab = Object.create(null) as Record<string, number>;
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  return vocab;
}

function addedTokens(v: GgufVocab): { json: Record<string, unknown>[]; ids: Set<number> } {
  const json: Record<string, unknown>[] = [];
  const ids = new Set<number>();
  v.types?.forEach((type, id) => {
    if (!ADDED_TYPES.includes(type)) return;
    ids.add(id);
    json.push({ id, content: v.tokens[id], special: type !== GGUF_TOKEN_TYPE.userDefined, normalized: false, lstrip: false, rstrip: false, single_word: false });
  });
  return { json, ids };
}

/** llama.cpp splits a merge at its first space after the first character. */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(' ', 1);
  return at < 0 ? [merge, ''] : [merge.slice(0, at), merge.slice(at + 1)];
}

/** The tokenizer.json of a `gpt2` vocabulary. */
function gpt2Json(v: GgufVocab, added: Record<string, unknown>[], ignoreMerges: boolean, regexes: string[]): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...regexes.map((regex) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false })),
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      vocab: vocabObject(v.tokens),
      merges: (v.merges ?? []).map(splitMerge),
      ignore_merges: ignoreMerges,
      byte_fallback: false,
      unk_token: null,
      fuse_unk: false,
    },
  };
}

/** The tokenizer.json of a `llama` (SentencePiece) vocabulary, with its merges. */
function llamaJson(v: GgufVocab, added: Record<string, unknown>[], merges: [string, string][]): Record<string, unknown> {
  const spaces = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: v.addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, spaces] } : spaces,
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      vocab: vocabObject(v.tokens),
      merges,
      ignore_merges: false,
      byte_fallback: true,
      unk_token: v.unkId === undefined ? null : v.tokens[v.unkId],
      fuse_unk: true,
    },
  };
}

/**
 * Gives merges of equal score one rank, so the library's tie-break (leftmost pair first) decides
 * between them as llama.cpp does. The library keys its ranks by `JSON.stringify([left, right])`;
 * if a later version keys them differently, the ranks stay in list order (still llama.cpp's order
 * whenever scores differ, as they do in SentencePiece vocabularies).
 */
function shareEqualRanks(lib: Tokenizer, merges: [string, string][], ranks: number[]): void {
  const ranksMap = (lib.model as unknown as { bpe_ranks?: unknown } | null)?.bpe_ranks;
  if (!(ranksMap instanceof Map) || merges.length === 0 || ranksMap.get(JSON.stringify(merges[0])) !== 0) return;
  merges.forEach((m, i) => ranksMap.set(JSON.stringify(m), ranks[i]));
}

/**
 * A tokenizer from GGUF metadata holding the `tokenizer.ggml.*` arrays whole (open the file with
 * `fullArrayPrefixes: [GGUF_TOKENIZER_PREFIX]`, or use loadGgufTokenizer). `file` names the GGUF in
 * messages. An unknown vocabulary type or pre-tokenizer is one FfnLensError naming it.
 */
export function ggufTokenizer(metadata: Record<string, unknown>, file: string): ModelTokenizer {
  const v = readGgufVocab(metadata, file);
  const added = addedTokens(v);
  const common = { file, vocabSize: v.tokens.length, addedIds: added.ids, bosId: v.bosId, eosId: v.eosId, addEos: v.addEos ?? false };
  if (v.model === 'gpt2') {
    const pre = ggufPreTokenizer(v.pre, file);
    const lib = buildLibraryTokenizer(gpt2Json(v, added.json, pre.ignoreMerges, pre.regexes), {}, file);
    return new LibraryTokenizer(lib, { ...common, kind: 'gguf-gpt2', style: 'byte-level', addBos: v.addBos ?? pre.addBos });
  }
  const { merges, ranks } = mergesFromScores(v.tokens, v.scores);
  const lib = buildLibraryTokenizer(llamaJson(v, added.json, merges), {}, file);
  shareEqualRanks(lib, merges, ranks);
  return new LibraryTokenizer(lib, { ...common, kind: 'gguf-llama', style: 'metaspace', addBos: v.addBos ?? true });
}

/** Opens a GGUF file's header with its vocabulary arrays whole and builds its tokenizer. */
export async function loadGgufTokenizer(file: string): Promise<ModelTokenizer> {
  const source = await openGgufSource(file, { fullArrayPrefixes: [GGUF_TOKENIZER_PREFIX] });
  try {
    return ggufTokenizer(source.metadata, file);
  } finally {
    await source.close();
  }
}
