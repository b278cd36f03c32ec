/**
 * A tiny GPT-2-style byte-level BPE tokenizer.json for tests, written from the format (not from
 * the product's tokenizer code): the 256 byte symbols as ids 0..255 in byte order (so a byte's id
 * is its value), then the merges' results from 256 on, then `<|endoftext|>`.
 */

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to 256 + n. */
export function byteSymbol(b: number): string {
  const printable = (x: number): boolean => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  if (printable(b)) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) n++;
  return String.fromCharCode(256 + n);
}

/** The merges of the hand-worked example: "hello world" -> [258, 111, 259, 111, 114, 108, 100]. */
export const HAND_MERGES: [string, string][] = [
  ['h', 'e'],
  ['l', 'l'],
  ['he', 'll'],
  ['Ġ', 'w'],
];

/** tokenizer.json with byte ids 0..255, one id per merge from 256, and `<|endoftext|>` last. */
export function byteBpeTokenizer(merges: readonly [string, string][] = HAND_MERGES): { json: Record<string, unknown>; vocabSize: number; eot: number } {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[byteSymbol(b)] = b;
  merges.forEach(([a, b], i) => (vocab[a + b] = 256 + i));
  const eot = 256 + merges.length;
  vocab['<|endoftext|>'] = eot;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  return { json, vocabSize: eot + 1, eot };
}
