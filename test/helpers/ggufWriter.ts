/**
 * A small GGUF v3 (or v2) writer for tests, written from ggml's docs/gguf.md and independent of
 * src/formats/gguf.ts: metadata of every value type, tensors given as F32/F16/BF16 values or as
 * raw (pre-quantised) bytes. Knobs let a test break the file on purpose (counts, offsets, magic).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

/** ggml_type ids from the spec's enum. */
export const GGML_TYPE = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9, Q2_K: 10, Q3_K: 11, Q4_K: 12,
  Q5_K: 13, Q6_K: 14, Q8_K: 15, IQ2_XXS: 16, I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, BF16: 30,
} as const;

/** gguf_metadata_value_type names, in enum order (uint8 = 0 ... float64 = 12). */
const VALUE_TYPE_IDS = {
  uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9,
  uint64: 10, int64: 11, float64: 12,
} as const;
export type ScalarType = Exclude<keyof typeof VALUE_TYPE_IDS, 'array'>;

export type KvValue =
  | { type: ScalarType; value: number | bigint | boolean | string }
  | { type: 'array'; itemType: ScalarType | 'array'; items: KvValue[] | (number | bigint | boolean | string)[] };

export interface WriterTensor {
  name: string;
  /** ggml ne: ne[0] is the fastest-moving dimension. Written as given (even more than 4). */
  ne: number[];
  type: number;
  data: Uint8Array;
  /** Offset written into the tensor info instead of the real one (the data still goes where it would). */
  offsetOverride?: number | bigint;
}

export interface WriterOptions {
  magic?: string;
  version?: number;
  /** When set, `general.alignment` (uint32) is written first and used for padding. */
  alignment?: number;
  kv?: [string, KvValue][];
  tensors?: WriterTensor[];
  tensorCountOverride?: bigint;
  kvCountOverride?: bigint;
}

/** Where each part of the file starts, so tests can cut or patch it precisely. */
export interface GgufLayout {
  /** End of magic/version/counts (24). */
  headerEnd: number;
  /** Start of each key/value (its key's u64 length), including general.alignment when written. */
  kvStarts: number[];
  /** Start of each value (just after its u32 type). */
  kvValueStarts: number[];
  tensorInfoStarts: number[];
  tensorInfoEnd: number;
  dataStart: number;
  /** Absolute file offset of each tensor's data. */
  tensorDataStarts: number[];
}

class Bytes {
  private parts: Uint8Array[] = [];
  length = 0;
  raw(b: ArrayLike<number>): void {
    const part = b instanceof Uint8Array ? b.slice() : Uint8Array.from(b);
    this.parts.push(part);
    this.length += part.length;
  }
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private typed(n: number, set: (dv: DataView) => void): void {
    set(this.scratch);
    const part = new Uint8Array(this.scratch.buffer.slice(0, n));
    this.parts.push(part);
    this.length += n;
  }
  u32(v: number): void {
    this.typed(4, (dv) => dv.setUint32(0, v, true));
  }
  u64(v: number | bigint): void {
    this.typed(8, (dv) => dv.setBigUint64(0, BigInt(v), true));
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.raw(b);
  }
  scalar(type: ScalarType, v: number | bigint | boolean | string): void {
    switch (type) {
      case 'uint8': return this.typed(1, (dv) => dv.setUint8(0, Number(v)));
      case 'int8': return this.typed(1, (dv) => dv.setInt8(0, Number(v)));
      case 'uint16': return this.typed(2, (dv) => dv.setUint16(0, Number(v), true));
      case 'int16': return this.typed(2, (dv) => dv.setInt16(0, Number(v), true));
      case 'uint32': return this.typed(4, (dv) => dv.setUint32(0, Number(v), true));
      case 'int32': return this.typed(4, (dv) => dv.setInt32(0, Number(v), true));
      case 'float32': return this.typed(4, (dv) => dv.setFloat32(0, Number(v), true));
      case 'bool': return this.raw([v ? 1 : 0]);
      case 'string': return this.str(String(v));
      case 'uint64': return this.typed(8, (dv) => dv.setBigUint64(0, BigInt(v), true));
      case 'int64': return this.typed(8, (dv) => dv.setBigInt64(0, BigInt(v), true));
      case 'float64': return this.typed(8, (dv) => dv.setFloat64(0, Number(v), true));
    }
  }
  value(v: KvValue): void {
    if (v.type !== 'array') return this.scalar(v.type, v.value);
    this.u32(VALUE_TYPE_IDS[v.itemType]);
    this.u64(v.items.length);
    for (const item of v.items) {
      if (v.itemType === 'array') this.value(item as KvValue);
      else this.scalar(v.itemType, item as number);
    }
  }
  pad(alignment: number): void {
    this.raw(new Uint8Array((alignment - (this.length % alignment)) % alignment));
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Builds a GGUF file in memory. */
export function buildGguf(opts: WriterOptions): { bytes: Uint8Array; layout: GgufLayout } {
  const alignment = opts.alignment ?? 32;
  const kv: [string, KvValue][] = [];
  if (opts.alignment !== undefined) kv.push(['general.alignment', { type: 'uint32', value: opts.alignment }]);
  kv.push(...(opts.kv ?? []));
  const tensors = opts.tensors ?? [];

  const out = new Bytes();
  out.raw(new TextEncoder().encode(opts.magic ?? 'GGUF'));
  out.u32(opts.version ?? 3);
  out.u64(opts.tensorCountOverride ?? BigInt(tensors.length));
  out.u64(opts.kvCountOverride ?? BigInt(kv.length));
  const layout: GgufLayout = {
    headerEnd: out.length, kvStarts: [], kvValueStarts: [], tensorInfoStarts: [], tensorInfoEnd: 0, dataStart: 0, tensorDataStarts: [],
  };
  for (const [key, value] of kv) {
    layout.kvStarts.push(out.length);
    out.str(key);
    out.u32(VALUE_TYPE_IDS[value.type]);
    layout.kvValueStarts.push(out.length);
    out.value(value);
  }
  // Tensor data offsets: each tensor starts at the next multiple of the alignment.
  const offsets: number[] = [];
  let dataLength = 0;
  for (const t of tensors) {
    dataLength = Math.ceil(dataLength / alignment) * alignment;
    offsets.push(dataLength);
    dataLength += t.data.length;
  }
  tensors.forEach((t, i) => {
    layout.tensorInfoStarts.push(out.length);
    out.str(t.name);
    out.u32(t.ne.length);
    for (const n of t.ne) out.u64(n);
    out.u32(t.type);
    out.u64(t.offsetOverride ?? offsets[i]);
  });
  layout.tensorInfoEnd = out.length;
  out.pad(alignment);
  layout.dataStart = out.length;
  tensors.forEach((t, i) => {
    out.raw(new Uint8Array(layout.dataStart + offsets[i] - out.length));
    layout.tensorDataStarts.push(out.length);
    out.raw(t.data);
  });
  return { bytes: out.done(), layout };
}

const tempDirs: string[] = [];

/** Writes `bytes` to a fresh file under the OS temp dir and returns its path. */
export async function writeTemp(name: string, bytes: Uint8Array): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ffn-lens-gguf-'));
  tempDirs.push(dir);
  const file = path.join(dir, name);
  await fs.writeFile(file, bytes);
  return file;
}

/** Removes every file `writeTemp` made (call from a mocha `after`). */
export async function removeTempFiles(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
}

export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Little-endian u16 words (raw f16 / bf16 bit patterns). */
export function u16Bytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  words.forEach((w, i) => {
    out[2 * i] = w & 0xff;
    out[2 * i + 1] = (w >> 8) & 0xff;
  });
  return out;
}

/** float -> IEEE half bits, round to nearest even (for values the tests pick to be exact). */
export function f16Bits(x: number): number {
  const f = new Float32Array([x]);
  const b = new Uint32Array(f.buffer)[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float -> bfloat16 bits (top half of the float32, round to nearest even). */
export function bf16Bits(x: number): number {
  const b = new Uint32Array(new Float32Array([x]).buffer)[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export const tensorF32 = (name: string, ne: number[], values: number[]): WriterTensor => ({ name, ne, type: GGML_TYPE.F32, data: f32Bytes(values) });
export const tensorF16 = (name: string, ne: number[], values: number[]): WriterTensor => ({ name, ne, type: GGML_TYPE.F16, data: u16Bytes(values.map(f16Bits)) });
export const tensorBF16 = (name: string, ne: number[], values: number[]): WriterTensor => ({ name, ne, type: GGML_TYPE.BF16, data: u16Bytes(values.map(bf16Bits)) });
