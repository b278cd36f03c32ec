/**
 * Shared machinery for the fuzz and corrupted-file tests: seeded fast-check settings, a probe that
 * writes bytes to a temp file, opens it with a reader, reads every listed tensor and classifies the
 * outcome (read, or rejected cleanly) while enforcing the reader contract (only one-line
 * FfnLensErrors naming the file, data of the right length, no hang, no big allocation, no leaked
 * file handle), byte-level mutations, and float decoders written independently of src/.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import fc from 'fast-check';
import { FfnLensError, isFfnLensError } from '../../src/core/errors';
import type { TensorSource } from '../../src/formats/source';
import { npyBytes, safetensorsRaw, zipBytes, type ZipMember } from './binaryWriters';
import { buildGguf, type GgufLayout, type KvValue } from './ggufWriter';

// ---- settings ----

/** Seed for every fuzz property; FFN_LENS_FUZZ_SEED replays or varies a run. */
export const FUZZ_SEED = envInt('FFN_LENS_FUZZ_SEED', 20261126);
/** Generated cases per format; FFN_LENS_FUZZ_RUNS scales a run up (or down while debugging). */
export const FUZZ_CASES_PER_FORMAT = envInt('FFN_LENS_FUZZ_RUNS', 1000);
/** A case that takes longer than this (async hang, or a long synchronous loop) fails. */
export const CASE_TIMEOUT_MS = envInt('FFN_LENS_FUZZ_CASE_TIMEOUT_MS', 5000);
/** How much more ArrayBuffer memory a case may hold after it ran than before, besides what it read. */
export const CASE_ALLOC_SLACK = 32 * 1024 * 1024;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

/** `share` of a format's cases (rounded up, so the shares of a format add up to at least the total). */
export function casesFor(share: number): number {
  return Math.max(1, Math.ceil(FUZZ_CASES_PER_FORMAT * share));
}

/** Runs an async property with the fixed seed; a failure names the seed and how to replay it. */
export async function fuzz<T>(arb: fc.Arbitrary<T>, numRuns: number, check: (value: T) => Promise<void>): Promise<void> {
  const prop = fc.asyncProperty(arb, check);
  try {
    await fc.assert(prop, { seed: FUZZ_SEED, numRuns, interruptAfterTimeLimit: 10 * 60_000 });
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    const why = cause instanceof Error ? `\n${cause.stack ?? cause.message}` : cause === undefined ? '' : `\n${String(cause)}`;
    const message = (e instanceof Error ? e.message : String(e)) + why;
    throw new Error(`fuzz failure (seed ${FUZZ_SEED}; replay with FFN_LENS_FUZZ_SEED=${FUZZ_SEED} FFN_LENS_FUZZ_RUNS=${FUZZ_CASES_PER_FORMAT})\n${message}`);
  }
}

// ---- temp files ----

/** A directory for one test file's fixtures: on tmpfs when there is one (much faster on a busy machine). */
export class FuzzDir {
  readonly dir: string;
  /** For ProbeOptions.errorFiles: any file in this directory (a shard, an index). */
  readonly holds = (file: string): boolean => path.dirname(file) === this.dir || file.startsWith(this.dir + path.sep);
  constructor(label: string) {
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    this.dir = fs.mkdtempSync(path.join(base, `ffn-lens-${label}-`));
  }
  /** Writes `bytes` to `name` in the directory and returns the path. */
  write(name: string, bytes: Uint8Array | string): string {
    const p = path.join(this.dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, bytes);
    return p;
  }
  /** Deletes everything in the directory (between cases that write several files). */
  clear(): void {
    for (const f of fs.readdirSync(this.dir)) fs.rmSync(path.join(this.dir, f), { recursive: true, force: true });
  }
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- the probe ----

export interface ReadTensor {
  name: string;
  dtype: string;
  shape: number[];
  data?: Float32Array;
  error?: FfnLensError;
}

export type Outcome =
  | { opened: true; source: TensorSource; tensors: ReadTensor[] }
  | { opened: false; error: FfnLensError };

export interface ProbeOptions {
  /** Which files an error may name (to allow shards and an index). Default: only the opened file. */
  errorFiles?: (file: string) => boolean;
  /**
   * Skips the one-line/length check of messages (only non-empty and naming the file remain): for
   * readers with a known bug that echoes names from the file verbatim. Say which bug.
   */
  lenientMessages?: string;
}

/** Longest message accepted as "one line" a person can read. */
export const MAX_MESSAGE_LENGTH = 1000;
/** Characters that break a message's single line or a terminal: C0/C1 controls, DEL, U+2028/U+2029. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Opens `file` with `open`, reads every listed tensor and closes it; returns what happened. Throws
 * an AssertionError when the reader breaks its contract: anything but an FfnLensError escapes, an
 * error message is empty, multi-line or does not name a file of the case, a tensor's data is not a
 * Float32Array of shape's element count, the case exceeds CASE_TIMEOUT_MS, it keeps much more
 * ArrayBuffer memory than it read, or it leaks a file descriptor.
 */
export async function probe(open: (file: string) => Promise<TensorSource>, file: string, options: ProbeOptions = {}): Promise<Outcome> {
  const okFile = options.errorFiles ?? ((f: string) => f === file);
  const inputBytes = fs.statSync(file).size;
  const fdsBefore = openFds();
  const memBefore = process.memoryUsage().arrayBuffers;
  const started = Date.now();
  const outcome = await withTimeout(runCase(open, file, okFile, options.lenientMessages !== undefined), CASE_TIMEOUT_MS, file);
  const elapsed = Date.now() - started;
  assert.ok(elapsed <= CASE_TIMEOUT_MS, `${file}: took ${elapsed} ms (limit ${CASE_TIMEOUT_MS}); a loop the file controls?`);
  const grown = process.memoryUsage().arrayBuffers - memBefore;
  const held = outcome.opened ? outcome.tensors.reduce((s, t) => s + (t.data?.byteLength ?? 0), 0) : 0;
  assert.ok(grown <= CASE_ALLOC_SLACK + held + 4 * inputBytes, `${file}: ArrayBuffer memory grew by ${grown} bytes for a ${inputBytes}-byte input`);
  const fdsAfter = openFds();
  assert.ok(fdsAfter <= fdsBefore, `${file}: ${fdsAfter - fdsBefore} file descriptor(s) left open`);
  return outcome;
}

async function runCase(open: (file: string) => Promise<TensorSource>, file: string, okFile: (f: string) => boolean, lenient: boolean): Promise<Outcome> {
  let source: TensorSource;
  try {
    source = await open(file);
  } catch (e) {
    return { opened: false, error: checkClean(e, okFile, 'open', lenient) };
  }
  try {
    const tensors: ReadTensor[] = [];
    for (const info of source.tensors) {
      const t: ReadTensor = { name: info.name, dtype: info.dtype, shape: [...info.shape] };
      assert.ok(info.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `tensor "${info.name}": listed shape [${info.shape.join(', ')}] is not non-negative integers`);
      try {
        const data = await source.read(info.name);
        assert.ok(data instanceof Float32Array, `tensor "${info.name}": read returned ${Object.prototype.toString.call(data)}`);
        const count = info.shape.reduce((a, b) => a * b, 1);
        assert.strictEqual(data.length, count, `tensor "${info.name}": ${data.length} values for shape [${info.shape.join(', ')}]`);
        t.data = data;
      } catch (e) {
        t.error = checkClean(e, okFile, `read ${JSON.stringify(info.name)}`, lenient);
      }
      tensors.push(t);
    }
    return { opened: true, source, tensors };
  } finally {
    await source.close();
  }
}

/**
 * Asserts `e` is a clean FfnLensError: one non-empty printable line of at most MAX_MESSAGE_LENGTH
 * characters, naming a file of the case; returns it.
 */
export function checkClean(e: unknown, okFile: (f: string) => boolean, stage: string, lenient = false): FfnLensError {
  if (e instanceof assert.AssertionError) throw e;
  if (!isFfnLensError(e)) {
    const detail = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    assert.fail(`${stage}: escaped a non-FfnLensError: ${detail}`);
  }
  assert.ok(typeof e.message === 'string' && e.message.trim() !== '', `${stage}: empty error message`);
  if (!lenient) {
    assert.ok(!UNPRINTABLE.test(e.message), `${stage}: message is not one printable line: ${JSON.stringify(e.message)}`);
    assert.ok(e.message.length <= MAX_MESSAGE_LENGTH, `${stage}: message is ${e.message.length} characters long: ${e.message.slice(0, 200)}...`);
  }
  assert.ok(e.file !== undefined && okFile(e.file), `${stage}: error names file ${JSON.stringify(e.file)}, not one of the case's files: ${e.message}`);
  assert.ok(e.describe().startsWith(e.file), `${stage}: describe() does not start with the file`);
  return e;
}

async function withTimeout<T>(p: Promise<T>, ms: number, file: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${file}: no result after ${ms} ms (hang)` })), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Open file descriptors of this process (Linux), or 0 where that cannot be counted. */
function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** The first error of a probe (at open, or the first tensor refused at read), if any. */
export function rejection(o: Outcome): FfnLensError | undefined {
  if (!o.opened) return o.error;
  return o.tensors.find((t) => t.error)?.error;
}

// ---- memory ----

let gcFn: (() => void) | undefined;

/** A full GC (V8's gc exposed at run time: the test runner does not pass --expose-gc). */
export function fullGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

/** Runs `fn` after a full GC and returns how much ArrayBuffer and JS heap memory it left allocated (no GC after). */
export async function memoryGrowth(fn: () => Promise<unknown>): Promise<{ arrayBuffers: number; heapUsed: number; result: unknown }> {
  fullGc();
  const before = process.memoryUsage();
  const result = await fn().catch((e: unknown) => e);
  const after = process.memoryUsage();
  return { arrayBuffers: after.arrayBuffers - before.arrayBuffers, heapUsed: after.heapUsed - before.heapUsed, result };
}

// ---- mutations ----

/** One byte-level change. `at` is reduced modulo the file length (or the hot region when `hot`). */
export type Mutation =
  | { op: 'flip'; at: number; hot: boolean; bit: number }
  | { op: 'byte'; at: number; hot: boolean; value: number }
  | { op: 'truncate'; at: number; hot: boolean }
  | { op: 'insert'; at: number; hot: boolean; bytes: Uint8Array }
  | { op: 'delete'; at: number; hot: boolean; count: number };

const position = { at: fc.nat(), hot: fc.boolean() };

/** Bit flips, byte replacements, truncation, inserted and deleted bytes; positions favour the hot (header) region. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), ...position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('byte' as const), ...position, value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x20, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ op: fc.constant('truncate' as const), ...position }),
  fc.record({ op: fc.constant('insert' as const), ...position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), ...position, count: fc.integer({ min: 1, max: 8 }) }),
);

/** Applies mutations in order; `hotLength` is the size of the region `hot` positions fall in. */
export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[], hotLength = bytes.length): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const m of mutations) {
    const span = m.hot ? Math.min(hotLength, out.length) : out.length;
    const between = m.op === 'insert' || m.op === 'truncate';
    if (!between && span === 0) continue;
    const at = m.at % (between ? span + 1 : span);
    switch (m.op) {
      case 'flip':
        if (at < out.length) out[at] ^= 1 << m.bit;
        break;
      case 'byte':
        if (at < out.length) out[at] = m.value;
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'insert': {
        const next = new Uint8Array(out.length + m.bytes.length);
        next.set(out.subarray(0, at));
        next.set(m.bytes, at);
        next.set(out.subarray(at), at + m.bytes.length);
        out = next;
        break;
      }
      case 'delete':
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + m.count)]);
        break;
    }
  }
  return out;
}

/** A fixed-width little-endian integer field of a binary header. */
export interface FieldSite {
  at: number;
  width: 1 | 2 | 4 | 8;
}

/** Integers a hostile header field gets: 0, -1 (all ones), 2^31, 2^32-1, 2^53, 2^63, 2^64-1 and friends. */
export const EXTREME_INTS: readonly bigint[] = [
  0n, 1n, 2n ** 64n - 1n, 2n ** 31n, 2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 0x7fffn, 0x8000n, 0xffffn,
];

/** A value for a field: an extreme integer, a random one, or the file size plus a small delta. */
export type FieldValue = { kind: 'int'; value: bigint } | { kind: 'size'; delta: number };

export const fieldValueArb: fc.Arbitrary<FieldValue> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EXTREME_INTS).map((value) => ({ kind: 'int' as const, value })) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ kind: 'int' as const, value })) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }).map((delta) => ({ kind: 'size' as const, delta })) },
);

/** Writes `value` into field `site` (truncated to its width, little-endian) of a copy of `bytes`. */
export function patchField(bytes: Uint8Array, site: FieldSite, value: FieldValue): Uint8Array {
  const out = Uint8Array.from(bytes);
  if (site.at + site.width > out.length) return out;
  let v = value.kind === 'int' ? value.value : BigInt(Math.max(0, bytes.length + value.delta));
  v &= (1n << BigInt(8 * site.width)) - 1n;
  for (let i = 0; i < site.width; i++, v >>= 8n) out[site.at + i] = Number(v & 0xffn);
  return out;
}

/** JSON texts for a hostile header value: extreme and non-integer numbers, wrong types, odd shapes. */
export const EXTREME_JSON: readonly string[] = [
  '0', '-1', '2147483648', '4294967296', '9007199254740992', '9007199254740993', '18446744073709551615', '1e308', '1e400', '-0', '0.5',
  'null', 'true', '""', '"F32"', '"\\u0000"', '[]', '{}', '[-1]', '[0, 0]', '[1, 0]', '[18446744073709551615]', '[9007199254740992, 9007199254740992]',
  '[1099511627776]', '[2147483648, 2147483648]', '[0, 18446744073709551615]', '[1, 2, 3]', '[[1]]', '{"a": 1}', '[-0]', '[2, -0]',
];

/** Picks element `i` modulo the length (for indices generated before the list is known). */
export function pick<T>(items: readonly T[], i: number): T {
  return items[i % items.length];
}

// ---- independent decoding ----

/** How an element is stored, as the tests see it (independent of src/formats). */
export interface RefElement {
  kind: 'f' | 'bf' | 'i' | 'u' | 'b';
  size: 1 | 2 | 4 | 8;
  littleEndian: boolean;
}

/** IEEE binary16 bits to a number, from the definition. */
export function refF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Decodes raw element bytes to float32 values the way the formats define them. */
export function refDecode(bytes: Uint8Array, el: RefElement): Float32Array {
  const n = bytes.length / el.size;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const le = el.littleEndian;
  for (let i = 0; i < n; i++) {
    const at = i * el.size;
    let x: number;
    if (el.kind === 'b') x = v.getUint8(at) !== 0 ? 1 : 0;
    else if (el.kind === 'bf') x = new Float32Array(new Uint32Array([v.getUint16(at, le) << 16]).buffer)[0];
    else if (el.kind === 'f') x = el.size === 2 ? refF16(v.getUint16(at, le)) : el.size === 4 ? v.getFloat32(at, le) : v.getFloat64(at, le);
    else if (el.size === 8) x = Number(el.kind === 'i' ? v.getBigInt64(at, le) : v.getBigUint64(at, le));
    else if (el.size === 1) x = el.kind === 'i' ? v.getInt8(at) : v.getUint8(at);
    else if (el.size === 2) x = el.kind === 'i' ? v.getInt16(at, le) : v.getUint16(at, le);
    else x = el.kind === 'i' ? v.getInt32(at, le) : v.getUint32(at, le);
    out[i] = x;
  }
  return out;
}

/** Column-major (first index fastest) data to row-major order, by explicit index arithmetic. */
export function refFortranToC(src: Float32Array, shape: readonly number[]): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    let rest = i;
    let offset = 0;
    const idx: number[] = new Array<number>(shape.length);
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k] = rest % shape[k];
      rest = Math.floor(rest / shape[k]);
    }
    for (let k = shape.length - 1; k >= 0; k--) offset = offset * shape[k] + idx[k];
    out[i] = src[offset];
  }
  return out;
}

/** Asserts equal float32 arrays: bit-for-bit sign of zero, any NaN matches any NaN. */
export function assertSameFloats(actual: Float32Array | undefined, expected: ArrayLike<number>, what: string): void {
  assert.ok(actual, `${what}: not read`);
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a: number = actual[i];
    const b = Math.fround(expected[i]);
    if (!(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)))) assert.fail(`${what}[${i}]: read ${a}, expected ${b}`);
  }
}

/** Product of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A row-major shape of rank 0..maxRank with dimensions 0..maxDim, at most `maxElements` elements. */
export function shapeArb(maxRank = 3, maxDim = 5, maxElements = 64, minDim = 0): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { maxLength: maxRank }).filter((s) => elementCount(s) <= maxElements);
}

// ---- valid files of every format, with the values a correct reader returns ----

/** What a correct reader lists and returns for one tensor; `values` undefined = must be refused at read (or not checked). */
export interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  values?: Float32Array;
  /** True when `values` are known exactly; false when only the length is checked (K-quants). */
  exact: boolean;
}

/** A generated valid file: its bytes, the end of its header region, and what it must read as. */
export interface Built {
  bytes: Uint8Array;
  /** Bytes from 0 that hold headers/metadata (mutations favour them). */
  hot: number;
  tensors: ExpectedTensor[];
}

/** Asserts a probe opened the file and read exactly the expected tensors. */
export function assertReadsAs(o: Outcome, expected: readonly ExpectedTensor[], what = 'file'): void {
  assert.ok(o.opened, `valid ${what} refused: ${rejection(o)?.describe()}`);
  assert.deepStrictEqual(o.tensors.map((t) => t.name).sort(), expected.map((t) => t.name).sort(), `${what}: tensor names`);
  for (const e of expected) {
    const got: ReadTensor = o.tensors.find((t) => t.name === e.name)!;
    assert.strictEqual(got.dtype, e.dtype, `tensor "${e.name}": dtype`);
    assert.deepStrictEqual(got.shape, e.shape, `tensor "${e.name}": shape`);
    if (e.values) {
      if (e.exact) assertSameFloats(got.data, e.values, `tensor "${e.name}" (${e.dtype})`);
      else assert.strictEqual(got.data?.length, e.values.length, `tensor "${e.name}" (${e.dtype}): length`);
    } else {
      assert.ok(got.error, `tensor "${e.name}" (${e.dtype}) should be refused at read`);
    }
  }
}

/** Names as files carry them: mostly printable, sometimes with newlines, NULs, escapes and line separators. */
export function nameArb(maxLength: number, alphabet = ['a', 'b', '.', '/', '_', '0']): fc.Arbitrary<string> {
  const hostile = fc.constantFrom(...alphabet, '\n', '\r', '\u0000', '\u001b', '\u2028', '\u0085', '\u007f', '"', "'", '\\');
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ maxLength, unit: 'grapheme' }) },
    { weight: 2, arbitrary: fc.string({ maxLength, unit: hostile }) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty') },
  );
}

const bytesArb = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

// safetensors

const stEl = (kind: RefElement['kind'], size: RefElement['size']): RefElement => ({ kind, size, littleEndian: true });
/** Every safetensors dtype with its size and decoding; `el` undefined = listed but not decodable. */
export const ST_DTYPES: Record<string, { size: number; el?: RefElement }> = {
  F64: { size: 8, el: stEl('f', 8) }, F32: { size: 4, el: stEl('f', 4) }, F16: { size: 2, el: stEl('f', 2) }, BF16: { size: 2, el: stEl('bf', 2) },
  I64: { size: 8, el: stEl('i', 8) }, I32: { size: 4, el: stEl('i', 4) }, I16: { size: 2, el: stEl('i', 2) }, I8: { size: 1, el: stEl('i', 1) },
  U64: { size: 8, el: stEl('u', 8) }, U32: { size: 4, el: stEl('u', 4) }, U16: { size: 2, el: stEl('u', 2) }, U8: { size: 1, el: stEl('u', 1) },
  BOOL: { size: 1, el: stEl('b', 1) }, F8_E4M3: { size: 1 }, F8_E5M2: { size: 1 },
};

export interface StTensorCase {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}
export interface StCase {
  tensors: StTensorCase[];
  metadata?: Record<string, string>;
  pad: number;
}

export const stCaseArb: fc.Arbitrary<StCase> = fc.record({
  tensors: fc.uniqueArray(
    fc
      .record({ name: nameArb(10).filter((s) => s !== '__metadata__'), dtype: fc.constantFrom(...Object.keys(ST_DTYPES)), shape: shapeArb(3, 4, 24) })
      .chain((t) => bytesArb(elementCount(t.shape) * ST_DTYPES[t.dtype].size).map((bytes) => ({ ...t, bytes }))),
    { maxLength: 4, selector: (t) => t.name },
  ),
  metadata: fc.option(fc.dictionary(nameArb(6), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined }),
  pad: fc.integer({ min: 0, max: 7 }),
});

/**
 * The header object of `c` (with data offsets) and its data buffer. Keys are defined, not assigned,
 * so a tensor named `__proto__` stays a key (binaryWriters' safetensorsBytes assigns and drops it).
 */
export function stHeader(c: StCase): { header: Record<string, unknown>; buffer: Uint8Array } {
  const header: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => void Object.defineProperty(header, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (c.metadata) put('__metadata__', { ...c.metadata });
  let offset = 0;
  for (const t of c.tensors) {
    put(t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] });
    offset += t.bytes.length;
  }
  return { header, buffer: Buffer.concat(c.tensors.map((t) => t.bytes)) };
}

export function buildSt(c: StCase): Built {
  const { header, buffer } = stHeader(c);
  const bytes = safetensorsRaw(JSON.stringify(header) + ' '.repeat(c.pad), buffer);
  const tensors = c.tensors.map((t) => {
    const el = ST_DTYPES[t.dtype].el;
    return { name: t.name, dtype: t.dtype, shape: t.shape, values: el && refDecode(t.bytes, el), exact: true };
  });
  return { bytes, hot: 8 + Number(Buffer.from(bytes).readBigUInt64LE(0)), tensors };
}

// npy

/** descr type codes the .npy reader decodes, with how the tests decode them. */
export const NPY_CODES: Record<string, Omit<RefElement, 'littleEndian'>> = {
  f2: { kind: 'f', size: 2 }, f4: { kind: 'f', size: 4 }, f8: { kind: 'f', size: 8 },
  i1: { kind: 'i', size: 1 }, i2: { kind: 'i', size: 2 }, i4: { kind: 'i', size: 4 }, i8: { kind: 'i', size: 8 },
  u1: { kind: 'u', size: 1 }, u2: { kind: 'u', size: 2 }, u4: { kind: 'u', size: 4 }, u8: { kind: 'u', size: 8 },
  b1: { kind: 'b', size: 1 }, '?': { kind: 'b', size: 1 },
};

export interface NpyCase {
  code: string;
  order: '<' | '>' | '|';
  shape: number[];
  fortran: boolean;
  version: 1 | 2 | 3;
  /** Key order and spacing of the dict, as numpy versions and hand-written files vary. */
  keyOrder: number[];
  spaced: boolean;
  data: Uint8Array;
}

export const npyCaseArb: fc.Arbitrary<NpyCase> = fc
  .record({
    code: fc.constantFrom(...Object.keys(NPY_CODES)),
    big: fc.boolean(),
    shape: shapeArb(3, 5, 48),
    fortran: fc.boolean(),
    version: fc.constantFrom(1 as const, 2 as const, 3 as const),
    keyOrder: fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
    spaced: fc.boolean(),
  })
  .chain(({ big, ...c }) => {
    const size = NPY_CODES[c.code].size;
    const order: NpyCase['order'] = size === 1 ? '|' : big ? '>' : '<';
    return bytesArb(elementCount(c.shape) * size).map((data) => ({ ...c, order, data }));
  });

export const npyDescr = (c: NpyCase): string => (c.code === '?' ? '?' : c.order + c.code);

/** The header dict text; `override` replaces one entry's value text (0 descr, 1 fortran_order, 2 shape). */
export function npyDict(c: NpyCase, override?: { key: number; text: string }): string {
  const shape = c.shape.length === 1 ? `(${c.shape[0]},)` : `(${c.shape.join(c.spaced ? ', ' : ',')})`;
  const values = [`'${npyDescr(c)}'`, c.fortran ? 'True' : 'False', shape];
  if (override) values[override.key % 3] = override.text;
  const keys = ["'descr'", "'fortran_order'", "'shape'"];
  return `{${c.keyOrder.map((k) => `${keys[k]}:${c.spaced ? ' ' : ''}${values[k]}`).join(c.spaced ? ', ' : ',')}${c.spaced ? ', ' : ''}}`;
}

/** A valid .npy of `c` (or with header dict `dict`) whose tensor is named `name` (the file stem). */
export function buildNpy(c: NpyCase, name: string, dict?: string): Built {
  const bytes = npyBytes({ descr: npyDescr(c), shape: c.shape, values: c.data, version: c.version, dict: dict ?? npyDict(c) });
  const flat = refDecode(c.data, { ...NPY_CODES[c.code], littleEndian: c.order !== '>' });
  const values = c.fortran && c.shape.length > 1 ? refFortranToC(flat, c.shape) : flat;
  return { bytes, hot: bytes.length - c.data.length, tensors: [{ name, dtype: npyDescr(c), shape: c.shape, values, exact: true }] };
}

// npz

export interface NpzCase {
  members: { path: string[]; method: 0 | 8; npy: NpyCase }[];
  /** A member that is not an .npy (ignored by the reader). */
  extra: boolean;
  zip64: boolean;
}

export const npzCaseArb: fc.Arbitrary<NpzCase> = fc.record({
  members: fc.uniqueArray(
    fc.record({ path: fc.array(nameArb(4, ['a', 'b', '_', '0']).filter((p) => p !== '' && !/[./\\]/.test(p)), { minLength: 1, maxLength: 2 }), method: fc.constantFrom(0 as const, 8 as const), npy: npyCaseArb }),
    { minLength: 1, maxLength: 3, selector: (m) => m.path.join('.') },
  ),
  extra: fc.boolean(),
  zip64: fc.boolean(),
});

export function buildNpz(c: NpzCase): Built & { memberNames: string[] } {
  const members: ZipMember[] = [];
  const tensors: ExpectedTensor[] = [];
  for (const m of c.members) {
    const npy = buildNpy(m.npy, m.path.join('.'));
    members.push({ name: `${m.path.join('/')}.npy`, data: npy.bytes, method: m.method });
    tensors.push(...npy.tensors);
  }
  if (c.extra) members.push({ name: 'notes.txt', data: Buffer.from('not an array'), method: 0 });
  const bytes = zipBytes(members, { zip64: c.zip64 });
  return { bytes, hot: bytes.length, tensors, memberNames: members.map((m) => m.name) };
}

// GGUF

interface GgmlRef {
  id: number;
  name: string;
  block: number;
  bytes: number;
  /** Independent decoder of one block at `s`, or undefined when only the length is checked. */
  decode?: (b: Uint8Array, dv: DataView, s: number, out: number[]) => void;
  decodable: boolean;
}
const half = (dv: DataView, at: number): number => refF16(dv.getUint16(at, true));
const plain = (id: number, name: string, size: RefElement['size'], kind: RefElement['kind']): GgmlRef => ({
  id, name, block: 1, bytes: size, decodable: true,
  decode: (b, _dv, s, out) => out.push(...refDecode(b.subarray(s, s + size), { kind, size, littleEndian: true })),
});
/** ggml types for the GGUF generator, from ggml-common.h; block decoders from dequantize_row_*. */
export const GGML_REFS: readonly GgmlRef[] = [
  plain(0, 'F32', 4, 'f'), plain(1, 'F16', 2, 'f'), plain(30, 'BF16', 2, 'bf'), plain(28, 'F64', 8, 'f'),
  plain(24, 'I8', 1, 'i'), plain(25, 'I16', 2, 'i'), plain(26, 'I32', 4, 'i'), plain(27, 'I64', 8, 'i'),
  { id: 2, name: 'Q4_0', block: 32, bytes: 18, decodable: true, decode: (b, dv, s, out) => {
    const d = half(dv, s);
    const q = (j: number): number => (j < 16 ? b[s + 2 + j] & 15 : b[s + 2 + j - 16] >> 4);
    for (let j = 0; j < 32; j++) out.push((q(j) - 8) * d);
  } },
  { id: 3, name: 'Q4_1', block: 32, bytes: 20, decodable: true, decode: (b, dv, s, out) => {
    const d = half(dv, s), m = half(dv, s + 2);
    const lo = Array.from({ length: 16 }, (_, j) => Math.fround((b[s + 4 + j] & 15) * d) + m);
    out.push(...lo, ...Array.from({ length: 16 }, (_, j) => Math.fround((b[s + 4 + j] >> 4) * d) + m));
  } },
  { id: 6, name: 'Q5_0', block: 32, bytes: 22, decodable: true, decode: (b, dv, s, out) => {
    const d = half(dv, s), qh = dv.getUint32(s + 2, true);
    const q = (j: number): number => (j < 16 ? b[s + 6 + j] & 15 : b[s + 6 + j - 16] >> 4) + (Math.floor(qh / 2 ** j) % 2) * 16;
    for (let j = 0; j < 32; j++) out.push((q(j) - 16) * d);
  } },
  { id: 7, name: 'Q5_1', block: 32, bytes: 24, decodable: true, decode: (b, dv, s, out) => {
    const d = half(dv, s), m = half(dv, s + 2), qh = dv.getUint32(s + 4, true);
    const q = (j: number): number => (j < 16 ? b[s + 8 + j] & 15 : b[s + 8 + j - 16] >> 4) + (Math.floor(qh / 2 ** j) % 2) * 16;
    for (let j = 0; j < 32; j++) out.push(Math.fround(q(j) * d) + m);
  } },
  { id: 8, name: 'Q8_0', block: 32, bytes: 34, decodable: true, decode: (_b, dv, s, out) => {
    const d = half(dv, s);
    for (let j = 0; j < 32; j++) out.push(dv.getInt8(s + 2 + j) * d);
  } },
  { id: 10, name: 'Q2_K', block: 256, bytes: 84, decodable: true }, { id: 11, name: 'Q3_K', block: 256, bytes: 110, decodable: true },
  { id: 12, name: 'Q4_K', block: 256, bytes: 144, decodable: true }, { id: 13, name: 'Q5_K', block: 256, bytes: 176, decodable: true },
  { id: 14, name: 'Q6_K', block: 256, bytes: 210, decodable: true }, { id: 15, name: 'Q8_K', block: 256, bytes: 292, decodable: true },
  { id: 16, name: 'IQ2_XXS', block: 256, bytes: 66, decodable: false },
];

/** Scalar metadata values of every GGUF type, as the writer takes them and as a reader must return them. */
const kvScalarArb: fc.Arbitrary<{ kv: KvValue; expect: unknown }> = fc.oneof(
  ...([['uint8', 0, 255], ['int8', -128, 127], ['uint16', 0, 65535], ['int16', -32768, 32767], ['uint32', 0, 2 ** 32 - 1], ['int32', -(2 ** 31), 2 ** 31 - 1]] as const).map(
    ([type, min, max]) => fc.integer({ min, max }).map((value) => ({ kv: { type, value } as KvValue, expect: value })),
  ),
  fc.float().map((value) => ({ kv: { type: 'float32', value } as KvValue, expect: value })),
  fc.double().map((value) => ({ kv: { type: 'float64', value } as KvValue, expect: value })),
  fc.boolean().map((value) => ({ kv: { type: 'bool', value } as KvValue, expect: value })),
  fc.string({ maxLength: 12, unit: 'grapheme' }).map((value) => ({ kv: { type: 'string', value } as KvValue, expect: value })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ kv: { type: 'uint64', value } as KvValue, expect: bigToExpected(value) })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => ({ kv: { type: 'int64', value } as KvValue, expect: bigToExpected(value) })),
);

function bigToExpected(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

const kvArrayArb: fc.Arbitrary<{ kv: KvValue; expect: unknown }> = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }).map((items) => ({ kv: { type: 'array', itemType: 'uint8', items } as KvValue, expect: items })),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }).map((items) => ({ kv: { type: 'array', itemType: 'string', items } as KvValue, expect: items })),
  fc.integer({ min: 1025, max: 1100 }).map((n) => ({ kv: { type: 'array', itemType: 'int32', items: new Array<number>(n).fill(7) } as KvValue, expect: { arrayOf: 'int32', length: n } })),
  fc.array(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }), { maxLength: 3 }).map((rows) => ({
    kv: { type: 'array', itemType: 'array', items: rows.map((r) => ({ type: 'array', itemType: 'int8', items: r }) as KvValue) } as KvValue,
    expect: rows,
  })),
);

export interface GgufCase {
  version: 2 | 3;
  alignment?: number;
  kv: { key: string; kv: KvValue; expect: unknown }[];
  tensors: { name: string; type: GgmlRef; ne: number[]; data: Uint8Array }[];
}

export const ggufCaseArb: fc.Arbitrary<GgufCase> = fc.record({
  version: fc.constantFrom(2 as const, 3 as const),
  alignment: fc.option(fc.constantFrom(1, 8, 16, 32, 64), { nil: undefined }),
  kv: fc.uniqueArray(
    fc.record({ key: nameArb(12).filter((k) => k !== 'general.alignment'), v: fc.oneof({ weight: 3, arbitrary: kvScalarArb }, { weight: 1, arbitrary: kvArrayArb }) })
      .map(({ key, v }) => ({ key, ...v })),
    { maxLength: 4, selector: (e) => e.key },
  ),
  tensors: fc.uniqueArray(
    fc.record({
      name: nameArb(12),
      type: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...GGML_REFS.slice(0, 8)) }, { weight: 3, arbitrary: fc.constantFrom(...GGML_REFS.slice(8, 13)) }, { weight: 1, arbitrary: fc.constantFrom(...GGML_REFS.slice(13)) }),
      rows: fc.integer({ min: 1, max: 3 }),
      outer: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
    }).chain(({ name, type, rows, outer }) => {
      const ne = [type.block * (type.block === 1 ? rows * 2 : rows === 3 ? 1 : rows), ...outer];
      if (type.block === 256) ne.splice(1, ne.length - 1, ...outer.map((d) => Math.min(d, 1)));
      return bytesArb((elementCount(ne) / type.block) * type.bytes).map((data) => ({ name, type, ne, data }));
    }),
    { maxLength: 3, selector: (t) => t.name },
  ),
});

export function buildGgufCase(c: GgufCase): Built & { layout: GgufLayout; metadata: Record<string, unknown> } {
  const { bytes, layout } = buildGguf({
    version: c.version,
    alignment: c.alignment,
    kv: c.kv.map((e) => [e.key, e.kv]),
    tensors: c.tensors.map((t) => ({ name: t.name, ne: t.ne, type: t.type.id, data: t.data })),
  });
  const tensors = c.tensors.map((t): ExpectedTensor => {
    const shape = [...t.ne].reverse();
    if (!t.type.decodable) return { name: t.name, dtype: t.type.name, shape, exact: true };
    const out: number[] = [];
    const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.type.decode) for (let s = 0; s < t.data.length; s += t.type.bytes) t.type.decode(t.data, dv, s, out);
    return { name: t.name, dtype: t.type.name, shape, values: t.type.decode ? Float32Array.from(out) : new Float32Array(elementCount(shape)), exact: !!t.type.decode };
  });
  const metadata: Record<string, unknown> = {};
  if (c.alignment !== undefined) metadata['general.alignment'] = c.alignment;
  for (const e of c.kv) Object.defineProperty(metadata, e.key, { value: e.kv.type === 'float32' ? Math.fround(e.expect as number) : e.expect, enumerable: true, writable: true, configurable: true });
  return { bytes, hot: layout.dataStart, tensors, layout, metadata };
}

// JSON weights

const RESERVED = ['activation', 'layout', 'tokens', 'inputs', 'name', 'description', 'model_type', 'architecture', 'config', 'metadata'];

export interface JsonTensorCase {
  /** Dotted name as segments; written nested or as one dotted key. */
  path: string[];
  nested: boolean;
  shape: number[];
  values: number[];
  form: 'array' | 'shape-data' | 'shape-nested' | 'data-only';
  /** How non-finite numbers are spelled: "NaN" strings (exports) or bare NaN (Python's json). */
  bare: boolean;
}

export const jsonCaseArb: fc.Arbitrary<JsonTensorCase[]> = fc.uniqueArray(
  fc.record({
    path: fc.array(nameArb(5, ['a', 'b', '_', '0']).filter((p) => p !== '' && !p.includes('.')), { minLength: 1, maxLength: 3 }).filter((p) => !RESERVED.includes(p[0])),
    nested: fc.boolean(),
    shape: shapeArb(3, 4, 32, 1).filter((s) => s.length > 0),
    form: fc.constantFrom('array' as const, 'shape-data' as const, 'shape-nested' as const, 'data-only' as const),
    bare: fc.boolean(),
  }).chain((t) => fc.array(fc.float(), { minLength: elementCount(t.shape), maxLength: elementCount(t.shape) }).map((values) => ({ ...t, values }))),
  { minLength: 1, maxLength: 4, selector: (t) => t.path[0] },
);

const jsonNum = (x: number, bare: boolean): string =>
  Number.isNaN(x) ? (bare ? 'NaN' : '"NaN"') : x === Infinity ? (bare ? 'Infinity' : '"Infinity"') : x === -Infinity ? (bare ? '-Infinity' : '"-Infinity"') : Object.is(x, -0) ? '-0' : String(x);

function nestText(values: readonly string[], shape: readonly number[]): string {
  if (shape.length <= 1) return `[${values.join(',')}]`;
  const step = values.length / shape[0];
  return `[${Array.from({ length: shape[0] }, (_, i) => nestText(values.slice(i * step, (i + 1) * step), shape.slice(1))).join(',')}]`;
}

/** The JSON text of one tensor value. */
export function jsonTensorText(t: JsonTensorCase): string {
  const nums = t.values.map((x) => jsonNum(x, t.bare));
  switch (t.form) {
    case 'array': return nestText(nums, t.shape);
    case 'shape-data': return `{"shape":${JSON.stringify(t.shape)},"data":[${nums.join(',')}],"dtype":"float32"}`;
    case 'shape-nested': return `{"data":${nestText(nums, t.shape)},"shape":${JSON.stringify(t.shape)}}`;
    case 'data-only': return `{"data":${nestText(nums, t.shape)}}`;
  }
}

/** A JSON weight file; `ranges` gives each tensor's value text span (for "untouched" checks). */
export function buildJson(tensors: readonly JsonTensorCase[], extra = ''): Built & { text: string; ranges: Map<string, [number, number]> } {
  let text = '{';
  const ranges = new Map<string, [number, number]>();
  tensors.forEach((t, i) => {
    if (i > 0) text += ',';
    const segs = t.nested ? t.path : [t.path.join('.')];
    segs.forEach((s, k) => (text += `${JSON.stringify(s)}:${k < segs.length - 1 ? '{' : ''}`));
    const start = text.length;
    text += jsonTensorText(t);
    ranges.set(t.path.join('.'), [start, text.length]);
    text += '}'.repeat(segs.length - 1);
  });
  text += `${extra}}`;
  const bytes = Buffer.from(text, 'utf8');
  const expected = tensors.map((t) => ({ name: t.path.join('.'), dtype: 'F32', shape: t.shape, values: Float32Array.from(t.values), exact: true }));
  return { bytes, hot: bytes.length, tensors: expected, text, ranges };
}

// ---- the corrupted-file corpus ----

/** One valid file and how to tell which of its bytes each tensor depends on. */
export interface CorpusSpec {
  dir: FuzzDir;
  /** Name the (corrupted) file is written under. */
  name: string;
  bytes: Uint8Array;
  open: (file: string) => Promise<TensorSource>;
  /**
   * True when bytes [lo, hi) of the original file hold tensor `tensor`'s data, its own header entry,
   * or a field every tensor depends on: a change there may legitimately change what it reads as.
   */
  touches: (tensor: string, lo: number, hi: number) => boolean;
  /** Further checks that a corrupted source still sees a tensor as the original did (npy: Fortran order). */
  sameView?: (source: TensorSource, tensor: string) => boolean;
  /** Writes the corrupted bytes and returns the path to open (default: `name` in `dir`). */
  place?: (bytes: Uint8Array) => string;
  lenientMessages?: string;
  errorFiles?: (file: string) => boolean;
}

/** How the cases of a corpus run ended. */
export interface CorpusStats {
  cases: number;
  /** Opened and every tensor read. */
  read: number;
  /** Opened, some tensors refused at read. */
  partial: number;
  /** Refused at open. */
  rejected: number;
}

/** Reads the valid file and returns every tensor's values (asserting it reads completely). */
export async function readOriginal(spec: CorpusSpec): Promise<Map<string, ReadTensor>> {
  const o = await probe(spec.open, (spec.place ?? ((b) => spec.dir.write(spec.name, b)))(spec.bytes), spec);
  assert.ok(o.opened && o.tensors.every((t) => t.data), `the corpus file ${spec.name} does not read: ${rejection(o)?.describe()}`);
  return new Map(o.tensors.map((t) => [t.name, t]));
}

/** Runs one corrupted version; tensors that read and whose bytes [lo, hi) were not touched must equal the original. */
async function corpusCase(spec: CorpusSpec, original: Map<string, ReadTensor>, bytes: Uint8Array, lo: number, hi: number, stats: CorpusStats, label: string): Promise<void> {
  const file = (spec.place ?? ((b) => spec.dir.write(spec.name, b)))(bytes);
  let o: Outcome;
  try {
    o = await probe(spec.open, file, spec);
  } catch (e) {
    throw new Error(`${spec.name}, ${label}: ${e instanceof Error ? e.message : String(e)}`);
  }
  stats.cases++;
  if (!o.opened) {
    stats.rejected++;
    return;
  }
  if (o.tensors.every((t) => t.data)) stats.read++;
  else stats.partial++;
  for (const t of o.tensors) {
    const before = original.get(t.name);
    if (!t.data || !before || before.dtype !== t.dtype || before.shape.join() !== t.shape.join()) continue;
    if (spec.touches(t.name, lo, hi) || (spec.sameView && !spec.sameView(o.source, t.name))) continue;
    assertSameFloats(t.data, before.data!, `${spec.name}, ${label}: untouched tensor ${JSON.stringify(t.name)}`);
  }
}

/** The file cut at each offset in `cuts` (every offset 0..length-1 by default). */
export async function truncations(spec: CorpusSpec, cuts?: Iterable<number>): Promise<CorpusStats> {
  const original = await readOriginal(spec);
  const stats: CorpusStats = { cases: 0, read: 0, partial: 0, rejected: 0 };
  for (const cut of cuts ?? spec.bytes.keys()) {
    await corpusCase(spec, original, spec.bytes.subarray(0, cut), cut, spec.bytes.length, stats, `cut at byte ${cut}`);
  }
  return report(spec, 'truncations', stats);
}

/** Every single-bit flip of bytes [from, to). */
export async function bitFlips(spec: CorpusSpec, from: number, to: number): Promise<CorpusStats> {
  const original = await readOriginal(spec);
  const stats: CorpusStats = { cases: 0, read: 0, partial: 0, rejected: 0 };
  const bytes = Uint8Array.from(spec.bytes);
  for (let at = from; at < to; at++) {
    for (let bit = 0; bit < 8; bit++) {
      bytes[at] ^= 1 << bit;
      await corpusCase(spec, original, bytes, at, at + 1, stats, `bit ${bit} of byte ${at} flipped`);
      bytes[at] ^= 1 << bit;
    }
  }
  return report(spec, `bit flips of bytes ${from}..${to}`, stats);
}

/** Prints a corpus run's outcome mix when FFN_LENS_FUZZ_STATS is set (for the README's robustness section). */
function report(spec: CorpusSpec, what: string, stats: CorpusStats): CorpusStats {
  if (process.env.FFN_LENS_FUZZ_STATS) console.log(`      [corpus] ${spec.name} ${what}: ${JSON.stringify(stats)}`);
  return stats;
}

/** True when [lo, hi) and [a, b) share a byte. */
export const overlaps = (lo: number, hi: number, a: number, b: number): boolean => lo < b && a < hi;
