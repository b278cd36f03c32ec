/**
 * Issue 13: the trained sample models that ship in samples/. They load and score through the
 * command line; the score matches what PyTorch measured when they were trained (training.json); on
 * the held-out English the loss is at most 0.8x the unigram entropy of the same tokens (computed
 * here from the tokenizer's ids); the tokenizer round-trips the held-out text exactly; the GGUF
 * copies score as the folder they came from; everything fits the repository's 32 MB.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@huggingface/tokenizers';
import { buildCliOnce, ROOT, runCli } from '../helpers/cli';

const SAMPLES = path.join(ROOT, 'samples');
const TEXT = path.join(SAMPLES, 'text');
const CONTEXT = 256;

interface Training {
  heldOut: { meanLoss: number; unigramEntropy: number; ratio: number; predicted: number };
  files: { sample: string; meanLoss: number; predicted: number }[];
}

const heldOutFiles = (): string[] => fs.readdirSync(TEXT).filter((f) => f.endsWith('.txt')).sort().map((f) => path.join(TEXT, f));

function score(model: string, file: string): { tokens: number; windows: number; meanLoss: number; perplexity: number } {
  const r = runCli('score', model, '--text-file', file, '--json');
  assert.strictEqual(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function tokenIds(model: string, file: string): number[] {
  const r = runCli('tokenize', model, '--text-file', file, '--json');
  assert.strictEqual(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).ids as number[];
}

/** Entropy (nats) of the empirical distribution of `tokens`. */
function entropy(tokens: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / tokens.length) * Math.log(c / tokens.length);
  return h;
}

describe('trained sample models (issue 13)', function () {
  this.timeout(180000);
  before(() => buildCliOnce());

  it('the held-out text is bundled: Moby-Dick chapters and State of the Union addresses', () => {
    const files = heldOutFiles().map((f) => path.basename(f));
    assert.ok(files.filter((f) => f.startsWith('moby-dick-')).length >= 3, files.join(', '));
    assert.ok(files.filter((f) => f.startsWith('sotu-')).length >= 3, files.join(', '));
  });

  it('the GPT-2 sample is a Hugging Face gpt2 folder: learned positions, LayerNorm, GELU tanh, tied head', () => {
    const dir = path.join(SAMPLES, 'gpt2-english');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.strictEqual(config.model_type, 'gpt2');
    assert.strictEqual(config.activation_function, 'gelu_new');
    assert.strictEqual(config.tie_word_embeddings, true);
    const r = runCli('inspect', path.join(dir, 'model.safetensors'), '--json', '--no-stats');
    assert.strictEqual(r.code, 0, r.stderr);
    const names: string[] = JSON.parse(r.stdout).tensors.map((t: { name: string }) => t.name);
    assert.ok(names.includes('transformer.wpe.weight'), 'learned positions');
    assert.ok(names.includes('transformer.h.0.ln_1.bias'), 'LayerNorm has a bias');
    assert.ok(!names.some((n) => n.startsWith('lm_head')), 'the head is tied (not stored)');
  });

  it('the LLaMA sample is a Hugging Face llama folder: RMSNorm, SwiGLU, grouped-query attention, untied head', () => {
    const dir = path.join(SAMPLES, 'llama-english');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.strictEqual(config.model_type, 'llama');
    assert.strictEqual(config.hidden_act, 'silu');
    assert.strictEqual(config.tie_word_embeddings, false);
    assert.ok(config.num_key_value_heads < config.num_attention_heads, 'GQA');
    const r = runCli('inspect', path.join(dir, 'model.safetensors'), '--json', '--no-stats');
    assert.strictEqual(r.code, 0, r.stderr);
    const tensors: { name: string; shape: number[] }[] = JSON.parse(r.stdout).tensors;
    const shape = (n: string): number[] | undefined => tensors.find((t) => t.name === n)?.shape;
    const hd = config.hidden_size / config.num_attention_heads;
    assert.deepStrictEqual(shape('model.layers.0.self_attn.k_proj.weight'), [config.num_key_value_heads * hd, config.hidden_size]);
    assert.deepStrictEqual(shape('model.layers.0.mlp.gate_proj.weight'), [config.intermediate_size, config.hidden_size]);
    assert.deepStrictEqual(shape('lm_head.weight'), [config.vocab_size, config.hidden_size]);
    assert.strictEqual(shape('model.layers.0.input_layernorm.bias'), undefined, 'RMSNorm has no bias');
  });

  it('the tokenizer is a byte-level BPE of about 4k tokens that adds nothing and round-trips the held-out text exactly', () => {
    for (const arch of ['gpt2', 'llama']) {
      const dir = path.join(SAMPLES, `${arch}-english`);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
      assert.strictEqual(json.model.type, 'BPE');
      assert.strictEqual(json.pre_tokenizer.type, 'ByteLevel');
      const size = Object.keys(json.model.vocab).length + json.added_tokens.length;
      assert.ok(size >= 3500 && size <= 4500, `${size} tokens`);
      assert.strictEqual(config.add_bos_token, false);
      const tokenizer = new Tokenizer(json, config);
      for (const file of heldOutFiles()) {
        const text = fs.readFileSync(file, 'utf8');
        const ids = tokenizer.encode(text).ids;
        assert.ok(ids.length < text.length / 2, `${path.basename(file)}: ${ids.length} tokens for ${text.length} characters (a trained BPE merges)`);
        assert.strictEqual(tokenizer.decode(ids), text, `${path.basename(file)} round-trips`);
      }
      // FFN Lens's reader gives the library's ids
      const one = heldOutFiles()[0];
      assert.deepStrictEqual(tokenIds(dir, one), tokenizer.encode(fs.readFileSync(one, 'utf8')).ids);
    }
  });

  for (const arch of ['gpt2', 'llama']) {
    it(`${arch}-english: score matches PyTorch's held-out loss, and the loss is at most 0.8x the unigram entropy`, () => {
      const dir = path.join(SAMPLES, `${arch}-english`);
      const training = JSON.parse(fs.readFileSync(path.join(dir, 'training.json'), 'utf8')) as Training;
      let total = 0;
      let count = 0;
      const predictedTokens: number[] = [];
      for (const file of heldOutFiles()) {
        const s = score(dir, file);
        const ids = tokenIds(dir, file);
        assert.strictEqual(s.tokens, ids.length);
        assert.strictEqual(s.windows, Math.ceil(ids.length / CONTEXT), 'windows of the model context');
        const predicted = ids.filter((_, i) => i % CONTEXT !== 0);
        predictedTokens.push(...predicted);
        const torch = training.files.find((f) => path.basename(f.sample) === path.basename(file));
        assert.ok(torch, `training.json has ${path.basename(file)}`);
        assert.strictEqual(torch.predicted, predicted.length);
        assert.ok(Math.abs(s.meanLoss - torch.meanLoss) < 2e-3, `${path.basename(file)}: FFN Lens ${s.meanLoss} vs PyTorch ${torch.meanLoss}`);
        total += s.meanLoss * predicted.length;
        count += predicted.length;
      }
      const meanLoss = total / count;
      const unigram = entropy(predictedTokens);
      assert.ok(Math.abs(unigram - training.heldOut.unigramEntropy) < 1e-9, `entropy ${unigram} vs ${training.heldOut.unigramEntropy}`);
      assert.ok(meanLoss <= 0.8 * unigram, `held-out loss ${meanLoss.toFixed(4)} is ${(meanLoss / unigram).toFixed(3)}x the unigram entropy ${unigram.toFixed(4)}`);
    });
  }

  it('the GGUF copies of the LLaMA sample score as the folder: F16 the same, Q8_0 and Q4_0 within 1%', () => {
    const file = heldOutFiles().find((f) => path.basename(f).startsWith('moby-dick-')) as string;
    const folder = score(path.join(SAMPLES, 'llama-english'), file);
    const f16 = score(path.join(SAMPLES, 'llama-english-f16.gguf'), file);
    const q8 = score(path.join(SAMPLES, 'llama-english-q8_0.gguf'), file);
    assert.strictEqual(f16.tokens, folder.tokens, 'the GGUF vocabulary tokenises as tokenizer.json');
    assert.ok(Math.abs(f16.meanLoss - folder.meanLoss) < 1e-4, `F16 ${f16.meanLoss} vs ${folder.meanLoss}`);
    assert.ok(Math.abs(q8.meanLoss - folder.meanLoss) < 0.01 * folder.meanLoss, `Q8_0 ${q8.meanLoss} vs ${folder.meanLoss}`);
    assert.notStrictEqual(q8.meanLoss, folder.meanLoss, 'Q8_0 really is quantised');
    const q4 = score(path.join(SAMPLES, 'llama-english-q4_0.gguf'), file);
    assert.ok(Math.abs(q4.meanLoss - folder.meanLoss) < 0.01 * folder.meanLoss, `Q4_0 ${q4.meanLoss} vs ${folder.meanLoss}`);
    assert.ok(Math.abs(q4.meanLoss - folder.meanLoss) > Math.abs(q8.meanLoss - folder.meanLoss), `4 bits move the loss more than 8: Q4_0 ${q4.meanLoss}, Q8_0 ${q8.meanLoss}, F16 ${folder.meanLoss}`);
    for (const [name, dtype] of [['llama-english-q8_0.gguf', 'Q8_0'], ['llama-english-q4_0.gguf', 'Q4_0']]) {
      const r = runCli('inspect', path.join(SAMPLES, name), '--json', '--no-stats');
      assert.strictEqual(r.code, 0, r.stderr);
      const types = new Set(JSON.parse(r.stdout).tensors.map((t: { dtype: string }) => t.dtype));
      assert.ok(types.has(dtype), `${name}: ${[...types].join(', ')}`);
    }
  });

  it('all samples together fit in 32 MB', () => {
    const size = (p: string): number => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((s, f) => s + size(path.join(p, f)), 0) : fs.statSync(p).size);
    const total = size(SAMPLES);
    assert.ok(total <= 32 * 1024 * 1024, `samples/ holds ${(total / 1024 / 1024).toFixed(1)} MiB`);
  });
});
