import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { isFfnLensError } from '../../src/core/errors';
import { GGUF_LIMITS, openGgufSource } from '../../src/formats/gguf';
import {
  GGML_TYPE, buildGguf, f32Bytes, removeTempFiles, tensorBF16, tensorF16, tensorF32, u16Bytes, writeTemp, type WriterOptions,
} from '../helpers/ggufWriter';

async function open(opts: WriterOptions) {
  return openGgufSource(await writeTemp('t.gguf', buildGguf(opts).bytes));
}

/** Asserts that opening `bytes` fails with an FfnLensError whose message matches every pattern. */
async function rejects(bytes: Uint8Array, ...patterns: RegExp[]): Promise<void> {
  const file = await writeTemp('bad.gguf', bytes);
  await assert.rejects(openGgufSource(file), (e: unknown) => {
    assert.ok(isFfnLensError(e), `not an FfnLensError: ${String(e)}`);
    assert.strictEqual(e.file, file);
    for (const p of patterns) assert.match(e.message, p);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

function patchU64(bytes: Uint8Array, at: number, v: bigint): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setBigUint64(at, v, true);
  return copy;
}

const basic: WriterOptions = {
  kv: [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'tiny' }],
    ['llama.embedding_length', { type: 'uint32', value: 3 }],
    ['llama.feed_forward_length', { type: 'uint64', value: 2n }],
    ['llama.rope.freq_base', { type: 'float32', value: 10000 }],
    ['general.tags', { type: 'array', itemType: 'string', items: ['a', 'b'] }],
  ],
  tensors: [tensorF32('a', [3, 2], [0, 1, 2, 3, 4, 5]), tensorF32('b', [5], [9, 8, 7, 6, 5])],
};

// Root-level hook: removes the fixtures once every test in this run is done.
after(removeTempFiles);

describe('gguf: container', () => {
  it('lists tensors with row-major shapes and exposes metadata', async () => {
    const src = await open(basic);
    assert.strictEqual(src.format, 'gguf');
    assert.strictEqual(src.version, 3);
    assert.deepStrictEqual(src.tensors, [
      { name: 'a', dtype: 'F32', shape: [2, 3], byteLength: 24 },
      { name: 'b', dtype: 'F32', shape: [5], byteLength: 20 },
    ]);
    assert.strictEqual(src.metadata['general.name'], 'tiny');
    assert.strictEqual(src.metadata['llama.embedding_length'], 3);
    assert.strictEqual(src.metadata['llama.feed_forward_length'], 2);
    assert.strictEqual(src.metadata['llama.rope.freq_base'], 10000);
    assert.deepStrictEqual(src.metadata['general.tags'], ['a', 'b']);
    assert.deepStrictEqual(src.hints, { architecture: 'llama' });
    await src.close();
    await src.close();
  });

  it('reads every scalar metadata type', async () => {
    const src = await open({
      kv: [
        ['t.u8', { type: 'uint8', value: 255 }], ['t.i8', { type: 'int8', value: -128 }],
        ['t.u16', { type: 'uint16', value: 65535 }], ['t.i16', { type: 'int16', value: -32768 }],
        ['t.u32', { type: 'uint32', value: 4294967295 }], ['t.i32', { type: 'int32', value: -2147483648 }],
        ['t.f32', { type: 'float32', value: 0.5 }], ['t.bool', { type: 'bool', value: true }],
        ['t.u64', { type: 'uint64', value: 2n ** 53n - 1n }], ['t.u64big', { type: 'uint64', value: 2n ** 64n - 1n }],
        ['t.i64', { type: 'int64', value: -5n }], ['t.f64', { type: 'float64', value: 0.1 }],
        ['t.nested', { type: 'array', itemType: 'array', items: [{ type: 'array', itemType: 'int32', items: [1, -2] }] }],
        ['__proto__', { type: 'string', value: 'x' }],
      ],
    });
    assert.strictEqual(Object.getPrototypeOf(src.metadata), Object.prototype);
    assert.strictEqual(Object.getOwnPropertyDescriptor(src.metadata, '__proto__')?.value, 'x');
    const { ['__proto__']: _own, ...rest } = src.metadata as Record<string, unknown>;
    assert.deepStrictEqual(rest, {
      't.u8': 255, 't.i8': -128, 't.u16': 65535, 't.i16': -32768, 't.u32': 4294967295, 't.i32': -2147483648,
      't.f32': 0.5, 't.bool': true, 't.u64': 2 ** 53 - 1, 't.u64big': '18446744073709551615', 't.i64': -5, 't.f64': 0.1,
      't.nested': [[1, -2]],
    });
    await src.close();
  });

  it('keeps a 2x3 tensor (ne=[3,2]) in row-major order and reverses 3-D and llama shapes', async () => {
    const src = await open({
      tensors: [
        tensorF32('m', [3, 2], [1, 2, 3, 4, 5, 6]),
        tensorF32('cube', [4, 3, 2], Array.from({ length: 24 }, (_, i) => i)),
        tensorF32('blk.0.ffn_up.weight', [4, 6], Array.from({ length: 24 }, (_, i) => -i)),
      ],
    });
    assert.deepStrictEqual(src.tensors.map((t) => t.shape), [[2, 3], [2, 3, 4], [6, 4]]);
    // Row 0 is [1,2,3], row 1 is [4,5,6]: ne[0]=3 is the fastest dimension, i.e. the columns.
    assert.deepStrictEqual(Array.from(await src.read('m')), [1, 2, 3, 4, 5, 6]);
    // cube[1][2][3] = element 1*12 + 2*4 + 3 = 23.
    assert.strictEqual((await src.read('cube'))[1 * 12 + 2 * 4 + 3], 23);
    await src.close();
  });

  it('reads F32, F16 and BF16 back exactly', async () => {
    const f32 = [0, -0, 1.5, -3.25, 1e-40, 3.4028234663852886e38, Math.fround(Math.PI), Math.fround(-1e-7)];
    // Hand-picked f16 bit patterns: 1, -2, 1/3 rounded (0x3555 = 2^-2 * (1 + 341/1024)), max 65504,
    // smallest subnormal 2^-24, -0, +inf, -inf.
    const f16Words = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00];
    const f16Values = [1, -2, 0.333251953125, 65504, 2 ** -24, -0, Infinity, -Infinity];
    // bf16 is the top 16 bits of a float32: 0x3f80 = 1, 0xc040 = -3, 0x4049 = 3.140625, 0x0001 = 2^-133.
    const bf16Words = [0x3f80, 0xc040, 0x4049, 0x0001, 0xff80];
    const bf16Values = [1, -3, 3.140625, 2 ** -133, -Infinity];
    const src = await open({
      tensors: [
        tensorF32('f32', [8], f32),
        { name: 'f16', ne: [8], type: GGML_TYPE.F16, data: u16Bytes(f16Words) },
        { name: 'bf16', ne: [5], type: GGML_TYPE.BF16, data: u16Bytes(bf16Words) },
        tensorF16('f16w', [4], [0.5, -1024, 6.103515625e-5, 2 ** -20]),
        tensorBF16('bf16w', [3], [256, -0.5, 2 ** 100]),
        { name: 'nan', ne: [2], type: GGML_TYPE.F16, data: u16Bytes([0x7e00, 0xfe01]) },
      ],
    });
    assert.deepStrictEqual(Array.from(await src.read('f32')), f32.map(Math.fround));
    assert.deepStrictEqual(Array.from(await src.read('f16')), f16Values);
    assert.ok(Object.is((await src.read('f16'))[5], -0));
    assert.deepStrictEqual(Array.from(await src.read('bf16')), bf16Values);
    assert.deepStrictEqual(Array.from(await src.read('f16w')), [0.5, -1024, 6.103515625e-5, 2 ** -20]);
    assert.deepStrictEqual(Array.from(await src.read('bf16w')), [256, -0.5, 2 ** 100]);
    assert.ok((await src.read('nan')).every(Number.isNaN));
    assert.deepStrictEqual(src.tensors.map((t) => t.dtype), ['F32', 'F16', 'BF16', 'F16', 'BF16', 'F16']);
    await src.close();
  });

  it('reads F64 and integer tensors', async () => {
    const f64 = new Uint8Array(new Float64Array([0.1, -2.5, 1e300]).buffer);
    const i8 = Uint8Array.from([0x80, 0x7f, 0xff]); // -128, 127, -1
    const i32 = new Uint8Array(new Int32Array([-7, 65536]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([-3n, 1n << 40n]).buffer);
    const src = await open({
      tensors: [
        { name: 'f64', ne: [3], type: GGML_TYPE.F64, data: f64 },
        { name: 'i8', ne: [3], type: GGML_TYPE.I8, data: i8 },
        { name: 'i32', ne: [2], type: GGML_TYPE.I32, data: i32 },
        { name: 'i64', ne: [2], type: GGML_TYPE.I64, data: i64 },
      ],
    });
    assert.strictEqual(src.tensors[0].dtype, 'F64');
    assert.deepStrictEqual(Array.from(await src.read('f64')), [Math.fround(0.1), -2.5, Infinity]);
    assert.deepStrictEqual(Array.from(await src.read('i8')), [-128, 127, -1]);
    assert.deepStrictEqual(Array.from(await src.read('i32')), [-7, 65536]);
    assert.deepStrictEqual(Array.from(await src.read('i64')), [-3, 2 ** 40]);
    await src.close();
  });

  it('honours general.alignment = 64 when placing tensor data', async () => {
    const opts: WriterOptions = {
      alignment: 64,
      kv: [['general.architecture', { type: 'string', value: 'gpt2' }]],
      tensors: [tensorF32('x', [3], [1, 2, 3]), tensorF32('y', [5], [4, 5, 6, 7, 8]), tensorF32('z', [1], [9])],
    };
    const { bytes, layout } = buildGguf(opts);
    // 'y' starts at data offset 64, not 12: the 52 bytes between are padding.
    assert.strictEqual(layout.tensorDataStarts[1] - layout.dataStart, 64);
    const src = await openGgufSource(await writeTemp('a64.gguf', bytes));
    assert.strictEqual(src.alignment, 64);
    assert.strictEqual(src.dataStart, layout.dataStart);
    assert.strictEqual(src.dataStart % 64, 0);
    assert.deepStrictEqual(Array.from(await src.read('y')), [4, 5, 6, 7, 8]);
    assert.deepStrictEqual(Array.from(await src.read('z')), [9]);
    assert.strictEqual(src.metadata['general.alignment'], 64);
    await src.close();
  });

  it('opens a version 2 file', async () => {
    const src = await open({ ...basic, version: 2 });
    assert.strictEqual(src.version, 2);
    assert.deepStrictEqual(Array.from(await src.read('b')), [9, 8, 7, 6, 5]);
    await src.close();
  });

  it('summarises a big vocab array, keeps parsing after it, and reads the header in ranges', async () => {
    const tokens = Array.from({ length: 30_000 }, (_, i) => `tok${i}`); // ~0.6 MB of metadata with the scores
    const big = Array.from({ length: 1024 * 1024 }, (_, i) => i % 7); // a 4 MiB tensor
    const { bytes, layout } = buildGguf({
      kv: [
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', items: tokens }],
        ['tokenizer.ggml.scores', { type: 'array', itemType: 'float32', items: tokens.map(() => 0) }],
        ['llama.feed_forward_length', { type: 'uint32', value: 11008 }],
      ],
      tensors: [tensorF32('big', [1024, 1024], big), tensorF32('small', [4], [1, 2, 3, 4])],
    });
    const headerBytes = layout.dataStart;
    const src = await openGgufSource(await writeTemp('vocab.gguf', bytes));
    assert.deepStrictEqual(src.metadata['tokenizer.ggml.tokens'], { arrayOf: 'string', length: 30_000 });
    assert.deepStrictEqual(src.metadata['tokenizer.ggml.scores'], { arrayOf: 'float32', length: 30_000 });
    assert.strictEqual(src.metadata['llama.feed_forward_length'], 11008);
    // The header (~0.6 MB) needed several growing reads from the first 64 KiB; opening read at most
    // twice the header and none of the 4 MiB of tensor data behind it.
    assert.ok(headerBytes > 8 * GGUF_LIMITS.firstReadBytes);
    assert.ok(src.bytesRead >= headerBytes && src.bytesRead <= 2 * headerBytes, `read ${src.bytesRead}, header ${headerBytes}`);
    assert.ok(src.bytesRead < bytes.length - 2 * 1024 * 1024);

    const before = src.bytesRead;
    assert.deepStrictEqual(Array.from(await src.read('small')), [1, 2, 3, 4]);
    assert.strictEqual(src.bytesRead - before, 16, 'reading one tensor reads only its 16 bytes');
    const before2 = src.bytesRead;
    const got = await src.read('big');
    assert.strictEqual(src.bytesRead - before2, 4 * 1024 * 1024);
    assert.strictEqual(got[1023 * 1024 + 5], (1023 * 1024 + 5) % 7);
    await src.close();
  });

  it('lists a tensor of a type it cannot decode, and names tensor and type when asked to read it', async () => {
    const src = await open({ tensors: [{ name: 'iq', ne: [256, 2], type: GGML_TYPE.IQ2_XXS, data: new Uint8Array(2 * 66) }] });
    assert.deepStrictEqual(src.tensors, [{ name: 'iq', dtype: 'IQ2_XXS', shape: [2, 256], byteLength: 132 }]);
    await assert.rejects(src.read('iq'), (e: unknown) => isFfnLensError(e) && /'iq'.*IQ2_XXS.*cannot decode/.test(e.message));
    await assert.rejects(src.read('nope'), (e: unknown) => isFfnLensError(e) && /no tensor named 'nope'/.test(e.message));
    await src.close();
  });

  it('stops a read when its signal has fired, and refuses reads after close', async () => {
    const src = await open(basic);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(src.read('a', { signal: ac.signal }), (e: unknown) => isFfnLensError(e) && e.kind === 'cancelled');
    await src.close();
    await assert.rejects(src.read('a'), (e: unknown) => isFfnLensError(e) && /closed/.test(e.message));
  });
});

describe('gguf: rejects broken files with one clear line', () => {
  const good = buildGguf(basic);

  it('bad magic, versions 1 and 4, big-endian, tiny file', async () => {
    await rejects(buildGguf({ ...basic, magic: 'GGML' }).bytes, /not a GGUF file/, /"GGML"/);
    await rejects(buildGguf({ ...basic, version: 1 }).bytes, /unsupported GGUF version 1\b/);
    await rejects(buildGguf({ ...basic, version: 4 }).bytes, /unsupported GGUF version 4\b/);
    await rejects(buildGguf({ ...basic, version: 0x03000000 }).bytes, /big-endian/);
    await rejects(Uint8Array.from([0x47, 0x47]), /not a GGUF file/);
  });

  it('truncated in the header, a key, a value, a tensor info, the padding and the data', async () => {
    const { bytes, layout } = good;
    await rejects(bytes.subarray(0, 10), /truncated/, /the header/);
    await rejects(bytes.subarray(0, layout.kvStarts[5] + 4), /truncated/, /metadata key #5/);
    // Cut inside general.name's string value: its length says more bytes than remain.
    await rejects(bytes.subarray(0, layout.kvValueStarts[1] + 9), /truncated/, /metadata value 'general.name'/);
    await rejects(bytes.subarray(0, layout.kvValueStarts[2] + 2), /truncated/, /metadata value 'llama.embedding_length'/);
    await rejects(bytes.subarray(0, layout.tensorInfoStarts[1] + 12), /truncated/, /tensor info #1 \('b'\)/);
    const padded = buildGguf({ alignment: 64, tensors: [tensorF32('a', [3, 2], [0, 1, 2, 3, 4, 5])] });
    assert.ok(padded.layout.dataStart - padded.layout.tensorInfoEnd > 1, 'the cut below lands in padding');
    await rejects(padded.bytes.subarray(0, padded.layout.tensorInfoEnd + 1), /truncated/, /padding before the data section/);
    await rejects(bytes.subarray(0, bytes.length - 4), /truncated/, /tensor 'b' data/);
  });

  it('absurd tensor_count, kv_count, string length and array length', async () => {
    await rejects(buildGguf({ ...basic, tensorCountOverride: 2n ** 40n }).bytes, /tensor_count 1099511627776 is impossible/);
    await rejects(buildGguf({ ...basic, kvCountOverride: 2n ** 40n }).bytes, /metadata_kv_count 1099511627776 is impossible/);
    await rejects(buildGguf({ ...basic, kvCountOverride: 2n ** 63n }).bytes, /too large|impossible/);
    const { bytes, layout } = good;
    await rejects(patchU64(bytes, layout.kvStarts[0], 2n ** 40n), /metadata key #0/, /string length 1099511627776/);
    await rejects(patchU64(bytes, layout.kvValueStarts[1], 2n ** 40n), /'general.name'/, /string length 1099511627776/);
    await rejects(patchU64(bytes, layout.tensorInfoStarts[0], 2n ** 40n), /tensor info #0/, /string length 1099511627776/);
    // general.tags (kv #5) is an array: u32 item type, then its u64 length.
    await rejects(patchU64(bytes, layout.kvValueStarts[5] + 4, 2n ** 40n), /'general.tags'/, /array length 1099511627776/);
    await rejects(patchU64(bytes, layout.kvValueStarts[5] + 4, 2n ** 31n), /array length 2147483648 is over the limit/);
  });

  it('n_dims > 4, unknown type, unknown value type, bad bool, duplicate key or tensor', async () => {
    await rejects(buildGguf({ tensors: [tensorF32('five', [1, 1, 1, 1, 2], [1, 2])] }).bytes, /tensor 'five' has 5 dimensions/);
    await rejects(buildGguf({ tensors: [{ name: 'w', ne: [4], type: 99, data: new Uint8Array(16) }] }).bytes, /tensor 'w' has unknown ggml type 99/);
    await rejects(buildGguf({ tensors: [{ name: 'w', ne: [4], type: 4, data: new Uint8Array(16) }] }).bytes, /unknown ggml type 4/);
    const { bytes, layout } = buildGguf({ kv: [['k.x', { type: 'uint32', value: 1 }], ['k.b', { type: 'bool', value: true }]] });
    const badType = bytes.slice();
    new DataView(badType.buffer).setUint32(layout.kvValueStarts[0] - 4, 13, true);
    await rejects(badType, /metadata value 'k.x': unknown value type 13/);
    const badBool = bytes.slice();
    badBool[layout.kvValueStarts[1]] = 2;
    await rejects(badBool, /'k.b': bool byte is 2/);
    await rejects(buildGguf({ kv: [['k', { type: 'uint8', value: 1 }], ['k', { type: 'uint8', value: 2 }]] }).bytes, /'k' appears twice/);
    await rejects(buildGguf({ tensors: [tensorF32('t', [1], [1]), tensorF32('t', [1], [2])] }).bytes, /tensor 't' appears twice/);
  });

  it('quantised rows that are not whole blocks, and a bad alignment', async () => {
    await rejects(buildGguf({ tensors: [{ name: 'q', ne: [16, 2], type: GGML_TYPE.Q4_0, data: new Uint8Array(18) }] }).bytes, /'q'.*not a whole number of Q4_0 blocks/);
    await rejects(buildGguf({ ...basic, alignment: 48 }).bytes, /general.alignment 48 is not a power of two/);
    await rejects(buildGguf({ kv: [['general.alignment', { type: 'uint64', value: 32n }]] }).bytes, /general.alignment must be a uint32/);
  });

  it('offset not aligned, out of bounds, overlapping tensors', async () => {
    const tensors = basic.tensors!;
    await rejects(buildGguf({ tensors: [tensors[0], { ...tensors[1], offsetOverride: 36 }] }).bytes, /tensor 'b' offset 36 is not a multiple of the alignment 32/);
    await rejects(buildGguf({ tensors: [tensors[0], { ...tensors[1], offsetOverride: 2n ** 40n }] }).bytes, /tensor 'b' offset 1099511627776 is out of bounds/);
    // 'b' says 6 floats (24 bytes) at its real offset 32, but only its 20 written bytes follow.
    await rejects(buildGguf({ tensors: [tensors[0], { ...tensors[1], ne: [6] }] }).bytes, /truncated/, /tensor 'b' data needs 24 bytes at offset 32/);
    await rejects(buildGguf({ tensors: [tensors[0], { ...tensors[1], offsetOverride: 0 }] }).bytes, /tensors 'a' and 'b' overlap/);
  });
});

describe('gguf: against the reference Python writer (skipped without the gguf package)', () => {
  let hasGguf = false;
  try {
    execFileSync('python3', ['-c', 'import gguf'], { stdio: 'ignore' });
    hasGguf = true;
  } catch {
    hasGguf = false;
  }
  (hasGguf ? it : it.skip)('reads a file written by gguf.GGUFWriter', async () => {
    const file = await writeTemp('py.gguf', new Uint8Array(0));
    const script = [
      'import sys, numpy as np, gguf',
      "w = gguf.GGUFWriter(sys.argv[1], 'llama')",
      "w.add_uint32('llama.feed_forward_length', 6)",
      "w.add_tensor('blk.0.ffn_up.weight', np.arange(24, dtype=np.float32).reshape(6, 4))",
      "w.add_tensor('h', np.array([1.5, -2.0], dtype=np.float16))",
      'w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()',
    ].join('\n');
    execFileSync('python3', ['-c', script, file]);
    const src = await openGgufSource(file);
    assert.strictEqual(src.hints.architecture, 'llama');
    assert.strictEqual(src.metadata['llama.feed_forward_length'], 6);
    assert.deepStrictEqual(src.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.shape, [6, 4]);
    assert.deepStrictEqual(Array.from(await src.read('blk.0.ffn_up.weight')), Array.from({ length: 24 }, (_, i) => i));
    assert.deepStrictEqual(Array.from(await src.read('h')), [1.5, -2]);
    await src.close();
  });
});

// Keep the helper honest: its own f32 encoding is what the F32 tests above compare against.
describe('gguf test writer', () => {
  it('writes the spec header fields', () => {
    const { bytes, layout } = buildGguf({ tensors: [tensorF32('a', [1], [2])] });
    const dv = new DataView(bytes.buffer);
    assert.strictEqual(new TextDecoder().decode(bytes.subarray(0, 4)), 'GGUF');
    assert.strictEqual(dv.getUint32(4, true), 3);
    assert.strictEqual(dv.getBigUint64(8, true), 1n);
    assert.strictEqual(layout.dataStart % 32, 0);
    assert.deepStrictEqual(Array.from(bytes.subarray(layout.dataStart)), Array.from(f32Bytes([2])));
  });
});
