/**
 * Small writers of safetensors, .npy and .npz files for tests, written from the published specs
 * (safetensors README, numpy.lib.format / NEP 1, PKWARE APPNOTE) and independently of the readers
 * in src/formats: their own f16/bf16 rounding, their own CRC-32, their own zip layout. They also
 * write deliberately broken files (raw headers, wrong flags) for the validation tests.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

// ---- scalar encodings ----

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of `x` (first rounded to float32), round-to-nearest-even, overflow to infinity. */
export function f16Bits(x: number): number {
  f32[0] = x;
  const b = f32Bits[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** bfloat16 bits of `x` (first rounded to float32), round-to-nearest-even; NaN stays a quiet NaN. */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const b = f32Bits[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Element sizes of the dtypes the writers know, by safetensors name. */
export const DTYPE_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** Encodes numbers as `dtype` (safetensors names; npy kinds map onto them with `npyKind`). */
export function encodeValues(dtype: string, values: readonly number[], littleEndian = true): Uint8Array {
  const size = DTYPE_SIZE[dtype];
  if (!size) throw new Error(`writer: unknown dtype ${dtype}`);
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    const at = i * size;
    switch (dtype) {
      case 'F64': return v.setFloat64(at, x, littleEndian);
      case 'F32': return v.setFloat32(at, x, littleEndian);
      case 'F16': return v.setUint16(at, f16Bits(x), littleEndian);
      case 'BF16': return v.setUint16(at, bf16Bits(x), littleEndian);
      case 'I64': return v.setBigInt64(at, BigInt(x), littleEndian);
      case 'U64': return v.setBigUint64(at, BigInt(x), littleEndian);
      case 'I32': return v.setInt32(at, x, littleEndian);
      case 'U32': return v.setUint32(at, x, littleEndian);
      case 'I16': return v.setInt16(at, x, littleEndian);
      case 'U16': return v.setUint16(at, x, littleEndian);
      case 'I8': return v.setInt8(at, x);
      case 'BOOL': return v.setUint8(at, x ? 1 : 0);
      default: return v.setUint8(at, x);
    }
  });
  return out;
}

function u64le(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

// ---- safetensors ----

export interface StTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Values in row-major order, encoded with `encodeValues`; or raw bytes. */
  values: readonly number[] | Uint8Array;
}

/** A valid safetensors file: tensors laid out back to back in the given order. `pad` appends spaces to the header. */
export function safetensorsBytes(tensors: readonly StTensor[], metadata?: Record<string, string>, pad = 0): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const buffers: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.values instanceof Uint8Array ? t.values : encodeValues(t.dtype, t.values);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    buffers.push(bytes);
    offset += bytes.length;
  }
  return safetensorsRaw(JSON.stringify(header) + ' '.repeat(pad), concat(buffers));
}

/** A safetensors file from any header text and buffer; `headerLength` overrides the 8-byte length field. */
export function safetensorsRaw(header: string | object, buffer: Uint8Array, headerLength?: number | bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  return concat([u64le(headerLength ?? text.length), text, buffer]);
}

/**
 * Writes `<prefix>-0000i-of-0000n.safetensors` shards and `<prefix>.safetensors.index.json` to `dir`,
 * as transformers' `save_pretrained` does. Returns the paths.
 */
export function writeShardedSafetensors(dir: string, prefix: string, shards: readonly (readonly StTensor[])[], metadata: Record<string, unknown> = {}): { index: string; shards: string[] } {
  const n = String(shards.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const paths = shards.map((tensors, i) => {
    const name = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${n}.safetensors`;
    for (const t of tensors) weightMap[t.name] = name;
    const p = path.join(dir, name);
    fs.writeFileSync(p, safetensorsBytes(tensors, { format: 'pt' }));
    return p;
  });
  const index = path.join(dir, `${prefix}.safetensors.index.json`);
  fs.writeFileSync(index, JSON.stringify({ metadata, weight_map: weightMap }, null, 2));
  return { index, shards: paths };
}

// ---- npy ----

export interface NpyOptions {
  /** e.g. `<f4`, `>f8`, `|u1`, `|O`. */
  descr: string;
  shape: readonly number[];
  /** Values in file order (for Fortran order: column-major), encoded per descr. Or raw data bytes. */
  values: readonly number[] | Uint8Array;
  fortran?: boolean;
  version?: 1 | 2 | 3;
  /** Replace the whole header dict text (for broken-file tests). */
  dict?: string;
}

const NPY_KIND: Record<string, string> = {
  f2: 'F16', f4: 'F32', f8: 'F64', i1: 'I8', i2: 'I16', i4: 'I32', i8: 'I64', u1: 'U8', u2: 'U16', u4: 'U32', u8: 'U64', b1: 'BOOL',
};

/** An .npy file per numpy.lib.format: magic, version, little-endian header length, dict padded to 64 bytes with '\n'. */
export function npyBytes(o: NpyOptions): Buffer {
  const version = o.version ?? 1;
  const shape = o.shape.length === 1 ? `(${o.shape[0]},)` : `(${o.shape.join(', ')})`;
  const dict = o.dict ?? `{'descr': '${o.descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const lenBytes = version === 1 ? 2 : 4;
  const unpadded = 6 + 2 + lenBytes + Buffer.byteLength(dict, version === 3 ? 'utf8' : 'latin1') + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = Buffer.from(header, version === 3 ? 'utf8' : 'latin1');
  const prelude = Buffer.alloc(8 + lenBytes);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(prelude);
  if (version === 1) prelude.writeUInt16LE(headerBytes.length, 8);
  else prelude.writeUInt32LE(headerBytes.length, 8);
  let data: Uint8Array;
  if (o.values instanceof Uint8Array) data = o.values;
  else {
    const kind = NPY_KIND[o.descr.slice(1)];
    if (!kind) throw new Error(`writer: no encoding for descr ${o.descr}`);
    data = encodeValues(kind, o.values, o.descr[0] !== '>');
  }
  return concat([prelude, headerBytes, data]);
}

// ---- zip / npz ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as zip uses it). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipMember {
  name: string;
  data: Uint8Array;
  /** 0 = stored, 8 = deflate; any other number is written as-is over stored bytes. */
  method?: number;
  /** Set the "encrypted" flag bit (the data itself is left plain). */
  encrypted?: boolean;
  /** Write this CRC instead of the real one. */
  crc?: number;
  /** Declare this uncompressed size instead of the real one. */
  uncompressedSize?: number;
  /** Write these bytes as the member body instead of (deflated) `data`. */
  body?: Uint8Array;
}

/**
 * A zip archive: local headers and data, central directory, end record. With `zip64`, every
 * central entry carries its sizes and offset in a zip64 extra field and the archive ends with a
 * zip64 end record and locator, as writers do for archives over 4 GiB.
 */
export function zipBytes(members: readonly ZipMember[], options: { zip64?: boolean; comment?: string } = {}): Buffer {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 0;
    const body = m.body ?? (method === 8 ? zlib.deflateRawSync(m.data) : m.data);
    const size = m.uncompressedSize ?? m.data.length;
    const crc = m.crc ?? crc32(m.data);
    const name = Buffer.from(m.name, 'utf8');
    const flags = 0x0800 | (m.encrypted ? 1 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(options.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const extra = Buffer.alloc(options.zip64 ? 28 : 0);
    if (options.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x031e, 4);
    c.writeUInt16LE(options.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0x21, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(options.zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(options.zip64 ? 0xffffffff : size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += local.length + name.length + body.length;
  }
  const cd = concat(central);
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const end: Uint8Array[] = [];
  if (options.zip64) {
    const z = Buffer.alloc(56);
    z.writeUInt32LE(0x06064b50, 0);
    z.writeBigUInt64LE(44n, 4);
    z.writeUInt16LE(45, 12);
    z.writeUInt16LE(45, 14);
    z.writeBigUInt64LE(BigInt(members.length), 24);
    z.writeBigUInt64LE(BigInt(members.length), 32);
    z.writeBigUInt64LE(BigInt(cd.length), 40);
    z.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    end.push(z, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : members.length, 8);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : members.length, 10);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  return concat([...parts, cd, ...end, eocd, comment]);
}

/** An .npz: each array stored as `<key>.npy` (as np.savez / np.savez_compressed name them). */
export function npzBytes(arrays: Record<string, Uint8Array>, method: 0 | 8 = 0, options: { zip64?: boolean } = {}): Buffer {
  return zipBytes(Object.entries(arrays).map(([key, data]) => ({ name: `${key}.npy`, data, method })), options);
}

// ---- temp files ----

/** A fresh directory under os.tmpdir() for one test file's fixtures. */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ffn-lens-${label}-`));
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writeFixture(dir: string, name: string, bytes: Uint8Array | string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}
