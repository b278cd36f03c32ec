// Step 1 of scripts/train-samples: the data split, the byte-level BPE, and the token ids.
//   npx tsx scripts/samples/data.ts <buildDir>
// Writes into <buildDir>: tokenizer.json, tokenizer_config.json, train.u16 / heldout.u16 (uint16
// little-endian token ids, documents separated by <|endoftext|>), split.json (which files went
// where, token counts). Copies the held-out files to samples/text/ (the bundled text the
// walkthrough scans and `score` is checked on). Deterministic: the same bytes on every run.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer as Trainer, BPE, byteLevelPreTokenizer } from 'tokenizers';
import { loadFolderTokenizer } from '../../src/model/tokenizer';
import { BYTE_ALPHABET } from '../../src/model/tokenizer/tokenText';
import { SPLIT, VOCAB_SIZE, EOT, CONTEXT, heldOutFile } from './split';

const ROOT = path.resolve(__dirname, '..', '..');
const MOBY = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
const SOTU = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-sotu', 'data');

interface Doc {
  source: 'moby-dick' | 'sotu';
  file: string;
  text: string;
}

function documents(): Doc[] {
  const docs: Doc[] = [];
  // Moby-Dick: the book's parts in reading order (contents.txt and data.txt repeat them).
  const parts = ['etymology.txt', 'extracts.txt'];
  for (let i = 1; i <= 135; i++) parts.push(`chapter_${i}.txt`);
  parts.push('epilogue.txt');
  for (const f of parts) docs.push({ source: 'moby-dick', file: f, text: fs.readFileSync(path.join(MOBY, f), 'utf8') });
  const addresses = fs.readdirSync(SOTU).filter((f) => /^\d{4}_.*\.txt$/.test(f)).sort();
  for (const f of addresses) docs.push({ source: 'sotu', file: f, text: fs.readFileSync(path.join(SOTU, f), 'utf8') });
  return docs.map((d) => ({ ...d, text: d.text.replace(/\r\n?/g, '\n').trim() + '\n' }));
}

/**
 * Trains the BPE with Hugging Face tokenizers (its default BpeTrainer, on byte-level words as GPT-2
 * splits them) and keeps the first merges. BPE training is greedy, so the first K merges are what a
 * trainer stopped at 256 + K tokens would have made. The vocabulary is then GPT-2's: the 256 byte
 * symbols in byte order (every byte encodable, seen in training or not), the merges' results in
 * merge order, and <|endoftext|> last.
 */
function trainTokenizer(trainFiles: string[], dir: string): void {
  const trainer = new Trainer(BPE.empty());
  trainer.setPreTokenizer(byteLevelPreTokenizer(false, true));
  trainer.train(trainFiles);
  const raw = path.join(dir, 'bpe-untruncated.json');
  trainer.save(raw, false);
  const trained = JSON.parse(fs.readFileSync(raw, 'utf8')) as { model: { merges: ([string, string] | string)[] } };
  fs.rmSync(raw);
  const vocab: Record<string, number> = {};
  BYTE_ALPHABET.toChar.forEach((symbol, byte) => (vocab[symbol] = byte));
  const merges: [string, string][] = [];
  for (const m of trained.model.merges) {
    if (Object.keys(vocab).length >= VOCAB_SIZE - 1) break;
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b} uses a token not yet made`);
    merges.push([a, b]);
    vocab[a + b] = Object.keys(vocab).length;
  }
  if (Object.keys(vocab).length !== VOCAB_SIZE - 1) throw new Error(`only ${Object.keys(vocab).length} tokens trained`);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: EOT, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  const config = {
    add_bos_token: false,
    add_eos_token: false,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: null,
    model_max_length: CONTEXT,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}

async function main(): Promise<void> {
  const dir = path.resolve(process.argv[2] ?? path.join(ROOT, 'build', 'train-samples'));
  fs.mkdirSync(dir, { recursive: true });
  const docs = documents();
  const held = (d: Doc): boolean => (SPLIT[d.source].heldOut as readonly string[]).includes(d.file);
  const train = docs.filter((d) => !held(d));
  const heldOut = docs.filter(held);
  if (heldOut.length !== SPLIT['moby-dick'].heldOut.length + SPLIT.sotu.heldOut.length) throw new Error('a held-out file is missing from the data packages');

  const trainText = path.join(dir, 'train-text');
  fs.rmSync(trainText, { recursive: true, force: true });
  fs.mkdirSync(trainText);
  const trainFiles = train.map((d, i) => {
    const f = path.join(trainText, `${String(i).padStart(4, '0')}-${d.source}-${d.file}`);
    fs.writeFileSync(f, d.text);
    return f;
  });
  trainTokenizer(trainFiles, dir);
  fs.rmSync(trainText, { recursive: true });

  // The ids come from FFN Lens's own tokenizer reader, so training sees exactly what `score` and `scan` see.
  const tokenizer = await loadFolderTokenizer(dir, VOCAB_SIZE);
  const encodeAll = (list: Doc[]): { ids: Uint16Array; counts: number[] } => {
    const parts: number[][] = [];
    const counts: number[] = [];
    for (const d of list) {
      const ids = tokenizer.encode(d.text).ids;
      counts.push(ids.length);
      parts.push(ids, [EOT]);
    }
    return { ids: Uint16Array.from(parts.flat()), counts };
  };
  const trainIds = encodeAll(train);
  const heldIds = encodeAll(heldOut);
  fs.writeFileSync(path.join(dir, 'train.u16'), Buffer.from(trainIds.ids.buffer));
  fs.writeFileSync(path.join(dir, 'heldout.u16'), Buffer.from(heldIds.ids.buffer));

  const samplesText = path.join(ROOT, 'samples', 'text');
  fs.rmSync(samplesText, { recursive: true, force: true });
  fs.mkdirSync(samplesText, { recursive: true });
  for (const d of heldOut) fs.writeFileSync(path.join(samplesText, heldOutFile(d.source, d.file)), d.text);

  const split = {
    vocabSize: VOCAB_SIZE,
    train: { documents: train.length, characters: train.reduce((s, d) => s + d.text.length, 0), tokens: trainIds.ids.length },
    heldOut: heldOut.map((d, i) => ({ source: d.source, file: d.file, sample: `samples/text/${heldOutFile(d.source, d.file)}`, tokens: heldIds.counts[i] })),
  };
  fs.writeFileSync(path.join(dir, 'split.json'), JSON.stringify(split, null, 2) + '\n');
  console.log(`data: ${train.length} training documents, ${trainIds.ids.length} tokens; ${heldOut.length} held out, ${heldIds.ids.length} tokens`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
