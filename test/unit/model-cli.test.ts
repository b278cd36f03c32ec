/**
 * Issue 11 through the built command line: `tokenize` and `run <model>` against a hand-worked
 * tokenization and the float64 reference, then every bad folder, config, shape and input getting
 * one clear message (and the right exit status), and hostile model folders.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { buildCliOnce, runCli } from '../helpers/cli';
import { logSoftmax } from '../helpers/refBlocks';
import { refForward } from '../helpers/refModel';
import { makeTinyModel, writeHfFolder, writeLlamaGguf, type TinyModel } from '../helpers/tinyModels';

const TEXT = 'hello world';
// Worked out by hand from the merges (h e), (l l), (he ll), (Ġ w) and byte ids = byte values:
// "hello" -> h e l l o -> he l l o -> he ll o -> hell o = [258, 111];
// " world" -> Ġ w o r l d -> Ġw o r l d = [259, 111, 114, 108, 100].
const HAND_IDS = [258, 111, 259, 111, 114, 108, 100];
const HAND_TOKENS = ['hell', 'o', 'Ġw', 'o', 'r', 'l', 'd'];
const HAND_OFFSETS = [[0, 4], [4, 5], [5, 7], [7, 8], [8, 9], [9, 10], [10, 11]];

function maxRel(got: (number | null)[][], want: Float64Array): number {
  const flat = got.flat() as number[];
  assert.strictEqual(flat.length, want.length);
  let num = 0;
  let den = 1e-12;
  flat.forEach((v, i) => {
    num = Math.max(num, Math.abs(v - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  });
  return num / den;
}

describe('cli: whole models (issue 11)', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-model-cli-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { json: tokenizerJson, vocabSize } = byteBpeTokenizer();
  let tiny: TinyModel;
  let folder: string;
  const folderOf = (name: string, model: TinyModel, withTokenizer = true): string => {
    const f = path.join(dir, name);
    fs.mkdirSync(f);
    writeHfFolder(f, model, withTokenizer ? { tokenizerJson, tokenizerConfig: { add_bos_token: false } } : {});
    return f;
  };
  const json = (...args: string[]): Record<string, unknown> => {
    const r = runCli(...args);
    assert.strictEqual(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const fails = (code: number, pattern: RegExp, ...args: string[]): void => {
    const r = runCli(...args);
    assert.strictEqual(r.code, code, `exit status (stderr: ${r.stderr})`);
    assert.strictEqual(r.stdout, '');
    assert.match(r.stderr, /^error: [^\n]+\n$/, 'one error line, no stack');
    assert.match(r.stderr, pattern);
  };

  before(() => {
    buildCliOnce();
    tiny = makeTinyModel('gpt2', { seed: 5, layers: 3, vocab: vocabSize, maxPositions: 16 });
    folder = folderOf('gpt2', tiny);
  });

  it('tokenize --json gives the hand-worked ids, tokens and character offsets', () => {
    const doc = json('tokenize', folder, '--text', TEXT, '--json');
    assert.deepStrictEqual(doc, { ids: HAND_IDS, tokens: HAND_TOKENS, offsets: HAND_OFFSETS });
  });

  it('run --text --layer 1 --full --predict 3 matches the float64 reference', () => {
    const doc = json('run', folder, '--text', TEXT, '--layer', '1', '--json', '--full', '--predict', '3') as Record<string, any>;
    assert.strictEqual(doc.inputSource, 'model');
    assert.deepStrictEqual(doc.tokenIds, HAND_IDS);
    assert.deepStrictEqual(doc.tokens, HAND_TOKENS);
    assert.strictEqual(doc.layer, 'transformer.h.1.mlp');
    const ref = refForward(tiny, HAND_IDS);
    for (const [key, want] of [['input', ref.ffn[1].input], ['preActivation', ref.ffn[1].up], ['hidden', ref.ffn[1].hidden], ['output', ref.ffn[1].output], ['residual', ref.residual[1]]] as const) {
      const e = maxRel(doc[key], want as Float64Array);
      assert.ok(e < 2e-4, `${key}: relative error ${e}`);
    }
    const V = vocabSize;
    const probs = Float64Array.from(logSoftmax(ref.logits.subarray((HAND_IDS.length - 1) * V)), Math.exp);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    assert.deepStrictEqual(doc.next.map((t: { id: number }) => t.id), order.slice(0, 3));
    for (const t of doc.next) assert.ok(Math.abs(t.prob - probs[t.id]) < 1e-4);
  });

  it('--ablate gives next (ablated) beside nextBaseline, each as the reference', () => {
    const units = [1, 5, 8, 13];
    const doc = json('run', folder, '--ids', HAND_IDS.join(','), '--layer', '1', '--ablate', units.join(','), '--predict', '4', '--json') as Record<string, any>;
    const V = vocabSize;
    const last = (T: number) => (HAND_IDS.length - 1) * T;
    const base = Float64Array.from(logSoftmax(refForward(tiny, HAND_IDS).logits.subarray(last(V))), Math.exp);
    const abl = Float64Array.from(logSoftmax(refForward(tiny, HAND_IDS, { ablate: { layer: 1, units } }).logits.subarray(last(V))), Math.exp);
    for (const t of doc.nextBaseline) assert.ok(Math.abs(t.prob - base[t.id]) < 1e-4, `baseline ${t.id}`);
    for (const t of doc.next) assert.ok(Math.abs(t.prob - abl[t.id]) < 1e-4, `ablated ${t.id}`);
    assert.deepStrictEqual(doc.ablated, units);
  });

  it('a GGUF runs from its own metadata (vocabulary embedded)', () => {
    const llama = makeTinyModel('llama', { seed: 9, layers: 2 });
    const file = path.join(dir, 'tiny.gguf');
    const V = llama.config.vocab_size as number;
    const tokens = Array.from({ length: V }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i] : `▁w${i}`));
    writeLlamaGguf(file, llama, { tokenizer: { model: 'llama', tokens, scores: tokens.map((_, i) => -i), tokenTypes: tokens.map((_, i) => (i < 3 ? 3 : 1)), bos: 1, eos: 2 } });
    const doc = json('run', file, '--ids', '1,5,9,4', '--layer', '1', '--json', '--full') as Record<string, any>;
    assert.deepStrictEqual(doc.tokens, ['<s>', '▁w5', '▁w9', '▁w4']);
    const e = maxRel(doc.hidden, refForward(llama, [1, 5, 9, 4]).ffn[1].hidden);
    assert.ok(e < 2e-4, `hidden: ${e}`);
  });

  describe('bad input gets one clear message', () => {
    it('empty text, ids outside the vocabulary, a layer that does not exist: usage errors (exit 2)', () => {
      fails(2, /the text is empty/, 'run', folder, '--text', '', '--layer', '0');
      fails(2, new RegExp(`token id ${vocabSize} \\(position 1\\) is outside the vocabulary 0\\.\\.${vocabSize - 1}`), 'run', folder, '--ids', `1,${vocabSize}`, '--layer', '0');
      fails(2, /layer 3 does not exist: the model has blocks 0\.\.2/, 'run', folder, '--ids', '1', '--layer', '3');
      fails(2, /a model run needs --layer L/, 'run', folder, '--ids', '1');
      fails(2, /--ids needs whole numbers separated by commas/, 'run', folder, '--ids', '1,x', '--layer', '0');
      fails(2, /--random is for single-layer runs/, 'run', folder, '--ids', '1', '--layer', '0', '--random', '3');
      fails(2, /--predict needs a model run/, 'run', folder, '--predict', '3');
      fails(2, /--ablate 999: block 0's FFN has hidden units 0\.\.63/, 'run', folder, '--ids', '1,2', '--layer', '0', '--ablate', '999');
    });

    it('text longer than the context is refused, and --truncate keeps the last tokens that fit', () => {
      const long = Array.from({ length: 20 }, (_, i) => String(i % 200)).join(',');
      fails(2, /20 tokens is longer than the model's context of 16; --truncate keeps the last 16/, 'run', folder, '--ids', long, '--layer', '0');
      const r = runCli('run', folder, '--ids', long, '--layer', '0', '--json', '--truncate');
      assert.strictEqual(r.code, 0, r.stderr);
      assert.deepStrictEqual((JSON.parse(r.stdout) as { tokenIds: number[] }).tokenIds, long.split(',').map(Number).slice(-16));
      assert.match(r.stderr, /warning: 20 tokens cut to the last 16/);
    });

    it('a folder without tokenizer.json still runs --ids; --text names the missing file', () => {
      const bare = folderOf('bare', tiny, false);
      fs.writeFileSync(path.join(bare, 'tokenizer.model'), 'not read');
      fails(1, /tokenizer\.json/, 'run', bare, '--text', 'hi', '--layer', '0');
      const doc = json('run', bare, '--ids', '1,2', '--layer', '0', '--json') as { tokens: string[] };
      assert.strictEqual(doc.tokens.length, 2);
    });

    const withConfig = (name: string, change: (c: Record<string, unknown>) => void): string => {
      const f = folderOf(name, tiny);
      const c = JSON.parse(fs.readFileSync(path.join(f, 'config.json'), 'utf8')) as Record<string, unknown>;
      change(c);
      fs.writeFileSync(path.join(f, 'config.json'), JSON.stringify(c));
      return f;
    };

    it('configs that cannot be right are refused by name', () => {
      fails(1, /n_embd = 0 cannot be right/, 'run', withConfig('zero', (c) => (c.n_embd = 0)), '--ids', '1', '--layer', '0');
      fails(1, /n_head = -2 cannot be right/, 'run', withConfig('neg', (c) => (c.n_head = -2)), '--ids', '1', '--layer', '0');
      fails(1, /3 attention heads do not divide the hidden size 16/, 'run', withConfig('heads', (c) => (c.n_head = 3)), '--ids', '1', '--layer', '0');
      fails(1, /the configuration has 5 blocks but the files hold 3/, 'run', withConfig('layers', (c) => (c.n_layer = 5)), '--ids', '1', '--layer', '0');
      fails(1, /the vocabulary size is 300 but the embedding transformer\.wte\.weight is \[261, 16\]/, 'run', withConfig('vocab', (c) => (c.vocab_size = 300)), '--ids', '1', '--layer', '0');
      fails(1, /architecture "bert" is not supported for whole-model runs \(supported: gpt2, llama, mistral, qwen2, gemma, gpt_neox\)/, 'run', withConfig('bert', (c) => (c.model_type = 'bert')), '--ids', '1', '--layer', '0');
      fails(1, /rope_scaling type "yarn" is not supported/, 'run', writeLlamaFolder('yarn', { rope_scaling: { rope_type: 'yarn', factor: 2 } }), '--ids', '1', '--layer', '0');
    });

    function writeLlamaFolder(name: string, extra: Record<string, unknown>): string {
      const f = path.join(dir, name);
      fs.mkdirSync(f);
      writeHfFolder(f, makeTinyModel('llama', { seed: 3, layers: 1 }));
      const c = JSON.parse(fs.readFileSync(path.join(f, 'config.json'), 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(path.join(f, 'config.json'), JSON.stringify({ ...c, ...extra }));
      return f;
    }

    it('a tensor whose shape disagrees with the config is refused with both shapes named', () => {
      fails(1, /tensor transformer\.h\.0\.mlp\.c_fc\.weight is \[16, 64\] but the configuration .* implies \[16, 32\]/, 'run', withConfig('inner', (c) => (c.n_inner = 32)), '--ids', '1', '--layer', '0');
    });
  });

  describe('hostile model folders', () => {
    it('a weight_map naming a file outside the folder is refused, and that file is never opened', function () {
      const f = path.join(dir, 'escape');
      fs.mkdirSync(f);
      writeHfFolder(f, tiny, { shards: 2, tokenizerJson });
      const index = JSON.parse(fs.readFileSync(path.join(f, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
      // A FIFO outside the folder: opening it for reading would block the run forever.
      const trap = path.join(dir, 'trap.safetensors');
      try {
        execFileSync('mkfifo', [trap]);
      } catch {
        this.skip();
      }
      const first = Object.keys(index.weight_map)[0];
      for (const target of ['../trap.safetensors', trap]) {
        index.weight_map[first] = target;
        fs.writeFileSync(path.join(f, 'model.safetensors.index.json'), JSON.stringify(index));
        fails(1, /is not a shard file name beside the index/, 'run', f, '--ids', '1', '--layer', '0');
      }
    });

    it("the folder's files may be symbolic links (the Hugging Face cache links snapshots to blobs)", () => {
      const blobs = path.join(dir, 'blobs');
      const snap = path.join(dir, 'snapshot');
      fs.mkdirSync(blobs);
      fs.mkdirSync(snap);
      writeHfFolder(blobs, tiny, { tokenizerJson });
      for (const name of fs.readdirSync(blobs)) fs.symlinkSync(path.join(blobs, name), path.join(snap, name));
      const doc = json('run', snap, '--text', TEXT, '--layer', '0', '--json') as { tokenIds: number[] };
      assert.deepStrictEqual(doc.tokenIds, HAND_IDS);
    });

    it('a missing or broken config.json, and a folder without weights', () => {
      const none = path.join(dir, 'noconfig');
      fs.mkdirSync(none);
      fails(1, /config\.json: not found: a model folder needs its config\.json/, 'run', none, '--ids', '1', '--layer', '0');
      const broken = withConfigText('broken', '{"model_type": "gpt2",');
      fails(1, /config\.json: is not valid JSON/, 'run', broken, '--ids', '1', '--layer', '0');
      const empty = path.join(dir, 'noweights');
      fs.mkdirSync(empty);
      fs.writeFileSync(path.join(empty, 'config.json'), JSON.stringify(tiny.config));
      fs.writeFileSync(path.join(empty, 'pytorch_model.bin'), 'x');
      fails(1, /has no model\.safetensors \(only pytorch_model\.bin: pickle checkpoints are never loaded/, 'run', empty, '--ids', '1', '--layer', '0');
    });

    function withConfigText(name: string, text: string): string {
      const f = folderOf(name, tiny);
      fs.writeFileSync(path.join(f, 'config.json'), text);
      return f;
    }
  });
});
