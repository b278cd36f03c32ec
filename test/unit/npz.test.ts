import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { isFfnLensError } from '../../src/core/errors';
import { npzTensorName, openNpzSource } from '../../src/formats/npz';
import { crc32, npyBytes, npzBytes, tempDir, writeFixture, zipBytes, type ZipMember } from '../helpers/binaryWriters';

function assertSame(actual: Float32Array, expected: readonly number[]): void {
  assert.strictEqual(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  expected.forEach((e, i) => assert.ok(Object.is(actual[i], e), `[${i}]: got ${actual[i]}, expected ${e}`));
}

async function expectError(run: () => Promise<unknown>, file: string, fragment: string | RegExp, kind = 'input'): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(isFfnLensError(e), `not an FfnLensError: ${String(e)}`);
    assert.strictEqual(e.file, file);
    assert.strictEqual(e.kind, kind);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), `"${e.message}" lacks "${fragment}"`);
    else assert.match(e.message, fragment);
    return true;
  });
}

const W1 = npyBytes({ descr: '<f4', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] });
const B1 = npyBytes({ descr: '>f8', shape: [3], values: [0.5, -1, 0.1] });
const W2F = npyBytes({ descr: '<f2', shape: [3, 2], fortran: true, values: [1, 2, 3, -4, -5, -6] });

describe('npz reader', () => {
  const dir = tempDir('npz');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the test CRC-32 matches the standard check value', () => {
    assert.strictEqual(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('maps member names to dotted tensor names', () => {
    assert.strictEqual(npzTensorName('W1.npy'), 'W1');
    assert.strictEqual(npzTensorName('layer0/W1.npy'), 'layer0.W1');
    assert.strictEqual(npzTensorName('./a/b/c.npy'), 'a.b.c');
  });

  for (const [label, method, zip64] of [['stored', 0, false], ['deflated', 8, false], ['stored zip64', 0, true], ['deflated zip64', 8, true]] as const) {
    it(`reads ${label} members`, async () => {
      const file = writeFixture(dir, `${label.replace(' ', '_')}.npz`, npzBytes({ W1, 'layer0/b1': B1, 'layer0/W2': W2F }, method, { zip64 }));
      const src = await openNpzSource(file);
      try {
        assert.strictEqual(src.format, 'npz');
        assert.deepStrictEqual(src.tensors, [
          { name: 'W1', dtype: '<f4', shape: [2, 3], byteLength: 24 },
          { name: 'layer0.b1', dtype: '>f8', shape: [3], byteLength: 24 },
          { name: 'layer0.W2', dtype: '<f2', shape: [3, 2], byteLength: 12 },
        ]);
        assertSame(await src.read('W1'), [1, 2, 3, 4, 5, 6]);
        assertSame(await src.read('layer0.b1'), [0.5, -1, 0.10000000149011612]);
        assertSame(await src.read('layer0.W2'), [1, -4, 2, -5, 3, -6]);
      } finally {
        await src.close();
      }
    });
  }

  it('ignores non-.npy members and reads past a zip comment', async () => {
    const file = writeFixture(dir, 'mixed.npz', zipBytes([{ name: 'README.txt', data: Buffer.from('hi') }, { name: 'W1.npy', data: W1, method: 8 }], { comment: 'saved by a test' }));
    const src = await openNpzSource(file);
    assert.deepStrictEqual(src.tensors.map((t) => t.name), ['W1']);
    assertSame(await src.read('W1'), [1, 2, 3, 4, 5, 6]);
    await src.close();
  });

  it('lists a big deflated member by inflating only its start', async () => {
    const n = 200_000;
    const values = Array.from({ length: n }, (_, i) => ((i * 7919) % 10007) / 8);
    const file = writeFixture(dir, 'big.npz', npzBytes({ big: npyBytes({ descr: '<f4', shape: [n], values }) }, 8));
    const size = fs.statSync(file).size;
    const src = await openNpzSource(file);
    try {
      const read = (src as unknown as { bytesRead: number }).bytesRead;
      assert.ok(size > 200_000 && read < 80_000, `listing read ${read} of ${size} bytes`);
      const got = await src.read('big');
      assert.strictEqual(got[0], 0);
      assert.strictEqual(got[12345], ((12345 * 7919) % 10007) / 8);
      assert.strictEqual(got[n - 1], (((n - 1) * 7919) % 10007) / 8);
    } finally {
      await src.close();
    }
  });

  describe('validation', () => {
    const bad = (name: string, bytes: Uint8Array | string): [string, () => Promise<unknown>] => {
      const file = writeFixture(dir, name, bytes);
      return [file, () => openNpzSource(file)];
    };
    const twoMembers = (): Buffer => npzBytes({ W1, b1: B1 }, 0);
    const eocdAt = (b: Buffer): number => b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));

    it('refuses a central directory cut short (the end record points past it)', async () => {
      const zip = twoMembers();
      const end = eocdAt(zip);
      const cut = Buffer.concat([zip.subarray(0, end - 20), zip.subarray(end)]);
      const [file, run] = bad('cdcut.npz', cut);
      await expectError(run, file, /central directory \(bytes \d+\.\.\d+\) runs past its end record at byte \d+: the file is truncated or corrupt/);
    });

    it('refuses a central directory with fewer entries than the end record claims', async () => {
      const zip = twoMembers();
      const end = eocdAt(zip);
      zip.writeUInt16LE(3, end + 8);
      zip.writeUInt16LE(3, end + 10);
      const [file, run] = bad('cdcount.npz', zip);
      await expectError(run, file, /central directory is truncated/);
    });

    it('refuses a file with no end record (truncated zip)', async () => {
      const zip = twoMembers();
      const [file, run] = bad('trunc.npz', zip.subarray(0, zip.length - 30));
      await expectError(run, file, 'no zip end-of-central-directory record');
    });

    it('refuses encrypted members', async () => {
      const [file, run] = bad('enc.npz', zipBytes([{ name: 'W1.npy', data: W1, encrypted: true }]));
      await expectError(run, file, 'member "W1.npy" is encrypted');
    });

    it('refuses other compression methods', async () => {
      const [file, run] = bad('bz.npz', zipBytes([{ name: 'W1.npy', data: W1, method: 12 }]));
      await expectError(run, file, 'member "W1.npy" uses compression method 12 (bzip2); only stored (0) and deflate (8) are supported');
    });

    it('refuses a member whose CRC-32 does not match', async () => {
      const [file] = bad('crc.npz', zipBytes([{ name: 'W1.npy', data: W1, method: 8, crc: (crc32(W1) ^ 1) >>> 0 }]));
      const src = await openNpzSource(file);
      await expectError(() => src.read('W1'), file, 'CRC-32 mismatch');
      await src.close();
    });

    it('refuses a corrupt deflate stream', async () => {
      const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      const [file, run] = bad('garbage.npz', zipBytes([{ name: 'W1.npy', data: W1, method: 8, body: garbage }]));
      await expectError(run, file, 'member "W1.npy": deflate data is corrupt');
    });

    it('refuses a member that inflates past its declared size', async () => {
      // The header says 2 floats and the declared size agrees; the stream holds 4.
      const real = npyBytes({ descr: '<f4', shape: [2], values: [1, 2, 3, 4] });
      const m: ZipMember = { name: 'x.npy', data: real, method: 8, uncompressedSize: real.length - 8 };
      const [file] = bad('past.npz', zipBytes([m]));
      const src = await openNpzSource(file);
      await expectError(() => src.read('x'), file, 'inflates past its declared');
      await src.close();
    });

    it('refuses a declared size deflate cannot produce', async () => {
      const [file, run] = bad('bomb.npz', zipBytes([{ name: 'W1.npy', data: W1, method: 8, uncompressedSize: 4_000_000_000 }]));
      await expectError(run, file, /claims 4000000000 bytes from only \d+ compressed bytes, more than deflate can produce/);
    });

    it('refuses a member over the memory budget', async () => {
      const noise = crypto.randomBytes(2_200_000);
      const [file, run] = bad('budget.npz', zipBytes([{ name: 'W1.npy', data: noise, method: 8, uncompressedSize: 2 ** 31 + 1 }]));
      await expectError(run, file, 'over the 2147483648-byte memory budget', 'budget');
    });

    it('refuses a member whose size disagrees with its .npy header', async () => {
      const [file, run] = bad('size.npz', zipBytes([{ name: 'W1.npy', data: Buffer.concat([W1, Buffer.alloc(4)]) }]));
      await expectError(run, file, 'member "W1.npy": dtype <f4 x shape (2, 3) needs 24 data bytes but the member holds 28');
    });

    it('refuses a member that is not .npy data', async () => {
      const [file, run] = bad('notnpy.npz', zipBytes([{ name: 'W1.npy', data: Buffer.from('just some text here'), method: 8 }]));
      await expectError(run, file, 'member "W1.npy": not an .npy file');
    });

    it('refuses an archive without .npy members', async () => {
      const [file, run] = bad('empty.npz', zipBytes([{ name: 'notes.txt', data: Buffer.from('x') }]));
      await expectError(run, file, 'the archive contains no .npy members');
    });

    it('refuses a PyTorch zip and a raw pickle', async () => {
      const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
      const torch = zipBytes([{ name: 'model/version', data: Buffer.from('3\n') }, { name: 'model/data.pkl', data: pickle }]);
      const bigPickle = Buffer.concat([pickle, Buffer.alloc(100_000)]);
      for (const [name, bytes] of [['torch.npz', torch], ['raw.npz', pickle], ['bigraw.npz', bigPickle]] as const) {
        const [file, run] = bad(name, bytes);
        await expectError(run, file, /PyTorch\/pickle file, and FFN Lens never unpickles/);
      }
    });
  });
});
