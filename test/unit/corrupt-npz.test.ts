/**
 * Corrupted-file corpus for .npz: a deflated archive cut at every byte and with every bit of its zip
 * records (local headers, central directory, end record) and of a compressed member flipped; every
 * version is refused cleanly or reads, and a member whose bytes were not touched reads as before.
 * Plus the inflate caps (ratio, budget, declared size) with hostile archives.
 */
import * as assert from 'assert';
import * as zlib from 'zlib';
import { MAX_INFLATED_BYTES, openNpzSource } from '../../src/formats/npz';
import { npyBytes, zipBytes, type ZipMember } from '../helpers/binaryWriters';
import { FuzzDir, bitFlips, checkClean, memoryGrowth, overlaps, probe, truncations, type CorpusSpec } from '../helpers/fuzz';

const MEMBERS: ZipMember[] = [
  { name: 'W1.npy', method: 8, data: npyBytes({ descr: '<f4', shape: [2, 3], values: [1, -2, 3.5, 0, -0.25, 6] }) },
  { name: 'b1.npy', method: 8, data: npyBytes({ descr: '<f2', shape: [3], values: [0.5, -1, 2] }) },
];

/** Byte ranges of each member (local header + data, central entry) and of the end record. */
function zipLayout(bytes: Uint8Array): { members: Map<string, [number, number][]>; end: number } {
  const b = Buffer.from(bytes);
  const members = new Map<string, [number, number][]>();
  const end = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let cd = b.readUInt32LE(end + 16);
  for (let i = 0; i < b.readUInt16LE(end + 10); i++) {
    const name = b.toString('utf8', cd + 46, cd + 46 + b.readUInt16LE(cd + 28));
    const local = b.readUInt32LE(cd + 42);
    const dataEnd = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28) + b.readUInt32LE(cd + 20);
    const cdEnd = cd + 46 + b.readUInt16LE(cd + 28) + b.readUInt16LE(cd + 30) + b.readUInt16LE(cd + 32);
    members.set(name.replace(/\.npy$/, ''), [[local, dataEnd], [cd, cdEnd]]);
    cd = cdEnd;
  }
  return { members, end };
}

describe('corrupted .npz files', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('corrupt-npz');
  after(() => dir.remove());

  const bytes = zipBytes(MEMBERS);
  const layout = zipLayout(bytes);
  const spec: CorpusSpec = {
    dir, name: 'layer.npz', bytes, open: openNpzSource,
    touches: (tensor, lo, hi) => overlaps(lo, hi, layout.end, bytes.length) || layout.members.get(tensor)!.some(([a, b]) => overlaps(lo, hi, a, b)),
  };
  const directory = layout.members.get('W1')![1][0];

  it(`every truncation (${bytes.length} cuts) is refused`, async () => {
    const stats = await truncations(spec);
    assert.strictEqual(stats.rejected, bytes.length, 'the end record is at the end');
  });

  it(`every bit flip in the zip records: central directory, end record, a local header (${(bytes.length - directory + 36) * 8} flips)`, async () => {
    const records = await bitFlips(spec, directory, bytes.length);
    const [[bLocal]] = layout.members.get('b1')!;
    const local = await bitFlips(spec, bLocal, bLocal + 36);
    assert.ok(records.rejected > 0 && records.read > 0 && local.rejected > 0 && local.partial + local.read > 0, JSON.stringify([records, local]));
  });

  describe('inflate caps and regressions', () => {
    const refusal = async (name: string, file: Uint8Array, fragment: RegExp, stage: 'open' | 'read' = 'open'): Promise<void> => {
      const p = dir.write(name, file);
      const grown = await memoryGrowth(async () => {
        const source = await openNpzSource(p);
        try {
          for (const t of source.tensors) await source.read(t.name);
        } finally {
          await source.close();
        }
        return source;
      });
      const e = checkClean(grown.result, (f) => f === p, `${name} ${stage}`);
      assert.match(e.message, fragment);
      assert.ok(grown.arrayBuffers < 16 * 2 ** 20 && grown.heapUsed < 16 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
    };
    const header = (shape: number[]): Uint8Array => npyBytes({ descr: '<f4', shape, values: new Uint8Array(0) });

    it('refuses a member claiming more than deflate can produce (1032:1) before inflating anything', async () => {
      const data = npyBytes({ descr: '<f4', shape: [4], values: [1, 2, 3, 4] });
      await refusal('ratio.npz', zipBytes([{ name: 'w.npy', method: 8, data, uncompressedSize: 2 ** 30 }]), /claims 1073741824 bytes from only \d+ compressed bytes/);
    });

    it(`refuses a member that would inflate past MAX_INFLATED_BYTES (${MAX_INFLATED_BYTES}) as a budget error`, async () => {
      const body = new Uint8Array(Math.ceil((MAX_INFLATED_BYTES + 1) / 1032) + 16);
      const p = dir.write('budget.npz', zipBytes([{ name: 'w.npy', method: 8, data: header([1]), body, uncompressedSize: MAX_INFLATED_BYTES + 1 }]));
      const o = await probe(openNpzSource, p);
      assert.ok(!o.opened && o.error.kind === 'budget' && /over the 2147483648-byte memory budget/.test(o.error.message), !o.opened ? o.error.message : 'opened');
    });

    it('stops inflating a zip bomb at its declared size (10 MB of zeros declared as 4 KB)', async () => {
      const declared = header([1000]);
      const data = Buffer.concat([declared, Buffer.alloc(10 * 2 ** 20)]);
      const member: ZipMember = { name: 'w.npy', method: 8, data, uncompressedSize: declared.length + 4000 };
      await refusal('bomb.npz', zipBytes([member]), /inflates past its declared \d+ bytes/, 'read');
    });

    it('refuses a deflate stream that ends inside the .npy header, followed by junk, without hanging', async () => {
      const body = Buffer.concat([zlib.deflateRawSync(Buffer.from('\x93NUMPY\x01\x00', 'latin1')), Buffer.alloc(4096, 0x5a)]);
      await refusal('short.npz', zipBytes([{ name: 'w.npy', method: 8, data: header([4]), body, uncompressedSize: 200 }]), /member "w\.npy": the \.npy header is cut off after 8 bytes/);
    });

    it('refuses an archive of a few hundred bytes claiming a 2^40-byte array without allocating it', async () => {
      const file = zipBytes([{ name: 'w.npy', data: Buffer.concat([header([2 ** 38]), Buffer.alloc(8)]) }]);
      await refusal('claims.npz', file, /dtype <f4 x shape \(274877906944\) needs 1099511627776 data bytes but the member holds 8/);
      const zip64 = zipBytes([{ name: 'w.npy', data: header([2 ** 38]), uncompressedSize: 2 ** 32 - 1 }], { zip64: true });
      await refusal('claims64.npz', zip64, /is stored but its sizes differ/);
    });

    it('escapes control characters of member names in messages (regression)', async () => {
      await refusal('names.npz', zipBytes([{ name: 'evil\n\u001b[31m.npy', data: new Uint8Array(4) }]), /member "evil\\u000a\\u001b\[31m\.npy"/);
    });
  });
});
