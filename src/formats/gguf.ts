/**
 * GGUF (llama.cpp / ggml) reader: parses the header, metadata and tensor infos through ranged
 * reads that grow until the header fits, validates every count, length and offset against the
 * file size before trusting it, and decodes one tensor's bytes on `read`, a slice at a time.
 * Spec: ggml docs/gguf.md. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { RangeReader } from './fileRange';
import { decodableTypeNames, dequantize, ggmlType, type GgmlTypeInfo } from './ggmlQuants';
import { panelsLength } from '../core/gemm';
import { checkTransposable, decodeInSlices, rowsAndCols, SliceWriter } from './slices';
import { checkRowRange, targetArray, type ReadOptions, type SourceHints, type TensorInfo, type TensorSource } from './source';

/** Bounds that turn a corrupt or hostile header into an error instead of an allocation. */
export const GGUF_LIMITS = {
  /** First header read; it doubles (or jumps to what a length needs) until the header fits. */
  firstReadBytes: 64 * 1024,
  maxHeaderBytes: 512 * 1024 * 1024,
  maxKeyBytes: 65535,
  maxTensorNameBytes: 256,
  maxStringBytes: 64 * 1024 * 1024,
  maxArrayItems: 2 ** 30,
  maxCount: 2 ** 24,
  maxDims: 4,
  maxArrayDepth: 4,
  /** Arrays longer than this are summarised as `{ arrayOf, length }` in `metadata`. */
  keepNumberItems: 1024,
  keepStringItems: 64,
  /** Float32Array elements one `read` may produce. */
  maxDecodeElements: 2 ** 31 - 1,
} as const;

/** What `metadata` holds instead of a long array (e.g. `tokenizer.ggml.tokens`). */
export interface GgufArraySummary {
  arrayOf: string;
  length: number;
}

/** How to open a GGUF file. */
export interface GgufOpenOptions {
  /**
   * Metadata keys starting with one of these keep their arrays whole in `metadata` instead of a
   * `GgufArraySummary` (e.g. `['tokenizer.ggml.']` for a vocabulary). Lengths are still checked
   * against the bytes left in the file before anything is allocated.
   */
  fullArrayPrefixes?: readonly string[];
}

const UTF8 = new TextDecoder();
const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const ARRAY = 9;
const VALUE_TYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
/** Fixed byte sizes of scalar value types (string and array are variable). */
const SCALAR_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
/** The fewest bytes one item of each type can take, to bound counts by the bytes left. */
const MIN_ITEM_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];

interface ParsedTensor {
  name: string;
  ne: number[];
  type: GgmlTypeInfo;
  /** Relative to the data section, as stored. */
  offset: number;
  elements: number;
  byteLength: number;
}

interface ParsedHeader {
  version: number;
  metadata: Record<string, unknown>;
  alignment: number;
  dataStart: number;
  tensors: ParsedTensor[];
}

/** Thrown by the parser when the bytes read so far end before the header does. */
class NeedMore {
  constructor(readonly end: number) {}
}

/** A little-endian cursor over the first `buf.length` bytes of a file of `fileSize` bytes. */
class Cursor {
  pos = 0;
  private readonly dv: DataView;
  constructor(
    private readonly buf: Uint8Array,
    readonly fileSize: number,
    private readonly path: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string): never {
    throw new FfnLensError(message, this.path);
  }

  /** Makes sure `n` more bytes exist in the file (else: truncated) and in the buffer (else: read more). */
  need(n: number, what: string): number {
    const at = this.pos;
    const end = at + n;
    if (end > this.fileSize) this.fail(`the file is truncated: it ends at byte ${this.fileSize}, inside ${what}`);
    if (end > this.buf.length) throw new NeedMore(end);
    this.pos = end;
    return at;
  }

  get left(): number {
    return this.fileSize - this.pos;
  }

  u8(what: string): number {
    return this.dv.getUint8(this.need(1, what));
  }
  u32(what: string): number {
    return this.dv.getUint32(this.need(4, what), true);
  }
  /** A u64 as a number; values past 2^53 are refused (no count or offset in a real file gets there). */
  u64(what: string): number {
    const v = this.dv.getBigUint64(this.need(8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what}: value ${v} is too large`);
    return Number(v);
  }

  string(what: string, maxBytes: number): string {
    const at = this.skipString(what, maxBytes);
    return UTF8.decode(this.buf.subarray(at, this.pos));
  }

  /** Checks and steps over a string; returns where its bytes start. */
  skipString(what: string, maxBytes: number): number {
    const n = this.u64(what);
    if (n > this.left) this.fail(`${what}: string length ${n} runs past the end of the file (truncated or corrupt)`);
    if (n > maxBytes) this.fail(`${what}: string length ${n} is over the limit of ${maxBytes} bytes`);
    return this.need(n, what);
  }

  /** Reads one metadata value of `type`; long arrays come back as a summary unless `whole`. */
  value(type: number, what: string, depth: number, whole = false): unknown {
    const dv = this.dv;
    switch (type) {
      case 0: return dv.getUint8(this.need(1, what));
      case 1: return dv.getInt8(this.need(1, what));
      case 2: return dv.getUint16(this.need(2, what), true);
      case 3: return dv.getInt16(this.need(2, what), true);
      case 4: return dv.getUint32(this.need(4, what), true);
      case 5: return dv.getInt32(this.need(4, what), true);
      case 6: return dv.getFloat32(this.need(4, what), true);
      case 7: {
        const b = dv.getUint8(this.need(1, what));
        if (b > 1) this.fail(`${what}: bool byte is ${b} (must be 0 or 1)`);
        return b === 1;
      }
      case 8: return this.string(what, GGUF_LIMITS.maxStringBytes);
      case 10: return safeNumber(dv.getBigUint64(this.need(8, what), true));
      case 11: return safeNumber(dv.getBigInt64(this.need(8, what), true));
      case 12: return dv.getFloat64(this.need(8, what), true);
      case ARRAY: return this.array(what, depth, whole);
      default: return this.fail(`${what}: unknown value type ${type}`);
    }
  }

  private array(what: string, depth: number, whole: boolean): unknown {
    if (depth >= GGUF_LIMITS.maxArrayDepth) this.fail(`${what}: arrays nested more than ${GGUF_LIMITS.maxArrayDepth} deep`);
    const itemType = this.u32(what);
    if (!(itemType in VALUE_TYPES)) this.fail(`${what}: unknown array item type ${itemType}`);
    const n = this.u64(what);
    if (n > GGUF_LIMITS.maxArrayItems) this.fail(`${what}: array length ${n} is over the limit of ${GGUF_LIMITS.maxArrayItems} items`);
    if (n * MIN_ITEM_SIZE[itemType] > this.left) {
      this.fail(`${what}: array length ${n} cannot fit in the ${this.left} bytes left in the file (truncated or corrupt)`);
    }
    const keep = itemType === 8 ? GGUF_LIMITS.keepStringItems : GGUF_LIMITS.keepNumberItems;
    if (n <= keep || whole) {
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) items.push(this.value(itemType, what, depth + 1, whole));
      return items;
    }
    if (SCALAR_SIZE[itemType] > 0) this.need(n * SCALAR_SIZE[itemType], what);
    else if (itemType === 8) for (let i = 0; i < n; i++) this.skipString(what, GGUF_LIMITS.maxStringBytes);
    else for (let i = 0; i < n; i++) this.value(itemType, what, depth + 1);
    const summary: GgufArraySummary = { arrayOf: VALUE_TYPES[itemType], length: n };
    return summary;
  }
}

function safeNumber(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Parses the header from the first bytes of a file; throws NeedMore when `buf` ends too early. */
function parseHeader(buf: Uint8Array, fileSize: number, path: string, options: GgufOpenOptions): ParsedHeader {
  const c: Cursor = new Cursor(buf, fileSize, path); // annotated so `c.fail` (never) narrows
  if (fileSize < 4) c.fail(`not a GGUF file: it is only ${fileSize} bytes long`);
  const magic = c.u32('the header');
  if (magic !== MAGIC) {
    const text = Array.from(buf.subarray(0, 4), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    c.fail(`not a GGUF file: it starts with "${text}", not "GGUF"`);
  }
  const version = c.u32('the header');
  if (version !== 0 && (version & 0xffff) === 0) c.fail('big-endian GGUF files are not supported');
  if (version !== 2 && version !== 3) c.fail(`unsupported GGUF version ${version} (versions 2 and 3 are supported)`);
  const tensorCount = c.u64('the header');
  const kvCount = c.u64('the header');
  // Each tensor info takes at least 24 bytes (name length, n_dims, type, offset); each key/value 13.
  if (tensorCount > GGUF_LIMITS.maxCount || tensorCount * 24 > c.left) {
    c.fail(`tensor_count ${tensorCount} is impossible in a file of ${fileSize} bytes`);
  }
  if (kvCount > GGUF_LIMITS.maxCount || kvCount * 13 > c.left) {
    c.fail(`metadata_kv_count ${kvCount} is impossible in a file of ${fileSize} bytes`);
  }

  const metadata: Record<string, unknown> = {};
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`, GGUF_LIMITS.maxKeyBytes);
    const what = `metadata value '${key}'`;
    if (Object.prototype.hasOwnProperty.call(metadata, key)) c.fail(`metadata key '${key}' appears twice`);
    const type = c.u32(what);
    const whole = options.fullArrayPrefixes?.some((prefix) => key.startsWith(prefix)) ?? false;
    const value = c.value(type, what, 0, whole);
    if (key === 'general.alignment') {
      if (type !== 4) c.fail(`general.alignment must be a uint32, not ${VALUE_TYPES[type]}`);
      alignment = value as number;
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0 || alignment > 2 ** 30) {
        c.fail(`general.alignment ${alignment} is not a power of two`);
      }
    }
    // defineProperty, not assignment: a key named `__proto__` must stay an ordinary entry.
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }

  const tensors: ParsedTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor info #${i}`, GGUF_LIMITS.maxTensorNameBytes);
    const what = `tensor info #${i} ('${name}')`;
    if (names.has(name)) c.fail(`tensor '${name}' appears twice`);
    names.add(name);
    const nDims = c.u32(what);
    if (nDims > GGUF_LIMITS.maxDims) c.fail(`tensor '${name}' has ${nDims} dimensions (GGUF allows at most ${GGUF_LIMITS.maxDims})`);
    const ne: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.u64(what);
      ne.push(n);
      elements *= n;
      if (elements > Number.MAX_SAFE_INTEGER) c.fail(`tensor '${name}' has too many elements (${ne.join(' x ')}...)`);
    }
    const typeId = c.u32(what);
    const type = ggmlType(typeId);
    if (!type) c.fail(`tensor '${name}' has unknown ggml type ${typeId}`);
    const offset = c.u64(what);
    const rowLength = nDims > 0 ? ne[0] : 1;
    if (rowLength % type.blockSize !== 0) {
      c.fail(`tensor '${name}' rows of ${rowLength} elements are not a whole number of ${type.name} blocks (${type.blockSize})`);
    }
    tensors.push({ name, ne, type, offset, elements, byteLength: (elements / type.blockSize) * type.typeSize });
  }

  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  if (tensors.length > 0 && dataStart > fileSize) {
    c.fail(`the file is truncated: it ends at byte ${fileSize}, inside the padding before the data section (at ${dataStart})`);
  }
  checkTensorData(c, tensors, alignment, fileSize - dataStart);
  return { version, metadata, alignment, dataStart, tensors };
}

/** Offsets aligned, inside the data section, and no two tensors sharing bytes. */
function checkTensorData(c: Cursor, tensors: ParsedTensor[], alignment: number, dataSize: number): void {
  for (const t of tensors) {
    if (t.offset % alignment !== 0) c.fail(`tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    if (t.offset > dataSize || (t.offset === dataSize && t.byteLength > 0)) {
      c.fail(`tensor '${t.name}' offset ${t.offset} is out of bounds: the data section has ${dataSize} bytes`);
    }
    if (t.offset + t.byteLength > dataSize) {
      c.fail(
        `the file is truncated: tensor '${t.name}' data needs ${t.byteLength} bytes at offset ${t.offset} ` +
          `but the data section has ${dataSize} bytes`,
      );
    }
  }
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.byteLength) c.fail(`tensors '${prev.name}' and '${sorted[i].name}' overlap in the data section`);
  }
}

/** Reads the header in growing ranged reads: never more of the file than the header needs (plus slack). */
async function readHeader(reader: RangeReader, options: GgufOpenOptions): Promise<ParsedHeader> {
  let buf = await reader.read(0, Math.min(reader.size, GGUF_LIMITS.firstReadBytes), undefined, 'GGUF header');
  for (;;) {
    try {
      return parseHeader(buf, reader.size, reader.path, options);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      if (e.end > GGUF_LIMITS.maxHeaderBytes) {
        throw new FfnLensError(`the GGUF header is larger than ${GGUF_LIMITS.maxHeaderBytes} bytes`, reader.path);
      }
      const want = Math.min(reader.size, GGUF_LIMITS.maxHeaderBytes, Math.max(e.end, buf.length * 2));
      const more = await reader.read(buf.length, want - buf.length, undefined, 'GGUF header');
      const grown = new Uint8Array(want);
      grown.set(buf);
      grown.set(more, buf.length);
      buf = grown;
    }
  }
}

/** A GGUF file as a TensorSource. `bytesRead` counts every byte read from disk (header included). */
export class GgufSource implements TensorSource {
  readonly format = 'gguf' as const;
  readonly decodesPanels = true;
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly hints: SourceHints;
  /** GGUF version (2 or 3), alignment and absolute file offset of the data section. */
  readonly version: number;
  readonly alignment: number;
  readonly dataStart: number;
  private readonly byName: Map<string, ParsedTensor>;

  constructor(
    private readonly reader: RangeReader,
    header: ParsedHeader,
  ) {
    this.version = header.version;
    this.alignment = header.alignment;
    this.dataStart = header.dataStart;
    this.metadata = header.metadata;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
    // ne[0] is the fastest-moving dimension, so reversed ne is the row-major shape.
    this.tensors = header.tensors.map((t) => ({ name: t.name, dtype: t.type.name, shape: [...t.ne].reverse(), byteLength: t.byteLength }));
    const arch = header.metadata['general.architecture'];
    this.hints = typeof arch === 'string' ? { architecture: arch } : {};
  }

  get path(): string {
    return this.reader.path;
  }

  get bytesRead(): number {
    return this.reader.bytesRead;
  }

  read(name: string, options: ReadOptions = {}): Promise<Float32Array> {
    return this.decode(name, options, false);
  }

  readTransposed(name: string, options: ReadOptions = {}): Promise<Float32Array> {
    return this.decode(name, options, true);
  }

  /** Reads whole blocks a slice at a time (a row, ne0, is whole blocks), each dequantised into place as it comes. */
  private async decode(name: string, options: ReadOptions, transposed: boolean): Promise<Float32Array> {
    const t = this.byName.get(name);
    if (!t) throw new FfnLensError(`no tensor named '${name}' in this GGUF file`, this.path);
    const { type } = t;
    if (!type.decodable) {
      throw new FfnLensError(
        `tensor '${name}' has type ${type.name}, which FFN Lens cannot decode (it decodes ${decodableTypeNames().join(', ')})`,
        this.path,
      );
    }
    const what = `tensor '${name}'`;
    const shape = [...t.ne].reverse();
    if (transposed) checkTransposable(shape, what, this.path);
    if (t.elements > GGUF_LIMITS.maxDecodeElements) {
      throw new FfnLensError(`tensor '${name}' has ${t.elements} elements, more than one read can decode`, this.path, 'budget');
    }
    const [rows, cols] = rowsAndCols(shape);
    const panels = !!options.panels;
    if (panels) checkTransposable(shape, what, this.path);
    const length = panels ? panelsLength(transposed ? cols : rows, transposed ? rows : cols) : t.elements;
    const writer = new SliceWriter(targetArray(options, length), rows, cols, transposed, type.blockSize, panels);
    const start = this.dataStart + t.offset;
    let raw: Uint8Array | undefined;
    return decodeInSlices(writer, async (first, n, into) => {
      const length = (n / type.blockSize) * type.typeSize;
      if (!raw || raw.length < length) raw = new Uint8Array(length);
      const at = start + (first / type.blockSize) * type.typeSize;
      dequantize(type, await this.reader.read(at, length, options.signal, what, raw.subarray(0, length)), into);
    }, options.signal, this.path);
  }

  /** Rows of the tensor as [leading dims x ne0]: a row is whole blocks, so just their bytes are read. */
  async readRows(name: string, first: number, count: number, options: ReadOptions = {}): Promise<Float32Array> {
    const t = this.byName.get(name);
    if (!t) throw new FfnLensError(`no tensor named '${name}' in this GGUF file`, this.path);
    const { type } = t;
    const what = `tensor '${name}'`;
    if (!type.decodable) throw new FfnLensError(`${what} has type ${type.name}, which FFN Lens cannot decode (it decodes ${decodableTypeNames().join(', ')})`, this.path);
    const [rows, cols] = rowsAndCols([...t.ne].reverse());
    checkRowRange(first, count, rows, what, this.path);
    if (count * cols > GGUF_LIMITS.maxDecodeElements) throw new FfnLensError(`${what}: ${count} rows are more than one read can decode`, this.path, 'budget');
    const writer = new SliceWriter(targetArray(options, count * cols), count, cols, false, type.blockSize);
    const start = this.dataStart + t.offset + (first * cols / type.blockSize) * type.typeSize;
    let raw: Uint8Array | undefined;
    return decodeInSlices(writer, async (at, n, into) => {
      const length = (n / type.blockSize) * type.typeSize;
      if (!raw || raw.length < length) raw = new Uint8Array(length);
      dequantize(type, await this.reader.read(start + (at / type.blockSize) * type.typeSize, length, options.signal, what, raw.subarray(0, length)), into);
    }, options.signal, this.path);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

/** Opens a GGUF file: reads and validates its header only; tensors are decoded by `read`. */
export async function openGgufSource(path: string, options: GgufOpenOptions = {}): Promise<GgufSource> {
  const reader = await RangeReader.open(path);
  try {
    return new GgufSource(reader, await readHeader(reader, options));
  } catch (e) {
    await reader.close();
    throw e;
  }
}
