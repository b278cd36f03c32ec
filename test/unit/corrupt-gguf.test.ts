/**
 * Corrupted-file corpus for GGUF: a file with metadata of several types and plain, 32-block and
 * K-quant tensors, cut at every byte and with every bit of its header (counts, key/values, tensor
 * infos) flipped; every version is refused cleanly or reads, and a tensor whose info and data were
 * not touched reads as before. Plus the header caps the reader claims, with hostile files.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { GGUF_LIMITS, openGgufSource } from '../../src/formats/gguf';
import { GGML_TYPE, buildGguf, tensorF16, tensorF32, type WriterOptions } from '../helpers/ggufWriter';
import { FuzzDir, bitFlips, checkClean, memoryGrowth, overlaps, truncations, type CorpusSpec } from '../helpers/fuzz';

/** Deterministic bytes (every nibble value shows up), with a sane f16 scale at `scaleAt` of each block. */
function blocks(count: number, size: number, scaleAt: number[]): Uint8Array {
  const out = Uint8Array.from({ length: count * size }, (_, i) => (i * 37 + 11) & 0xff);
  for (let b = 0; b < count; b++) for (const at of scaleAt) out.set([0x00, 0x2c], b * size + at); // f16 0.0625
  return out;
}

const OPTIONS: WriterOptions = {
  kv: [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['llama.feed_forward_length', { type: 'uint32', value: 64 }],
    ['general.tags', { type: 'array', itemType: 'string', items: ['a', 'bc'] }],
    ['llama.rope.freq_base', { type: 'float32', value: 10000 }],
  ],
  tensors: [
    tensorF32('blk.0.ffn_norm.weight', [4], [1, -2, 0.5, 8]),
    tensorF16('blk.0.ffn_up.bias', [2, 2], [0.25, -1, 3, 0]),
    { name: 'blk.0.ffn_up.weight', ne: [32, 2], type: GGML_TYPE.Q4_0, data: blocks(2, 18, [0]) },
    { name: 'blk.0.ffn_gate.weight', ne: [32], type: GGML_TYPE.Q8_0, data: blocks(1, 34, [0]) },
    { name: 'blk.0.ffn_down.weight', ne: [256], type: GGML_TYPE.Q4_K, data: blocks(1, 144, [0, 2]) },
  ],
};

describe('corrupted GGUF files', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('corrupt-gguf');
  after(() => dir.remove());

  const { bytes, layout } = buildGguf(OPTIONS);
  const tensors = OPTIONS.tensors!;
  const spec: CorpusSpec = {
    dir, name: 'model.gguf', bytes, open: openGgufSource,
    touches: (tensor, lo, hi) => {
      const i = tensors.findIndex((t) => t.name === tensor);
      const info: [number, number] = [layout.tensorInfoStarts[i], layout.tensorInfoStarts[i + 1] ?? layout.tensorInfoEnd];
      const data: [number, number] = [layout.tensorDataStarts[i], layout.tensorDataStarts[i] + tensors[i].data.length];
      return overlaps(lo, hi, 0, layout.headerEnd) || overlaps(lo, hi, ...info) || overlaps(lo, hi, ...data);
    },
  };

  it(`every truncation (${bytes.length} cuts) is refused`, async () => {
    const stats = await truncations(spec);
    assert.strictEqual(stats.rejected, bytes.length, 'the last tensor ends at the end of the file');
  });

  it(`every bit flip in the header (${layout.tensorInfoEnd * 8} flips) is refused or leaves untouched tensors intact`, async () => {
    const stats = await bitFlips(spec, 0, layout.tensorInfoEnd);
    assert.ok(stats.rejected > 0 && stats.read > 0, JSON.stringify(stats));
  });

  describe('header caps', () => {
    const u64 = (v: number | bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    const u32 = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    const head = (tensors: number | bigint, kvs: number | bigint): Buffer => Buffer.concat([Buffer.from('GGUF'), u32(3), u64(tensors), u64(kvs)]);
    const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

    /** Opens `file` (made `size` bytes long, sparse, when given) and expects a clean refusal matching `fragment`, with little memory. */
    const refusal = async (name: string, file: Uint8Array, fragment: RegExp, size?: number): Promise<void> => {
      const p = dir.write(name, file);
      if (size !== undefined) fs.truncateSync(p, size);
      try {
        const grown = await memoryGrowth(() => openGgufSource(p));
        const e = checkClean(grown.result, (f) => f === p, name);
        assert.match(e.message, fragment);
        assert.ok(grown.arrayBuffers < 4 * 2 ** 20 && grown.heapUsed < 8 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
      } finally {
        fs.rmSync(p);
      }
    };

    it(`refuses tensor and key/value counts over ${GGUF_LIMITS.maxCount} or beyond what the file can hold`, async () => {
      await refusal('tensors.gguf', Buffer.concat([head(GGUF_LIMITS.maxCount + 1, 0), Buffer.alloc(64)]), /tensor_count 16777217 is impossible/);
      await refusal('kvs.gguf', Buffer.concat([head(0, 2n ** 40n), Buffer.alloc(64)]), /metadata_kv_count 1099511627776 is impossible/);
      await refusal('kvmax.gguf', Buffer.concat([head(0, 2n ** 64n - 1n), Buffer.alloc(64)]), /value 18446744073709551615 is too large/);
      await refusal('fit.gguf', Buffer.concat([head(100, 0), Buffer.alloc(64)]), /tensor_count 100 is impossible in a file of 88 bytes/);
    });

    it(`refuses a string over ${GGUF_LIMITS.maxStringBytes} bytes and a key over ${GGUF_LIMITS.maxKeyBytes}, in files that really are that big (sparse)`, async () => {
      const big = GGUF_LIMITS.maxStringBytes + 1;
      const longString = Buffer.concat([head(0, 1), str('k'), u32(8), u64(big)]);
      await refusal('string.gguf', longString, /string length 67108865 is over the limit of 67108864 bytes/, longString.length + big + 16);
      const longKey = Buffer.concat([head(0, 1), u64(GGUF_LIMITS.maxKeyBytes + 1)]);
      await refusal('key.gguf', longKey, /string length 65536 is over the limit of 65535 bytes/, 200_000);
    });

    it(`refuses arrays over ${GGUF_LIMITS.maxArrayItems} items or nested over ${GGUF_LIMITS.maxArrayDepth} deep, and names over ${GGUF_LIMITS.maxTensorNameBytes} bytes`, async () => {
      await refusal('items.gguf', Buffer.concat([head(0, 1), str('k'), u32(9), u32(0), u64(GGUF_LIMITS.maxArrayItems + 1), Buffer.alloc(64)]), /array length 1073741825 is over the limit/);
      await refusal('fits.gguf', Buffer.concat([head(0, 1), str('k'), u32(9), u32(4), u64(1000), Buffer.alloc(64)]), /array length 1000 cannot fit/);
      const nested = Buffer.concat([head(0, 1), str('k'), u32(9), ...Array.from({ length: 6 }, () => Buffer.concat([u32(9), u64(1)])), Buffer.alloc(64)]);
      await refusal('nested.gguf', nested, /arrays nested more than 4 deep/);
      await refusal('name.gguf', Buffer.concat([head(1, 0), str('n'.repeat(GGUF_LIMITS.maxTensorNameBytes + 1)), Buffer.alloc(64)]), /string length 257 is over the limit of 256 bytes/);
    });

    it(`refuses more than ${GGUF_LIMITS.maxDims} dimensions and a 100-byte file claiming a 2^40-element tensor, without allocating`, async () => {
      await refusal('dims.gguf', Buffer.concat([head(1, 0), str('w'), u32(5), Buffer.alloc(64)]), /has 5 dimensions \(GGUF allows at most 4\)/);
      const claim = Buffer.concat([head(1, 0), str('w'), u32(1), u64(2 ** 40), u32(0), u64(0)]);
      const file = Buffer.concat([claim, Buffer.alloc(100 - claim.length)]);
      assert.strictEqual(file.length, 100);
      await refusal('claims.gguf', file, /tensor 'w' data needs 4398046511104 bytes at offset 0 but the data section has/);
    });

    // Names from the file are echoed in messages; FfnLensError escapes them so a message stays one line.
    it('escapes control characters of tensor names and keys in messages', async () => {
      const file = Buffer.concat([head(1, 0), str('evil\n\u001b[2J'), u32(9), Buffer.alloc(64)]);
      const p = dir.write('names.gguf', file);
      const e = checkClean(await openGgufSource(p).catch((x: unknown) => x), (f) => f === p, 'open');
      assert.doesNotMatch(e.message, /[\n\u001b]/);
    });
  });
});
