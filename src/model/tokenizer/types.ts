/**
 * What the rest of FFN Lens sees of a model's tokenizer, whichever file it came from
 * (tokenizer.json, a GGUF vocabulary, or nothing at all). No `vscode` import.
 */

/** One text turned into tokens. All three arrays have one entry per token. */
export interface Encoding {
  ids: number[];
  /** The vocabulary strings of the tokens (as `vocabString(id)`: `Ġthe`, `▁the`, `<0x0A>`). */
  tokens: string[];
  /**
   * Where each token is in the text: [start, end) in UTF-16 code units (JS string indices), so
   * `text.slice(start, end)` is what the token covers. A character belongs to the token holding its
   * first UTF-8 byte: a byte-level or byte-fallback token that starts a multi-byte character spans
   * the whole character, and tokens that only continue it get an empty span at its end. Tokens the
   * text does not contain (a BOS, EOS or other template token, a space the tokenizer prepends) get
   * an empty span where they stand: BOS at [0, 0), EOS at [length, length).
   */
  offsets: [number, number][];
}

/** Which reader built a tokenizer. */
export type TokenizerKind = 'hf' | 'gguf-gpt2' | 'gguf-llama' | 'ids-only';

/** A model's tokenizer: text to ids with offsets, and ids back to readable text. */
export interface ModelTokenizer {
  readonly kind: TokenizerKind;
  /** Ids run 0..vocabSize-1 (the model's vocabulary when the caller gave it, else the tokenizer's). */
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  /** Whether encode adds BOS by default (per the config). */
  readonly addsBos: boolean;
  /** Tokenizes `text`; `addSpecialTokens` (default true) adds the template's BOS/EOS. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): Encoding;
  /** Human-readable text of one token (byte-level Ġ -> space, ▁ -> space, <0x0A> -> "\n"...). */
  display(id: number): string;
  /** The raw vocabulary string of a token (for comparing two vocabularies). Undefined for ids-only. */
  vocabString(id: number): string | undefined;
}
