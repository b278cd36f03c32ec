/**
 * What text a vocabulary string stands for. Vocabularies spell bytes in one of a few ways:
 * GPT-2's byte-level alphabet (every byte is one printable character, space is `Ġ`),
 * SentencePiece's (`▁` is a space, `<0xE2>` is one raw byte), WordPiece's (`##` continues a word),
 * or plainly. The bytes are what the offsets are matched against; the display is what a person
 * reads. No `vscode` import.
 */

/** How a vocabulary spells its tokens. */
export type TokenStyle = 'byte-level' | 'metaspace' | 'wordpiece' | 'plain';

const UTF8 = new TextEncoder();

/**
 * GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes are
 * moved to U+0100 onwards in byte order, so every byte is a visible character.
 */
function byteAlphabet(): { toChar: string[]; toByte: Map<string, number> } {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const toChar: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) toChar.push(String.fromCharCode(printable(b) ? b : 256 + shifted++));
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}

/** Byte -> character of GPT-2's byte-level alphabet, and back. */
export const BYTE_ALPHABET = byteAlphabet();

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** The byte of a SentencePiece byte token such as `<0x0A>`, else undefined. */
export function byteTokenValue(token: string): number | undefined {
  const m = BYTE_TOKEN.exec(token);
  return m ? parseInt(m[1], 16) : undefined;
}

/** The UTF-8 bytes `token` stands for in the text, in a vocabulary of `style`. */
export function tokenBytes(token: string, style: TokenStyle, wordpiecePrefix = '##'): Uint8Array {
  switch (style) {
    case 'byte-level': {
      const out: number[] = [];
      for (const ch of token) {
        const b = BYTE_ALPHABET.toByte.get(ch);
        // A character outside the alphabet (never in a well-formed vocabulary) stands for itself.
        if (b === undefined) out.push(...UTF8.encode(ch));
        else out.push(b);
      }
      return Uint8Array.from(out);
    }
    case 'metaspace': {
      const byte = byteTokenValue(token);
      return byte === undefined ? UTF8.encode(token.replace(/\u2581/g, ' ')) : Uint8Array.of(byte);
    }
    case 'wordpiece':
      return UTF8.encode(wordpiecePrefix && token.startsWith(wordpiecePrefix) ? token.slice(wordpiecePrefix.length) : token);
    case 'plain':
      return UTF8.encode(token);
  }
}

/** The length of the UTF-8 sequence a lead byte starts (0: not a lead byte). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const STRICT = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes as text, with every byte that is not part of a whole, valid UTF-8 character written as
 * `<0xNN>` (a byte-level token holding half of `€` shows as `<0xE2><0x82>`, not as U+FFFD).
 */
export function displayBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes[i]);
    if (n > 0 && i + n <= bytes.length) {
      try {
        out += STRICT.decode(bytes.subarray(i, i + n));
        i += n;
        continue;
      } catch {
        // not a valid sequence: fall through to the byte form
      }
    }
    out += `<0x${bytes[i].toString(16).toUpperCase().padStart(2, '0')}>`;
    i++;
  }
  return out;
}

/** A token's readable text: spaces and newlines as themselves, stray bytes as `<0xNN>`. */
export function displayToken(token: string, style: TokenStyle): string {
  return style === 'byte-level' || style === 'metaspace' ? displayBytes(tokenBytes(token, style)) : token;
}
