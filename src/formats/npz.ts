/**
 * NumPy `.npz` reader: a zip (PKWARE APPNOTE) of `.npy` members. Only the end-of-central-directory
 * record (zip64 too), the central directory and each member's `.npy` header are read to list
 * tensors; stored members are then read by range, deflated ones inflated with node's zlib a slice
 * at a time, capped at their declared size and checked against their CRC-32. `layer0/W1.npy` is
 * listed as `layer0.W1` so the layer finder sees dotted names. No `vscode` import.
 */
import * as zlib from 'zlib';
import { FfnLensError, isFfnLensError } from '../core/errors';
import { RangeReader, printable, throwIfAborted } from './fileRange';
import { checkDecodable, decodeElements, decodeNpyData, npyDataOffset, npyWriter, parseNpyHeader, readNpyData, NPY_PRELUDE, type ElementType, type NpyHeader } from './npy';
import { isTorchPickleMember, looksLikePickle, pickleRefusal, PICKLE_PROBE_BYTES } from './pickle';
import { checkTransposable, SLICE_LIMITS, type SliceWriter } from './slices';
import { targetArray, type ReadOptions, type TensorInfo, type TensorSource } from './source';

/** One member as the central directory describes it. */
export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** A deflated member bigger than this is refused. */
export const MAX_INFLATED_BYTES = 2 * 1024 ** 3;
/** Deflate cannot expand data by more than about 1032:1; a bigger claim is a lie. */
const MAX_DEFLATE_RATIO = 1032;
const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const METHOD_NAMES: Record<number, string> = { 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz', 99: 'AES encryption' };

/** Where the central directory is and how many entries it claims. */
interface Directory {
  offset: number;
  size: number;
  count: number;
  /** The first byte after the central directory that belongs to the end records. */
  end: number;
}

async function findDirectory(reader: RangeReader): Promise<Directory> {
  const file = reader.path;
  const tailStart = Math.max(0, reader.size - (22 + 0xffff));
  const tail = await reader.read(tailStart, reader.size - tailStart, undefined, 'zip end record');
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD && i + 22 + view.getUint16(i + 20, true) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    const head = tailStart === 0 ? tail : await reader.read(0, PICKLE_PROBE_BYTES, undefined, 'file start');
    if (looksLikePickle(head)) throw pickleRefusal(file);
    throw new FfnLensError('no zip end-of-central-directory record: not an .npz (zip) file, or the file is truncated', file);
  }
  const eocdAt = tailStart + at;
  if (view.getUint16(at + 4, true) !== 0 || view.getUint16(at + 6, true) !== 0) {
    throw new FfnLensError('multi-disk (split) zip archives are not supported', file);
  }
  let dir: Directory = { count: view.getUint16(at + 10, true), size: view.getUint32(at + 12, true), offset: view.getUint32(at + 16, true), end: eocdAt };
  const hasLocator = at >= 20 && view.getUint32(at - 20, true) === ZIP64_LOCATOR;
  if (hasLocator) {
    const z64At = Number(view.getBigUint64(at - 20 + 8, true));
    if (!Number.isSafeInteger(z64At) || z64At + 56 > eocdAt - 20) {
      throw new FfnLensError(`zip64 end record offset ${z64At} is outside the file`, file);
    }
    const rec = await reader.read(z64At, 56, undefined, 'zip64 end record');
    const v = new DataView(rec.buffer, rec.byteOffset, 56);
    if (v.getUint32(0, true) !== ZIP64_EOCD) throw new FfnLensError(`no zip64 end-of-central-directory record at byte ${z64At}`, file);
    const u64 = (o: number): number => Number(v.getBigUint64(o, true));
    dir = { count: u64(32), size: u64(40), offset: u64(48), end: z64At };
  } else if (dir.count === 0xffff || dir.size === 0xffffffff || dir.offset === 0xffffffff) {
    throw new FfnLensError('the zip end record points to a zip64 record that is missing', file);
  }
  if (!Number.isSafeInteger(dir.offset + dir.size) || dir.offset + dir.size > dir.end) {
    throw new FfnLensError(`central directory (bytes ${dir.offset}..${dir.offset + dir.size}) runs past its end record at byte ${dir.end}: the file is truncated or corrupt`, file);
  }
  if (dir.count * 46 > dir.size) {
    throw new FfnLensError(`central directory is truncated: ${dir.count} entries cannot fit in ${dir.size} bytes`, file);
  }
  return dir;
}

/** Reads the central directory: names, methods, sizes, CRCs and local header offsets of every member. */
export async function readZipDirectory(reader: RangeReader): Promise<{ entries: ZipEntry[]; directoryOffset: number }> {
  const file = reader.path;
  const dir = await findDirectory(reader);
  const cd = await reader.read(dir.offset, dir.size, undefined, 'zip central directory');
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let k = 1; k <= dir.count; k++) {
    const truncated = (): FfnLensError => new FfnLensError(`central directory is truncated at entry ${k} of ${dir.count}`, file);
    if (p + 46 > cd.length) throw truncated();
    if (v.getUint32(p, true) !== CENTRAL) {
      throw new FfnLensError(`central directory entry ${k} of ${dir.count} has a bad signature at byte ${dir.offset + p}`, file);
    }
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw truncated();
    const entry: ZipEntry = {
      name: Buffer.from(cd.subarray(p + 46, p + 46 + nameLen)).toString('utf8'),
      flags: v.getUint16(p + 8, true),
      method: v.getUint16(p + 10, true),
      crc32: v.getUint32(p + 16, true),
      compressedSize: v.getUint32(p + 20, true),
      uncompressedSize: v.getUint32(p + 24, true),
      localHeaderOffset: v.getUint32(p + 42, true),
    };
    applyZip64Extra(entry, new DataView(cd.buffer, cd.byteOffset + p + 46 + nameLen, extraLen), file);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { entries, directoryOffset: dir.offset };
}

/** Fields saturated at 0xffffffff are given, in this order, by the zip64 extra field (id 1). */
function applyZip64Extra(e: ZipEntry, extra: DataView, file: string): void {
  for (let q = 0; q + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(q, true);
    const size = extra.getUint16(q + 2, true);
    if (id === 1) {
      let r = q + 4;
      const next = (): number => {
        if (r + 8 > q + 4 + size || r + 8 > extra.byteLength) throw new FfnLensError(`member "${printable(e.name)}": zip64 extra field is too short`, file);
        const value = Number(extra.getBigUint64(r, true));
        r += 8;
        return value;
      };
      if (e.uncompressedSize === 0xffffffff) e.uncompressedSize = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = next();
      return;
    }
    q += 4 + size;
  }
}

/** A listed `.npy` member: where its bytes are and its parsed header. */
interface Member {
  entry: ZipEntry;
  dataStart: number;
  header: NpyHeader;
}

/** `layer0/W1.npy` -> `layer0.W1`. */
export function npzTensorName(member: string): string {
  return member.replace(/^(\.?\/)+/, '').replace(/\.npy$/i, '').split('/').filter((s) => s !== '').join('.');
}

/** Opens an `.npz` and lists its `.npy` members, reading only the zip directory and each member's header. */
export async function openNpzSource(path: string): Promise<TensorSource> {
  const reader = await RangeReader.open(path);
  try {
    const { entries, directoryOffset } = await readZipDirectory(reader);
    if (entries.some((e) => isTorchPickleMember(e.name))) throw pickleRefusal(path);
    const members = new Map<string, Member>();
    for (const entry of entries) {
      if (!/\.npy$/i.test(entry.name) || entry.name.endsWith('/')) continue;
      const name = npzTensorName(entry.name);
      const clash = members.get(name);
      if (clash) throw new FfnLensError(`members "${printable(clash.entry.name)}" and "${printable(entry.name)}" both become tensor "${printable(name)}"`, path);
      members.set(name, await listMember(reader, entry, directoryOffset));
    }
    if (members.size === 0) throw new FfnLensError('the archive contains no .npy members', path);
    return new NpzSource(path, reader, members);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

async function listMember(reader: RangeReader, entry: ZipEntry, directoryOffset: number): Promise<Member> {
  const file = reader.path;
  const where = `member "${printable(entry.name)}"`;
  if (entry.flags & 1) throw new FfnLensError(`${where} is encrypted; FFN Lens cannot read encrypted zip members`, file);
  if (entry.method !== 0 && entry.method !== 8) {
    const name = METHOD_NAMES[entry.method] ? ` (${METHOD_NAMES[entry.method]})` : '';
    throw new FfnLensError(`${where} uses compression method ${entry.method}${name}; only stored (0) and deflate (8) are supported`, file);
  }
  if (entry.localHeaderOffset + 30 > directoryOffset) {
    throw new FfnLensError(`${where}: local header offset ${entry.localHeaderOffset} is past the start of the central directory`, file);
  }
  const local = await reader.read(entry.localHeaderOffset, 30, undefined, `${where} local header`);
  const lv = new DataView(local.buffer, local.byteOffset, 30);
  if (lv.getUint32(0, true) !== LOCAL) throw new FfnLensError(`${where}: no local file header at byte ${entry.localHeaderOffset}`, file);
  const dataStart = entry.localHeaderOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
  if (dataStart + entry.compressedSize > directoryOffset) {
    throw new FfnLensError(`${where}: ${entry.compressedSize} bytes at byte ${dataStart} run into the central directory at ${directoryOffset}`, file);
  }
  let prefix: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new FfnLensError(`${where} is stored but its sizes differ (${entry.compressedSize} vs ${entry.uncompressedSize})`, file);
    }
    const head = await reader.read(dataStart, Math.min(NPY_PRELUDE, entry.uncompressedSize), undefined, where);
    prefix = await reader.read(dataStart, npyDataOffset(head, entry.uncompressedSize, file, `${where}: `), undefined, where);
  } else {
    checkInflateClaim(entry, file, where);
    const head = await inflatePrefix(reader, dataStart, entry.compressedSize, NPY_PRELUDE, where);
    const need = npyDataOffset(head.subarray(0, NPY_PRELUDE), entry.uncompressedSize, file, `${where}: `);
    prefix = need <= head.length ? head : await inflatePrefix(reader, dataStart, entry.compressedSize, need, where);
    if (prefix.length < need) throw new FfnLensError(`${where}: the deflated data ends inside the .npy header`, file);
  }
  const header = parseNpyHeader(prefix, file, `${where}: `);
  const held = entry.uncompressedSize - header.dataOffset;
  if (held !== header.dataBytes) {
    throw new FfnLensError(`${where}: dtype ${printable(header.descr)} x shape (${header.shape.join(', ')}) needs ${header.dataBytes} data bytes but the member holds ${held}`, file);
  }
  return { entry, dataStart, header };
}

function checkInflateClaim(entry: ZipEntry, file: string, where: string): void {
  if (entry.uncompressedSize > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new FfnLensError(`${where} claims ${entry.uncompressedSize} bytes from only ${entry.compressedSize} compressed bytes, more than deflate can produce`, file);
  }
  if (entry.uncompressedSize > MAX_INFLATED_BYTES) {
    throw new FfnLensError(`${where} inflates to ${entry.uncompressedSize} bytes, over the ${MAX_INFLATED_BYTES}-byte memory budget; save it uncompressed (np.savez)`, file, 'budget');
  }
}

/** Inflates just enough of a deflated member to get `want` bytes (its .npy header), feeding small slices. */
async function inflatePrefix(reader: RangeReader, start: number, compressedSize: number, want: number, where: string): Promise<Uint8Array> {
  const inflater = zlib.createInflateRaw();
  const chunks: Buffer[] = [];
  let got = 0;
  let failure: Error | undefined;
  inflater.on('data', (c: Buffer) => {
    chunks.push(c);
    got += c.length;
  });
  inflater.on('error', (e: Error) => (failure = e));
  try {
    for (let pos = 0, slice = 1024; got < want && pos < compressedSize && !failure; slice = Math.min(slice * 2, 16 * 1024)) {
      const n = Math.min(slice, compressedSize - pos);
      const piece = await reader.read(start + pos, n, undefined, where);
      pos += n;
      await new Promise<void>((resolve) => {
        inflater.once('error', () => resolve());
        inflater.write(piece);
        inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    inflater.destroy();
  }
  if (failure) throw new FfnLensError(`${where}: deflate data is corrupt (${printable(failure.message)})`, reader.path);
  return Buffer.concat(chunks);
}

/**
 * Gathers inflated data bytes into slices of whole elements and decodes each into `writer` as soon
 * as it is full; a cancel lands between slices.
 */
function sliceFeeder(writer: SliceWriter, el: ElementType, signal: AbortSignal | undefined, file: string, what: string): (bytes: Uint8Array) => void {
  const raw = new Uint8Array(Math.min(writer.sliceLength, writer.length) * el.size);
  let first = 0;
  let filled = 0;
  return (bytes) => {
    for (let p = 0; p < bytes.length; ) {
      const n = Math.min(writer.sliceLength, writer.length - first);
      if (n === 0) throw new FfnLensError(`${what} holds more data than its shape`, file);
      const want = n * el.size;
      const k = Math.min(want - filled, bytes.length - p);
      raw.set(bytes.subarray(p, p + k), filled);
      filled += k;
      p += k;
      if (filled === want) {
        decodeElements(raw.subarray(0, want), el, n, file, what, writer.target(first, n));
        writer.commit(first, n);
        first += n;
        filled = 0;
        throwIfAborted(signal, file);
      }
    }
  };
}

class NpzSource implements TensorSource {
  readonly format = 'npz' as const;
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Readonly<Record<string, unknown>> = {};
  readonly hints = {};

  constructor(readonly path: string, private readonly reader: RangeReader, private readonly members: Map<string, Member>) {
    this.tensors = [...members].map(([name, m]) => ({ name, dtype: m.header.descr, shape: m.header.shape, byteLength: m.header.dataBytes }));
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
    const m = this.members.get(name);
    if (!m) throw new FfnLensError(`no tensor named "${printable(name)}"`, this.path);
    const { entry, dataStart, header } = m;
    const what = `tensor "${printable(name)}" (member "${printable(entry.name)}")`;
    if (entry.method === 0) return readNpyData(this.reader, dataStart + header.dataOffset, header, options, transposed, what);
    if (transposed) checkTransposable(header.shape, what, this.path);
    checkDecodable(header.count, header.element, this.path, what);
    const out = targetArray(options, header.count);
    const writer = npyWriter(header, out, transposed);
    if (!writer) {
      // A Fortran-order array of three or more dimensions is reordered whole.
      const data = new Uint8Array(header.dataBytes);
      let filled = 0;
      await this.inflate(m, what, options?.signal, (bytes) => {
        data.set(bytes, filled);
        filled += bytes.length;
      });
      return decodeNpyData(data, header, this.path, what, out);
    }
    const feed = sliceFeeder(writer, header.element, options?.signal, this.path, what);
    await this.inflate(m, what, options?.signal, feed);
    return out;
  }

  /**
   * Inflates a deflated member a compressed slice at a time, handing the bytes after its .npy
   * header to `take` as they come (so no whole copy of the member is held), and checks the size
   * and CRC-32 the zip directory gives. Each slice is inflated before the next is read.
   */
  private async inflate(m: Member, what: string, signal: AbortSignal | undefined, take: (bytes: Uint8Array) => void): Promise<void> {
    const { entry, dataStart, header } = m;
    const { reader, path } = this;
    const sliceBytes = Math.max(1024, Math.floor(SLICE_LIMITS.bytes / 4));
    let seen = 0;
    let crc = 0;
    let failure: unknown;
    const inflater = zlib.createInflateRaw();
    // 'data' handlers run as the output comes, so at most one output chunk is held at a time.
    inflater.on('data', (chunk: Buffer) => {
      if (failure) return;
      try {
        if (seen + chunk.length > entry.uncompressedSize) throw new FfnLensError(`${what} inflates past its declared ${entry.uncompressedSize} bytes`, path);
        crc = zlib.crc32(chunk, crc);
        const skip = Math.min(chunk.length, Math.max(0, header.dataOffset - seen));
        seen += chunk.length;
        if (skip < chunk.length) take(chunk.subarray(skip));
      } catch (e) {
        failure = e;
      }
    });
    // Settles when the inflater closes (after its last 'data') or fails.
    const finished = new Promise<void>((resolve) => {
      inflater.on('error', (e) => {
        failure ??= e;
        resolve();
      });
      inflater.once('close', resolve);
    });
    try {
      for (let pos = 0; pos < entry.compressedSize && !failure; ) {
        const n = Math.min(sliceBytes, entry.compressedSize - pos);
        const piece = await reader.read(dataStart + pos, n, signal, what);
        pos += n;
        await Promise.race([new Promise<void>((resolve) => inflater.write(piece, () => resolve())), finished]);
      }
      if (!failure) {
        inflater.end();
        await finished;
      }
    } finally {
      inflater.destroy();
    }
    if (failure) {
      if (isFfnLensError(failure)) throw failure;
      throw new FfnLensError(`${what}: deflate data is corrupt (${printable((failure as Error).message)})`, path);
    }
    throwIfAborted(signal, path);
    if (seen !== entry.uncompressedSize) {
      throw new FfnLensError(`${what} inflates to ${seen} bytes but the zip directory says ${entry.uncompressedSize}`, path);
    }
    if (crc >>> 0 !== entry.crc32) throw new FfnLensError(`${what}: CRC-32 mismatch, the member is corrupt`, path);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
