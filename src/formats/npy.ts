/**
 * NumPy `.npy` reader (format versions 1, 2 and 3, as in `numpy.lib.format`). The header is a
 * Python dict literal that is parsed here by a small literal parser, never evaluated; object and
 * structured arrays are refused. Data is read by range and decoded to float32 only on `read`.
 * The header and decoding helpers are shared with the `.npz` reader. No `vscode` import.
 */
import * as nodePath from 'path';
import { FfnLensError } from '../core/errors';
import { decodeBF16, decodeF16, decodeF32, decodeF64 } from '../core/dtype';
import { RangeReader, MAX_READ_BYTES, printable } from './fileRange';
import { looksLikePickle, pickleRefusal } from './pickle';
import { checkTransposable, decodeInSlices, rowsAndCols, SliceWriter, type SliceDecoder } from './slices';
import { targetArray, type ReadOptions, type TensorInfo, type TensorSource } from './source';

/** How one element is stored: float (IEEE), bfloat16, signed/unsigned integer or bool, with its size. */
export interface ElementType {
  kind: 'f' | 'bf' | 'i' | 'u' | 'b';
  size: 1 | 2 | 4 | 8;
  littleEndian: boolean;
}

/** A parsed `.npy` header. `dataOffset` counts from the start of the `.npy` bytes. */
export interface NpyHeader {
  version: number;
  descr: string;
  element: ElementType;
  shape: number[];
  fortranOrder: boolean;
  dataOffset: number;
  count: number;
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy itself refuses headers over 10 000 bytes by default; allow far more, but not the file's word. */
export const MAX_NPY_HEADER = 1024 * 1024;
/** Bytes needed to know the header length for any version. */
export const NPY_PRELUDE = 12;

/** True when `bytes` starts with the `.npy` magic string. */
export function hasNpyMagic(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Validates magic and version in the first bytes (at least 12, or the whole file when shorter) and
 * returns the offset where the data starts. `where` prefixes messages (e.g. `member "W1.npy": `).
 */
export function npyDataOffset(prelude: Uint8Array, available: number, file: string, where = ''): number {
  if (!hasNpyMagic(prelude)) {
    if (looksLikePickle(prelude)) throw pickleRefusal(file);
    const head = Array.from(prelude.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FfnLensError(`${where}not an .npy file: expected the magic "\\x93NUMPY", found bytes [${head}]`, file);
  }
  if (prelude.length < 10) throw new FfnLensError(`${where}the .npy header is cut off after ${prelude.length} bytes`, file);
  const major = prelude[6];
  let headerLen: number;
  let prefix: number;
  if (major === 1) {
    headerLen = prelude[8] | (prelude[9] << 8);
    prefix = 10;
  } else if (major === 2 || major === 3) {
    if (prelude.length < 12) throw new FfnLensError(`${where}the .npy header is cut off after ${prelude.length} bytes`, file);
    headerLen = new DataView(prelude.buffer, prelude.byteOffset, 12).getUint32(8, true);
    prefix = 12;
  } else {
    throw new FfnLensError(`${where}.npy format version ${major}.${prelude[7]} is not supported (1, 2 and 3 are)`, file);
  }
  if (headerLen > MAX_NPY_HEADER) {
    throw new FfnLensError(`${where}.npy header length ${headerLen} is over the ${MAX_NPY_HEADER}-byte limit`, file);
  }
  if (prefix + headerLen > available) {
    throw new FfnLensError(`${where}.npy header length ${headerLen} runs past the end of the data (${available} bytes)`, file);
  }
  return prefix + headerLen;
}

/** Parses the header dict; `bytes` holds at least the first `npyDataOffset(...)` bytes. */
export function parseNpyHeader(bytes: Uint8Array, file: string, where = ''): NpyHeader {
  const dataOffset = npyDataOffset(bytes, bytes.length, file, where);
  const version = bytes[6];
  const raw = bytes.subarray(version === 1 ? 10 : 12, dataOffset);
  let text: string;
  try {
    text = version === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : Buffer.from(raw).toString('latin1');
  } catch {
    throw new FfnLensError(`${where}the .npy v3 header is not valid UTF-8`, file);
  }
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    throw new FfnLensError(`${where}the .npy header is not a Python dict literal: ${printable((e as Error).message)}`, file);
  }
  if (!(dict instanceof Map)) throw new FfnLensError(`${where}the .npy header is not a dict`, file);
  const keys = [...dict.keys()].sort().map((k) => printable(k, 40)).join(', ');
  if (keys !== 'descr, fortran_order, shape') {
    throw new FfnLensError(`${where}the .npy header has keys {${keys}}; expected descr, fortran_order, shape`, file);
  }
  const descr = dict.get('descr');
  if (typeof descr !== 'string') {
    throw new FfnLensError(`${where}structured arrays (descr is a list of fields) are not supported; save each field as its own array`, file);
  }
  const element = parseDescr(descr, file, where);
  const fortranOrder = dict.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw new FfnLensError(`${where}.npy header: fortran_order is not True or False`, file);
  const shapeValue = dict.get('shape');
  if (!Array.isArray(shapeValue) || !shapeValue.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new FfnLensError(`${where}.npy header: shape ${formatPy(shapeValue)} is not a tuple of non-negative integers`, file);
  }
  const shape = shapeValue as number[];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * element.size;
  if (!Number.isSafeInteger(dataBytes)) {
    throw new FfnLensError(`${where}.npy shape (${shape.join(', ')}) has too many elements`, file);
  }
  return { version, descr, element, shape, fortranOrder, dataOffset, count, dataBytes };
}

/**
 * Decodes `.npy` data bytes (exactly `header.dataBytes`) to row-major float32, into `out` when
 * given (it must hold `header.count` values).
 */
export function decodeNpyData(bytes: Uint8Array, header: NpyHeader, file?: string, what?: string, out?: Float32Array): Float32Array {
  if (header.fortranOrder && header.shape.length > 1) {
    return fortranToRowMajor(decodeElements(bytes, header.element, header.count, file, what), header.shape, out);
  }
  return decodeElements(bytes, header.element, header.count, file, what, out);
}

/** Opens one `.npy` file as a source with a single tensor named after the file stem (`W1.npy` -> `W1`). */
export async function openNpySource(path: string): Promise<TensorSource> {
  const reader = await RangeReader.open(path);
  try {
    const prelude = await reader.read(0, Math.min(reader.size, NPY_PRELUDE), undefined, '.npy header');
    const dataOffset = npyDataOffset(prelude, reader.size, path);
    const header = parseNpyHeader(await reader.read(0, dataOffset, undefined, '.npy header'), path);
    const available = reader.size - dataOffset;
    if (available !== header.dataBytes) {
      const shape = `(${header.shape.join(', ')})`;
      throw new FfnLensError(
        available < header.dataBytes
          ? `truncated: dtype ${printable(header.descr)} x shape ${shape} needs ${header.dataBytes} data bytes but only ${available} follow the header`
          : `dtype ${printable(header.descr)} x shape ${shape} needs ${header.dataBytes} data bytes but ${available} follow the header`,
        path,
      );
    }
    const name = nodePath.basename(path).replace(/\.npy$/i, '');
    return new NpySource(path, reader, name, header);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

class NpySource implements TensorSource {
  readonly format = 'npy' as const;
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly hints = {};

  constructor(readonly path: string, private readonly reader: RangeReader, private readonly name: string, private readonly header: NpyHeader) {
    this.tensors = [{ name, dtype: header.descr, shape: header.shape, byteLength: header.dataBytes }];
    this.metadata = { npyVersion: header.version, fortranOrder: header.fortranOrder };
  }

  /** Bytes read from the file so far. */
  get bytesRead(): number {
    return this.reader.bytesRead;
  }

  read(name: string, options?: ReadOptions): Promise<Float32Array> {
    return this.decode(name, options, false);
  }

  readTransposed(name: string, options?: ReadOptions): Promise<Float32Array> {
    return this.decode(name, options, true);
  }

  private async decode(name: string, options: ReadOptions | undefined, transposed: boolean): Promise<Float32Array> {
    if (name !== this.name) throw new FfnLensError(`no tensor named "${printable(name)}" (this .npy holds "${printable(this.name)}")`, this.path);
    return readNpyData(this.reader, this.header.dataOffset, this.header, options, transposed, `tensor "${printable(name)}"`);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

/**
 * Where `.npy` data decodes to in `out`: row-major in `shape` order, or, when `transposed`, a
 * matrix's transpose. A Fortran-order matrix is stored as its transpose, so for it the transposed
 * read is the straight one. Undefined for a Fortran-order array of three or more dimensions,
 * which is decoded whole and reordered.
 */
export function npyWriter(header: NpyHeader, out: Float32Array, transposed: boolean): SliceWriter | undefined {
  const { shape } = header;
  const fortran = header.fortranOrder && shape.length > 1;
  if (fortran && shape.length > 2) return undefined;
  // The stored elements as a row-major matrix: a Fortran-order [r, c] matrix stores [c x r].
  const [rows, cols] = fortran ? [shape[1], shape[0]] : rowsAndCols(shape);
  return new SliceWriter(out, rows, cols, transposed !== fortran);
}

/** Reads `.npy` data (`header.dataBytes` bytes at byte `start` of `reader`) a slice at a time; see `npyWriter`. */
export async function readNpyData(reader: RangeReader, start: number, header: NpyHeader, options: ReadOptions | undefined, transposed: boolean, what: string): Promise<Float32Array> {
  const file = reader.path;
  if (transposed) checkTransposable(header.shape, what, file);
  checkDecodable(header.count, header.element, file, what);
  const out = targetArray(options, header.count);
  const writer = npyWriter(header, out, transposed);
  if (!writer) return decodeNpyData(await reader.read(start, header.dataBytes, options?.signal, what), header, file, what, out);
  return decodeInSlices(writer, elementSlices(reader, start, header.element, options?.signal, what), options?.signal, file);
}

// ---- element decoding (also used by the safetensors reader) ----

/**
 * Decodes slices of elements of `el` stored from byte `start` of `reader`: float32 in this
 * machine's byte order is read straight into the target, anything else into one byte buffer
 * reused from slice to slice, then decoded.
 */
export function elementSlices(reader: RangeReader, start: number, el: ElementType, signal: AbortSignal | undefined, what: string): SliceDecoder {
  let raw: Uint8Array | undefined;
  return async (first, n, into) => {
    if (isNativeF32(el)) {
      await reader.read(start + first * 4, n * 4, signal, what, bytesOf(into));
      return;
    }
    const length = n * el.size;
    if (!raw || raw.length < length) raw = new Uint8Array(length);
    const bytes = await reader.read(start + first * el.size, length, signal, what, raw.subarray(0, length));
    decodeElements(bytes, el, n, reader.path, what, into);
  };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when elements of `el` are float32 in this machine's byte order (their bytes are the decoded array). */
export function isNativeF32(el: ElementType): boolean {
  return el.kind === 'f' && el.size === 4 && el.littleEndian === HOST_LITTLE_ENDIAN;
}

/** The bytes of a float32 array, for reading file data straight into it. */
export function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Throws the `budget` FfnLensError when `count` elements cannot be held in one read or one array. */
export function checkDecodable(count: number, el: ElementType, file?: string, what = 'tensor'): void {
  if (count * el.size > MAX_READ_BYTES || count * 4 > MAX_READ_BYTES) {
    throw new FfnLensError(`${what}: ${count} elements are more than one float32 array can hold`, file, 'budget');
  }
}

/**
 * Decodes `count` elements of `el` from `bytes` to float32 (integers and bools become their
 * numeric value), into `out` when given (it must hold `count` values). Without `out`, aligned
 * native float32 comes back as a view of `bytes`.
 */
export function decodeElements(bytes: Uint8Array, el: ElementType, count: number, file?: string, what = 'tensor', out?: Float32Array): Float32Array {
  checkDecodable(count, el, file, what);
  if (out && out.length !== count) throw new RangeError(`${what}: the output holds ${out.length} values, the tensor ${count}`);
  const le = el.littleEndian;
  if (el.kind === 'f' && el.size === 2) return decodeF16(bytes.subarray(0, count * 2), le, out);
  if (el.kind === 'bf') return decodeBF16(bytes.subarray(0, count * 2), le, out);
  if (el.kind === 'f' && el.size === 8) return decodeF64(bytes.subarray(0, count * 8), le, out);
  if (el.kind === 'f' && el.size === 4 && (out || (le === HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0))) {
    if (out) return decodeF32(bytes.subarray(0, count * 4), le, out);
    return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  out ??= new Float32Array(count);
  const read = elementGetter(view, el);
  for (let i = 0; i < count; i++) out[i] = read(i * el.size);
  return out;
}

function elementGetter(v: DataView, el: ElementType): (at: number) => number {
  const le = el.littleEndian;
  if (el.kind === 'f') return (at) => v.getFloat32(at, le);
  if (el.kind === 'b') return (at) => (v.getUint8(at) !== 0 ? 1 : 0);
  const signed = el.kind === 'i';
  switch (el.size) {
    case 1:
      return signed ? (at) => v.getInt8(at) : (at) => v.getUint8(at);
    case 2:
      return signed ? (at) => v.getInt16(at, le) : (at) => v.getUint16(at, le);
    case 4:
      return signed ? (at) => v.getInt32(at, le) : (at) => v.getUint32(at, le);
    default:
      return signed ? (at) => Number(v.getBigInt64(at, le)) : (at) => Number(v.getBigUint64(at, le));
  }
}

/** Reorders column-major (first index fastest) data into row-major order for `shape`, into `out` when given. */
export function fortranToRowMajor(src: Float32Array, shape: readonly number[], out: Float32Array = new Float32Array(src.length)): Float32Array {
  if (out.length !== src.length) throw new RangeError(`fortranToRowMajor: the output holds ${out.length} values, the data ${src.length}`);
  const n = shape.length;
  if (src.length === 0) return out;
  const strides = new Array<number>(n);
  let s = 1;
  for (let k = n - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(n).fill(0);
  let dst = 0;
  for (let j = 0; j < src.length; j++) {
    out[dst] = src[j];
    for (let k = 0; k < n; k++) {
      idx[k]++;
      dst += strides[k];
      if (idx[k] < shape[k]) break;
      dst -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

function parseDescr(descr: string, file: string, where: string): ElementType {
  const m = /^([<>=|]?)([a-zA-Z?])(\d*)$/.exec(descr);
  if (m && (m[2] === 'O' || (m[2] === 'V' && m[3] === ''))) {
    throw new FfnLensError(`${where}dtype '${printable(descr)}': object arrays need pickle, which FFN Lens never runs`, file);
  }
  const kinds: Record<string, ElementType['kind']> = { f: 'f', i: 'i', u: 'u', b: 'b', '?': 'b' };
  const kind = m ? kinds[m[2]] : undefined;
  const size = m ? Number(m[3] || (m[2] === '?' ? 1 : 0)) : 0;
  const ok = kind === 'f' ? size === 2 || size === 4 || size === 8 : kind === 'b' ? size === 1 : size === 1 || size === 2 || size === 4 || size === 8;
  if (!m || !kind || !ok) {
    throw new FfnLensError(`${where}dtype '${printable(descr)}' is not supported; FFN Lens reads float (f2, f4, f8), int, uint and bool arrays`, file);
  }
  // '=' (native) and '|' (not applicable) are taken as little-endian: numpy writes '<' or '>' for multi-byte types.
  return { kind, size: size as ElementType['size'], littleEndian: m[1] !== '>' };
}

// ---- a safe parser for the header's Python literal ----

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** Deeper nesting than this is refused (a real header nests 2 deep; recursion must not overflow the stack). */
const MAX_LITERAL_DEPTH = 32;

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  let depth = 0;
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${pos}`);
  };
  const items = (close: string, item: () => void): void => {
    for (;;) {
      skip();
      if (text[pos] === close) return void pos++;
      item();
      skip();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const value = (): PyValue => {
    skip();
    const c = text[pos];
    if ((c === '{' || c === '(' || c === '[') && ++depth > MAX_LITERAL_DEPTH) fail(`nested more than ${MAX_LITERAL_DEPTH} deep`);
    if (c === '{') {
      pos++;
      const map = new Map<string, PyValue>();
      items('}', () => {
        const key = value();
        if (typeof key !== 'string') fail('dict key is not a string');
        skip();
        if (text[pos++] !== ':') fail("expected ':'");
        map.set(key as string, value());
      });
      depth--;
      return map;
    }
    if (c === '(' || c === '[') {
      pos++;
      const list: PyValue[] = [];
      items(c === '(' ? ')' : ']', () => list.push(value()));
      depth--;
      return list;
    }
    if (c === "'" || c === '"') {
      pos++;
      let s = '';
      while (pos < text.length && text[pos] !== c) {
        if (text[pos] === '\\') pos++;
        s += text[pos++] ?? '';
      }
      if (pos >= text.length) fail('unterminated string');
      pos++;
      return s;
    }
    const word = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(pos, pos + 40));
    if (!word) return fail('unexpected ' + (c === undefined ? 'end' : `'${c}'`));
    pos += word[0].length;
    if (word[2]) return word[2] === 'True' ? true : word[2] === 'False' ? false : null;
    return Number(word[1]) + 0; // + 0: "-0" is the integer 0, not negative zero
  };
  const result = value();
  skip();
  if (pos < text.length) fail('unexpected text after the dict');
  return result;
}

function formatPy(v: PyValue | undefined): string {
  if (Array.isArray(v)) return `(${v.map(formatPy).join(', ')})`;
  if (v instanceof Map) return '{...}';
  return typeof v === 'string' ? `'${printable(v)}'` : String(v);
}
