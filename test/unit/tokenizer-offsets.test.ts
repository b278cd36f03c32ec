/**
 * Offsets: the rule for characters split between byte tokens, checked on the aligner directly,
 * and offsets through tokenizers whose pieces are not plain slices of the text (WordPiece drops
 * spaces and marks continuations with ##; a normalizer rewrites the text).
 */
import * as assert from 'assert';
import { hfTokenizer } from '../../src/model/tokenizer';
import { alignTokens } from '../../src/model/tokenizer/offsets';
import { covered } from '../helpers/tokenizerFixtures';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('tokenizer: offsets', () => {
  it('gives a character to the token holding its first byte; later bytes get an empty span at its end', () => {
    // "a€b" = 61 | E2 82 AC | 62 ; € is one UTF-16 unit at index 1.
    assert.deepStrictEqual(alignTokens('a€b', [bytes(0x61, 0xe2), bytes(0x82), bytes(0xac, 0x62)]), [[0, 2], [2, 2], [2, 3]]);
    // 𝄞 (U+1D11E) = F0 9D 84 9E, two UTF-16 units: a span never cuts a surrogate pair.
    assert.deepStrictEqual(alignTokens('𝄞x', [bytes(0xf0), bytes(0x9d, 0x84), bytes(0x9e, 0x78)]), [[0, 2], [2, 2], [2, 3]]);
    // A token that ends one character and starts the next takes the next one.
    assert.deepStrictEqual(alignTokens('éé', [bytes(0xc3), bytes(0xa9, 0xc3), bytes(0xa9)]), [[0, 1], [1, 2], [2, 2]]);
  });

  it('matches a prepended space, skipped whitespace, and leaves tokens not from the text empty', () => {
    // SentencePiece's "▁hi" for "hi": the space is the tokenizer's, the span is "hi".
    assert.deepStrictEqual(alignTokens('hi', [utf8(' hi')]), [[0, 2]]);
    // Tokens without the spaces between them (WordPiece); a null piece (a template token) stays where the cursor is.
    assert.deepStrictEqual(alignTokens('a  b', [null, utf8('a'), utf8('b'), null]), [[0, 0], [0, 1], [3, 4], [4, 4]]);
    // A token the text does not hold: empty, and the next one still lands right.
    assert.deepStrictEqual(alignTokens('xy', [utf8('x'), utf8('?'), utf8('y')]), [[0, 1], [1, 1], [1, 2]]);
  });

  it('puts WordPiece pieces and BERT-style [CLS]/[SEP] where they belong', () => {
    const vocab = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, hello: 4, wor: 5, '##ld': 6, '!': 7 };
    const t = hfTokenizer(
      {
        added_tokens: [0, 1, 2, 3].map((id) => ({ id, content: Object.keys(vocab)[id], special: true })),
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
        decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
      },
      {},
      'tokenizer.json',
    );
    // Lowercased by the normalizer, split on spaces and punctuation, "world" -> wor ##ld.
    const text = 'Hello  World!';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [2, 4, 5, 6, 7, 3]);
    assert.deepStrictEqual(covered(text, e.offsets), ['', 'Hello', 'Wor', 'ld', '!', '']);
    assert.deepStrictEqual(e.offsets[5], [13, 13]);
    assert.strictEqual(t.bosId, 2, "without a config, the template's first token is the BOS");
    assert.strictEqual(t.addsBos, true);
  });

  it('degrades to empty spans, never overlaps, when a normalizer rewrote the text', () => {
    // NFKC turns the ligature ﬁ (one character) into "fi": neither f nor i is in the text.
    const tokens = ['f', 'i', 'n', 'e'];
    const t = hfTokenizer(
      { normalizer: { type: 'NFKC' }, model: { type: 'BPE', vocab: Object.fromEntries(tokens.map((s, i) => [s, i])), merges: [] } },
      {},
      'tokenizer.json',
    );
    const text = 'ﬁne';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [0, 1, 2, 3]);
    assert.deepStrictEqual(covered(text, e.offsets), ['', '', 'n', 'e']);
  });
});
