/**
 * GGUF vocabularies: the reader keeps the `tokenizer.ggml.*` arrays whole when asked, a `gpt2`
 * vocabulary gives the same ids as the same tokenizer.json, `tokenizer.ggml.pre` picks llama.cpp's
 * regexes (worked out by hand), and hostile or unknown vocabularies get one clear error.
 */
import * as assert from 'assert';
import { isFfnLensError, type FfnLensError } from '../../src/core/errors';
import { GGUF_LIMITS, openGgufSource } from '../../src/formats/gguf';
import { GGUF_TOKENIZER_PREFIX, ggufTokenizer, hfTokenizer, loadGgufTokenizer } from '../../src/model/tokenizer';
import { memoryGrowth } from '../helpers/fuzz';
import { buildGguf, removeTempFiles, writeTemp, type KvValue } from '../helpers/ggufWriter';
import { bl, byteLevelJson, byteLevelTokens, gpt2Kv, kvMetadata, llamaKv, spmVocab, refuses } from '../helpers/tokenizerFixtures';

const byte = (ch: string): number => ch.charCodeAt(0);


describe('tokenizer: GGUF vocabularies', () => {
  after(removeTempFiles);

  describe('the reader', () => {
    it('keeps tokenizer arrays whole with fullArrayPrefixes, and still summarises them without it', async () => {
      const tokens = Array.from({ length: GGUF_LIMITS.keepStringItems + 36 }, (_, i) => `t${i}`);
      const file = await writeTemp('arrays.gguf', buildGguf({
        kv: [
          ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', items: tokens }],
          ['tokenizer.ggml.scores', { type: 'array', itemType: 'float32', items: tokens.map((_, i) => -i) }],
          ['other.names', { type: 'array', itemType: 'string', items: tokens }],
        ],
      }).bytes);
      const whole = await openGgufSource(file, { fullArrayPrefixes: [GGUF_TOKENIZER_PREFIX] });
      assert.deepStrictEqual(whole.metadata['tokenizer.ggml.tokens'], tokens);
      assert.deepStrictEqual(whole.metadata['tokenizer.ggml.scores'], tokens.map((_, i) => -i));
      assert.deepStrictEqual(whole.metadata['other.names'], { arrayOf: 'string', length: tokens.length });
      await whole.close();
      const summarised = await openGgufSource(file);
      assert.deepStrictEqual(summarised.metadata['tokenizer.ggml.tokens'], { arrayOf: 'string', length: tokens.length });
      await summarised.close();
      // A vocabulary read as a summary is named as the problem, not mistaken for an empty one.
      await refuses(() => ggufTokenizer({ ...summarised.metadata, 'tokenizer.ggml.model': 'gpt2' }, file), /read as a summary.*fullArrayPrefixes/, file);
    });

    it('refuses a vocabulary array claiming more entries than the file holds, before allocating them', async () => {
      const { bytes, layout } = buildGguf({ kv: gpt2Kv(byteLevelTokens([]), []) });
      // tokenizer.ggml.tokens is key #2: its value is u32 item type, then the u64 count.
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      view.setBigUint64(layout.kvValueStarts[2] + 4, 2n ** 28n, true);
      const file = await writeTemp('huge.gguf', bytes);
      const grown = await memoryGrowth(() => loadGgufTokenizer(file));
      assert.ok(isFfnLensError(grown.result));
      assert.match(grown.result.message, /tokenizer\.ggml\.tokens.*array length 268435456 cannot fit in the \d+ bytes left/);
      assert.ok(grown.arrayBuffers < 4 * 2 ** 20 && grown.heapUsed < 16 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
    });
  });

  describe('gpt2 (byte-level BPE)', () => {
    const extra = ['he', 'Ġt', 'Ġthe', 'at', 'Ġc', "'s", 'ĠĠ', 'ĊĊ', bl('é'), '<|endoftext|>'];
    const merges = ['h e', 'Ġ t', 'Ġt he', 'a t', 'Ġ c', "' s", 'Ġ Ġ', 'Ċ Ċ', `${bl('é')[0]} ${bl('é')[1]}`];
    const tokens = byteLevelTokens(extra);
    const EOT = tokens.indexOf('<|endoftext|>');

    it('gives the same ids and offsets as the same vocabulary in tokenizer.json', async () => {
      const file = await writeTemp('gpt2.gguf', buildGguf({ kv: gpt2Kv(tokens, merges, { pre: 'gpt-2', special: [EOT], bos: EOT, eos: EOT }) }).bytes);
      const fromGguf = await loadGgufTokenizer(file);
      assert.strictEqual(fromGguf.kind, 'gguf-gpt2');
      assert.strictEqual(fromGguf.vocabSize, tokens.length);
      assert.strictEqual(fromGguf.addsBos, false, "GPT-2's pre-tokenizer: no BOS unless add_bos_token says so");
      const fromJson = hfTokenizer(byteLevelJson(tokens, merges, [{ id: EOT, content: '<|endoftext|>' }]), {}, 'tokenizer.json');
      for (const text of ["the cat's hat", 'é  thé\n\ncat\t\t', "It's 2024: 12345 + 6 = 12351!", 'the<|endoftext|>cat', '中文 😀😀', '   ', '']) {
        const a = fromJson.encode(text);
        const b = fromGguf.encode(text);
        assert.deepStrictEqual(b.ids, a.ids, JSON.stringify(text));
        assert.deepStrictEqual(b.offsets, a.offsets, JSON.stringify(text));
      }
      // By hand: "the cat's" -> "the" " cat" "'s" -> t he | Ġc at | 's
      assert.deepStrictEqual(fromGguf.encode("the cat's").ids, [byte('t'), tokens.indexOf('he'), tokens.indexOf('Ġc'), tokens.indexOf('at'), tokens.indexOf("'s")]);
      assert.strictEqual(fromGguf.display(tokens.indexOf('ĊĊ')), '\n\n');
    });

    it("uses llama.cpp's regexes for tokenizer.ggml.pre", () => {
      const pieces = ['34', '12', '123', '45', 'xyz', "'s"];
      const t = byteLevelTokens([...pieces, '<s>']);
      const BOS = t.length - 1;
      const m = ['3 4', '1 2', '12 3', '4 5', "' s"];
      const idOf = (s: string): number => t.indexOf(s);
      const make = (pre: string) => ggufTokenizer(kvMetadata(gpt2Kv(t, m, { pre, special: [BOS], bos: BOS })), 'm.gguf');

      // gpt-2: " ?\p{N}+" keeps "12345" whole; (3,4) ranks first -> 1 2 34 5 -> (1,2) -> 12 34 5.
      assert.deepStrictEqual(make('gpt-2').encode('12345').ids, [idOf('12'), idOf('34'), byte('5')]);
      // llama-bpe: "\p{N}{1,3}" cuts "123" "45" -> (1,2) then (12,3) -> 123 ; (4,5) -> 45. It adds BOS by default.
      const llama3 = make('llama-bpe');
      assert.strictEqual(llama3.addsBos, true);
      assert.deepStrictEqual(llama3.encode('12345').ids, [BOS, idOf('123'), idOf('45')]);
      // llama-bpe looks a whole piece up before merging (ignore_merges): "xyz" has no merges but is a token.
      assert.deepStrictEqual(llama3.encode('xyz', { addSpecialTokens: false }).ids, [idOf('xyz')]);
      assert.deepStrictEqual(make('gpt-2').encode('xyz').ids, [byte('x'), byte('y'), byte('z')]);
      // default: its first regex isolates punctuation, so "'" and "s" never meet; gpt-2 keeps "'s".
      assert.deepStrictEqual(make('default').encode("it's").ids, [byte('i'), byte('t'), byte("'"), byte('s')]);
      assert.deepStrictEqual(make('gpt-2').encode("it's").ids, [byte('i'), byte('t'), idOf("'s")]);
      // add_bos_token decides over the default.
      const asked = ggufTokenizer(kvMetadata(gpt2Kv(t, m, { pre: 'gpt-2', special: [BOS], bos: BOS, addBos: true })), 'm.gguf');
      assert.deepStrictEqual(asked.encode('12').ids, [BOS, idOf('12')]);
    });
  });

  describe('refusals', () => {
    const tokens = byteLevelTokens([]);
    const meta = (kv: [string, KvValue][]): Record<string, unknown> => kvMetadata(kv);

    it('names an unknown vocabulary type or pre-tokenizer', async () => {
      const bert = meta(gpt2Kv(tokens, []).map(([k, v]): [string, KvValue] => (k === 'tokenizer.ggml.model' ? [k, { type: 'string', value: 'bert' }] : [k, v])));
      await refuses(() => ggufTokenizer(bert, 'b.gguf'), /tokenizer\.ggml\.model "bert" is not a vocabulary type FFN Lens reads/, 'b.gguf');
      await refuses(() => ggufTokenizer(meta(gpt2Kv(tokens, [], { pre: 'klingon' })), 'k.gguf'), /tokenizer\.ggml\.pre 'klingon' is a pre-tokenizer FFN Lens does not know/);
      await refuses(() => ggufTokenizer({ 'general.architecture': 'llama' }, 'n.gguf'), /no vocabulary \(no tokenizer\.ggml\.model\)/);
    });

    it('refuses inconsistent vocabularies: short per-token arrays, duplicates, ids outside the vocabulary', async () => {
      const v = spmVocab([['a', -1], ['b', -2]]);
      const shortScores = { ...kvMetadata(llamaKv(v)), 'tokenizer.ggml.scores': v.scores.slice(1) };
      await refuses(() => ggufTokenizer(shortScores, 's.gguf'), /tokenizer\.ggml\.scores has 260 entries for 261 tokens/);
      const dup = { ...kvMetadata(llamaKv(v)), 'tokenizer.ggml.tokens': [...v.tokens.slice(0, -1), 'a'] };
      await refuses(() => ggufTokenizer(dup, 'd.gguf'), /'a' twice \(ids 259 and 260\)/);
      const badBos = { ...kvMetadata(llamaKv(v)), 'tokenizer.ggml.bos_token_id': 261 };
      await refuses(() => ggufTokenizer(badBos, 'o.gguf'), /bos_token_id 261 is not a token id of the vocabulary \(0\.\.260\)/);
      const noMerges = kvMetadata(gpt2Kv(tokens, []).filter(([k]) => k !== 'tokenizer.ggml.merges'));
      await refuses(() => ggufTokenizer(noMerges, 'g.gguf'), /needs tokenizer\.ggml\.merges/);
    });

    it('refuses token ids outside the vocabulary when showing them', () => {
      const t = ggufTokenizer(meta(gpt2Kv(tokens, [])), 'g.gguf');
      for (const bad of [-1, 256, 1.5, Number.NaN]) {
        assert.throws(() => t.display(bad), (e: unknown) => isFfnLensError(e) && /token id .* is outside the vocabulary \(ids 0\.\.255\)/.test(e.message));
        assert.throws(() => t.vocabString(bad), (e: unknown) => isFfnLensError(e) && /outside the vocabulary/.test(e.message));
      }
      assert.strictEqual(t.display(255), '<0xFF>');
    });
  });
});
