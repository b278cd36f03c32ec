/**
 * Corrupted-file corpus for JSON weights: a small layer file cut at every byte and with every bit
 * flipped (all of a JSON file is header); every version is refused cleanly or reads, and a tensor
 * whose text was not touched reads as before. Plus the size cap and hostile claims.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { constants as bufferConstants } from 'buffer';
import { openJsonSource } from '../../src/formats/json';
import { FuzzDir, bitFlips, buildJson, checkClean, memoryGrowth, overlaps, truncations, type CorpusSpec, type JsonTensorCase } from '../helpers/fuzz';

const t = (name: string, shape: number[], values: number[], form: JsonTensorCase['form'] = 'array'): JsonTensorCase => ({ path: [name], nested: false, shape, values, form, bare: false });
const TENSORS = [
  t('W1', [2, 3], [1, -2, 3.5, 0, -0.25, 6]),
  t('b1', [3], [0.5, NaN, 2], 'shape-data'),
  t('W2', [3, 2], [1, 2, 3, -4, 5, Infinity]),
  t('b2', [2], [-7, 9]),
];

describe('corrupted JSON weight files', function () {
  this.timeout(180_000);
  const dir = new FuzzDir('corrupt-json');
  after(() => dir.remove());

  const built = buildJson(TENSORS, ',"activation":"gelu","name":"tiny"');
  const spec: CorpusSpec = {
    dir, name: 'layer.json', bytes: built.bytes, open: openJsonSource,
    touches: (tensor, lo, hi) => overlaps(lo, hi, ...built.ranges.get(tensor)!),
  };

  it(`every truncation (${built.bytes.length} cuts) is refused`, async () => {
    const stats = await truncations(spec);
    assert.strictEqual(stats.rejected, built.bytes.length);
  });

  it(`every bit flip (${built.bytes.length * 8} flips) is refused or leaves untouched tensors intact`, async () => {
    const stats = await bitFlips(spec, 0, built.bytes.length);
    assert.ok(stats.rejected > 0 && stats.read > 0, JSON.stringify(stats));
  });

  describe('limits and known bugs', () => {
    const refusal = async (name: string, text: string, fragment: RegExp, size?: number): Promise<void> => {
      const p = dir.write(name, text);
      if (size !== undefined) fs.truncateSync(p, size);
      try {
        const grown = await memoryGrowth(() => openJsonSource(p).catch((e: unknown) => e));
        // Refused whole, or opened with the tensor listed as a problem (it never silently vanishes).
        const opened = grown.result as { problems?: readonly { name: string; message: string }[] };
        const message = opened.problems ? opened.problems.map((q) => q.message).join('; ') : checkClean(grown.result, (f) => f === p, name).message;
        assert.match(message, fragment);
        assert.ok(grown.arrayBuffers < 4 * 2 ** 20 && grown.heapUsed < 8 * 2 ** 20, `grew ${grown.arrayBuffers} B of buffers, ${grown.heapUsed} B of heap`);
      } finally {
        fs.rmSync(p);
      }
    };

    it(`refuses a file over the longest string V8 holds (${bufferConstants.MAX_STRING_LENGTH} bytes) without reading it (sparse file)`, async () => {
      await refusal('huge.json', '{"W": [', /is more than a JSON weight file can be/, bufferConstants.MAX_STRING_LENGTH + 1);
    });

    it('refuses a 100-byte file claiming a 2^40-element tensor without allocating it', async () => {
      const text = '{"W": {"shape": [1099511627776], "data": [1, 2, 3]}}';
      await refusal('claims.json', text.padEnd(100, ' '), /data has 3 numbers but shape \[1099511627776\] needs 1099511627776/);
      await refusal('claims2.json', '{"W": {"shape": [1048576, 1048576], "data": [[1]]}}', /needs 1099511627776/);
    });

    // Regression: the tree walk used to recurse once per level and overflow the stack.
    it('refuses arrays and objects nested 10,000 deep with an FfnLensError', async () => {
      const n = 10_000;
      await refusal('deep-array.json', `{"w": ${'['.repeat(n)}1${']'.repeat(n)}}`, /nest/);
      await refusal('deep-object.json', `{"w": [1], ${'"a": {'.repeat(n)}"x": 1${'}'.repeat(n)}}`, /nest/);
    });

    // Names from the file are echoed in messages; FfnLensError escapes them so a message stays one line.
    it('escapes control characters of tensor names in messages', async () => {
      await refusal('names.json', '{"evil\\n\\u001b[2J": [[1, 2], [3]]}', /^evil\\u000a\\u001b\[2J: row 1/);
    });

    // Regression: a shape written as [-0] was listed with a negative-zero dimension.
    it('lists a -0 dimension as 0', async () => {
      const p = dir.write('minus0.json', '{"W": {"shape": [2, -0], "data": []}}');
      const source = await openJsonSource(p);
      assert.ok(Object.is(source.tensors[0].shape[1], 0));
    });
  });
});
