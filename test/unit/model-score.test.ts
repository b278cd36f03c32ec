/**
 * Issue 13's `score` through the built command line, against a float64 loss computed here from
 * the reference forward pass: windows of --ctx ids run alone, −log p of every token but a window's
 * first, with and without a BOS the tokenizer adds, on GPT-2, LLaMA and a LLaMA GGUF; then the
 * mistakes, each one clear message.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { buildCliOnce, runCli } from '../helpers/cli';
import { logSoftmax } from '../helpers/refBlocks';
import { refForward } from '../helpers/refModel';
import { makeTinyModel, writeHfFolder, writeLlamaGguf, type TinyModel } from '../helpers/tinyModels';

// "hello world hello" with the hand merges (h e) (l l) (he ll) (Ġ w), byte ids = byte values:
// hello -> [hell=258, o=111]; " world" -> [Ġw=259, o, r=114, l=108, d=100]; " hello" -> [Ġ=32, hell, o].
const TEXT = 'hello world hello';
const IDS = [258, 111, 259, 111, 114, 108, 100, 32, 258, 111];

/** The float64 loss of `score`: each window alone (after `bos` when given), every position but the first. */
function refScore(model: TinyModel, ids: number[], ctx: number, bos?: number): { meanLoss: number; windows: number; predicted: number } {
  const vocab = model.config.vocab_size as number;
  let total = 0;
  let predicted = 0;
  let windows = 0;
  for (let start = 0; start < ids.length; start += ctx) {
    windows++;
    const w = ids.slice(start, start + ctx);
    const input = bos === undefined ? w : [bos, ...w];
    const shift = bos === undefined ? 0 : 1;
    const { logits } = refForward(model, input);
    for (let p = 1; p < w.length; p++) {
      total -= logSoftmax(logits.subarray((p - 1 + shift) * vocab, (p + shift) * vocab))[w[p]];
      predicted++;
    }
  }
  return { meanLoss: total / predicted, windows, predicted };
}

describe('cli: score (issue 13)', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-score-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { json: tokenizerJson, vocabSize, eot } = byteBpeTokenizer();
  const gpt2 = makeTinyModel('gpt2', { seed: 31, layers: 2, vocab: vocabSize, maxPositions: 16 });
  const llama = makeTinyModel('llama', { seed: 32, layers: 2, vocab: vocabSize, maxPositions: 16, heads: 4, kvHeads: 2 });
  const folder = (name: string, model: TinyModel, tokenizerConfig: object = { add_bos_token: false }): string => {
    const f = path.join(dir, name);
    fs.mkdirSync(f);
    writeHfFolder(f, model, { tokenizerJson, tokenizerConfig });
    return f;
  };
  const score = (...args: string[]): { tokens: number; windows: number; meanLoss: number; perplexity: number } => {
    const r = runCli('score', ...args, '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepStrictEqual(Object.keys(doc).sort(), ['meanLoss', 'perplexity', 'tokens', 'windows']);
    return doc;
  };
  const fails = (code: number, pattern: RegExp, ...args: string[]): void => {
    const r = runCli('score', ...args);
    assert.strictEqual(r.code, code, `exit status (stderr: ${r.stderr})`);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, /^error: [^\n]+\n$/, 'one error line, no stack');
    assert.match(r.stderr, pattern);
  };
  let gpt2Dir: string;
  let llamaDir: string;

  before(() => {
    buildCliOnce();
    gpt2Dir = folder('gpt2', gpt2);
    llamaDir = folder('llama', llama);
  });

  it('the hand-worked ids are what the tokenizer gives (the reference below scores these)', () => {
    const r = runCli('tokenize', gpt2Dir, '--text', TEXT, '--json');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout).ids, IDS);
  });

  for (const [name, model] of [['gpt2', gpt2], ['llama', llama]] as const) {
    it(`${name}: windows of --ctx 4 (4 + 4 + 2 tokens) match the float64 loss`, () => {
      const want = refScore(model, IDS, 4);
      assert.strictEqual(want.windows, 3);
      assert.strictEqual(want.predicted, 3 + 3 + 1);
      const got = score(name === 'gpt2' ? gpt2Dir : llamaDir, '--text', TEXT, '--ctx', '4');
      assert.strictEqual(got.tokens, 10);
      assert.strictEqual(got.windows, 3);
      assert.ok(Math.abs(got.meanLoss - want.meanLoss) < 2e-5 * want.meanLoss, `meanLoss ${got.meanLoss} vs ${want.meanLoss}`);
      assert.ok(Math.abs(got.perplexity - Math.exp(want.meanLoss)) < 1e-4 * Math.exp(want.meanLoss));
    });
  }

  it('without --ctx the window is the model context: one window, nine predictions', () => {
    const want = refScore(gpt2, IDS, 16);
    assert.strictEqual(want.predicted, 9);
    const got = score(gpt2Dir, '--text', TEXT);
    assert.strictEqual(got.windows, 1);
    assert.ok(Math.abs(got.meanLoss - want.meanLoss) < 2e-5 * want.meanLoss);
    // and differs from the windowed score (so the windows above are really cut)
    assert.ok(Math.abs(got.meanLoss - refScore(gpt2, IDS, 4).meanLoss) > 1e-3);
  });

  it('a tokenizer that adds BOS gets it before each window, which is not itself counted', () => {
    const withBos = folder('gpt2-bos', gpt2, { add_bos_token: true, bos_token: '<|endoftext|>' });
    const want = refScore(gpt2, IDS, 4, eot);
    assert.strictEqual(want.predicted, 7);
    const got = score(withBos, '--text', TEXT, '--ctx', '4');
    assert.strictEqual(got.tokens, 10, 'tokens counts the text, not the BOS');
    assert.ok(Math.abs(got.meanLoss - want.meanLoss) < 2e-5 * want.meanLoss, `meanLoss ${got.meanLoss} vs ${want.meanLoss}`);
    assert.ok(Math.abs(got.meanLoss - refScore(gpt2, IDS, 4).meanLoss) > 1e-3, 'the BOS changes the loss');
    // with the BOS a window holds one text token fewer than the model's context
    fails(2, /--ctx 16 is longer than the model's context of 16 \(with its BOS\)/, withBos, '--text', TEXT, '--ctx', '16');
  });

  it('a LLaMA GGUF (interleaved RoPE, its own vocabulary) scores as its reference', () => {
    const file = writeLlamaGguf(path.join(dir, 'llama.gguf'), llama, {
      tokenizer: {
        model: 'gpt2',
        tokens: tokenList(),
        merges: (tokenizerJson.model as { merges: string[] }).merges,
        tokenTypes: tokenList().map((_, id) => (id === eot ? 3 : 1)),
        eos: eot,
        bos: eot,
        addBos: false,
      },
    });
    const want = refScore(llama, IDS, 4);
    const got = score(file, '--text', TEXT, '--ctx', '4');
    assert.ok(Math.abs(got.meanLoss - want.meanLoss) < 2e-5 * want.meanLoss, `meanLoss ${got.meanLoss} vs ${want.meanLoss}`);
  });

  it('a text file works as --text does', () => {
    const f = path.join(dir, 'text.txt');
    fs.writeFileSync(f, TEXT);
    assert.deepStrictEqual(score(gpt2Dir, '--text-file', f, '--ctx', '4'), score(gpt2Dir, '--text', TEXT, '--ctx', '4'));
  });

  it('mistakes get one clear message', () => {
    fails(2, /score needs --text S or --text-file F/, gpt2Dir);
    fails(2, /--ctx needs an integer >= 2, got "1"/, gpt2Dir, '--text', TEXT, '--ctx', '1');
    fails(2, /--ctx 17 is longer than the model's context of 16/, gpt2Dir, '--text', TEXT, '--ctx', '17');
    fails(2, /the text is 1 token: scoring needs at least two/, gpt2Dir, '--text', 'h');
    fails(2, /unknown option --ids for score/, gpt2Dir, '--ids', '1,2');
    fails(1, /cannot read the text file \(no such file\)/, gpt2Dir, '--text-file', path.join(dir, 'missing.txt'));
  });

  /** The vocabulary in id order, as a GGUF carries it. */
  function tokenList(): string[] {
    const vocab = (tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    const list: string[] = [];
    for (const [t, id] of Object.entries(vocab)) list[id] = t;
    return list;
  }
});
