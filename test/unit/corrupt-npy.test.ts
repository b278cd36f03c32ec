/**
 * Corrupted-file corpus for .npy: a version 1 file cut at every byte and with every bit of its
 * header flipped; every version is refused cleanly or reads, and when it still says the same
 * dtype, shape and order its values are the original ones. Plus the header limits, and regressions
 * for what the fuzzer found.
 */
import * as assert from 'assert';
import { MAX_NPY_HEADER, openNpySource } from '../../src/formats/npy';
import { npyBytes } from '../helpers/binaryWriters';
import { FuzzDir, bitFlips, checkClean, memoryGrowth, overlaps, truncations, type CorpusSpec } from '../helpers/fuzz';

describe('corrupted .npy files', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('corrupt-npy');
  after(() => dir.remove());

  const values = [1, -2, 3.5, 0, -0.25, 6, 7, 8, -9, 10, 0.125, 12];
  const bytes = npyBytes({ descr: '<f4', shape: [3, 4], values, version: 1 });
  const dataStart = bytes.length - 4 * values.length;
  const spec: CorpusSpec = {
    dir, name: 'W1.npy', bytes, open: openNpySource,
    // The header describes the one tensor, but a flip there that keeps dtype, shape and order changes nothing.
    touches: (_t, lo, hi) => overlaps(lo, hi, dataStart, bytes.length),
    sameView: (source) => source.metadata.fortranOrder === false,
  };

  it(`every truncation (${bytes.length} cuts) is refused`, async () => {
    const stats = await truncations(spec);
    assert.strictEqual(stats.rejected, bytes.length);
  });

  it(`every bit flip in the header (${dataStart * 8} flips) is refused or reads the same values`, async () => {
    const stats = await bitFlips(spec, 0, dataStart);
    assert.strictEqual(stats.cases, dataStart * 8);
    assert.ok(stats.rejected > 0 && stats.read > 0, JSON.stringify(stats));
  });

  describe('limits and regressions', () => {
    const refusal = async (name: string, file: Uint8Array, fragment: RegExp): Promise<void> => {
      const p = dir.write(name, file);
      const grown = await memoryGrowth(() => openNpySource(p));
      const e = checkClean(grown.result, (f) => f === p, name);
      assert.match(e.message, fragment);
      assert.ok(grown.arrayBuffers < 4 * 2 ** 20 && grown.heapUsed < 8 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
    };
    const prelude = (version: number, length: number): Buffer => {
      const b = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0, 0, 0, 0, 0]);
      b.writeUInt32LE(length, 8);
      return b;
    };

    it(`refuses a header length over ${MAX_NPY_HEADER} bytes, and one past the end of the file`, async () => {
      await refusal('huge.npy', Buffer.concat([prelude(2, 0xffffffff), Buffer.alloc(64)]), /header length 4294967295 is over the 1048576-byte limit/);
      await refusal('over.npy', Buffer.concat([prelude(3, MAX_NPY_HEADER + 1), Buffer.alloc(64)]), /over the 1048576-byte limit/);
      await refusal('past.npy', Buffer.concat([prelude(2, 1000), Buffer.alloc(64)]), /runs past the end of the data \(76 bytes\)/);
    });

    it('refuses a 100-byte file claiming a 2^40-element array without allocating it', async () => {
      const dict = Buffer.from("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,)}\n", 'latin1');
      const file = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length, 0]), dict, Buffer.alloc(100 - 10 - dict.length)]);
      assert.strictEqual(file.length, 100);
      await refusal('claims.npy', file, /needs 4398046511104 data bytes but only 22 follow the header/);
      await refusal('many.npy', npyBytes({ descr: '<f8', shape: [2 ** 31, 2 ** 31, 2 ** 31], values: new Uint8Array(8) }), /has too many elements/);
    });

    it('refuses a header nested thousands deep with a message, not a stack overflow (regression)', async () => {
      const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(30_000)}${')'.repeat(30_000)}}`;
      await refusal('deep.npy', npyBytes({ descr: '<f4', shape: [], values: new Uint8Array(4), version: 2, dict }), /not a Python dict literal: nested more than 32 deep/);
    });

    it('escapes newlines and control characters from the header in the message (regression)', async () => {
      const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'evil\n\u001b[2J': 1}";
      await refusal('keys.npy', npyBytes({ descr: '<f4', shape: [1], values: [1], dict }), /has keys \{descr, evil\\u000a\\u001b\[2J, fortran_order, shape\}/);
      const descr = "{'descr': '<x\u2028', 'fortran_order': False, 'shape': (1,)}";
      await refusal('descr.npy', npyBytes({ descr: '<f4', shape: [1], values: [1], dict: descr, version: 3 }), /dtype '<x\\u2028' is not supported/);
    });

    it('says a file cut inside its prelude is cut off, not "not an .npy file" (regression)', async () => {
      await refusal('cut.npy', bytes.subarray(0, 8), /^the \.npy header is cut off after 8 bytes$/);
    });

    it('lists a "-0" dimension as 0, not negative zero (regression)', async () => {
      const p = dir.write('minus0.npy', npyBytes({ descr: '<f4', shape: [0], values: [], dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -0)}" }));
      const source = await openNpySource(p);
      try {
        assert.ok(Object.is(source.tensors[0].shape[1], 0));
        assert.strictEqual((await source.read('minus0')).length, 0);
      } finally {
        await source.close();
      }
    });
  });
});
