/**
 * tokenizer.json through @huggingface/tokenizers: a GPT-2 byte-level BPE worked out by hand,
 * special tokens, BOS only where the config says, and offsets over unicode and whitespace.
 */
import * as assert from 'assert';
import { hfTokenizer, loadFolderTokenizer } from '../../src/model/tokenizer';
import { bl, BYTE_CHAR, bosTemplate, byteLevelJson, byteLevelTokens, covered, modelFolder, removeModelFolders } from '../helpers/tokenizerFixtures';

// Ids 0..255 are the bytes themselves (id = byte value); merged tokens follow from 256.
const EXTRA = ['he', 'Ġt', 'Ġthe', 'at', 'Ġs', 'Ġsat', 'the', 'Ġc'];
const MERGES = ['h e', 'Ġ t', 'Ġt he', 'a t', 'Ġ s', 'Ġs at', 't he', 'Ġ c'];
const [G_THE, AT, G_SAT, THE, G_C] = [258, 259, 261, 262, 263];
const EOT = 264;
const TOKENS = byteLevelTokens(EXTRA);
const byte = (ch: string): number => ch.charCodeAt(0);
/** Raw bytes (not necessarily valid UTF-8) in GPT-2's alphabet. */
const raw = (...bytes: number[]): string => bytes.map((b) => BYTE_CHAR[b]).join('');

describe('tokenizer: byte-level BPE from tokenizer.json', () => {
  after(removeModelFolders);

  const plain = (extraMerges: string[] = [], extraTokens: string[] = []) =>
    hfTokenizer(byteLevelJson([...TOKENS, '<|endoftext|>', ...extraTokens], [...MERGES, ...extraMerges], [{ id: EOT, content: '<|endoftext|>' }]), {}, 'tokenizer.json');

  it('tokenizes a sentence worked out by hand', () => {
    // Pre-tokenized by GPT-2's regex: "the" " cat" " sat" " on" " the" " mat" "."  (space = Ġ)
    //  the : t h e -> (h,e) rank 0 -> t he -> (t,he) rank 6 -> the
    //  Ġcat: Ġ c a t -> (a,t) rank 3 beats (Ġ,c) rank 7 -> Ġ c at -> (Ġ,c) -> Ġc at; (Ġc,at) no merge
    //  Ġsat: Ġ s a t -> (a,t) 3 -> Ġ s at -> (Ġ,s) 4 -> Ġs at -> (Ġs,at) 5 -> Ġsat
    //  Ġon : no merges -> Ġ o n
    //  Ġthe: Ġ t h e -> (h,e) 0 -> Ġ t he -> (Ġ,t) 1 beats (t,he) 6 -> Ġt he -> (Ġt,he) 2 -> Ġthe
    //  Ġmat: Ġ m a t -> (a,t) -> Ġ m at
    const text = 'the cat sat on the mat.';
    const e = plain().encode(text);
    assert.deepStrictEqual(e.ids, [THE, G_C, AT, G_SAT, byte(' '), byte('o'), byte('n'), G_THE, byte(' '), byte('m'), AT, byte('.')]);
    assert.deepStrictEqual(e.tokens, ['the', 'Ġc', 'at', 'Ġsat', 'Ġ', 'o', 'n', 'Ġthe', 'Ġ', 'm', 'at', '.']);
    assert.deepStrictEqual(covered(text, e.offsets), ['the', ' c', 'at', ' sat', ' ', 'o', 'n', ' the', ' ', 'm', 'at', '.']);
    assert.deepStrictEqual(e.offsets.slice(0, 4), [[0, 3], [3, 5], [5, 7], [7, 11]]);
  });

  it('maps a special token written in the text to its id, and shows tokens readably', () => {
    const t = plain();
    const text = 'the<|endoftext|> the';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [THE, EOT, G_THE]);
    assert.deepStrictEqual(covered(text, e.offsets), ['the', '<|endoftext|>', ' the']);
    assert.strictEqual(t.display(G_THE), ' the');
    assert.strictEqual(t.display(EOT), '<|endoftext|>');
    assert.strictEqual(t.display(10), '\n');
    assert.strictEqual(t.vocabString(G_THE), 'Ġthe');
    // Byte 0xE2 alone is half a character: shown as the byte, not as U+FFFD.
    assert.strictEqual(t.display(0xe2), '<0xE2>');
  });

  it('adds BOS only where the post-processor or tokenizer_config says so', async () => {
    const json = byteLevelJson([...TOKENS, '<|endoftext|>'], MERGES, [{ id: EOT, content: '<|endoftext|>' }], bosTemplate('<|endoftext|>', EOT));
    const withTemplate = hfTokenizer(json, { bos_token: '<|endoftext|>' }, 'tokenizer.json');
    assert.strictEqual(withTemplate.addsBos, true);
    assert.strictEqual(withTemplate.bosId, EOT);
    const e = withTemplate.encode('the');
    assert.deepStrictEqual(e.ids, [EOT, THE]);
    assert.deepStrictEqual(e.offsets, [[0, 0], [0, 3]]);
    assert.deepStrictEqual(withTemplate.encode('the', { addSpecialTokens: false }).ids, [THE]);

    // No post-processor (GPT-2 itself): no BOS, unless tokenizer_config asks for one.
    const bare = byteLevelJson([...TOKENS, '<|endoftext|>'], MERGES, [{ id: EOT, content: '<|endoftext|>' }]);
    const none = hfTokenizer(bare, { bos_token: '<|endoftext|>' }, 'tokenizer.json');
    assert.strictEqual(none.addsBos, false);
    assert.deepStrictEqual(none.encode('the').ids, [THE]);
    const asked = hfTokenizer(bare, { bos_token: { content: '<|endoftext|>' }, add_bos_token: true }, 'tokenizer.json');
    assert.strictEqual(asked.addsBos, true);
    assert.deepStrictEqual(asked.encode('the').ids, [EOT, THE]);
    // tokenizer_config add_bos_token: false wins over the template (as transformers does for Llama).
    const refused = hfTokenizer(json, { bos_token: '<|endoftext|>', add_bos_token: false }, 'tokenizer.json');
    assert.strictEqual(refused.addsBos, false);
    assert.deepStrictEqual(refused.encode('the').ids, [THE]);

    // add_eos_token puts EOS after the text, with an empty span at its end.
    const withEos = hfTokenizer(bare, { eos_token: '<|endoftext|>', add_eos_token: true }, 'tokenizer.json');
    assert.strictEqual(withEos.addsBos, false);
    assert.deepStrictEqual(withEos.encode('the ').ids, [THE, byte(' '), EOT]);
    assert.deepStrictEqual(withEos.encode('the ').offsets, [[0, 3], [3, 4], [4, 4]]);

    // The same through a folder on disk (tokenizer.json + tokenizer_config.json).
    const dir = await modelFolder({ 'tokenizer.json': json, 'tokenizer_config.json': { bos_token: '<|endoftext|>', add_bos_token: true } });
    const fromDisk = await loadFolderTokenizer(dir, 300);
    assert.strictEqual(fromDisk.kind, 'hf');
    assert.strictEqual(fromDisk.vocabSize, 300);
    assert.deepStrictEqual(fromDisk.encode('the cat').ids, [EOT, THE, G_C, AT]);
  });

  it('gives a multi-byte character to the token holding its first byte (accents, CJK, emoji)', () => {
    // é = C3 A9, 中 = E4 B8 AD, 😀 = F0 9F 98 80 (two UTF-16 units). One merge joins é's bytes, one
    // joins the first two bytes of 😀, and one joins 😀's last byte with the next 😀's first.
    const e9 = bl('é');
    const emojiHead = raw(0xf0, 0x9f);
    const across = raw(0x80, 0xf0);
    // The 80 F0 merge ranks first, so it takes the second emoji's F0 before F0 9F can.
    const t = plain([`${bl('é')[0]} ${bl('é')[1]}`, `${across[0]} ${across[1]}`, `${emojiHead[0]} ${emojiHead[1]}`], [e9, emojiHead, across]);
    const [E9, HEAD, ACROSS] = [265, 266, 267];

    const text = 'é中😀😀';
    const e = t.encode(text);
    // é: one token; 中: three byte tokens; 😀😀: F09F | 98 | 80F0 | 9F | 98 | 80
    assert.deepStrictEqual(e.ids, [E9, 0xe4, 0xb8, 0xad, HEAD, 0x98, ACROSS, 0x9f, 0x98, 0x80]);
    assert.deepStrictEqual(e.offsets, [
      [0, 1], // é
      [1, 2], [2, 2], [2, 2], // 中: its lead byte's token spans it, the continuations are empty at its end
      [2, 4], // F0 9F starts the first emoji: the whole surrogate pair
      [4, 4], // 98 continues it
      [4, 6], // 80 F0 ends the first emoji and starts the second: the second is this token's
      [6, 6], [6, 6], [6, 6],
    ]);
    assert.deepStrictEqual(covered(text, e.offsets), ['é', '中', '', '', '😀', '', '😀', '', '', '']);
    assert.strictEqual(t.display(E9), 'é');
    assert.strictEqual(t.display(HEAD), '<0xF0><0x9F>');
  });

  it('keeps whitespace runs (double spaces, newlines, tabs) where they are', () => {
    const t = plain(['Ġ b', 'Ċ Ċ'], ['Ġb', 'ĊĊ']);
    const [G_B, NN] = [265, 266];
    // GPT-2's regex: "a" " " " b" "\n\n" "\t" "c"  (\s+(?!\S) leaves the last space for " b")
    const text = 'a  b\n\n\tc';
    const e = t.encode(text);
    assert.deepStrictEqual(e.ids, [byte('a'), byte(' '), G_B, NN, byte('\t'), byte('c')]);
    assert.deepStrictEqual(covered(text, e.offsets), ['a', ' ', ' b', '\n\n', '\t', 'c']);
    assert.deepStrictEqual(e.ids.map((id) => t.display(id)), ['a', ' ', ' b', '\n\n', '\t', 'c']);
  });
});
