/**
 * The tokenizer of a model folder that has no tokenizer.json (older LLaMA exports ship only
 * SentencePiece's tokenizer.model, which FFN Lens does not read): the model still runs on token
 * ids, tokens show by number, and only turning text into ids is refused. No `vscode` import.
 */
import * as nodePath from 'path';
import { FfnLensError } from '../../core/errors';
import type { Encoding, ModelTokenizer } from './types';

/** A tokenizer that knows how many ids there are and nothing else. */
class IdsOnlyTokenizer implements ModelTokenizer {
  readonly kind = 'ids-only' as const;
  readonly addsBos = false;

  constructor(
    private readonly dir: string,
    readonly vocabSize: number,
    private readonly hasSentencePiece: boolean,
  ) {}

  /** Always throws: without tokenizer.json there is no way from text to ids. */
  encode(): Encoding {
    const spm = this.hasSentencePiece
      ? '; the folder has tokenizer.model (SentencePiece), which FFN Lens does not read: save a tokenizer.json beside it ' +
        `(python -c "from transformers import AutoTokenizer; AutoTokenizer.from_pretrained('${this.dir}').save_pretrained('${this.dir}')")`
      : '';
    throw new FfnLensError(`tokenizer.json not found in ${this.dir}, so text cannot be turned into tokens (token ids still work)${spm}`, nodePath.join(this.dir, 'tokenizer.json'));
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new FfnLensError(`token id ${id} is outside the vocabulary (ids 0..${this.vocabSize - 1})`, this.dir);
    }
  }

  display(id: number): string {
    this.check(id);
    return `#${id}`;
  }

  vocabString(id: number): string | undefined {
    this.check(id);
    return undefined;
  }
}

/** An ids-only tokenizer for `dir`; `hasSentencePiece` says whether the folder has tokenizer.model. */
export function idsOnlyTokenizer(dir: string, vocabSize: number, hasSentencePiece: boolean): ModelTokenizer {
  return new IdsOnlyTokenizer(dir, vocabSize, hasSentencePiece);
}
