/**
 * A ModelTokenizer over a @huggingface/tokenizers `Tokenizer`, shared by the tokenizer.json and
 * the GGUF readers: the library splits and merges; this adds offsets, the BOS/EOS template the
 * config asks for, readable tokens and errors that name the file. No `vscode` import.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { FfnLensError } from '../../core/errors';
import { alignTokens, type TokenPiece } from './offsets';
import { displayToken, tokenBytes, type TokenStyle } from './tokenText';
import type { Encoding, ModelTokenizer, TokenizerKind } from './types';

const UTF8 = new TextEncoder();

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Builds the library's tokenizer from a tokenizer.json object; its errors become one FfnLensError naming `file`. */
export function buildLibraryTokenizer(json: Record<string, unknown>, config: Record<string, unknown>, file: string): Tokenizer {
  try {
    return new Tokenizer(json, config);
  } catch (e) {
    throw new FfnLensError(`cannot build the tokenizer: ${message(e)}`, file);
  }
}

/** What the library does not know about a tokenizer and the wrapper needs. */
export interface TokenizerSetup {
  kind: Exclude<TokenizerKind, 'ids-only'>;
  /** The file the vocabulary came from, for messages. */
  file: string;
  style: TokenStyle;
  wordpiecePrefix?: string;
  /** Ids run 0..vocabSize-1; the library's ids must stay below it. */
  vocabSize: number;
  /** Added tokens: matched and shown as their literal content. */
  addedIds: ReadonlySet<number>;
  bosId?: number;
  eosId?: number;
  /** Whether to add BOS / EOS, overriding the post-processor (tokenizer_config, GGUF add_bos_token). */
  addBos?: boolean;
  addEos?: boolean;
}

const SENTINEL = '\u0000ffn-lens-text\u0000';

/** The tokens the post-processor puts before and after a single text (BOS, CLS, EOS, SEP...). */
function templateOf(lib: Tokenizer, file: string): { prefix: string[]; suffix: string[] } {
  const pp = lib.post_processor;
  if (!pp) return { prefix: [], suffix: [] };
  let tokens: string[];
  try {
    tokens = pp.post_process([SENTINEL], null, true).tokens;
  } catch (e) {
    throw new FfnLensError(`cannot use the tokenizer's post_processor: ${message(e)}`, file);
  }
  const at = tokens.indexOf(SENTINEL);
  if (at < 0 || tokens.lastIndexOf(SENTINEL) !== at) {
    throw new FfnLensError(`the tokenizer's post_processor (${String(pp.config?.type)}) does not keep the text in one piece`, file);
  }
  return { prefix: tokens.slice(0, at), suffix: tokens.slice(at + 1) };
}

/** A tokenizer run by @huggingface/tokenizers. */
export class LibraryTokenizer implements ModelTokenizer {
  readonly kind: Exclude<TokenizerKind, 'ids-only'>;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly addsBos: boolean;
  /** Ids added before and after the text when special tokens are on. */
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(
    private readonly lib: Tokenizer,
    private readonly setup: TokenizerSetup,
  ) {
    this.kind = setup.kind;
    this.vocabSize = setup.vocabSize;
    const template = templateOf(lib, setup.file);
    let prefix = template.prefix.map((t) => this.templateId(t));
    let suffix = template.suffix.map((t) => this.templateId(t));
    // Without a named BOS/EOS, the template's first/last token plays the part (Llama 3 without a config, BERT's CLS).
    const bosId = setup.bosId ?? (prefix.length > 0 ? prefix[0] : undefined);
    const eosId = setup.eosId ?? (suffix.length > 0 ? suffix[suffix.length - 1] : undefined);
    if (setup.addBos === true && !prefix.includes(this.required(bosId, 'BOS'))) prefix = [this.required(bosId, 'BOS'), ...prefix];
    if (setup.addBos === false) prefix = prefix.filter((id) => id !== bosId);
    if (setup.addEos === true && !suffix.includes(this.required(eosId, 'EOS'))) suffix = [...suffix, this.required(eosId, 'EOS')];
    if (setup.addEos === false) suffix = suffix.filter((id) => id !== eosId);
    this.prefix = prefix;
    this.suffix = suffix;
    this.bosId = bosId;
    this.eosId = eosId;
    this.addsBos = bosId !== undefined && prefix.includes(bosId);
  }

  private required(id: number | undefined, what: string): number {
    if (id === undefined) throw new FfnLensError(`the tokenizer config asks to add ${what} but names no ${what} token`, this.setup.file);
    return id;
  }

  private templateId(token: string): number {
    const id = this.lib.token_to_id(token);
    if (id === undefined) throw new FfnLensError(`the tokenizer's post_processor adds '${token}', which is not in its vocabulary`, this.setup.file);
    return this.checkedId(id, token);
  }

  private checkedId(id: number | undefined, token: string): number {
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new FfnLensError(`the tokenizer has no id for '${token}' (not in its vocabulary, and it has no unknown token)`, this.setup.file);
    }
    if (id < 0 || id >= this.vocabSize) {
      throw new FfnLensError(`the tokenizer gives '${token}' the id ${id}, outside the model's vocabulary of ${this.vocabSize} tokens`, this.setup.file);
    }
    return id;
  }

  /** The bytes a token stands for in the text (added tokens: their content as written). */
  private piece(id: number, token: string): TokenPiece {
    return this.setup.addedIds.has(id) ? UTF8.encode(token) : tokenBytes(token, this.setup.style, this.setup.wordpiecePrefix);
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): Encoding {
    if (typeof text !== 'string') throw new FfnLensError('the text to tokenize must be a string', undefined, 'usage');
    let out: { ids: (number | undefined)[]; tokens: string[] };
    try {
      out = this.lib.encode(text, { add_special_tokens: false });
    } catch (e) {
      throw new FfnLensError(`cannot tokenize the text: ${message(e)}`, this.setup.file);
    }
    const ids = out.tokens.map((token, i) => this.checkedId(out.ids[i], token));
    const offsets = alignTokens(text, ids.map((id, i) => this.piece(id, out.tokens[i])));
    if (options.addSpecialTokens === false) return { ids, tokens: out.tokens, offsets };
    const end = text.length;
    return {
      ids: [...this.prefix, ...ids, ...this.suffix],
      tokens: [...this.prefix.map((id) => this.rawString(id)), ...out.tokens, ...this.suffix.map((id) => this.rawString(id))],
      offsets: [...this.prefix.map((): [number, number] => [0, 0]), ...offsets, ...this.suffix.map((): [number, number] => [end, end])],
    };
  }

  private checkRange(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new FfnLensError(`token id ${id} is outside the vocabulary (ids 0..${this.vocabSize - 1})`, this.setup.file);
    }
  }

  private rawString(id: number): string {
    return this.lib.id_to_token(id) ?? `#${id}`;
  }

  display(id: number): string {
    this.checkRange(id);
    const token = this.lib.id_to_token(id);
    // Ids the model has but the tokenizer does not (padding rows of the embedding) show by number.
    if (token === undefined) return `#${id}`;
    return this.setup.addedIds.has(id) ? token : displayToken(token, this.setup.style);
  }

  vocabString(id: number): string | undefined {
    this.checkRange(id);
    return this.lib.id_to_token(id);
  }
}
