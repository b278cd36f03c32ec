/**
 * Torch-layout [out,in] matrices load into the core's [in,out] layout a slice at a time, straight
 * into the allocator's arrays. For every format and dtype the loaded weights are the transpose of
 * the values the test wrote, decoded by the test's own reference decoders (or built from block
 * formulas for the quantised types), across slice boundaries that cut the transpose's tiles; no
 * whole-matrix ordinary array is made; `read` is never asked for a matrix that gets transposed;
 * and a cancel lands between slices.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isFfnLensError } from '../../src/core/errors';
import { RangeReader } from '../../src/formats/fileRange';
import { openSource } from '../../src/formats/open';
import { SLICE_LIMITS } from '../../src/formats/slices';
import type { TensorSource } from '../../src/formats/source';
import { findLayers, loadLayer, type LayerSpec } from '../../src/layers';
import { encodeValues, f16Bits, npyBytes, npzBytes, safetensorsBytes, tempDir, writeFixture } from '../helpers/binaryWriters';
import { refDecode, refFortranToC, type RefElement } from '../helpers/fuzz';
import { GGML_TYPE, buildGguf, type WriterTensor } from '../helpers/ggufWriter';

/** The original constructors, captured before any test swaps the globals for counting ones. */
const F32 = Float32Array;

/** d_model (in) and d_ff (out): odd, and not multiples of the 32-wide tiles. */
const D = 37;
const F = 53;

/** A tensor as the test wrote it: its logical row-major [rows x cols] values as decoded by the test's reference. */
interface Written {
  rows: number;
  cols: number;
  values: Float32Array;
}

/** The three matrices of a gated layer, torch layout: gate/up [F x D], down [D x F] (or other sizes for block types). */
interface Layer {
  gate: Written;
  up: Written;
  down: Written;
}

/** The transpose, by index arithmetic and nothing else. */
function refTranspose(w: Written): Float32Array {
  const out = new F32(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) for (let c = 0; c < w.cols; c++) out[c * w.rows + r] = w.values[r * w.cols + c];
  return out;
}

const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));

/** Deterministic values in [-3, 3) with zeros of both signs and tiny ones mixed in (f16 subnormals). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (i % 97 === 5) return -0;
    if (i % 89 === 7) return 0;
    if (i % 83 === 11) return (s / 2 ** 32) * 1e-5;
    return (s / 2 ** 32 - 0.5) * 6;
  });
}

const ELEMENT: Record<string, RefElement> = {
  F32: { kind: 'f', size: 4, littleEndian: true },
  F16: { kind: 'f', size: 2, littleEndian: true },
  BF16: { kind: 'bf', size: 2, littleEndian: true },
  F64: { kind: 'f', size: 8, littleEndian: true },
};

/** `rows x cols` values encoded as `dtype` (safetensors names) in either byte order, and what they decode to by the reference. */
function encoded(dtype: string, rows: number, cols: number, seed: number, littleEndian = true): Written & { bytes: Uint8Array } {
  const bytes = encodeValues(dtype, values(rows * cols, seed), littleEndian);
  return { rows, cols, bytes, values: refDecode(bytes, { ...ELEMENT[dtype], littleEndian }) };
}

/** The same values in column-major (Fortran) order. */
function columnMajor(bytes: Uint8Array, rows: number, cols: number, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out.set(bytes.subarray((r * cols + c) * size, (r * cols + c + 1) * size), (c * rows + r) * size);
  return out;
}

// ---- quantised blocks, built from ggml's block layouts (ggml-common.h) with their values worked out by formula ----

/** A [rows x cols] Q8_0 tensor (block_q8_0 = f16 d + 32 int8 q; value q*d) with exact scales. */
function q8_0(rows: number, cols: number, seed: number): Written & { data: Uint8Array } {
  const next = values(rows * cols, seed);
  const data = new Uint8Array((rows * cols / 32) * 34);
  const dv = new DataView(data.buffer);
  const out: number[] = [];
  for (let b = 0; b < rows * cols / 32; b++) {
    const d = [1 / 64, 1 / 32, 3 / 128][b % 3];
    dv.setUint16(b * 34, f16Bits(d), true);
    for (let j = 0; j < 32; j++) {
      const q = Math.max(-127, Math.min(127, Math.round(next[b * 32 + j] * 40))) + 0; // + 0: no -0 (an int8 has none)
      dv.setInt8(b * 34 + 2 + j, q);
      out.push(q * d);
    }
  }
  return { rows, cols, data, values: F32.from(out) };
}

/**
 * A [rows x 256] Q4_K tensor, one block_q4_K per row: f16 d and dmin, 12 bytes packing eight 6-bit
 * scales and mins (ggml's get_scale_min_k4 layout), then 128 bytes of nibbles, byte 32k + l
 * holding element 64k + l (low) and 64k + 32 + l (high). Value: d*scale*q - dmin*min of the
 * element's 32-wide sub-block; exact with these d and dmin.
 */
function q4_K(rows: number, seed: number): Written & { data: Uint8Array } {
  let s = seed;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const data = new Uint8Array(rows * 144);
  const dv = new DataView(data.buffer);
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const at = r * 144;
    const d = 1 / 16;
    const dmin = 1 / 8;
    dv.setUint16(at, f16Bits(d), true);
    dv.setUint16(at + 2, f16Bits(dmin), true);
    const sc = Array.from({ length: 8 }, () => rand(64));
    const m = Array.from({ length: 8 }, () => rand(64));
    for (let j = 0; j < 4; j++) {
      data[at + 4 + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
      data[at + 8 + j] = m[j] | ((m[j + 4] >> 4) << 6);
      data[at + 12 + j] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
    }
    const q = Array.from({ length: 256 }, () => rand(16));
    for (let k = 0; k < 4; k++) for (let l = 0; l < 32; l++) data[at + 16 + 32 * k + l] = q[64 * k + l] | (q[64 * k + 32 + l] << 4);
    for (let i = 0; i < 256; i++) out.push(d * sc[i >> 5] * q[i] - dmin * m[i >> 5]);
  }
  return { rows, cols: 256, data, values: F32.from(out) };
}

// ---- files ----

const LLAMA = 'model.layers.0.mlp.';
const stName = { gate: `${LLAMA}gate_proj.weight`, up: `${LLAMA}up_proj.weight`, down: `${LLAMA}down_proj.weight` } as const;
const ROLES = ['gate', 'up', 'down'] as const;

/** One fixture: how to open it (a path, or several .npy files as one source) and what was written. */
interface Fixture {
  name: string;
  open: () => Promise<TensorSource>;
  layer: Layer;
}

/** A source over several single-tensor sources (a layer saved as one .npy per matrix). */
function combined(sources: TensorSource[]): TensorSource {
  const owner = new Map(sources.flatMap((s) => s.tensors.map((t) => [t.name, s] as const)));
  return {
    format: 'npy',
    path: sources[0].path,
    tensors: sources.flatMap((s) => s.tensors),
    metadata: {},
    hints: {},
    read: (n, o) => owner.get(n)!.read(n, o),
    readTransposed: (n, o) => owner.get(n)!.readTransposed!(n, o),
    close: async () => {
      for (const s of sources) await s.close();
    },
  };
}

function fixtures(dir: string): Fixture[] {
  const list: Fixture[] = [];
  const at = (name: string, bytes: Uint8Array | string): (() => Promise<TensorSource>) => {
    const file = writeFixture(dir, name, bytes);
    return () => openSource(file, { config: false });
  };

  for (const dtype of ['F32', 'F16', 'BF16', 'F64']) {
    const t = { gate: encoded(dtype, F, D, 1), up: encoded(dtype, F, D, 2), down: encoded(dtype, D, F, 3) };
    const bytes = safetensorsBytes(ROLES.map((r) => ({ name: stName[r], dtype, shape: [t[r].rows, t[r].cols], values: t[r].bytes })));
    list.push({ name: `safetensors ${dtype}`, open: at(`st-${dtype}.safetensors`, bytes), layer: t });
  }

  // .npy: one file per matrix, every float type in both byte orders, and Fortran order.
  const NPY: [string, string, boolean, boolean][] = [
    ['<f4', 'F32', true, false], ['>f4', 'F32', false, false], ['<f2', 'F16', true, false], ['>f2', 'F16', false, false],
    ['<f8', 'F64', true, false], ['>f8', 'F64', false, false], ['<f4', 'F32', true, true], ['>f2', 'F16', false, true],
  ];
  for (const [descr, dtype, le, fortran] of NPY) {
    const t = { gate: encoded(dtype, F, D, 4, le), up: encoded(dtype, F, D, 5, le), down: encoded(dtype, D, F, 6, le) };
    const tag = `${descr.replace('<', 'le').replace('>', 'be')}${fortran ? '-fortran' : ''}`;
    const files = ROLES.map((r) => {
      const w = t[r];
      const data = fortran ? columnMajor(w.bytes, w.rows, w.cols, w.bytes.length / (w.rows * w.cols)) : w.bytes;
      return writeFixture(dir, path.join(`npy-${tag}`, `${stName[r]}.npy`), npyBytes({ descr, shape: [w.rows, w.cols], values: data, fortran }));
    });
    list.push({ name: `npy ${descr}${fortran ? ' Fortran order' : ''}`, open: async () => combined(await Promise.all(files.map((f) => openSource(f, { config: false })))), layer: t });
  }

  // .npz stored and deflated: a different dtype, byte order and order per member.
  for (const method of [0, 8] as const) {
    const t = { gate: encoded('F16', F, D, 7), up: encoded('F32', F, D, 8, false), down: encoded('F64', D, F, 9) };
    const bytes = npzBytes({
      [stName.gate]: npyBytes({ descr: '<f2', shape: [F, D], values: t.gate.bytes }),
      [stName.up]: npyBytes({ descr: '>f4', shape: [F, D], values: columnMajor(t.up.bytes, F, D, 4), fortran: true }),
      [stName.down]: npyBytes({ descr: '<f8', shape: [D, F], values: t.down.bytes }),
    }, method);
    list.push({ name: `npz ${method === 0 ? 'stored' : 'deflated'} (<f2, >f4 Fortran, <f8)`, open: at(`m${method}.npz`, bytes), layer: t });
  }

  // GGUF: ne is [cols, rows] (ne0 fastest); llama.cpp names; a quantised row is whole blocks.
  const gguf = (name: string, layer: Layer, types: Record<(typeof ROLES)[number], number>, data: Record<(typeof ROLES)[number], Uint8Array>): void => {
    const tensors: WriterTensor[] = ROLES.map((r) => ({ name: `blk.0.ffn_${r}.weight`, ne: [layer[r].cols, layer[r].rows], type: types[r], data: data[r] }));
    const bytes = buildGguf({ kv: [['general.architecture', { type: 'string', value: 'llama' }]], tensors }).bytes;
    list.push({ name: `gguf ${name}`, open: at(`${name}.gguf`, bytes), layer });
  };
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    const t = { gate: encoded(dtype, F, D, 10), up: encoded(dtype, F, D, 11), down: encoded(dtype, D, F, 12) };
    gguf(dtype, t, { gate: GGML_TYPE[dtype], up: GGML_TYPE[dtype], down: GGML_TYPE[dtype] }, { gate: t.gate.bytes, up: t.up.bytes, down: t.down.bytes });
  }
  {
    // d_model 64 (two Q8_0 blocks a row), d_ff 53; down [64 x 53] rows are not blocks, so F16.
    const t = { gate: q8_0(F, 64, 13), up: q8_0(F, 64, 14), down: encoded('F16', 64, F, 15) };
    gguf('Q8_0', t, { gate: GGML_TYPE.Q8_0, up: GGML_TYPE.Q8_0, down: GGML_TYPE.F16 }, { gate: t.gate.data, up: t.up.data, down: t.down.bytes });
  }
  {
    // d_model 256 (one Q4_K block a row), d_ff 53.
    const t = { gate: q4_K(F, 16), up: q4_K(F, 17), down: encoded('BF16', 256, F, 18) };
    gguf('Q4_K', t, { gate: GGML_TYPE.Q4_K, up: GGML_TYPE.Q4_K, down: GGML_TYPE.BF16 }, { gate: t.gate.data, up: t.up.data, down: t.down.bytes });
  }

  {
    // JSON: already in memory, transposed in one go.
    // JSON numbers have no -0: the values written are those with +0 for -0.
    const json32 = (rows: number, cols: number, seed: number): Written => {
      const w = encoded('F32', rows, cols, seed);
      return { rows, cols, values: w.values.map((v) => v + 0) };
    };
    const t = { gate: json32(F, D, 19), up: json32(F, D, 20), down: json32(D, F, 21) };
    const rowsOf = (w: Written): number[][] => Array.from({ length: w.rows }, (_, r) => Array.from(w.values.subarray(r * w.cols, (r + 1) * w.cols)));
    const json = JSON.stringify(Object.fromEntries(ROLES.map((r) => [stName[r], rowsOf(t[r])])));
    list.push({ name: 'json', open: at('layer.json', json), layer: t });
  }
  return list;
}

// ---- helpers around loadLayer ----

/** A plain allocator (arrays made by the original constructor) that remembers what it gave, filled with NaN. */
function allocator(): { alloc: (n: number) => Float32Array; sizes: number[]; given: Float32Array[] } {
  const a = {
    sizes: [] as number[],
    given: [] as Float32Array[],
    alloc: (n: number): Float32Array => {
      a.sizes.push(n);
      const out = new F32(n).fill(NaN);
      a.given.push(out);
      return out;
    },
  };
  return a;
}

/** `source` with every `read` and `readTransposed` call recorded by tensor name. */
function spied(source: TensorSource): { source: TensorSource; reads: string[]; transposedReads: string[] } {
  const reads: string[] = [];
  const transposedReads: string[] = [];
  const view = Object.create(source, {
    read: { value: (n: string, o?: object) => (reads.push(n), source.read(n, o)) },
    readTransposed: { value: (n: string, o?: object) => (transposedReads.push(n), source.readTransposed!(n, o)) },
  }) as TensorSource;
  return { source: view, reads, transposedReads };
}

function theLayer(source: TensorSource): LayerSpec {
  const specs = findLayers(source.tensors, source.hints, source.path);
  assert.strictEqual(specs.length, 1, 'one layer found');
  const spec = specs[0];
  assert.strictEqual(spec.kind, 'gated');
  assert.deepStrictEqual([spec.layouts.w1, spec.layouts.gate, spec.layouts.w2], ['out_in', 'out_in', 'out_in'], 'torch layout');
  return spec;
}

/** Runs `fn` with SLICE_LIMITS.bytes set to `bytes`, restoring it after. */
async function withSlice<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
  const saved = SLICE_LIMITS.bytes;
  SLICE_LIMITS.bytes = bytes;
  try {
    return await fn();
  } finally {
    SLICE_LIMITS.bytes = saved;
  }
}

// ---- the tests ----

describe('loading torch-layout matrices transposed, a slice at a time', function () {
  this.timeout(30000);
  let dir = '';
  let all: Fixture[] = [];
  before(() => {
    dir = tempDir('load-transposed');
    all = fixtures(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Slice sizes: the default (one slice), about four rows (slices end inside a 32-row tile), one row (8 values untransposed). */
  const SLICES: [string, number | undefined][] = [['default slices', undefined], ['slices of a few rows', 4 * 4 * D], ['one row a slice', 4 * 8]];

  it('covers every streaming format and dtype', () => {
    assert.deepStrictEqual(all.map((f) => f.name), [
      'safetensors F32', 'safetensors F16', 'safetensors BF16', 'safetensors F64',
      'npy <f4', 'npy >f4', 'npy <f2', 'npy >f2', 'npy <f8', 'npy >f8', 'npy <f4 Fortran order', 'npy >f2 Fortran order',
      'npz stored (<f2, >f4 Fortran, <f8)', 'npz deflated (<f2, >f4 Fortran, <f8)',
      'gguf F32', 'gguf F16', 'gguf BF16', 'gguf Q8_0', 'gguf Q4_K', 'json',
    ]);
  });

  for (const [sliceName, bytes] of SLICES) {
    it(`every format: the loaded weights are the transposes of what was written (${sliceName})`, async () => {
      for (const fx of all) {
        await withSlice(bytes ?? SLICE_LIMITS.bytes, async () => {
          const opened = await fx.open();
          try {
            const { source, reads, transposedReads } = spied(opened);
            const spec = theLayer(source);
            const a = allocator();
            const got = await loadLayer(source, spec, { alloc: a.alloc });
            const plain = await loadLayer(source, spec);
            const want = { w1: refTranspose(fx.layer.up), wGate: refTranspose(fx.layer.gate), w2: refTranspose(fx.layer.down) };
            for (const k of ['w1', 'wGate', 'w2'] as const) {
              assert.deepStrictEqual(bitsOf(got[k]!), bitsOf(want[k]), `${fx.name}: ${k} with alloc`);
              assert.ok(a.given.includes(got[k]!), `${fx.name}: ${k} is the allocator's array`);
              assert.deepStrictEqual(bitsOf(plain[k]!), bitsOf(want[k]), `${fx.name}: ${k} without alloc`);
            }
            assert.deepStrictEqual(a.sizes.sort(), [fx.layer.up.rows * fx.layer.up.cols, fx.layer.gate.rows * fx.layer.gate.cols, fx.layer.down.rows * fx.layer.down.cols].sort(), `${fx.name}: one allocation per matrix, of its size`);
            assert.deepStrictEqual(reads, [], `${fx.name}: read is never asked for a matrix that gets transposed`);
            assert.strictEqual(transposedReads.length, 6, `${fx.name}: three matrices, twice`);
          } finally {
            await opened.close();
          }
        });
      }
    });
  }

  it('readTransposed and read of every tensor agree with the reference across slice sizes', async () => {
    for (const fx of all) {
      for (const [, bytes] of SLICES) {
        await withSlice(bytes ?? SLICE_LIMITS.bytes, async () => {
          const source = await fx.open();
          try {
            const spec = theLayer(source);
            for (const role of ROLES) {
              const name = role === 'up' ? spec.tensors.w1 : role === 'gate' ? spec.tensors.gate! : spec.tensors.w2;
              const w = fx.layer[role];
              assert.deepStrictEqual(bitsOf(await source.readTransposed!(name)), bitsOf(refTranspose(w)), `${fx.name} ${role} transposed`);
              assert.deepStrictEqual(bitsOf(await source.read(name)), bitsOf(w.values), `${fx.name} ${role} as stored`);
            }
          } finally {
            await source.close();
          }
        });
      }
    }
  });

  it('no ordinary array of a whole matrix is made when loading into allocated arrays', async () => {
    // Counts every fresh Float32Array and Uint8Array (views over an existing buffer are free) while loading.
    for (const fx of all.filter((f) => f.name !== 'json')) {
      await withSlice(4 * 4 * D, async () => {
        const source = await fx.open();
        try {
          const spec = theLayer(source);
          await loadLayer(source, spec, { alloc: allocator().alloc }); // warm up (the f16 table, lazily built)
          const largest = await largestAllocations(() => loadLayer(source, spec, { alloc: allocator().alloc }));
          const smallest = Math.min(...ROLES.map((r) => fx.layer[r].rows * fx.layer[r].cols));
          assert.ok(largest.floats * 2 < smallest, `${fx.name}: largest fresh Float32Array ${largest.floats} values, a matrix has ${smallest}`);
          assert.ok(largest.bytes < smallest, `${fx.name}: largest fresh Uint8Array ${largest.bytes} bytes, a matrix has ${smallest} values`);
        } finally {
          await source.close();
        }
      });
    }
  });

  it('a source without readTransposed still loads the same weights (read, then transpose)', async () => {
    for (const fx of all.filter((f) => /safetensors BF16|gguf Q4_K|npz deflated/.test(f.name))) {
      const source = await fx.open();
      try {
        const bare: TensorSource = { format: source.format, path: source.path, tensors: source.tensors, metadata: {}, hints: {}, read: (n, o) => source.read(n, o), close: async () => undefined };
        const a = allocator();
        const got = await loadLayer(bare, theLayer(bare), { alloc: a.alloc });
        assert.deepStrictEqual(bitsOf(got.w1), bitsOf(refTranspose(fx.layer.up)), fx.name);
        assert.deepStrictEqual(bitsOf(got.w2), bitsOf(refTranspose(fx.layer.down)), fx.name);
        assert.ok(a.given.includes(got.w2));
      } finally {
        await source.close();
      }
    }
  });

  it('a tensor whose data is not the listed size never gets an allocation of its size', async () => {
    const good = all.find((f) => f.name === 'safetensors BF16')!;
    const wrong = writeFixture(dir, 'wrong.safetensors', safetensorsBytes([
      { name: stName.gate, dtype: 'BF16', shape: [F + 1, D], values: values((F + 1) * D, 1) },
      { name: stName.up, dtype: 'BF16', shape: [F + 1, D], values: values((F + 1) * D, 2) },
      { name: stName.down, dtype: 'BF16', shape: [D, F + 1], values: values(D * (F + 1), 3) },
    ]));
    const source = await good.open();
    const other = await openSource(wrong, { config: false });
    try {
      // The listing is the good file's; the data the reader finds is the other's.
      const lying = Object.create(source, { readTransposed: { value: (n: string, o?: object) => other.readTransposed!(n, o) } }) as TensorSource;
      const a = allocator();
      await assert.rejects(loadLayer(lying, theLayer(lying), { alloc: a.alloc }), (e: unknown) => isFfnLensError(e) && /has 1998 numbers, expected 1961/.test(e.message));
      assert.deepStrictEqual(a.sizes, [], 'nothing allocated');
    } finally {
      await source.close();
      await other.close();
    }
  });

  it('readTransposed refuses what is not a matrix', async () => {
    const st = writeFixture(dir, 'ranks.safetensors', safetensorsBytes([
      { name: 'v', dtype: 'F16', shape: [6], values: values(6, 1) },
      { name: 'cube', dtype: 'F32', shape: [2, 3, 4], values: values(24, 2) },
    ]));
    const npy = writeFixture(dir, 'cube.npy', npyBytes({ descr: '<f4', shape: [2, 3, 4], values: values(24, 3), fortran: true }));
    const gguf = writeFixture(dir, 'vec.gguf', buildGguf({ tensors: [{ name: 'v', ne: [8], type: GGML_TYPE.F32, data: encodeValues('F32', values(8, 4)) }] }).bytes);
    const json = writeFixture(dir, 'vec.json', JSON.stringify({ v: [1, 2, 3] }));
    for (const [file, names] of [[st, ['v', 'cube']], [npy, ['cube']], [gguf, ['v']], [json, ['v']]] as const) {
      const source = await openSource(file, { config: false });
      try {
        for (const name of names) await assert.rejects(source.readTransposed!(name), /not a matrix, so it cannot be read transposed/, `${file} ${name}`);
      } finally {
        await source.close();
      }
    }
  });

  it('Fortran-order arrays read row-major across slices, a 3-D one too', async () => {
    const shapes = [[F, D], [D, F], [3, 5, 7]];
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const fileOrder = encodeValues('F16', values(n, 30), false);
      const file = writeFixture(dir, `fortran-${shape.join('x')}.npy`, npyBytes({ descr: '>f2', shape, values: fileOrder, fortran: true }));
      const want = refFortranToC(refDecode(fileOrder, { kind: 'f', size: 2, littleEndian: false }), shape);
      for (const bytes of [4, 4 * 3 * D, SLICE_LIMITS.bytes]) {
        await withSlice(bytes, async () => {
          const source = await openSource(file, { config: false });
          try {
            assert.deepStrictEqual(bitsOf(await source.read(source.tensors[0].name)), bitsOf(want), `${shape.join('x')}, slice ${bytes}`);
          } finally {
            await source.close();
          }
        });
      }
    }
  });

  it('a cancel lands between slices: the load rejects as cancelled with only the first slice read and placed', async () => {
    for (const fx of all.filter((f) => f.name !== 'json')) {
      await withSlice(4 * 4 * D, async () => {
        const source = await fx.open();
        const controller = new AbortController();
        const original = RangeReader.prototype.read;
        let completed = 0;
        RangeReader.prototype.read = async function (this: RangeReader, ...args: Parameters<RangeReader['read']>) {
          const bytes = await original.apply(this, args);
          if (++completed === 1) controller.abort();
          return bytes;
        };
        try {
          const spec = theLayer(source);
          const a = allocator();
          await assert.rejects(loadLayer(source, spec, { alloc: a.alloc, signal: controller.signal }), (e: unknown) => isFfnLensError(e) && e.kind === 'cancelled');
          assert.strictEqual(completed, 1, `${fx.name}: no read after the cancel`);
          // The first matrix's array holds its first slice and nothing more (allocations start as NaN).
          assert.strictEqual(a.given.length, 1, `${fx.name}: one matrix started`);
          const written = a.given[0].filter((v) => !Number.isNaN(v)).length;
          assert.ok(written > 0 && written < a.given[0].length / 2, `${fx.name}: ${written} of ${a.given[0].length} values written before the cancel`);
        } finally {
          RangeReader.prototype.read = original;
          await source.close();
        }
      });
    }
  });
});

/**
 * The largest fresh Float32Array (in values) and Uint8Array (in bytes) made while `fn` runs: the
 * global constructors are swapped for counting proxies (code that names `Float32Array` gets the
 * proxy; views over an existing buffer are not counted).
 */
async function largestAllocations(fn: () => Promise<unknown>): Promise<{ floats: number; bytes: number }> {
  const g = globalThis as unknown as Record<'Float32Array' | 'Uint8Array', unknown>;
  const saved = { Float32Array: g.Float32Array, Uint8Array: g.Uint8Array };
  const largest = { floats: 0, bytes: 0 };
  const counting = (ctor: Function, key: 'floats' | 'bytes'): unknown =>
    new Proxy(ctor, {
      construct(target, args: unknown[]) {
        const first = args[0];
        const n = typeof first === 'number' ? first : first instanceof ArrayBuffer || first instanceof SharedArrayBuffer ? 0 : ((first as ArrayLike<unknown> | undefined)?.length ?? 0);
        largest[key] = Math.max(largest[key], n);
        return Reflect.construct(target, args, target) as object;
      },
    });
  g.Float32Array = counting(saved.Float32Array as Function, 'floats');
  g.Uint8Array = counting(saved.Uint8Array as Function, 'bytes');
  try {
    await fn();
  } finally {
    g.Float32Array = saved.Float32Array;
    g.Uint8Array = saved.Uint8Array;
  }
  return largest;
}
