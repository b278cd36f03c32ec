/**
 * Token offsets, which @huggingface/tokenizers does not give: each token's bytes are found in the
 * text's UTF-8 bytes, left to right, and the byte span is turned into UTF-16 string indices.
 *
 * The rule for a multi-byte character split between tokens (byte-level BPE, byte fallback): a
 * character belongs to the token holding its first byte. That token's span covers the whole
 * character; a token holding only later bytes of it gets an empty span at the character's end.
 * Spans never overlap and never go backwards, and `text.slice(start, end)` is always whole
 * characters (never half a surrogate pair). No `vscode` import.
 */

/** A token as the aligner sees it: the UTF-8 bytes it stands for, or null when it is not from the text. */
export type TokenPiece = Uint8Array | null;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
const foldAscii = (b: number): number => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);

/** The text's UTF-8 bytes, and for each byte position the UTF-16 index it rounds up to. */
export interface TextBytes {
  bytes: Uint8Array;
  /** `ceil[b]`: UTF-16 index of the first character whose first byte is at or after byte `b`. */
  ceil: Int32Array;
}

/** UTF-8 encodes `text` (a lone surrogate as U+FFFD, as TextEncoder does) keeping the index map. */
export function textBytes(text: string): TextBytes {
  const bytes = new TextEncoder().encode(text);
  const ceil = new Int32Array(bytes.length + 1);
  let b = 0;
  let u = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    const next = u + ch.length;
    ceil[b] = u;
    for (let k = 1; k < n; k++) ceil[b + k] = next;
    b += n;
    u = next;
  }
  ceil[b] = u;
  return { bytes, ceil };
}

/** Whether `piece` equals the text's bytes at `at` (ASCII letters folded when `fold`). */
function matchesAt(text: Uint8Array, at: number, piece: Uint8Array, fold: boolean): boolean {
  if (at + piece.length > text.length) return false;
  for (let i = 0; i < piece.length; i++) {
    const a = text[at + i];
    const b = piece[i];
    if (a !== b && !(fold && foldAscii(a) === foldAscii(b))) return false;
  }
  return true;
}

/** First position at or after `from` where `piece` occurs in `text`, or -1. */
function find(text: Uint8Array, piece: Uint8Array, from: number): number {
  if (piece.length === 0) return -1;
  return Buffer.from(text.buffer, text.byteOffset, text.byteLength).indexOf(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), from);
}

/**
 * Where in the text a token's bytes start, trying in order: right at the cursor; without a
 * leading space the tokenizer added (SentencePiece's prefix space, `add_prefix_space`); after
 * whitespace the pre-tokenizer dropped (WordPiece); with ASCII case folded (a lowercasing
 * normalizer). Returns the start and the length matched, or undefined.
 */
function matchNear(text: Uint8Array, at: number, piece: Uint8Array): [number, number] | undefined {
  const unprefixed = piece.length > 0 && piece[0] === 0x20 && text[at] !== 0x20 ? piece.subarray(1) : undefined;
  for (const fold of [false, true]) {
    if (matchesAt(text, at, piece, fold)) return [at, piece.length];
    if (unprefixed && matchesAt(text, at, unprefixed, fold)) return [at, unprefixed.length];
    let skip = at;
    while (skip < text.length && isSpace(text[skip]) && !(piece.length > 0 && isSpace(piece[0]))) skip++;
    if (skip > at && matchesAt(text, skip, piece, fold)) return [skip, piece.length];
  }
  return undefined;
}

/**
 * The [start, end) UTF-16 span of each token in `text`. `pieces[i]` is the bytes token i stands
 * for; null marks a token that is not from the text: it gets an empty span where the cursor is.
 *
 * A token that cannot be matched near the cursor (a normalizer rewrote the text: NFKC, accents
 * stripped...) is searched for further on; when it is not found at all it gets an empty span at
 * the cursor. The alignment degrades to empty spans, never to wrong-looking overlaps.
 */
export function alignTokens(text: string, pieces: readonly TokenPiece[]): [number, number][] {
  const { bytes, ceil } = textBytes(text);
  const spans: [number, number][] = [];
  let cursor = 0;
  for (const piece of pieces) {
    if (piece === null || piece.length === 0) {
      spans.push([ceil[cursor], ceil[cursor]]);
      continue;
    }
    let hit = matchNear(bytes, cursor, piece);
    if (!hit) {
      const far = find(bytes, piece, cursor);
      const bare = piece[0] === 0x20 ? find(bytes, piece.subarray(1), cursor) : -1;
      if (far >= 0) hit = [far, piece.length];
      else if (bare >= 0) hit = [bare, piece.length - 1];
    }
    if (!hit) {
      spans.push([ceil[cursor], ceil[cursor]]);
      continue;
    }
    const [start, length] = hit;
    spans.push([ceil[start], ceil[start + length]]);
    cursor = start + length;
  }
  return spans;
}
