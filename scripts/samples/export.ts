// Step 3 of scripts/train-samples: the GGUF copies of the LLaMA sample, each model's training.json,
// and samples/MODEL_CARD.md, with every shipped file scored on the held-out text by FFN Lens itself.
//   npx tsx scripts/samples/export.ts <buildDir> [<samplesDir>]
import * as fs from 'fs';
import * as path from 'path';
import { createCliEngine } from '../../src/cli/engine';
import { openModel } from '../../src/model/open';
import { scoreText } from '../../src/model/score';
import { WeightStore } from '../../src/model/store';
import { openSource } from '../../src/formats/open';
import { writeLlamaGguf, type GgufTokenizer, type TinyModel } from '../../test/helpers/tinyModels';
import { CONTEXT, EOT, SPLIT, VOCAB_SIZE } from './split';

const ROOT = path.resolve(__dirname, '..', '..');
const FIRST_PROMPT = 'Call me Ishmael. Some years ago, I thought I would sail about a little and see the watery part of the';

interface Metrics {
  arch: 'gpt2' | 'llama';
  parameters: number;
  training: Record<string, unknown> & { steps: number; batch: number; lr: number; seed: number; seconds: number; tokensSeen: number; trainTokens: number; torch: string; finalTrainLoss: number };
  heldOut: { predicted: number; meanLoss: number; unigramEntropy: number; ratio: number; perplexity: number };
  bySource: Record<string, { predicted: number; meanLoss: number; unigramEntropy: number; ratio: number }>;
  files: { sample: string; source: string; tokens: number; predicted: number; meanLoss: number; unigramEntropy: number }[];
}

/** The HF folder's tensors as the GGUF writer takes them (float64, HF names and shapes). */
async function readFolder(dir: string): Promise<TinyModel> {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const source = await openSource(path.join(dir, 'model.safetensors'));
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  try {
    for (const t of source.tensors) tensors.set(t.name, { shape: [...t.shape], data: Float64Array.from(await source.read(t.name)) });
  } finally {
    await source.close();
  }
  return { arch: 'llama', config, tensors };
}

/** The byte-level BPE as a GGUF vocabulary (tokenizer.ggml.model gpt2), as convert_hf_to_gguf.py writes it. */
function ggufVocabulary(dir: string): GgufTokenizer {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] }; added_tokens: { id: number; content: string }[] };
  const tokens: string[] = new Array(VOCAB_SIZE);
  for (const [t, id] of Object.entries(json.model.vocab)) tokens[id] = t;
  for (const a of json.added_tokens) tokens[a.id] = a.content;
  if (tokens.some((t) => t === undefined) || tokens.length !== VOCAB_SIZE) throw new Error('tokenizer.json does not cover every id');
  return {
    model: 'gpt2',
    pre: 'gpt-2',
    tokens,
    merges: json.model.merges.map(([a, b]) => `${a} ${b}`),
    tokenTypes: tokens.map((_, id) => (id === EOT ? 3 : 1)),
    bos: EOT,
    eos: EOT,
    addBos: false,
  };
}

/** FFN Lens's own `score` of one model on each held-out file: the mean over all predicted positions. */
async function scoreHeldOut(modelPath: string, files: Metrics['files']): Promise<{ meanLoss: number; perFile: number[] }> {
  const model = await openModel(modelPath);
  const engine = createCliEngine('auto');
  const store = new WeightStore(1024 * 1024 * 1024, (m) => engine.release(m.prepared?.data ?? m.plain));
  try {
    await engine.ready();
    let total = 0;
    let count = 0;
    const perFile: number[] = [];
    for (const f of files) {
      const r = await scoreText(model, fs.readFileSync(path.join(ROOT, f.sample), 'utf8'), { engine, store, ctx: CONTEXT });
      perFile.push(r.meanLoss);
      total += r.meanLoss * r.predicted;
      count += r.predicted;
    }
    return { meanLoss: total / count, perFile };
  } finally {
    store.clear();
    await engine.dispose();
    await model.close();
  }
}

const mb = (file: string): string => `${(fs.statSync(file).size / 1e6).toFixed(1)} MB`;
const f3 = (x: number): string => x.toFixed(3);

async function main(): Promise<void> {
  const build = path.resolve(process.argv[2] ?? path.join(ROOT, 'build', 'train-samples'));
  const SAMPLES = path.resolve(process.argv[3] ?? path.join(ROOT, 'samples'));
  const split = JSON.parse(fs.readFileSync(path.join(build, 'split.json'), 'utf8')) as { train: { documents: number; characters: number; tokens: number } };
  const metrics: Record<string, Metrics> = {};
  for (const arch of ['gpt2', 'llama'] as const) {
    metrics[arch] = JSON.parse(fs.readFileSync(path.join(build, `metrics-${arch}.json`), 'utf8')) as Metrics;
    fs.writeFileSync(path.join(SAMPLES, `${arch}-english`, 'training.json'), JSON.stringify(metrics[arch], null, 2) + '\n');
    // the first prompt the panel (and the walkthrough) runs when this folder is opened
    fs.writeFileSync(path.join(SAMPLES, `${arch}-english`, 'sample.txt'), FIRST_PROMPT + '\n');
  }

  const llamaDir = path.join(SAMPLES, 'llama-english');
  const llama = await readFolder(llamaDir);
  const vocabulary = ggufVocabulary(llamaDir);
  const f16 = writeLlamaGguf(path.join(SAMPLES, 'llama-english-f16.gguf'), llama, { tensorType: 'F16', tokenizer: vocabulary, name: 'llama-english' });
  const q8 = writeLlamaGguf(path.join(SAMPLES, 'llama-english-q8_0.gguf'), llama, { tensorType: 'Q8_0', tokenizer: vocabulary, name: 'llama-english' });
  const q4 = writeLlamaGguf(path.join(SAMPLES, 'llama-english-q4_0.gguf'), llama, { tensorType: 'Q4_0', tokenizer: vocabulary, name: 'llama-english' });

  // Every shipped file through FFN Lens on the held-out text.
  const shipped: [string, string, Metrics][] = [
    ['gpt2-english/', path.join(SAMPLES, 'gpt2-english'), metrics.gpt2],
    ['llama-english/', llamaDir, metrics.llama],
    ['llama-english-f16.gguf', f16, metrics.llama],
    ['llama-english-q8_0.gguf', q8, metrics.llama],
    ['llama-english-q4_0.gguf', q4, metrics.llama],
  ];
  const scored: string[] = [];
  for (const [name, file, m] of shipped) {
    const s = await scoreHeldOut(file, m.files);
    scored.push(`| \`${name}\` | ${mb(fs.statSync(file).isDirectory() ? path.join(file, 'model.safetensors') : file)} | ${f3(s.meanLoss)} | ${f3(m.heldOut.meanLoss)} | ${f3(s.meanLoss / m.heldOut.unigramEntropy)} |`);
    console.log(`${name}: held-out loss ${s.meanLoss.toFixed(4)} (PyTorch ${m.heldOut.meanLoss.toFixed(4)})`);
  }

  const row = (arch: 'gpt2' | 'llama'): string => {
    const m = metrics[arch];
    return `| ${arch === 'gpt2' ? '`gpt2-english`' : '`llama-english`'} | ${(m.parameters / 1e6).toFixed(2)} M | ${f3(m.heldOut.meanLoss)} | ${f3(m.heldOut.unigramEntropy)} | **${f3(m.heldOut.ratio)}** | ${f3(m.bySource['moby-dick'].ratio)} | ${f3(m.bySource.sotu.ratio)} | ${m.heldOut.perplexity.toFixed(1)} |`;
  };
  const training = (arch: 'gpt2' | 'llama'): string => {
    const t = metrics[arch].training;
    return `| ${arch} | ${t.steps} × ${t.batch} × ${CONTEXT} | ${(t.tokensSeen / 1e6).toFixed(1)} M (${(t.tokensSeen / t.trainTokens).toFixed(1)} epochs) | ${t.lr} | ${t.seed} | ${Math.round(t.seconds / 60)} min | ${f3(t.finalTrainLoss)} |`;
  };
  const g = metrics.gpt2.training as Record<string, number>;
  const l = metrics.llama.training as Record<string, number>;
  const card = `# The sample models: model card

Two small language models trained by FFN Lens on public-domain English, so that a first look at a
neuron shows something it learned, not noise. They are teaching models: they continue English in
the style of Moby-Dick and of presidential addresses, and they are small enough to ship in the
repository (a few million parameters each) and to run in an editor in milliseconds. They are not
for generating text anyone should rely on.

Written by \`bash scripts/train-samples\` (data split and tokenizer: \`scripts/samples/data.ts\` and
\`split.ts\`; training: \`scripts/samples/train.py\`; GGUF copies and this card:
\`scripts/samples/export.ts\`). Fixed seeds and step counts. Do not edit by hand.

## Files

| file | what |
|---|---|
| \`gpt2-english/\` | GPT-2 architecture (\`model_type: gpt2\`): ${g.layers} blocks, d_model ${g.hidden}, ${g.heads} heads, d_ff ${4 * g.hidden}, learned positions, LayerNorm, GELU (tanh), tied head; F16 safetensors |
| \`llama-english/\` | LLaMA architecture (\`model_type: llama\`): ${l.layers} blocks, d_model ${l.hidden}, ${l.heads} query heads sharing ${l.kv_heads} key/value heads (GQA), SwiGLU d_ff ${l.intermediate}, RoPE (θ 10000), RMSNorm, untied head; F16 safetensors |
| \`llama-english-f16.gguf\` | the LLaMA model converted as llama.cpp's convert_hf_to_gguf.py does (q/k rows permuted to interleaved RoPE pairs, \`tokenizer.ggml.*\` vocabulary embedded), matrices F16 |
| \`llama-english-q8_0.gguf\` | the same, matrices quantised to Q8_0 (blocks of 32, as gguf-py's quantiser) |
| \`llama-english-q4_0.gguf\` | the same, every matrix (the embeddings and the head included) quantised to Q4_0: blocks of 32 as ggml's quantize_row_q4_0_ref, 4.5 bits a weight; llama-quantize would keep the head at a higher precision, so this is the harsher copy. For \`ffn-lens compare\`: what 4 bits change, block by block |
| \`text/\` | the held-out text below: what the walkthrough scans and what \`score\` is checked on |

Each folder holds \`config.json\`, \`model.safetensors\`, \`tokenizer.json\`, \`tokenizer_config.json\`
(loadable by Hugging Face transformers) and \`training.json\` (the figures on this page).

## Data

Public-domain English from two npm data packages (devDependencies):
${Object.entries(SPLIT)
  .map(([name, s]) => `- \`${s.package}\` (${name === 'sotu' ? 'State of the Union addresses, 1790–2021' : 'Herman Melville, Moby-Dick, 1851'}); held out: ${s.heldOut.map((f) => `\`${f}\``).join(', ')}.`)
  .join('\n')}

Training: ${split.train.documents} documents, ${(split.train.characters / 1e6).toFixed(1)} M characters, ${(split.train.tokens / 1e6).toFixed(2)} M tokens,
documents separated by \`<|endoftext|>\`. Every held-out file is kept whole and never trained on.

## Tokenizer

A byte-level BPE of ${VOCAB_SIZE} tokens trained on the training split with Hugging Face tokenizers (its BPE
trainer on GPT-2's byte-level pre-tokenization; the first ${VOCAB_SIZE - 257} merges kept): the 256 byte
symbols, ${VOCAB_SIZE - 257} merges, and \`<|endoftext|>\` (id ${EOT}). Like GPT-2's, it adds no special tokens when
it encodes. Both models share it.

## Training

PyTorch ${metrics.gpt2.training.torch} (Debian's \`python3-torch\`) on 2 CPU cores: bf16 autocast (oneDNN) with float32
master weights, AdamW (β 0.9/0.95, weight decay 0.1 on matrices), linear warm-up then cosine decay to
0.1× the peak rate, gradient clipping at 1.0, no dropout, random windows of ${CONTEXT} tokens.

| model | steps × batch × context | tokens seen | peak lr | seed | time | last training loss |
|---|---|---|---|---|---|---|
${training('gpt2')}
${training('llama')}

## Held-out loss

Mean next-token loss in nats, as \`ffn-lens score\` computes it: each held-out file tokenised alone,
cut into windows of ${CONTEXT} tokens run alone, every token but a window's first predicted. Measured
by PyTorch on the F16 weights as shipped. The unigram entropy is the entropy of the same predicted
tokens' own frequencies: the best any model that knows only token frequencies can do. A ratio below 1
is what the model knows of English beyond frequencies.

| model | parameters | held-out loss | unigram entropy | ratio | Moby-Dick | addresses | perplexity |
|---|---|---|---|---|---|---|---|
${row('gpt2')}
${row('llama')}

The same held-out text through FFN Lens (\`ffn-lens score\`, the extension's own engine) for every
shipped file:

| file | weights | FFN Lens loss | PyTorch loss | ratio |
|---|---|---|---|---|
${scored.join('\n')}

## License

The texts are in the public domain. The weights, tokenizer and this card are part of FFN Lens (MIT).
`;
  fs.writeFileSync(path.join(SAMPLES, 'MODEL_CARD.md'), card);
  console.log(`wrote ${path.join(SAMPLES, 'MODEL_CARD.md')}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
