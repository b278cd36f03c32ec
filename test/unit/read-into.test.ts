/**
 * `ReadOptions.into`: every reader decodes into the array the caller provides (here arrays in the
 * matrix kernel's shared memory, as the worker uses) and gets exactly the values it gets without.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { openSource } from '../../src/formats/open';
import type { TensorSource } from '../../src/formats/source';
import { KernelMemory } from '../../src/kernels/memory';
import { encodeValues, npyBytes, npzBytes, safetensorsBytes, tempDir, writeFixture } from '../helpers/binaryWriters';
import { GGML_TYPE, buildGguf } from '../helpers/ggufWriter';

/** 24 values with a sign, fractions, a zero, a subnormal-ish tiny value and a large one. */
const VALUES = Array.from({ length: 24 }, (_, i) => (i === 5 ? 0 : i === 7 ? 1e-6 : i === 11 ? 3e4 : (i - 12) * 0.37 + 0.125));
/** Integers for the integer dtypes. */
const INTS = Array.from({ length: 24 }, (_, i) => i * 3 - 30);

/** Bit patterns, so -0 and NaN payloads count too. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));

/** Reads every tensor with and without `into` and checks the two agree bit for bit, and that `into` was used. */
async function checkAll(file: string, expectTensors: number): Promise<void> {
  const source: TensorSource = await openSource(file);
  const memory = new KernelMemory();
  try {
    assert.strictEqual(source.tensors.length, expectTensors, 'tensors listed');
    for (const t of source.tensors) {
      const plain = await source.read(t.name);
      const calls: number[] = [];
      let given: Float32Array | undefined;
      const got = await source.read(t.name, {
        into: (length) => {
          calls.push(length);
          given = memory.alloc(length);
          given.fill(NaN); // contents of an allocation are unspecified: every value must be written
          return given;
        },
      });
      assert.deepStrictEqual(calls, [plain.length], `${t.name}: into called once with the element count`);
      assert.strictEqual(got, given, `${t.name}: read returns the array into gave`);
      assert.ok(memory.isResident(got), `${t.name}: in kernel memory`);
      assert.deepStrictEqual(bits(got), bits(plain), `${t.name} (${t.dtype}): same values with and without into`);
      assert.ok(plain.some((v) => v !== 0), `${t.name}: not all zero`);
    }
  } finally {
    await source.close();
  }
}

describe('formats: reading into a provided array', () => {
  let dir = '';
  before(() => {
    dir = tempDir('read-into');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('safetensors: F32, F16, BF16, F64, I32', async () => {
    const file = writeFixture(dir, 'm.safetensors', safetensorsBytes([
      { name: 'f32', dtype: 'F32', shape: [4, 6], values: VALUES },
      { name: 'f16', dtype: 'F16', shape: [4, 6], values: VALUES },
      // An odd-sized tensor first so the next one starts unaligned in the file.
      { name: 'odd', dtype: 'F16', shape: [3], values: [1, 2, 3] },
      { name: 'bf16', dtype: 'BF16', shape: [6, 4], values: VALUES },
      { name: 'f32u', dtype: 'F32', shape: [24], values: VALUES },
      { name: 'f64', dtype: 'F64', shape: [24], values: VALUES },
      { name: 'i32', dtype: 'I32', shape: [24], values: INTS },
    ]));
    await checkAll(file, 7);
  });

  for (const [descr, fortran] of [['<f4', false], ['>f4', false], ['<f2', false], ['<f8', false], ['<f4', true], ['<i2', false]] as const) {
    it(`npy ${descr}${fortran ? ', Fortran order' : ''}`, async () => {
      const file = writeFixture(dir, `W${descr.slice(1)}${fortran ? 'F' : ''}.npy`, npyBytes({ descr, shape: [4, 6], values: descr.includes('i') ? INTS : VALUES, fortran }));
      await checkAll(file, 1);
    });
  }

  for (const method of [0, 8] as const) {
    it(`npz, ${method === 0 ? 'stored' : 'deflated'} members: f4, f2, Fortran f4`, async () => {
      const file = writeFixture(dir, `m${method}.npz`, npzBytes({
        W1: npyBytes({ descr: '<f4', shape: [4, 6], values: VALUES }),
        W2: npyBytes({ descr: '<f2', shape: [6, 4], values: VALUES }),
        W3: npyBytes({ descr: '<f4', shape: [4, 6], values: VALUES, fortran: true }),
      }, method));
      await checkAll(file, 3);
    });
  }

  it('gguf: F32, F16, BF16, Q8_0, Q4_0', async () => {
    const q8 = new Uint8Array(34);
    new DataView(q8.buffer).setUint16(0, 0x3800, true); // d = 0.5
    for (let i = 0; i < 32; i++) q8[2 + i] = (i * 7 - 100) & 0xff;
    const q4 = new Uint8Array(18);
    new DataView(q4.buffer).setUint16(0, 0x3c00, true); // d = 1
    for (let i = 0; i < 16; i++) q4[2 + i] = (i * 37) & 0xff;
    const { bytes } = buildGguf({
      tensors: [
        { name: 'f32', ne: [6, 4], type: GGML_TYPE.F32, data: encodeValues('F32', VALUES) },
        { name: 'f16', ne: [6, 4], type: GGML_TYPE.F16, data: encodeValues('F16', VALUES) },
        { name: 'bf16', ne: [24], type: GGML_TYPE.BF16, data: encodeValues('BF16', VALUES) },
        { name: 'q8', ne: [32], type: GGML_TYPE.Q8_0, data: q8 },
        { name: 'q4', ne: [32], type: GGML_TYPE.Q4_0, data: q4 },
      ],
    });
    await checkAll(writeFixture(dir, 'm.gguf', bytes), 5);
  });

  it('json', async () => {
    const rows = [VALUES.slice(0, 6), VALUES.slice(6, 12), VALUES.slice(12, 18), VALUES.slice(18)];
    await checkAll(writeFixture(dir, 'm.json', JSON.stringify({ W1: rows, b1: VALUES.slice(0, 6) })), 2);
  });

  it('refuses an into that returns the wrong length', async () => {
    const file = writeFixture(dir, 'wrong.safetensors', safetensorsBytes([{ name: 'w', dtype: 'F16', shape: [24], values: VALUES }]));
    const source = await openSource(file);
    try {
      await assert.rejects(source.read('w', { into: (n) => new Float32Array(n + 1) }), /into returned 25 values for a tensor of 24/);
    } finally {
      await source.close();
    }
  });
});
