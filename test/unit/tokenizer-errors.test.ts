/**
 * What a model folder's tokenizer refuses, each with one FfnLensError naming the file: text
 * without tokenizer.json (the ids-only tokenizer), model types the library does not run, ids a
 * tokenizer.json claims beyond the entries it holds, and ids outside the vocabulary.
 */
import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as path from 'path';
import { isFfnLensError, type FfnLensError } from '../../src/core/errors';
import { HF_TOKENIZER_LIMITS, hfTokenizer, loadFolderTokenizer } from '../../src/model/tokenizer';
import { byteLevelJson, byteLevelTokens, modelFolder, removeModelFolders, refuses } from '../helpers/tokenizerFixtures';


const tokens = byteLevelTokens(['he']);
const json = (): Record<string, unknown> => byteLevelJson(tokens, ['h e']);

describe('tokenizer: errors', () => {
  after(removeModelFolders);

  it('without tokenizer.json: token ids work, text is refused naming the missing file', async () => {
    const dir = await modelFolder({ 'config.json': { vocab_size: 100 } });
    const t = await loadFolderTokenizer(dir, 100);
    assert.strictEqual(t.kind, 'ids-only');
    assert.strictEqual(t.addsBos, false);
    assert.strictEqual(t.display(42), '#42');
    assert.strictEqual(t.vocabString(42), undefined);
    const e = await refuses(() => t.encode('hello'), /^tokenizer\.json not found in /);
    assert.ok(e.message.includes(`tokenizer.json not found in ${dir}`), e.message);
    assert.strictEqual(e.file, path.join(dir, 'tokenizer.json'));
    assert.ok(!e.message.includes('tokenizer.model'));
    await refuses(() => t.display(100), /token id 100 is outside the vocabulary \(ids 0\.\.99\)/);
  });

  it("mentions tokenizer.model when the folder has SentencePiece's file instead", async () => {
    const dir = await modelFolder({ 'tokenizer.model': new Uint8Array([0x0a, 0x05]) });
    const t = await loadFolderTokenizer(dir, 32000);
    const e = await refuses(() => t.encode('hello'), /tokenizer\.json not found in .*tokenizer\.model \(SentencePiece\)/);
    assert.ok(e.message.includes('save_pretrained'), e.message);
  });

  it('names a model type @huggingface/tokenizers does not run (instead of guessing one)', async () => {
    const dir = await modelFolder({ 'tokenizer.json': { ...json(), model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } } });
    const e = await refuses(() => loadFolderTokenizer(dir, 10), /model type 'WordLevel' is not supported: @huggingface\/tokenizers runs BPE, WordPiece, Unigram/);
    assert.strictEqual(e.file, path.join(dir, 'tokenizer.json'));
    // An unknown component is the library's message, as one FfnLensError naming the file.
    await refuses(() => hfTokenizer({ ...json(), pre_tokenizer: { type: 'Telepathy' } }, {}, 'tokenizer.json'), /cannot build the tokenizer: .*Telepathy/);
  });

  it('refuses ids beyond the entries the file lists, and broken JSON', async () => {
    const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
    await refuses(
      () => hfTokenizer({ ...json(), model: { type: 'BPE', vocab: { ...vocab, huge: 4294967295 }, merges: [] } }, {}, 'tokenizer.json'),
      /gives 'huge' the id 4294967295, but it lists only 258 tokens/,
    );
    await refuses(
      () => hfTokenizer({ ...json(), added_tokens: [{ id: 1e9, content: '<x>' }] }, {}, 'tokenizer.json'),
      /gives '<x>' the id 1000000000, but it lists only 258 tokens/,
    );
    await refuses(() => hfTokenizer({ ...json(), model: { type: 'BPE', vocab: { a: -1 }, merges: [] } }, {}, 'tokenizer.json'), /gives 'a' the id -1, not a whole number/);
    await refuses(() => hfTokenizer({ ...json(), model: { type: 'Unigram', vocab: [['a', -1], ['b']] } }, {}, 'tokenizer.json'), /Unigram vocab entry #1 is not \[piece, score\]/);
    // A tokenizer.json too big to be one is refused before it is read (a sparse file).
    const big = await modelFolder({ 'tokenizer.json': '{}' });
    await fs.truncate(path.join(big, 'tokenizer.json'), HF_TOKENIZER_LIMITS.maxTokenizerJsonBytes + 1);
    await refuses(() => loadFolderTokenizer(big, 10), /is 268435457 bytes, over the limit of 268435456 bytes/);
    const dir = await modelFolder({ 'tokenizer.json': '{"model": ' });
    const e = await refuses(() => loadFolderTokenizer(dir, 10), /is not valid JSON/);
    assert.strictEqual(e.file, path.join(dir, 'tokenizer.json'));
  });

  it('refuses ids outside the vocabulary: when showing them, and when the tokenizer outruns the model', async () => {
    const t = hfTokenizer(json(), {}, 'tokenizer.json', 300);
    assert.strictEqual(t.display(299), '#299', 'a row the model has and the tokenizer does not shows by number');
    for (const bad of [-1, 300, 2.5]) {
      await refuses(() => t.display(bad), /outside the vocabulary \(ids 0\.\.299\)/);
      await refuses(() => t.vocabString(bad), /outside the vocabulary/);
    }
    // A model with fewer rows than the tokenizer has ids: the text needing id 256 ('he') is refused.
    const small = hfTokenizer(json(), {}, 'tokenizer.json', 256);
    assert.deepStrictEqual(small.encode('e').ids, [0x65]);
    await refuses(() => small.encode('he'), /gives 'he' the id 256, outside the model's vocabulary of 256 tokens/);
    await refuses(() => loadFolderTokenizer('/nowhere', 0), /vocabulary size must be a positive whole number/);
  });
});
