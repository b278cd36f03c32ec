import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { isFfnLensError } from '../../src/core/errors';
import { openSafetensorsSource } from '../../src/formats/safetensors';
import { detectPickleFile, looksLikePickle } from '../../src/formats/pickle';
import { encodeValues, safetensorsBytes, safetensorsRaw, tempDir, writeFixture, zipBytes } from '../helpers/binaryWriters';

/** Asserts `run` fails with one FfnLensError line naming `file` and containing `fragment`. */
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

const f32 = (n: number): Uint8Array => encodeValues('F32', Array.from({ length: n }, (_, i) => i));

describe('safetensors validation', () => {
  const dir = tempDir('stv');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const open = (name: string, bytes: Uint8Array | string): [string, () => Promise<unknown>] => {
    const file = writeFixture(dir, name, bytes);
    return [file, () => openSafetensorsSource(file)];
  };

  it('refuses a header length over the 100 MB limit', async () => {
    const [file, run] = open('huge.safetensors', safetensorsRaw('{}', new Uint8Array(0), 200_000_000));
    await expectError(run, file, 'header length 200000000 is over the 100000000-byte limit');
  });

  it('refuses a header length larger than the file', async () => {
    const [file, run] = open('long.safetensors', safetensorsRaw('{}', new Uint8Array(0), 1000));
    await expectError(run, file, 'header length 1000 is larger than the rest of the file (2 bytes)');
  });

  it('refuses a file shorter than the length field', async () => {
    const [file, run] = open('tiny.safetensors', new Uint8Array([1, 2, 3]));
    await expectError(run, file, 'the file is 3 bytes, too short');
  });

  it('refuses a header that is not JSON', async () => {
    const [file, run] = open('notjson.safetensors', safetensorsRaw('{"a": {"dtype": ', new Uint8Array(0)));
    await expectError(run, file, 'safetensors header is not valid JSON');
  });

  it('refuses a JSON header that is not an object', async () => {
    const [file, run] = open('array.safetensors', safetensorsRaw('[1, 2]', new Uint8Array(0)));
    await expectError(run, file, 'safetensors header is not a JSON object');
  });

  it('refuses a header that is not UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0xff, 0xfe])]);
    const [file, run] = open('latin.safetensors', bad);
    await expectError(run, file, 'not valid UTF-8');
  });

  it('refuses an unknown dtype', async () => {
    const [file, run] = open('dtype.safetensors', safetensorsRaw({ w: { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }, f32(1)));
    await expectError(run, file, 'tensor "w": dtype "F7" is not a safetensors dtype');
  });

  it('refuses a shape that is not non-negative integers', async () => {
    const [file, run] = open('shape.safetensors', safetensorsRaw({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 4] } }, f32(1)));
    await expectError(run, file, 'tensor "w": shape [2,-1] is not a list of non-negative integers');
  });

  it('refuses a byte length that does not match dtype x shape', async () => {
    const header = { 'h.0.mlp.c_fc.weight': { dtype: 'F32', shape: [5, 6], data_offsets: [0, 100] } };
    const [file, run] = open('len.safetensors', safetensorsRaw(header, new Uint8Array(100)));
    await expectError(run, file, 'tensor "h.0.mlp.c_fc.weight": data_offsets [0, 100] but dtype F32 x shape [5, 6] needs 120 bytes');
  });

  it('refuses offsets out of bounds (truncated data)', async () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } };
    const [file, run] = open('oob.safetensors', safetensorsRaw(header, f32(4)));
    await expectError(run, file, 'tensor "b": data_offsets [8, 24] are past the end of the data buffer (16 bytes)');
  });

  it('refuses overlapping tensors', async () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    const [file, run] = open('overlap.safetensors', safetensorsRaw(header, f32(3)));
    await expectError(run, file, 'tensor "b": data_offsets [4, 12] overlap tensor "a" [0, 8]');
  });

  it('refuses a gap between tensors', async () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [12, 20] } };
    const [file, run] = open('gap.safetensors', safetensorsRaw(header, f32(5)));
    await expectError(run, file, 'tensor "b": data_offsets [12, 20] leave a gap: bytes 8..12 after tensor "a" belong to no tensor');
  });

  it('refuses a gap before the first tensor', async () => {
    const [file, run] = open('gap0.safetensors', safetensorsRaw({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)));
    await expectError(run, file, 'bytes 0..4 at the start of the data buffer belong to no tensor');
  });

  it('refuses trailing bytes no tensor covers', async () => {
    const [file, run] = open('tail.safetensors', safetensorsRaw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(3)));
    await expectError(run, file, 'the data buffer has 12 bytes but the tensors cover 4; bytes 4..12 belong to no tensor');
  });

  it('refuses non-string metadata', async () => {
    const [file, run] = open('meta.safetensors', safetensorsRaw({ __metadata__: { step: 5 }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1)));
    await expectError(run, file, '__metadata__ "step" is not a string');
  });

  it('lists 8-bit floats but refuses to decode them', async () => {
    const [file] = open('f8.safetensors', safetensorsBytes([{ name: 'q', dtype: 'F8_E4M3', shape: [2], values: new Uint8Array([1, 2]) }]));
    const src = await openSafetensorsSource(file);
    assert.deepStrictEqual(src.tensors.map((t) => t.dtype), ['F8_E4M3']);
    await expectError(() => src.read('q'), file, 'tensor "q" has dtype F8_E4M3, which FFN Lens cannot decode');
    await expectError(() => src.read('nope'), file, 'no tensor named "nope"');
    await src.close();
  });

  it('names a missing file', async () => {
    const file = path.join(dir, 'missing.safetensors');
    await expectError(() => openSafetensorsSource(file), file, 'cannot open the file (no such file)');
  });

  describe('pickle files', () => {
    const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x77, 0x2e]);
    const torchZip = zipBytes([
      { name: 'archive/data.pkl', data: pickle },
      { name: 'archive/data/0', data: new Uint8Array(16) },
    ]);

    it('recognises a raw pickle and a PyTorch zip by their first bytes', async () => {
      assert.strictEqual(looksLikePickle(pickle), 'pickle');
      assert.strictEqual(looksLikePickle(torchZip), 'torch-zip');
      assert.strictEqual(looksLikePickle(safetensorsBytes([{ name: 'a', dtype: 'F32', shape: [1], values: [1] }])), undefined);
      assert.strictEqual(await detectPickleFile(writeFixture(dir, 'p.bin', pickle)), 'pickle');
    });

    it('refuses a pickle opened as safetensors, with how to convert it', async () => {
      for (const [name, bytes] of [['pytorch_model.safetensors', pickle], ['torch.safetensors', torchZip]] as const) {
        const [file, run] = open(name, bytes);
        await expectError(run, file, /PyTorch\/pickle file, and FFN Lens never unpickles.*convert it to safetensors/);
      }
    });
  });
});
