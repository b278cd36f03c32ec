/**
 * Tiny vocabularies for the tokenizer tests, written from the published formats and independent
 * of src/: GPT-2's byte-to-character alphabet (openai/gpt-2 encoder.py `bytes_to_unicode`), a
 * byte-level BPE tokenizer.json, a SentencePiece-style vocabulary with `<0xNN>` byte tokens, the
 * same vocabularies as GGUF metadata for test/helpers/ggufWriter.ts, and model folders on disk.
 */
import * as assert from 'assert';
import { promises as fs } from 'fs';
import { isFfnLensError, type FfnLensError } from '../../src/core/errors';
import * as os from 'os';
import * as path from 'path';
import type { KvValue } from './ggufWriter';

/** GPT-2's alphabet: byte b is written as BYTE_CHAR[b] ('!'..'~', '¡'..'¬', '®'..'ÿ' as themselves; the rest from U+0100 on). */
export const BYTE_CHAR: string[] = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const chars: string[] = [];
  let moved = 0;
  for (let b = 0; b < 256; b++) chars.push(keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(0x100 + moved++));
  return chars;
})();

/** Text in GPT-2's alphabet (its UTF-8 bytes, one character each): `bl(' the') === 'Ġthe'`. */
export const bl = (text: string): string => Array.from(Buffer.from(text, 'utf8'), (b) => BYTE_CHAR[b]).join('');

/** A byte-level BPE vocabulary: ids 0..255 are the bytes (id = byte value), then `extra` in order. */
export function byteLevelTokens(extra: string[]): string[] {
  return [...BYTE_CHAR, ...extra];
}

/** A byte-level BPE tokenizer.json (GPT-2's components) over `tokens`, `merges` ("a b") and added tokens. */
export function byteLevelJson(tokens: string[], merges: string[], added: { id: number; content: string }[] = [], postProcessor: unknown = null): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: added.map((a) => ({ ...a, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges },
  };
}

/** A TemplateProcessing post-processor putting `bos` before the text. */
export function bosTemplate(bos: string, id: number): Record<string, unknown> {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
  };
}

/** `<0x00>`..`<0xFF>`, SentencePiece's byte tokens. */
export const BYTE_TOKENS: string[] = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

/** A SentencePiece vocabulary as LLaMA lays it out: <unk>, <s>, </s>, the 256 byte tokens (ids 3..258), then `pieces`. */
export interface SpmVocab {
  tokens: string[];
  scores: number[];
  /** llama.cpp token types: 2 unknown, 3 control, 6 byte, 1 normal. */
  types: number[];
}

export function spmVocab(pieces: [string, number][]): SpmVocab {
  const tokens = ['<unk>', '<s>', '</s>', ...BYTE_TOKENS, ...pieces.map(([p]) => p)];
  const scores = [0, 0, 0, ...BYTE_TOKENS.map(() => 0), ...pieces.map(([, s]) => s)];
  const types = [2, 3, 3, ...BYTE_TOKENS.map(() => 6), ...pieces.map(() => 1)];
  return { tokens, scores, types };
}

/** Llama 2's tokenizer.json shape over an SPM vocabulary with hand-written merges (best first). */
export function spmJson(v: SpmVocab, merges: string[], addBos: boolean): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [0, 1, 2].map((id) => ({ id, content: v.tokens[id], special: true, normalized: false, lstrip: false, rstrip: false, single_word: false })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: addBos ? bosTemplate('<s>', 1) : null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', unk_token: '<unk>', fuse_unk: true, byte_fallback: true, vocab: Object.fromEntries(v.tokens.map((t, i) => [t, i])), merges },
  };
}

const strings = (items: string[]): KvValue => ({ type: 'array', itemType: 'string', items });
const int32s = (items: number[]): KvValue => ({ type: 'array', itemType: 'int32', items });
const float32s = (items: number[]): KvValue => ({ type: 'array', itemType: 'float32', items });

/** GGUF key/values of a gpt2 vocabulary. */
export function gpt2Kv(tokens: string[], merges: string[], opts: { pre?: string; special?: number[]; bos?: number; eos?: number; addBos?: boolean } = {}): [string, KvValue][] {
  const kv: [string, KvValue][] = [
    ['general.architecture', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.tokens', strings(tokens)],
    ['tokenizer.ggml.token_type', int32s(tokens.map((_, i) => (opts.special?.includes(i) ? 3 : 1)))],
    ['tokenizer.ggml.merges', strings(merges)],
  ];
  if (opts.pre !== undefined) kv.push(['tokenizer.ggml.pre', { type: 'string', value: opts.pre }]);
  if (opts.bos !== undefined) kv.push(['tokenizer.ggml.bos_token_id', { type: 'uint32', value: opts.bos }]);
  if (opts.eos !== undefined) kv.push(['tokenizer.ggml.eos_token_id', { type: 'uint32', value: opts.eos }]);
  if (opts.addBos !== undefined) kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: opts.addBos }]);
  return kv;
}

/** GGUF key/values of a llama (SentencePiece) vocabulary. */
export function llamaKv(v: SpmVocab, opts: { addBos?: boolean; addSpacePrefix?: boolean } = {}): [string, KvValue][] {
  const kv: [string, KvValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', strings(v.tokens)],
    ['tokenizer.ggml.scores', float32s(v.scores)],
    ['tokenizer.ggml.token_type', int32s(v.types)],
    ['tokenizer.ggml.bos_token_id', { type: 'uint32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'uint32', value: 2 }],
    ['tokenizer.ggml.unknown_token_id', { type: 'uint32', value: 0 }],
  ];
  if (opts.addBos !== undefined) kv.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: opts.addBos }]);
  if (opts.addSpacePrefix !== undefined) kv.push(['tokenizer.ggml.add_space_prefix', { type: 'bool', value: opts.addSpacePrefix }]);
  return kv;
}

/** The metadata object a GGUF reader gives for `kv` (arrays whole), without writing a file. */
export function kvMetadata(kv: [string, KvValue][]): Record<string, unknown> {
  const plain = (v: KvValue): unknown => (v.type === 'array' ? (v.items as unknown[]).map((i) => (typeof i === 'object' ? plain(i as KvValue) : i)) : v.value);
  return Object.fromEntries(kv.map(([k, v]) => [k, plain(v)]));
}

const folders: string[] = [];

/** Writes a model folder with the given files (objects as JSON) and returns its path. */
export async function modelFolder(files: Record<string, unknown>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ffn-lens-tok-'));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, name), typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content));
  }
  return dir;
}

/** Removes every folder `modelFolder` made (call from a mocha `after`). */
export async function removeModelFolders(): Promise<void> {
  await Promise.all(folders.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
}

/** Checks that offsets are in bounds, ordered and non-overlapping; returns the text each token covers. */
export function covered(text: string, offsets: [number, number][]): string[] {
  let last = 0;
  return offsets.map(([s, e], i) => {
    if (!(Number.isInteger(s) && Number.isInteger(e) && s >= last && e >= s && e <= text.length)) {
      throw new Error(`token ${i}: span [${s}, ${e}) is out of order or bounds (previous end ${last}, text length ${text.length})`);
    }
    last = e;
    return text.slice(s, e);
  });
}

/** Expects `fn` to throw (or reject with) an FfnLensError whose message matches `pattern`. */
export async function refuses(fn: () => unknown, pattern: RegExp, file?: string): Promise<FfnLensError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(isFfnLensError(thrown), `expected an FfnLensError, got ${String(thrown)}`);
  assert.match(thrown.message, pattern);
  if (file !== undefined) assert.strictEqual(thrown.file, file);
  return thrown;
}
