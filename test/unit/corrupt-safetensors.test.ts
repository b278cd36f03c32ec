/**
 * Corrupted-file corpus for safetensors: one valid file and one sharded checkpoint, cut at every byte
 * and with every bit of their headers flipped; every version is refused cleanly or reads, and a
 * tensor whose bytes and header entry were not touched reads as before. Plus the limits the reader
 * claims (header length, offsets, what one read may hold), each with a hostile file.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { MAX_READ_BYTES, RangeReader } from '../../src/formats/fileRange';
import { MAX_HEADER_BYTES, openSafetensorsSource } from '../../src/formats/safetensors';
import { safetensorsBytes, safetensorsRaw, writeShardedSafetensors, type StTensor } from '../helpers/binaryWriters';
import { FuzzDir, bitFlips, checkClean, memoryGrowth, overlaps, truncations, type CorpusSpec } from '../helpers/fuzz';

const TENSORS: StTensor[] = [
  { name: 'mlp.up.weight', dtype: 'F32', shape: [2, 3], values: [1, -2, 3.5, 0, -0.25, 6] },
  { name: 'mlp.up.bias', dtype: 'F16', shape: [3], values: [0.5, -1, 2] },
  { name: 'mlp.down.weight', dtype: 'BF16', shape: [3, 2], values: [1, 2, 3, -4, 5, -6] },
  { name: 'mlp.down.bias', dtype: 'I8', shape: [2], values: [-7, 9] },
];

/** Where each tensor's header entry and data are in a file written by `safetensorsBytes`. */
function locate(bytes: Uint8Array): (tensor: string, lo: number, hi: number) => boolean {
  const headerLength = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const text = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8');
  const header = JSON.parse(text) as Record<string, { data_offsets: [number, number] }>;
  return (tensor, lo, hi) => {
    if (overlaps(lo, hi, 0, 8)) return true; // the length field moves everything
    const key = text.indexOf(`${JSON.stringify(tensor)}:`);
    const entry: [number, number] = [8 + key, 8 + text.indexOf('}', key) + 1];
    const [begin, end] = header[tensor].data_offsets;
    return overlaps(lo, hi, ...entry) || overlaps(lo, hi, 8 + headerLength + begin, 8 + headerLength + end);
  };
}

describe('corrupted safetensors files', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('corrupt-st');
  after(() => dir.remove());

  const bytes = safetensorsBytes(TENSORS, { format: 'pt' });
  const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
  const spec: CorpusSpec = { dir, name: 'model.safetensors', bytes, open: openSafetensorsSource, touches: locate(bytes) };

  it(`every truncation (${bytes.length} cuts) is refused`, async () => {
    const stats = await truncations(spec);
    assert.strictEqual(stats.rejected, bytes.length, 'a cut file must not open: the header covers the data buffer exactly');
  });

  it(`every bit flip in the header (${headerEnd * 8} flips) is refused or leaves untouched tensors intact`, async () => {
    const stats = await bitFlips(spec, 0, headerEnd);
    assert.strictEqual(stats.cases, headerEnd * 8);
    assert.ok(stats.rejected > stats.cases / 2, `only ${stats.rejected} of ${stats.cases} flips refused`);
    assert.ok(stats.read > 0, 'flips in names or metadata leave a readable file');
  });

  describe('sharded checkpoint', () => {
    const shardsDir = new FuzzDir('corrupt-st-shards');
    after(() => shardsDir.remove());
    const { index, shards } = writeShardedSafetensors(shardsDir.dir, 'model', [TENSORS.slice(0, 2), TENSORS.slice(2)], { total_size: 52 });
    const indexBytes = fs.readFileSync(index);
    const indexSpec: CorpusSpec = {
      dir: shardsDir, name: path.basename(index), bytes: indexBytes, open: openSafetensorsSource, touches: () => false, errorFiles: shardsDir.holds,
      place: (b) => shardsDir.write(path.basename(index), b),
    };

    it(`every truncation and bit flip of the index (${indexBytes.length * 9} cases) is refused or reads the shards correctly`, async () => {
      const cut = await truncations(indexSpec);
      assert.strictEqual(cut.read, 0, 'a cut index is not JSON');
      const flipped = await bitFlips(indexSpec, 0, indexBytes.length);
      assert.ok(flipped.read > 0 && flipped.rejected > 0);
      shardsDir.write(path.basename(index), indexBytes);
    });

    it('every truncation of each shard is refused when opened through the index', async () => {
      for (const shard of shards) {
        const shardBytes = fs.readFileSync(shard);
        const stats = await truncations({
          dir: shardsDir, name: path.basename(shard), bytes: shardBytes, open: () => openSafetensorsSource(index), touches: () => true, errorFiles: shardsDir.holds,
          place: (b) => (shardsDir.write(path.basename(shard), b), index),
        });
        assert.strictEqual(stats.rejected, shardBytes.length);
        shardsDir.write(path.basename(shard), shardBytes);
      }
    });
  });

  describe('limits', () => {
    const expectRefusal = async (name: string, file: Uint8Array, fragment: RegExp): Promise<void> => {
      const p = dir.write(name, file);
      const grown = await memoryGrowth(() => openSafetensorsSource(p));
      const e = checkClean(grown.result, (f) => f === p, name);
      assert.match(e.message, fragment);
      assert.ok(grown.arrayBuffers < 4 * 2 ** 20 && grown.heapUsed < 8 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
    };

    it(`refuses a header length over ${MAX_HEADER_BYTES} bytes, and 2^64-1, without reading it`, async () => {
      await expectRefusal('over.safetensors', safetensorsRaw('{}', new Uint8Array(0), MAX_HEADER_BYTES + 1), /over the 100000000-byte limit/);
      await expectRefusal('max.safetensors', safetensorsRaw('{}', new Uint8Array(0), 2n ** 64n - 1n), /over the 100000000-byte limit/);
      await expectRefusal('long.safetensors', safetensorsRaw('{}', new Uint8Array(0), MAX_HEADER_BYTES), /larger than the rest of the file/);
    });

    it('refuses a 100-byte file claiming a 2^40-element tensor without allocating it', async () => {
      const header = { w: { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 2 ** 42] } };
      const file = safetensorsRaw(header, new Uint8Array(100 - 8 - JSON.stringify(header).length));
      assert.strictEqual(file.length, 100);
      await expectRefusal('claims.safetensors', file, /past the end of the data buffer|needs/);
      await expectRefusal('bigshape.safetensors', safetensorsRaw({ w: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /more bytes than a file can hold/);
    });

    it(`refuses a read over MAX_READ_BYTES (${MAX_READ_BYTES}) before allocating, on a sparse file that really is that big`, async () => {
      const p = dir.write('sparse.bin', new Uint8Array(0));
      fs.truncateSync(p, MAX_READ_BYTES + 16);
      const reader = await RangeReader.open(p);
      try {
        const grown = await memoryGrowth(() => reader.read(0, MAX_READ_BYTES + 1, undefined, 'tensor "w"'));
        const e = checkClean(grown.result, (f) => f === p, 'read');
        assert.strictEqual(e.kind, 'budget');
        assert.match(e.message, /more than one read can hold/);
        assert.ok(grown.arrayBuffers < 2 ** 20);
        assert.strictEqual(reader.bytesRead, 0);
      } finally {
        await reader.close();
        fs.rmSync(p);
      }
    });

    it('keeps a "__proto__" metadata key as an entry, and an index cannot replace the metadata prototype (regression)', async () => {
      const p = dir.write('proto.safetensors', safetensorsRaw('{"__metadata__": {"__proto__": "x", "format": "pt"}}', new Uint8Array(0)));
      const single = await openSafetensorsSource(p);
      assert.deepStrictEqual(Object.entries(single.metadata), [['__proto__', 'x'], ['format', 'pt']]);
      await single.close();
      const shards = new FuzzDir('corrupt-st-proto');
      try {
        shards.write('model-00001-of-00001.safetensors', safetensorsBytes([TENSORS[3]]));
        const weightMap = { [TENSORS[3].name]: 'model-00001-of-00001.safetensors' };
        const index = shards.write('model.safetensors.index.json', `{"metadata": {"__proto__": {"injected": "yes"}}, "weight_map": ${JSON.stringify(weightMap)}}`);
        const source = await openSafetensorsSource(index);
        assert.strictEqual(Object.getPrototypeOf(source.metadata), Object.prototype);
        assert.strictEqual((source.metadata as Record<string, unknown>).injected, undefined);
        assert.deepStrictEqual(Object.getOwnPropertyDescriptor(source.metadata, '__proto__')?.value, { injected: 'yes' });
        await source.close();
      } finally {
        shards.remove();
      }
    });

    it('keeps names with newlines, NULs and escapes out of the one-line message (regression)', async () => {
      const header = { 'evil\nname\u0000\u001b[31m\u2028': { dtype: 'F32', shape: [2], data_offsets: [0, 4] } };
      const p = dir.write('names.safetensors', safetensorsRaw(header, new Uint8Array(4)));
      const e = checkClean(await openSafetensorsSource(p).catch((x: unknown) => x), (f) => f === p, 'open');
      assert.match(e.message, /^tensor "evil\\u000aname\\u0000\\u001b\[31m\\u2028": data_offsets \[0, 4\] but dtype F32/);
    });
  });
});
