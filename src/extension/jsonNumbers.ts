/**
 * Decodes a JSON number array straight from the document text into a Float32Array: no JSON.parse,
 * no boxed numbers, so a 20 MB tensor costs one pass and no garbage. Handles only the common
 * case (nested arrays of plain numbers with equal rows); anything else returns undefined and the
 * caller falls back to the JSON reader, which gives the precise error. No `vscode` import.
 */

/** 10^0 .. 10^22: exactly representable doubles (the range where Clinger's fast path is exact). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Where the last number() call stopped (a module variable, so no tuple is allocated per number). */
let numberEnd = 0;

/**
 * The number starting at `i` (JSON syntax), as the double JSON.parse gives: mantissas of at most
 * 15 digits with |exponent| <= 22 are computed exactly (one correctly rounded multiply or divide),
 * the rest by Number(). Sets numberEnd; NaN when there is no number at `i`.
 */
function number(text: string, i: number, end: number): number {
  const start = i;
  let c = text.charCodeAt(i);
  const negative = c === 45;
  if (negative) c = text.charCodeAt(++i);
  if (!isDigit(c)) return NaN;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  for (; i < end && isDigit((c = text.charCodeAt(i))); i++) {
    if (mantissa !== 0 || c !== 48) digits++;
    mantissa = mantissa * 10 + (c - 48);
  }
  if (c === 46 /* . */) {
    for (i++; i < end && isDigit((c = text.charCodeAt(i))); i++) {
      if (mantissa !== 0 || c !== 48) digits++;
      mantissa = mantissa * 10 + (c - 48);
      scale--;
    }
  }
  if (c === 101 || c === 69 /* e E */) {
    i++;
    let sign = 1;
    c = text.charCodeAt(i);
    if (c === 45 || c === 43) {
      if (c === 45) sign = -1;
      i++;
    }
    let e = 0;
    const expStart = i;
    for (; i < end && isDigit((c = text.charCodeAt(i))); i++) e = e * 10 + (c - 48);
    if (i === expStart) return NaN;
    scale += sign * e;
  }
  let value: number;
  if (digits <= 15 && scale >= -22 && scale <= 22) value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
  else value = Number(text.slice(negative ? start + 1 : start, i));
  numberEnd = i;
  return negative ? -value : value;
}

/** Shape and float32 data of the number array spanning text[start, end), or undefined (see file comment). */
export function decodeNumberArray(text: string, start: number, end: number): { shape: number[]; data: Float32Array } | undefined {
  let capacity = 1;
  for (let k = text.indexOf(',', start); k !== -1 && k < end; k = text.indexOf(',', k + 1)) capacity++;
  const data = new Float32Array(capacity);
  let n = 0;
  const counts: number[] = [];
  const shape: number[] = [];
  let depth = 0;
  let rank = -1;
  let expectValue = true;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
    } else if (c === 91 /* [ */) {
      if (!expectValue || (rank >= 0 && depth >= rank)) return undefined;
      if (depth > 0) counts[depth - 1]++;
      counts[depth] = 0;
      depth++;
      i++;
    } else if (c === 93 /* ] */) {
      depth--;
      if (depth < 0) return undefined;
      const len = counts[depth];
      if (len > 0 && expectValue) return undefined; // trailing comma
      if (shape[depth] === undefined) shape[depth] = len;
      else if (shape[depth] !== len) return undefined; // ragged: the reader says which row
      expectValue = false;
      i++;
      if (depth === 0) break;
    } else if (c === 44 /* , */) {
      if (expectValue) return undefined;
      expectValue = true;
      i++;
    } else {
      if (!expectValue || depth === 0) return undefined;
      if (rank < 0) rank = depth;
      else if (depth !== rank) return undefined;
      const v = number(text, i, end);
      if (v !== v || n >= capacity) return undefined; // not a number (NaN, strings, null): the reader decides
      data[n++] = v;
      counts[depth - 1]++;
      i = numberEnd;
      expectValue = false;
    }
  }
  if (depth !== 0) return undefined;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return undefined;
  }
  if (rank < 0) {
    // no numbers at all: only `[]` is a tensor (shape [0])
    return shape.length === 1 && shape[0] === 0 ? { shape: [0], data: new Float32Array(0) } : undefined;
  }
  const dims = shape.slice(0, rank);
  return { shape: dims, data: n === capacity ? data : data.slice(0, n) };
}
