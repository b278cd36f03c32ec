/**
 * SentencePiece vocabularies (GGUF `llama`): llama.cpp's greedy best-score merging, `<0xNN>` byte
 * fallback, the prepended space, BOS by default, and the same vocabulary as a Llama-2-style
 * tokenizer.json giving the same ids. Expected ids are worked out by hand in the comments.
 */
import * as assert from 'assert';
import { ggufTokenizer, hfTokenizer } from '../../src/model/tokenizer';
import { covered, kvMetadata, llamaKv, spmJson, spmVocab, type SpmVocab } from '../helpers/tokenizerFixtures';

const BOS = 1;
const EOS = 2;
/** Id of SentencePiece's byte token for `b` (the byte tokens are ids 3..258). */
const byteId = (b: number): number => 3 + b;

const gguf = (v: SpmVocab, opts: { addBos?: boolean; addSpacePrefix?: boolean } = {}) => ggufTokenizer(kvMetadata(llamaKv(v, opts)), 'm.gguf');

describe('tokenizer: SentencePiece vocabulary from GGUF', () => {
  // Scores chosen so that greedy merging and best total score disagree on "abc".
  const v = spmVocab([['▁', -3], ['a', -10], ['b', -8], ['c', -1], ['ab', -1], ['bc', -0.5]]);
  const id = (piece: string): number => v.tokens.indexOf(piece);

  it("merges the best-scoring pair first, as llama.cpp does (not the best total, as Unigram would)", () => {
    // "abc" -> "▁abc" -> symbols ▁ a b c. Pairs in the vocabulary: "ab" (-1), "bc" (-0.5).
    // Best pair "bc" merges: ▁ a bc. Neither "▁a" nor "abc" is a token, so that is the result.
    // (Unigram's Viterbi would pick ▁ ab c: -3 - 1 - 1 = -5 beats ▁ a bc: -3 - 10 - 0.5 = -13.5.)
    const t = gguf(v);
    assert.strictEqual(t.kind, 'gguf-llama');
    const e = t.encode('abc');
    assert.deepStrictEqual(e.ids, [BOS, id('▁'), id('a'), id('bc')]);
    assert.deepStrictEqual(e.tokens, ['<s>', '▁', 'a', 'bc']);
    // BOS and the prepended space are not in the text: empty spans at the start.
    assert.deepStrictEqual(e.offsets, [[0, 0], [0, 0], [0, 1], [1, 3]]);
  });

  it('falls back to <0xNN> byte tokens for a character outside the vocabulary', () => {
    // "a€" -> ▁ a € ; no pair is a token; € (E2 82 AC) is not a token -> three byte tokens.
    const t = gguf(v);
    const text = 'a€';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [BOS, id('▁'), id('a'), byteId(0xe2), byteId(0x82), byteId(0xac)]);
    assert.deepStrictEqual(e.offsets, [[0, 0], [0, 0], [0, 1], [1, 2], [2, 2], [2, 2]]);
    assert.deepStrictEqual(covered(text, e.offsets), ['', '', 'a', '€', '', '']);
    assert.strictEqual(t.display(byteId(0x0a)), '\n');
    assert.strictEqual(t.display(byteId(0xe2)), '<0xE2>');
    assert.strictEqual(t.display(id('▁')), ' ');
    assert.strictEqual(t.vocabString(byteId(0xe2)), '<0xE2>');
  });

  it('adds BOS by default, not when add_bos_token is false or special tokens are off, and parses </s> in the text', () => {
    const t = gguf(v);
    assert.strictEqual(t.addsBos, true);
    assert.strictEqual(t.bosId, BOS);
    assert.strictEqual(t.eosId, EOS);
    assert.deepStrictEqual(t.encode('c', { addSpecialTokens: false }).ids, [id('▁'), id('c')]);
    const noBos = gguf(v, { addBos: false });
    assert.strictEqual(noBos.addsBos, false);
    assert.deepStrictEqual(noBos.encode('c').ids, [id('▁'), id('c')]);
    // The text after a special token gets its own prepended space (llama.cpp's is_prev_special).
    const text = 'a</s>b';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [BOS, id('▁'), id('a'), EOS, id('▁'), id('b')]);
    assert.deepStrictEqual(covered(text, e.offsets), ['', '', 'a', '</s>', '', 'b']);
  });

  it('prepends no space when add_space_prefix is false', () => {
    // "abc" -> a b c -> "bc" merges -> a bc
    assert.deepStrictEqual(gguf(v, { addSpacePrefix: false }).encode('abc').ids, [BOS, id('a'), id('bc')]);
  });

  it('breaks equal scores leftmost first, whatever the ids', () => {
    // "aba" -> ▁ a b a ; "ab" at 1 and "ba" at 2 score the same; llama.cpp takes the left one:
    // ▁ ab a. "ba" has the lower id, so a merge list ordered by id alone would give ▁ a ba.
    const tie = spmVocab([['ba', -1], ['ab', -1], ['▁', -5], ['a', -5], ['b', -5]]);
    const tid = (piece: string): number => tie.tokens.indexOf(piece);
    assert.deepStrictEqual(gguf(tie).encode('aba').ids, [BOS, tid('▁'), tid('ab'), tid('a')]);
  });

  it('keeps whitespace runs and non-Latin characters with their offsets', () => {
    // "a  b\n\tc中" -> ▁a▁▁b\n\tc中 ; the only pair in the vocabulary is ▁▁ ; \n \t and 中 (E4 B8 AD) fall back to bytes.
    const w = spmVocab([['▁▁', -2], ['▁', -5], ['a', -5], ['b', -5], ['c', -5]]);
    const wid = (piece: string): number => w.tokens.indexOf(piece);
    const text = 'a  b\n\tc中';
    const e = gguf(w).encode(text);
    assert.deepStrictEqual(e.ids, [BOS, wid('▁'), wid('a'), wid('▁▁'), wid('b'), byteId(0x0a), byteId(0x09), wid('c'), byteId(0xe4), byteId(0xb8), byteId(0xad)]);
    assert.deepStrictEqual(covered(text, e.offsets), ['', '', 'a', '  ', 'b', '\n', '\t', 'c', '中', '', '']);
  });

  it('gives the same ids as the same vocabulary in a Llama-2-style tokenizer.json', () => {
    // Scores and the merge list say the same thing: each merge ranks by its token's score.
    const s = spmVocab([['▁t', -1], ['he', -2], ['▁the', -3], ['▁a', -4], ['at', -5], ['▁c', -6], ['▁cat', -7], ['▁', -100], ['t', -101], ['h', -102], ['e', -103], ['a', -104], ['c', -105]]);
    const merges = ['▁ t', 'h e', '▁t he', '▁ a', 'a t', '▁ c', '▁c at'];
    const fromJson = hfTokenizer(spmJson(s, merges, true), { bos_token: '<s>', eos_token: '</s>' }, 'tokenizer.json');
    const fromGguf = gguf(s);
    for (const text of ['the cat', 'the cat at a thé', '  the\n\ncat\t', 'the</s>cat', 'ça', '中文 😀', '']) {
      const a = fromJson.encode(text);
      const b = fromGguf.encode(text);
      assert.deepStrictEqual(b.ids, a.ids, JSON.stringify(text));
      assert.deepStrictEqual(b.offsets, a.offsets, JSON.stringify(text));
    }
    // And by hand: "the cat" -> ▁the ▁cat (▁t, he, ▁the; ▁c, at, ▁cat).
    assert.deepStrictEqual(fromGguf.encode('the cat').ids, [BOS, s.tokens.indexOf('▁the'), s.tokens.indexOf('▁cat')]);
  });
});
