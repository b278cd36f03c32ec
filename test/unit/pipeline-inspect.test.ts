import * as assert from 'assert';
import { inspectFile } from '../../src/pipeline';
import { parseArgs } from '../../src/cli/args';
import { safetensorsBytes, tempDir, writeFixture } from '../helpers/binaryWriters';

// A 2x3 F32 tensor [[1,2,3],[4,5,6]] (24 bytes) and a 3-element bias [0,0,-2] (12 bytes): 36 bytes of tensors.
function fixture(): string {
  const dir = tempDir('inspect');
  return writeFixture(
    dir,
    'two.safetensors',
    safetensorsBytes([
      { name: 'a', dtype: 'F32', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
      { name: 'b', dtype: 'F32', shape: [3], values: [0, 0, -2] },
    ]),
  );
}

describe('pipeline: inspectFile statistics limit', () => {
  it('computes exact statistics when the tensors fit under the limit', async () => {
    const r = await inspectFile(fixture(), { stats: true, maxStatsBytes: 36 });
    assert.strictEqual(r.statsSkipped, undefined);
    const a = r.tensors.find((t) => t.name === 'a')!;
    // mean of 1..6 = 3.5; min 1, max 6
    assert.strictEqual(a.stats!.mean, 3.5);
    assert.strictEqual(a.stats!.min, 1);
    assert.strictEqual(a.stats!.max, 6);
    const b = r.tensors.find((t) => t.name === 'b')!;
    // two of three are zero
    assert.ok(Math.abs(b.stats!.zeroFraction - 2 / 3) < 1e-12);
  });

  it('lists without statistics, and says why, when the tensors exceed the limit', async () => {
    const r = await inspectFile(fixture(), { stats: true, maxStatsBytes: 35 });
    assert.match(r.statsSkipped ?? '', /tensors hold 36 bytes, over the 35 bytes limit \(pass --stats/);
    assert.ok(r.tensors.every((t) => t.stats === undefined));
    assert.deepStrictEqual(r.tensors.map((t) => t.shape), [[2, 3], [3]]);
  });
});

describe('cli: inspect statistics flags', () => {
  it('defaults to auto, and parses --stats and --no-stats', () => {
    assert.deepStrictEqual(parseArgs(['inspect', 'w.json']), { command: 'inspect', file: 'w.json', json: false, stats: 'auto' });
    assert.strictEqual((parseArgs(['inspect', 'w.json', '--stats']) as { stats: string }).stats, 'on');
    assert.strictEqual((parseArgs(['inspect', '--no-stats', 'w.json', '--json']) as { stats: string }).stats, 'off');
  });
  it('refuses both at once as a usage error', () => {
    assert.throws(() => parseArgs(['inspect', 'w.json', '--stats', '--no-stats']), (e: { kind?: string; message?: string }) => e.kind === 'usage' && /cannot be used together/.test(e.message ?? ''));
  });
});

describe('pipeline: inspectFile of chosen tensors', () => {
  it('lists and reads only the tensors asked for', async () => {
    const r = await inspectFile(fixture(), { stats: true, tensors: ['b'] });
    assert.deepStrictEqual(r.tensors.map((t) => t.name), ['b']);
    // b = [0, 0, -2]: mean -2/3, min -2, max 0; F32 x 3 = 12 bytes in the file
    assert.ok(Math.abs(r.tensors[0].stats!.mean + 2 / 3) < 1e-12);
    assert.strictEqual(r.tensors[0].stats!.min, -2);
    assert.strictEqual(r.tensors[0].byteLength, 12);
  });
});
