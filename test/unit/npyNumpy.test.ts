/**
 * An independent check: numpy itself writes .npy/.npz files (big-endian, Fortran order, every
 * format version, stored and compressed zips), and the readers must return the values both sides
 * compute from the same formulas. Skipped when python3 with numpy is not installed.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { openNpySource } from '../../src/formats/npy';
import { openNpzSource } from '../../src/formats/npz';
import type { TensorSource } from '../../src/formats/source';
import { tempDir } from '../helpers/binaryWriters';

const SCRIPT = String.raw`
import sys, numpy as np
d = sys.argv[1]
f = lambda i, j: (i * 7 + j * 3) % 11 * 0.25 - 1.0
m = np.fromfunction(f, (5, 4))
np.save(d + '/be_f4.npy', m.astype('>f4'))
np.save(d + '/fortran_f8.npy', np.asfortranarray(m))
np.save(d + '/fortran_be_f2.npy', np.asfortranarray(m.astype('>f2')))
t = np.fromfunction(lambda i, j, k: 100 * i + 10 * j + k, (2, 3, 4)).astype('<f4')
np.save(d + '/fortran3.npy', np.asfortranarray(t))
np.save(d + '/i8.npy', np.array([-3, 5, 1 << 40], dtype='>i8'))
np.save(d + '/bool.npy', np.array([True, False, True]))
for v in (1, 2, 3):
    with open(d + '/v%d.npy' % v, 'wb') as fh:
        np.lib.format.write_array(fh, m.astype('<f4'), version=(v, 0))
big = np.fromfunction(lambda i, j: (i * 50 + j) % 97 * 0.5, (1000, 50)).astype('<f4')
np.savez(d + '/stored.npz', W1=m.astype('<f4'), b1=np.arange(4, dtype='>f8'), **{'layer0/W2': np.asfortranarray(m.T)})
np.savez_compressed(d + '/compressed.npz', W1=m.astype('<f2'), big=big, **{'layer0/W2': np.asfortranarray(m.T.astype('>f4'))})
`;

function hasNumpy(): boolean {
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  return r.status === 0;
}

/** The 5x4 matrix both sides compute, row-major. */
const f = (i: number, j: number): number => (((i * 7 + j * 3) % 11) * 0.25) - 1;
const M = Array.from({ length: 20 }, (_, k) => f(Math.floor(k / 4), k % 4));
const MT = Array.from({ length: 20 }, (_, k) => f(k % 5, Math.floor(k / 5)));

function assertSame(actual: Float32Array, expected: readonly number[]): void {
  assert.strictEqual(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Object.is(actual[i], e), `[${i}]: got ${actual[i]}, expected ${e}`));
}

async function withSource<T>(src: TensorSource, fn: (s: TensorSource) => Promise<T>): Promise<T> {
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

describe('npy/npz against files numpy wrote', function () {
  let dir = '';
  before(function () {
    if (!hasNumpy()) this.skip();
    dir = tempDir('numpy');
    const r = spawnSync('python3', ['-c', SCRIPT, dir], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const npy = async (name: string): Promise<{ shape: number[]; data: Float32Array }> =>
    withSource(await openNpySource(path.join(dir, name)), async (s) => ({ shape: s.tensors[0].shape, data: await s.read(s.tensors[0].name) }));

  it('reads big-endian f4, Fortran f8 and Fortran big-endian f2', async () => {
    for (const name of ['be_f4.npy', 'fortran_f8.npy', 'fortran_be_f2.npy']) {
      const got = await npy(name);
      assert.deepStrictEqual(got.shape, [5, 4], name);
      assertSame(got.data, M);
    }
  });

  it('reads a Fortran-order 3-D array in row-major order', async () => {
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected.push(100 * i + 10 * j + k);
    assertSame((await npy('fortran3.npy')).data, expected);
  });

  it('reads integers and bools', async () => {
    assertSame((await npy('i8.npy')).data, [-3, 5, 1099511627776]);
    assertSame((await npy('bool.npy')).data, [1, 0, 1]);
  });

  it('reads format versions 1, 2 and 3', async () => {
    for (const v of [1, 2, 3]) assertSame((await npy(`v${v}.npy`)).data, M);
  });

  it('reads np.savez (stored) members, nested names dotted', async () => {
    await withSource(await openNpzSource(path.join(dir, 'stored.npz')), async (s) => {
      assert.deepStrictEqual(s.tensors.map((t) => [t.name, t.shape]), [['W1', [5, 4]], ['b1', [4]], ['layer0.W2', [4, 5]]]);
      assertSame(await s.read('W1'), M);
      assertSame(await s.read('b1'), [0, 1, 2, 3]);
      assertSame(await s.read('layer0.W2'), MT);
    });
  });

  it('reads np.savez_compressed (deflated) members', async () => {
    await withSource(await openNpzSource(path.join(dir, 'compressed.npz')), async (s) => {
      assertSame(await s.read('W1'), M);
      assertSame(await s.read('layer0.W2'), MT);
      const big = await s.read('big');
      assert.strictEqual(big.length, 50_000);
      for (const [i, j] of [[0, 0], [999, 49], [123, 7], [500, 25]]) assert.strictEqual(big[i * 50 + j], ((i * 50 + j) % 97) * 0.5);
    });
  });
});
