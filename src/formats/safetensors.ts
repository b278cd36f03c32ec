/**
 * safetensors reader: 8-byte little-endian header length, a JSON header, then one byte buffer.
 * The header is validated the way the official library does before anything is trusted; `read`
 * fetches only one tensor's byte range, a slice at a time. Sharded checkpoints
 * (`*.safetensors.index.json`, or a `model-00001-of-00003.safetensors` shard with its index beside
 * it) become one source that reads each tensor from its own shard. No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import { FfnLensError } from '../core/errors';
import { RangeReader, printable } from './fileRange';
import { checkDecodable, elementSlices, type ElementType } from './npy';
import { looksLikePickle, pickleRefusal, PICKLE_PROBE_BYTES } from './pickle';
import { panelsLength } from '../core/gemm';
import { checkTransposable, decodeInSlices, rowsAndCols, SliceWriter } from './slices';
import { checkRowRange, targetArray, type ReadOptions, type TensorInfo, type TensorSource } from './source';

/** The official library's limit on the header length. */
export const MAX_HEADER_BYTES = 100_000_000;
/** An index file is small JSON; refuse anything claiming to be one that is bigger than this. */
const MAX_INDEX_BYTES = 100_000_000;

const le = (kind: ElementType['kind'], size: ElementType['size']): ElementType => ({ kind, size, littleEndian: true });
/** Every dtype the format defines here, with its size; those without `element` are listed but not decoded. */
const DTYPES: Record<string, { size: number; element?: ElementType }> = {
  F64: { size: 8, element: le('f', 8) },
  F32: { size: 4, element: le('f', 4) },
  F16: { size: 2, element: le('f', 2) },
  BF16: { size: 2, element: le('bf', 2) },
  I64: { size: 8, element: le('i', 8) },
  I32: { size: 4, element: le('i', 4) },
  I16: { size: 2, element: le('i', 2) },
  I8: { size: 1, element: le('i', 1) },
  U64: { size: 8, element: le('u', 8) },
  U32: { size: 4, element: le('u', 4) },
  U16: { size: 2, element: le('u', 2) },
  U8: { size: 1, element: le('u', 1) },
  BOOL: { size: 1, element: le('b', 1) },
  F8_E4M3: { size: 1 },
  F8_E5M2: { size: 1 },
};

/** One validated header entry; `begin`/`end` are relative to the data buffer. */
export interface SafetensorsEntry extends TensorInfo {
  byteLength: number;
  begin: number;
  end: number;
}

/** A validated header: entries in file order, `dataStart` = 8 + header length. */
export interface SafetensorsHeader {
  dataStart: number;
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * Validates a header's JSON text against a file of `fileSize` bytes whose header is `headerLength`
 * bytes long: known dtypes, integer shapes, byte lengths matching dtype x shape, offsets in bounds,
 * and offsets that, sorted, tile the data buffer exactly with no gap or overlap.
 */
export function parseSafetensorsHeader(text: string, headerLength: number, fileSize: number, file: string): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FfnLensError(`safetensors header is not valid JSON (${printable((e as Error).message.split('\n')[0])})`, file);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FfnLensError('safetensors header is not a JSON object', file);
  }
  const dataStart = 8 + headerLength;
  const bufferLength = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null) continue;
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new FfnLensError('__metadata__ is not an object of strings', file);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new FfnLensError(`__metadata__ "${printable(k)}" is not a string`, file);
        setOwn(metadata, k, v);
      }
      continue;
    }
    entries.push(parseEntry(name, raw, bufferLength, file));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of entries) {
    if (e.begin < covered && previous) {
      throw new FfnLensError(`tensor "${printable(e.name)}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${printable(previous.name)}" [${previous.begin}, ${previous.end}]`, file);
    }
    if (e.begin > covered) {
      const after = previous ? `after tensor "${printable(previous.name)}"` : 'at the start of the data buffer';
      throw new FfnLensError(`tensor "${printable(e.name)}": data_offsets [${e.begin}, ${e.end}] leave a gap: bytes ${covered}..${e.begin} ${after} belong to no tensor`, file);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== bufferLength) {
    throw new FfnLensError(`the data buffer has ${bufferLength} bytes but the tensors cover ${covered}; bytes ${covered}..${bufferLength} belong to no tensor`, file);
  }
  return { dataStart, entries, metadata };
}

function parseEntry(name: string, raw: unknown, bufferLength: number, file: string): SafetensorsEntry {
  const where = `tensor "${printable(name)}"`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FfnLensError(`${where}: entry is not an object`, file);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPES)) {
    throw new FfnLensError(`${where}: dtype ${printable(String(JSON.stringify(dtype)))} is not a safetensors dtype (${Object.keys(DTYPES).join(' ')})`, file);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FfnLensError(`${where}: shape ${printable(String(JSON.stringify(shape)))} is not a list of non-negative integers`, file);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new FfnLensError(`${where}: data_offsets ${printable(String(JSON.stringify(offsets)))} is not [begin, end] with 0 <= begin <= end`, file);
  }
  const [begin, end] = offsets as [number, number];
  const needed = (shape as number[]).reduce((a, b) => a * b, DTYPES[dtype].size);
  if (needed !== end - begin) {
    const need = Number.isSafeInteger(needed) ? `${needed} bytes` : 'more bytes than a file can hold';
    throw new FfnLensError(`${where}: data_offsets [${begin}, ${end}] but dtype ${dtype} x shape [${shape.join(', ')}] needs ${need}`, file);
  }
  if (end > bufferLength) {
    throw new FfnLensError(`${where}: data_offsets [${begin}, ${end}] are past the end of the data buffer (${bufferLength} bytes)`, file);
  }
  // `+ 0` turns a JSON -0 into 0, so shapes and element counts are ordinary integers.
  return { name, dtype, shape: (shape as number[]).map((d) => d + 0), byteLength: end - begin, begin, end };
}

/** Reads and validates the header of an open file, reading only the first 8 + N bytes. */
export async function readSafetensorsHeader(reader: RangeReader): Promise<SafetensorsHeader> {
  const file = reader.path;
  if (reader.size < 8) {
    throw new FfnLensError(`the file is ${reader.size} bytes, too short for a safetensors header length`, file);
  }
  const prefix = await reader.read(0, 8, undefined, 'safetensors header length');
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  const problem =
    length > BigInt(MAX_HEADER_BYTES)
      ? `header length ${length} is over the ${MAX_HEADER_BYTES}-byte limit`
      : length > BigInt(reader.size - 8)
        ? `header length ${length} is larger than the rest of the file (${reader.size - 8} bytes)`
        : undefined;
  if (problem) {
    // Only a file that is not safetensors pays for the longer probe a PyTorch zip needs.
    const head = await reader.read(0, Math.min(reader.size, PICKLE_PROBE_BYTES), undefined, 'file start');
    if (looksLikePickle(head)) throw pickleRefusal(file);
    throw new FfnLensError(`not a valid safetensors file: ${problem}`, file);
  }
  const n = Number(length);
  const bytes = await reader.read(8, n, undefined, 'safetensors header');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FfnLensError('safetensors header is not valid UTF-8', file);
  }
  return parseSafetensorsHeader(text, n, reader.size, file);
}

interface Located {
  entry: SafetensorsEntry;
  reader: RangeReader;
  dataStart: number;
}

/** A source over one or more safetensors files (one per shard). */
export class SafetensorsSource implements TensorSource {
  readonly format = 'safetensors' as const;
  readonly tensors: readonly TensorInfo[];
  readonly hints = {};
  readonly decodesPanels = true;
  private readonly byName = new Map<string, Located>();

  constructor(
    readonly path: string,
    private readonly readers: RangeReader[],
    headers: SafetensorsHeader[],
    readonly metadata: Readonly<Record<string, unknown>>,
  ) {
    const tensors: TensorInfo[] = [];
    headers.forEach((h, i) => {
      for (const entry of h.entries) {
        const seen = this.byName.get(entry.name);
        if (seen) {
          throw new FfnLensError(`tensor "${printable(entry.name)}" is in both ${nodePath.basename(seen.reader.path)} and ${nodePath.basename(readers[i].path)}`, path);
        }
        this.byName.set(entry.name, { entry, reader: readers[i], dataStart: h.dataStart });
        tensors.push({ name: entry.name, dtype: entry.dtype, shape: entry.shape, byteLength: entry.byteLength });
      }
    });
    this.tensors = tensors;
  }

  /** Bytes read from all files so far (headers included); lets tests prove `read` touches one range. */
  get bytesRead(): number {
    return this.readers.reduce((sum, r) => sum + r.bytesRead, 0);
  }

  /** The shard file a tensor lives in (for sharded checkpoints), or undefined when there is no such tensor. */
  fileOf(name: string): string | undefined {
    return this.byName.get(name)?.reader.path;
  }

  read(name: string, options?: ReadOptions): Promise<Float32Array> {
    return this.decode(name, options, false);
  }

  readTransposed(name: string, options?: ReadOptions): Promise<Float32Array> {
    return this.decode(name, options, true);
  }

  /** Reads one tensor's byte range a slice at a time, each decoded (or transposed) into the output as it comes. */
  private async decode(name: string, options: ReadOptions | undefined, transposed: boolean): Promise<Float32Array> {
    const at = this.byName.get(name);
    if (!at) throw new FfnLensError(`no tensor named "${printable(name)}"`, this.path);
    const { entry, reader, dataStart } = at;
    const element = DTYPES[entry.dtype].element;
    if (!element) throw new FfnLensError(`tensor "${printable(name)}" has dtype ${entry.dtype}, which FFN Lens cannot decode (8-bit floats are not supported)`, reader.path);
    const what = `tensor "${printable(name)}"`;
    if (transposed) checkTransposable(entry.shape, what, reader.path);
    const count = entry.byteLength / element.size;
    checkDecodable(count, element, reader.path, what);
    const [rows, cols] = rowsAndCols(entry.shape);
    const panels = !!options?.panels;
    if (panels) checkTransposable(entry.shape, what, reader.path);
    const length = panels ? panelsLength(transposed ? cols : rows, transposed ? rows : cols) : count;
    const writer = new SliceWriter(targetArray(options, length), rows, cols, transposed, 1, panels);
    return decodeInSlices(writer, elementSlices(reader, dataStart + entry.begin, element, options?.signal, what), options?.signal, reader.path);
  }

  /** Rows of the tensor as [leading dims x last]: one ranged read of just their bytes. */
  async readRows(name: string, first: number, count: number, options?: ReadOptions): Promise<Float32Array> {
    const at = this.byName.get(name);
    if (!at) throw new FfnLensError(`no tensor named "${printable(name)}"`, this.path);
    const { entry, reader, dataStart } = at;
    const element = DTYPES[entry.dtype].element;
    const what = `tensor "${printable(name)}"`;
    if (!element) throw new FfnLensError(`${what} has dtype ${entry.dtype}, which FFN Lens cannot decode (8-bit floats are not supported)`, reader.path);
    const [rows, cols] = rowsAndCols(entry.shape);
    checkRowRange(first, count, rows, what, reader.path);
    const writer = new SliceWriter(targetArray(options, count * cols), count, cols, false);
    const start = dataStart + entry.begin + first * cols * element.size;
    return decodeInSlices(writer, elementSlices(reader, start, element, options?.signal, what), options?.signal, reader.path);
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}

/**
 * Opens a `.safetensors` file, a `*.safetensors.index.json`, or a shard such as
 * `model-00001-of-00003.safetensors` (then the index beside it is used to list every shard).
 */
export async function openSafetensorsSource(path: string): Promise<SafetensorsSource> {
  if (/\.index\.json$/i.test(path)) return openIndexed(path, path);
  const index = await findIndexFor(path);
  if (index) return openIndexed(index, path);
  const reader = await RangeReader.open(path);
  try {
    const header = await readSafetensorsHeader(reader);
    return new SafetensorsSource(path, [reader], [header], header.metadata);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** The index that lists shard `path`: `<prefix>.safetensors.index.json`, else any index beside it naming it. */
async function findIndexFor(path: string): Promise<string | undefined> {
  const m = /^(.+)-\d+-of-\d+\.safetensors$/i.exec(nodePath.basename(path));
  if (!m) return undefined;
  const dir = nodePath.dirname(path);
  const candidates = [`${m[1]}.safetensors.index.json`];
  try {
    for (const f of (await fs.readdir(dir)).sort()) if (f.endsWith('.safetensors.index.json') && f !== candidates[0]) candidates.push(f);
  } catch {
    return undefined;
  }
  for (const c of candidates) {
    const full = nodePath.join(dir, c);
    const index = await readIndex(full).catch(() => undefined);
    if (index && Object.values(index.weightMap).includes(nodePath.basename(path))) return full;
  }
  return undefined;
}

async function readIndex(indexPath: string): Promise<{ weightMap: Record<string, string>; metadata: Record<string, unknown> }> {
  const reader = await RangeReader.open(indexPath);
  let text: string;
  try {
    if (reader.size > MAX_INDEX_BYTES) throw new FfnLensError(`index file is ${reader.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`, indexPath);
    text = Buffer.from(await reader.read(0, reader.size, undefined, 'index')).toString('utf8');
  } finally {
    await reader.close();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FfnLensError(`index is not valid JSON (${printable((e as Error).message.split('\n')[0])})`, indexPath);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new FfnLensError('index has no "weight_map" object mapping tensor names to shard files', indexPath);
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '' || nodePath.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new FfnLensError(`weight_map["${printable(name)}"] = ${printable(String(JSON.stringify(shard)))} is not a shard file name beside the index`, indexPath);
    }
  }
  const meta = (json as { metadata?: unknown }).metadata;
  const metadata = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
  return { weightMap: weightMap as Record<string, string>, metadata };
}

async function openIndexed(indexPath: string, openedPath: string): Promise<SafetensorsSource> {
  const { weightMap, metadata } = await readIndex(indexPath);
  const shardNames = [...new Set(Object.values(weightMap))].sort();
  if (shardNames.length === 0) throw new FfnLensError('index weight_map is empty', indexPath);
  const dir = nodePath.dirname(indexPath);
  const notSafetensors = shardNames.find((s) => !/\.safetensors$/i.test(s));
  if (notSafetensors) {
    if (/\.(bin|pt|pth|ckpt|pkl)$/i.test(notSafetensors)) throw pickleRefusal(indexPath);
    throw new FfnLensError(`index lists shard ${printable(notSafetensors)}, which is not a .safetensors file`, indexPath);
  }
  const readers: RangeReader[] = [];
  try {
    const headers: SafetensorsHeader[] = [];
    for (const shard of shardNames) {
      const reader = await RangeReader.open(nodePath.join(dir, shard));
      readers.push(reader);
      headers.push(await readSafetensorsHeader(reader));
    }
    const names = headers.map((h) => new Set(h.entries.map((e) => e.name)));
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!names[shardNames.indexOf(shard)].has(name)) {
        throw new FfnLensError(`index says tensor "${printable(name)}" is in ${printable(shard)}, but that shard has no such tensor`, indexPath);
      }
    }
    const merged: Record<string, unknown> = {};
    for (const h of headers) assignOwn(merged, h.metadata);
    assignOwn(merged, metadata);
    return new SafetensorsSource(openedPath, readers, headers, merged);
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
}

/** `target[key] = value` by defineProperty: a key named `__proto__` in a file stays an ordinary entry instead of replacing the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Object.assign through `setOwn`. */
function assignOwn(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) setOwn(target, k, v);
}
