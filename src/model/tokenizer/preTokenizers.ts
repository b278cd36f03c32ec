/**
 * GGUF byte-level BPE vocabularies name their pre-tokenizer (`tokenizer.ggml.pre`) instead of
 * storing its regex. These are llama.cpp's regexes for the names FFN Lens knows (src/llama-vocab.cpp,
 * `llm_tokenizer_bpe`), with the flags llama.cpp sets for them. Each regex splits every piece the
 * previous one left, keeping the text between matches as pieces of their own (llama.cpp's
 * `unicode_regex_split`, a Hugging Face `Split` with behavior `Isolated`). No `vscode` import.
 */
import { FfnLensError } from '../../core/errors';

/** How to pre-tokenize one GGUF vocabulary. */
export interface GgufPreTokenizer {
  /** Applied in order. */
  regexes: string[];
  /** Look a whole piece up in the vocabulary before merging (llama.cpp `ignore_merges`). */
  ignoreMerges: boolean;
  /** llama.cpp's default for `add_bos` when `tokenizer.ggml.add_bos_token` is absent. */
  addBos: boolean;
}

const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
/** Llama 3's `(?i:'s|...)` spelled without the inline flag, as llama.cpp does. */
const LLAMA3 = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2 = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const plain = (regexes: string[]): GgufPreTokenizer => ({ regexes, ignoreMerges: false, addBos: false });

/** llama.cpp's `default:` case, used for 'default' and when the name is missing. */
const DEFAULT = plain([String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]']);

const TABLE: [string[], GgufPreTokenizer][] = [
  [['default'], DEFAULT],
  [['gpt-2', 'phi-2', 'mpt', 'olmo', 'jais', 'exaone4', 'gigachat', 'trillion', 'granite-docling'], plain([GPT2])],
  [['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'], { regexes: [LLAMA3], ignoreMerges: true, addBos: true }],
  [['dbrx', 'smaug-bpe'], plain([LLAMA3])],
  [['qwen2', 'deepseek-r1-qwen', 'megrez', 'stablelm2'], plain([QWEN2])],
  [['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b'], plain([String.raw`\p{N}`, GPT2])],
];

/** Every `tokenizer.ggml.pre` name FFN Lens knows. */
export const KNOWN_PRE_TOKENIZERS: readonly string[] = TABLE.flatMap(([names]) => names);

/** The pre-tokenizer llama.cpp uses for `pre` (missing: 'default'); an unknown name is an FfnLensError. */
export function ggufPreTokenizer(pre: string | undefined, file: string): GgufPreTokenizer {
  if (pre === undefined) return DEFAULT;
  const hit = TABLE.find(([names]) => names.includes(pre));
  if (!hit) {
    throw new FfnLensError(`tokenizer.ggml.pre '${pre}' is a pre-tokenizer FFN Lens does not know (it knows ${KNOWN_PRE_TOKENIZERS.join(', ')})`, file);
  }
  return hit[1];
}
