import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { openSafetensorsSource } from '../../src/formats/safetensors';
import { bf16Bits, f16Bits, safetensorsBytes, tempDir, writeFixture, writeShardedSafetensors, type StTensor } from '../helpers/binaryWriters';

/** Element-wise Object.is, so NaN, -0 and Infinity are compared exactly. */
function assertSame(actual: Float32Array, expected: readonly number[]): void {
  assert.strictEqual(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  expected.forEach((e, i) => assert.ok(Object.is(actual[i], e), `[${i}]: got ${actual[i]}, expected ${e}`));
}

describe('safetensors reader', () => {
  const dir = tempDir('st');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the test writer encodes f16/bf16 to the hand-known bit patterns', () => {
    assert.strictEqual(f16Bits(1), 0x3c00);
    assert.strictEqual(f16Bits(-2), 0xc000);
    assert.strictEqual(f16Bits(65504), 0x7bff);
    assert.strictEqual(f16Bits(2 ** -24), 0x0001);
    assert.strictEqual(f16Bits(0.1), 0x2e66);
    assert.strictEqual(f16Bits(1e6), 0x7c00);
    assert.strictEqual(bf16Bits(1), 0x3f80);
    assert.strictEqual(bf16Bits(0.1), 0x3dcd);
    assert.strictEqual(bf16Bits(1e10), 0x5015);
  });

  // Each case: values written, and what float32 must come back (by hand: f16/bf16 rounding, f32 rounding of f64...).
  const cases: { dtype: string; values: number[]; expected: number[] }[] = [
    { dtype: 'F32', values: [1.5, -0.25, 0, -0, Infinity, 3.4028234663852886e38], expected: [1.5, -0.25, 0, -0, Infinity, 3.4028234663852886e38] },
    { dtype: 'F64', values: [0.1, -3.5, 1e300, 2 ** -149], expected: [0.10000000149011612, -3.5, Infinity, 2 ** -149] },
    { dtype: 'F16', values: [1, -2.25, 65504, 2 ** -24, 0.1, 1 / 3, 1e6], expected: [1, -2.25, 65504, 2 ** -24, 0.0999755859375, 0.333251953125, Infinity] },
    { dtype: 'BF16', values: [1, -3, 0.1, 1 / 3, 1e10], expected: [1, -3, 0.10009765625, 0.333984375, 9999220736] },
    { dtype: 'I64', values: [-5, 2 ** 40, 0], expected: [-5, 1099511627776, 0] },
    { dtype: 'U64', values: [2 ** 53, 7], expected: [9007199254740992, 7] },
    { dtype: 'I32', values: [-7, 123456, -2147483648], expected: [-7, 123456, -2147483648] },
    { dtype: 'U32', values: [4294967295, 1], expected: [4294967296, 1] },
    { dtype: 'I16', values: [-32768, 32767], expected: [-32768, 32767] },
    { dtype: 'U16', values: [65535, 0], expected: [65535, 0] },
    { dtype: 'I8', values: [-128, 127, -1], expected: [-128, 127, -1] },
    { dtype: 'U8', values: [0, 255, 17], expected: [0, 255, 17] },
    { dtype: 'BOOL', values: [1, 0, 1], expected: [1, 0, 1] },
  ];

  it('decodes every dtype to the known float32 values', async () => {
    const tensors: StTensor[] = cases.map((c) => ({ name: `t.${c.dtype}`, dtype: c.dtype, shape: [c.values.length], values: c.values }));
    const file = writeFixture(dir, 'all.safetensors', safetensorsBytes(tensors, { format: 'pt' }));
    const src = await openSafetensorsSource(file);
    try {
      assert.strictEqual(src.format, 'safetensors');
      assert.deepStrictEqual(src.metadata, { format: 'pt' });
      assert.deepStrictEqual(src.tensors.map((t) => t.name), tensors.map((t) => t.name));
      for (const c of cases) assertSame(await src.read(`t.${c.dtype}`), c.expected);
    } finally {
      await src.close();
    }
  });

  it('keeps shapes and row-major order of a 2-D tensor', async () => {
    const file = writeFixture(dir, 'm.safetensors', safetensorsBytes([{ name: 'w', dtype: 'F32', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }]));
    const src = await openSafetensorsSource(file);
    assert.deepStrictEqual(src.tensors[0], { name: 'w', dtype: 'F32', shape: [2, 3], byteLength: 24 });
    assertSame(await src.read('w'), [1, 2, 3, 4, 5, 6]);
    await src.close();
    await src.close(); // safe twice
  });

  it('reads only the requested tensor bytes (header only to list)', async () => {
    const big = Array.from({ length: 1000 }, (_, i) => i);
    const file = writeFixture(
      dir,
      'three.safetensors',
      safetensorsBytes([
        { name: 'a', dtype: 'F32', shape: [1000], values: big },
        { name: 'b', dtype: 'F16', shape: [4], values: [1, 2, 3, 4] },
        { name: 'c', dtype: 'F64', shape: [1000], values: big },
      ]),
    );
    const src = await openSafetensorsSource(file);
    try {
      const afterOpen = src.bytesRead;
      assert.ok(afterOpen < 2000, `listing read ${afterOpen} bytes of ${fs.statSync(file).size}`);
      assertSame(await src.read('b'), [1, 2, 3, 4]);
      assert.strictEqual(src.bytesRead - afterOpen, 8);
      assertSame(await src.read('c'), big);
      assert.strictEqual(src.bytesRead - afterOpen, 8 + 8000);
    } finally {
      await src.close();
    }
  });

  it('accepts a header padded with trailing spaces', async () => {
    const file = writeFixture(dir, 'pad.safetensors', safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [1], values: [7] }], undefined, 13));
    const src = await openSafetensorsSource(file);
    assertSame(await src.read('x'), [7]);
    await src.close();
  });

  it('honours cancellation', async () => {
    const file = writeFixture(dir, 'c.safetensors', safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [1], values: [7] }]));
    const src = await openSafetensorsSource(file);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(src.read('x', { signal: ac.signal }), (e: Error & { kind?: string }) => e.kind === 'cancelled');
    await src.close();
  });

  describe('sharded checkpoints', () => {
    const sdir = path.join(dir, 'sharded');
    fs.mkdirSync(sdir, { recursive: true });
    const { index, shards } = writeShardedSafetensors(
      sdir,
      'model',
      [
        [
          { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [2, 2], values: [1, 2, 3, 4] },
          { name: 'h.0.mlp.c_fc.bias', dtype: 'F16', shape: [2], values: [0.5, -0.5] },
        ],
        [{ name: 'h.0.mlp.c_proj.weight', dtype: 'BF16', shape: [2, 2], values: [-1, 0.1, 2, 3] }],
        [{ name: 'h.0.mlp.c_proj.bias', dtype: 'F32', shape: [2], values: [9, 10] }],
      ],
      { total_size: 40 },
    );
    const all = ['h.0.mlp.c_fc.weight', 'h.0.mlp.c_fc.bias', 'h.0.mlp.c_proj.weight', 'h.0.mlp.c_proj.bias'];

    async function checkAll(opened: string): Promise<void> {
      const src = await openSafetensorsSource(opened);
      try {
        assert.strictEqual(src.path, opened);
        assert.deepStrictEqual([...src.tensors.map((t) => t.name)].sort(), [...all].sort());
        assert.strictEqual(src.metadata.total_size, 40);
        assertSame(await src.read('h.0.mlp.c_proj.weight'), [-1, 0.10009765625, 2, 3]);
        assert.strictEqual(path.basename(src.fileOf('h.0.mlp.c_proj.weight') ?? ''), 'model-00002-of-00003.safetensors');
        assertSame(await src.read('h.0.mlp.c_proj.bias'), [9, 10]);
        assertSame(await src.read('h.0.mlp.c_fc.bias'), [0.5, -0.5]);
      } finally {
        await src.close();
      }
    }

    it('opens the index and reads each tensor from its shard', () => checkAll(index));
    it('opens one shard and lists every shard through the index beside it', () => checkAll(shards[2]));

    it('opens a shard without an index as a single file', async () => {
      const lone = path.join(dir, 'lone');
      fs.mkdirSync(lone);
      const copy = path.join(lone, path.basename(shards[1]));
      fs.copyFileSync(shards[1], copy);
      const src = await openSafetensorsSource(copy);
      assert.deepStrictEqual(src.tensors.map((t) => t.name), ['h.0.mlp.c_proj.weight']);
      await src.close();
    });

    it('refuses an index naming a tensor its shard lacks', async () => {
      const bad = path.join(dir, 'badindex');
      fs.mkdirSync(bad);
      fs.copyFileSync(shards[0], path.join(bad, path.basename(shards[0])));
      const idx = writeFixture(bad, 'model.safetensors.index.json', JSON.stringify({ weight_map: { ghost: path.basename(shards[0]) } }));
      await assert.rejects(openSafetensorsSource(idx), (e: Error & { file?: string }) => {
        assert.match(e.message, /index says tensor "ghost" is in model-00001-of-00003\.safetensors, but that shard has no such tensor/);
        assert.strictEqual(e.file, idx);
        return true;
      });
    });

    it('refuses an index of pickle shards (pytorch_model.bin.index.json)', async () => {
      const idx = writeFixture(dir, 'pytorch_model.bin.index.json', JSON.stringify({ weight_map: { w: 'pytorch_model-00001-of-00002.bin' } }));
      await assert.rejects(openSafetensorsSource(idx), /FFN Lens never unpickles/);
    });

    it('refuses an index pointing outside its folder', async () => {
      const idx = writeFixture(dir, 'escape.safetensors.index.json', JSON.stringify({ weight_map: { w: '../../etc/passwd' } }));
      await assert.rejects(openSafetensorsSource(idx), /is not a shard file name beside the index/);
    });
  });

  it('round-trips random float32 tensors (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.float(), { minLength: 0, maxLength: 40 }), fc.array(fc.float(), { minLength: 1, maxLength: 5 }), async (xs, ys) => {
        const file = writeFixture(dir, 'prop.safetensors', safetensorsBytes([
          { name: 'x', dtype: 'F32', shape: [xs.length], values: xs },
          { name: 'y', dtype: 'F32', shape: [1, ys.length], values: ys },
        ]));
        const src = await openSafetensorsSource(file);
        try {
          assertSame(await src.read('y'), ys);
          assertSame(await src.read('x'), xs);
        } finally {
          await src.close();
        }
      }),
      { numRuns: 50 },
    );
  });
});
