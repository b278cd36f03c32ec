import * as assert from 'assert';
import * as fs from 'fs';
import fc from 'fast-check';
import { isFfnLensError } from '../../src/core/errors';
import { fortranToRowMajor, openNpySource } from '../../src/formats/npy';
import { npyBytes, tempDir, writeFixture, type NpyOptions } from '../helpers/binaryWriters';

function assertSame(actual: Float32Array, expected: readonly number[]): void {
  assert.strictEqual(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  expected.forEach((e, i) => assert.ok(Object.is(actual[i], e), `[${i}]: got ${actual[i]}, expected ${e}`));
}

async function expectError(run: () => Promise<unknown>, file: string, fragment: string | RegExp): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(isFfnLensError(e), `not an FfnLensError: ${String(e)}`);
    assert.strictEqual(e.file, file);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    else assert.match(e.message, fragment);
    return true;
  });
}

describe('npy reader', () => {
  const dir = tempDir('npy');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function readBack(name: string, o: NpyOptions): Promise<{ shape: number[]; dtype: string; data: Float32Array }> {
    const src = await openNpySource(writeFixture(dir, name, npyBytes(o)));
    try {
      assert.strictEqual(src.format, 'npy');
      assert.strictEqual(src.tensors.length, 1);
      const t = src.tensors[0];
      return { shape: t.shape, dtype: t.dtype, data: await src.read(t.name) };
    } finally {
      await src.close();
    }
  }

  const cases: { descr: string; values: number[]; expected: number[] }[] = [
    { descr: '<f4', values: [1.5, -0.25, -0, Infinity], expected: [1.5, -0.25, -0, Infinity] },
    { descr: '>f4', values: [1.5, -0.25, 3e38, 2 ** -149], expected: [1.5, -0.25, 3.0000000054977558e38, 2 ** -149] },
    { descr: '<f8', values: [0.1, -3.5, 1e300], expected: [0.10000000149011612, -3.5, Infinity] },
    { descr: '>f8', values: [0.1, -3.5, 1e-300], expected: [0.10000000149011612, -3.5, 0] },
    { descr: '<f2', values: [1, -2.25, 0.1, 65504], expected: [1, -2.25, 0.0999755859375, 65504] },
    { descr: '>f2', values: [1, -2.25, 0.1, 2 ** -24], expected: [1, -2.25, 0.0999755859375, 2 ** -24] },
    { descr: '|i1', values: [-128, 127], expected: [-128, 127] },
    { descr: '|u1', values: [0, 255], expected: [0, 255] },
    { descr: '>i2', values: [-32768, 258], expected: [-32768, 258] },
    { descr: '<u2', values: [65535, 1], expected: [65535, 1] },
    { descr: '>i4', values: [-7, 123456], expected: [-7, 123456] },
    { descr: '<u4', values: [4294967295], expected: [4294967296] },
    { descr: '>i8', values: [-5, 2 ** 40], expected: [-5, 1099511627776] },
    { descr: '<u8', values: [2 ** 53], expected: [9007199254740992] },
    { descr: '|b1', values: [1, 0, 1], expected: [1, 0, 1] },
  ];
  for (const c of cases) {
    it(`decodes ${c.descr}`, async () => {
      const got = await readBack(`d${cases.indexOf(c)}.npy`, { descr: c.descr, shape: [c.values.length], values: c.values });
      assert.deepStrictEqual(got.shape, [c.values.length]);
      assert.strictEqual(got.dtype, c.descr);
      assertSame(got.data, c.expected);
    });
  }

  it("reads '=' (native) as little-endian", async () => {
    const bytes = npyBytes({ descr: '<f4', shape: [2], values: [3, -4] });
    const patched = Buffer.from(bytes.toString('latin1').replace("'<f4'", "'=f4'"), 'latin1');
    const src = await openNpySource(writeFixture(dir, 'native.npy', patched));
    assertSame(await src.read(src.tensors[0].name), [3, -4]);
    await src.close();
  });

  it('names the tensor after the file stem', async () => {
    const src = await openNpySource(writeFixture(dir, 'W1.npy', npyBytes({ descr: '<f4', shape: [1], values: [1] })));
    assert.deepStrictEqual(src.tensors, [{ name: 'W1', dtype: '<f4', shape: [1], byteLength: 4 }]);
    await src.close();
  });

  it('transposes a Fortran-order 2x3 into row-major order', async () => {
    // [[1, 2, 3], [4, 5, 6]] stored column by column.
    const got = await readBack('fortran.npy', { descr: '<f4', shape: [2, 3], fortran: true, values: [1, 4, 2, 5, 3, 6] });
    assert.deepStrictEqual(got.shape, [2, 3]);
    assertSame(got.data, [1, 2, 3, 4, 5, 6]);
  });

  it('transposes a Fortran-order 2x3x4 (big-endian f8) into row-major order', async () => {
    const [I, J, K] = [2, 3, 4];
    const f = (i: number, j: number, k: number): number => 100 * i + 10 * j + k;
    const fileOrder: number[] = [];
    for (let k = 0; k < K; k++) for (let j = 0; j < J; j++) for (let i = 0; i < I; i++) fileOrder.push(f(i, j, k));
    const expected: number[] = [];
    for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) for (let k = 0; k < K; k++) expected.push(f(i, j, k));
    const got = await readBack('fortran3.npy', { descr: '>f8', shape: [I, J, K], fortran: true, values: fileOrder });
    assertSame(got.data, expected);
    assertSame(fortranToRowMajor(new Float32Array(fileOrder), [I, J, K]), expected);
  });

  it('reads format versions 1, 2 and 3 alike', async () => {
    for (const version of [1, 2, 3] as const) {
      const got = await readBack(`v${version}.npy`, { descr: '<f4', shape: [2, 2], values: [1, 2, 3, 4], version });
      assertSame(got.data, [1, 2, 3, 4]);
    }
  });

  it('reads a 0-d array and an empty array', async () => {
    assertSame((await readBack('scalar.npy', { descr: '<f8', shape: [], values: [2.5] })).data, [2.5]);
    const empty = await readBack('empty.npy', { descr: '<f4', shape: [0, 3], values: [] });
    assert.deepStrictEqual(empty.shape, [0, 3]);
    assertSame(empty.data, []);
  });

  it('reads only the header to list the array', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => i);
    const file = writeFixture(dir, 'lazy.npy', npyBytes({ descr: '<f4', shape: [5000], values }));
    const src = await openNpySource(file);
    try {
      const bytesRead = (): number => (src as unknown as { bytesRead: number }).bytesRead;
      const listed = bytesRead();
      assert.ok(listed <= 256, `listing read ${listed} bytes`);
      assertSame(await src.read('lazy'), values);
      assert.strictEqual(bytesRead() - listed, 20000);
    } finally {
      await src.close();
    }
  });

  it('round-trips random float32 matrices, both byte orders and both layouts (property)', async () => {
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 5 }),
      cols: fc.integer({ min: 1, max: 5 }),
      big: fc.boolean(),
      fortran: fc.boolean(),
      seed: fc.array(fc.float(), { minLength: 25, maxLength: 25 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ rows, cols, big, fortran, seed }) => {
        const m = (r: number, c: number): number => seed[r * cols + c];
        const fileOrder: number[] = [];
        if (fortran) for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) fileOrder.push(m(r, c));
        else for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) fileOrder.push(m(r, c));
        const expected = seed.slice(0, rows * cols);
        const got = await readBack('prop.npy', { descr: big ? '>f4' : '<f4', shape: [rows, cols], fortran, values: fileOrder });
        assertSame(got.data, expected);
      }),
      { numRuns: 60 },
    );
  });

  describe('validation', () => {
    const bad = (name: string, bytes: Uint8Array | string): [string, () => Promise<unknown>] => {
      const file = writeFixture(dir, name, bytes);
      return [file, () => openNpySource(file)];
    };

    it('refuses a bad magic', async () => {
      const [file, run] = bad('magic.npy', 'hello world, not numpy');
      await expectError(run, file, 'not an .npy file: expected the magic "\\x93NUMPY", found bytes [68 65 6c 6c 6f 20]');
    });

    it('refuses an object array: it would need pickle', async () => {
      const [file, run] = bad('object.npy', npyBytes({ descr: '|O', shape: [2], values: new Uint8Array(16) }));
      await expectError(run, file, "dtype '|O': object arrays need pickle, which FFN Lens never runs");
    });

    it('refuses a structured dtype', async () => {
      const dict = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }";
      const [file, run] = bad('struct.npy', npyBytes({ descr: '', shape: [2], values: new Uint8Array(16), dict }));
      await expectError(run, file, 'structured arrays (descr is a list of fields) are not supported');
    });

    it('refuses an unsupported dtype', async () => {
      const [file, run] = bad('complex.npy', npyBytes({ descr: '<c8', shape: [1], values: new Uint8Array(8) }));
      await expectError(run, file, "dtype '<c8' is not supported");
    });

    it('refuses truncated data, with the numbers', async () => {
      const full = npyBytes({ descr: '<f4', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] });
      const [file, run] = bad('trunc.npy', full.subarray(0, full.length - 4));
      await expectError(run, file, 'truncated: dtype <f4 x shape (2, 3) needs 24 data bytes but only 20 follow the header');
    });

    it('refuses extra bytes after the data', async () => {
      const full = npyBytes({ descr: '<f4', shape: [2], values: [1, 2] });
      const [file, run] = bad('extra.npy', Buffer.concat([full, Buffer.alloc(4)]));
      await expectError(run, file, 'needs 8 data bytes but 12 follow the header');
    });

    it('refuses a header length larger than the file', async () => {
      const bytes = npyBytes({ descr: '<f4', shape: [1], values: [1] });
      bytes.writeUInt16LE(60000, 8);
      const [file, run] = bad('hlen.npy', bytes);
      await expectError(run, file, /\.npy header length 60000 runs past the end of the data \(\d+ bytes\)/);
    });

    it('refuses an absurd v2 header length before reading it', async () => {
      const bytes = npyBytes({ descr: '<f4', shape: [1], values: [1], version: 2 });
      bytes.writeUInt32LE(0x7fffffff, 8);
      const [file, run] = bad('hlen2.npy', bytes);
      await expectError(run, file, '.npy header length 2147483647 is over the 1048576-byte limit');
    });

    it('refuses an unknown format version', async () => {
      const bytes = npyBytes({ descr: '<f4', shape: [1], values: [1] });
      bytes[6] = 4;
      const [file, run] = bad('v4.npy', bytes);
      await expectError(run, file, '.npy format version 4.0 is not supported');
    });

    it('refuses a header that is not a dict literal, without evaluating it', async () => {
      const dict = "__import__('os').system('echo pwned')";
      const [file, run] = bad('evil.npy', npyBytes({ descr: '', shape: [1], values: new Uint8Array(4), dict }));
      await expectError(run, file, 'the .npy header is not a Python dict literal');
    });

    it('refuses a header with missing or extra keys', async () => {
      const dict = "{'descr': '<f4', 'shape': (1,), }";
      const [file, run] = bad('keys.npy', npyBytes({ descr: '', shape: [1], values: new Uint8Array(4), dict }));
      await expectError(run, file, 'the .npy header has keys {descr, shape}; expected descr, fortran_order, shape');
    });

    it('refuses a negative shape', async () => {
      const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }";
      const [file, run] = bad('neg.npy', npyBytes({ descr: '', shape: [1], values: new Uint8Array(4), dict }));
      await expectError(run, file, 'shape (-1) is not a tuple of non-negative integers');
    });

    it('refuses a pickle saved as .npy', async () => {
      const [file, run] = bad('pickled.npy', new Uint8Array([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x2e]));
      await expectError(run, file, 'FFN Lens never unpickles');
    });

    it('refuses a file too short for the magic', async () => {
      const [file, run] = bad('short.npy', new Uint8Array([0x93, 0x4e]));
      await expectError(run, file, 'not an .npy file');
    });
  });
});
