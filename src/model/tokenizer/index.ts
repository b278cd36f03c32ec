/**
 * Tokenizers for whole-model runs: text is tokenized by the model's own tokenizer.
 * - A Hugging Face folder: `loadFolderTokenizer` (tokenizer.json through @huggingface/tokenizers;
 *   ids-only when the folder has none).
 * - A GGUF file: `ggufTokenizer` over its metadata, or `loadGgufTokenizer` over the file.
 * Every encoding keeps each token's [start, end) offsets into the text. No `vscode` import.
 */
export type { Encoding, ModelTokenizer, TokenizerKind } from './types';
export { loadFolderTokenizer, hfTokenizer, HF_TOKENIZER_LIMITS } from './hf';
export { ggufTokenizer, loadGgufTokenizer } from './gguf';
export { GGUF_TOKENIZER_PREFIX } from './ggufVocab';
export { idsOnlyTokenizer } from './idsOnly';
