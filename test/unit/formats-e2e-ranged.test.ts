/**
 * Ranged reads, measured: a file with three FFN layers and a big unrelated tensor (4 MB) is
 * inspected without statistics and has its middle layer run, and the process-wide byte counter
 * (`readStats`, every RangeReader read plus the format sniffer's probe) must show that only the
 * header and that one layer's tensors were read. The one overhead is documented in
 * the README (Ranged reads): `openSource` sniffs the first PICKLE_PROBE_BYTES to pick the reader and refuse
 * pickles; GGUF's first header read is GGUF_LIMITS.firstReadBytes; npz listing reads the zip end
 * records, the central directory and each member's .npy header.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readStats } from '../../src/formats/fileRange';
import { GGUF_LIMITS } from '../../src/formats/gguf';
import { PICKLE_PROBE_BYTES } from '../../src/formats/pickle';
import { inspectFile, runLayer } from '../../src/pipeline';
import { npyBytes, npzBytes, safetensorsBytes, tempDir, type StTensor } from '../helpers/binaryWriters';
import { buildGguf, tensorF32 } from '../helpers/ggufWriter';

const D = 64;
const F = 256;
const BIG = 4 * 1024 * 1024;
/** Distinct, cheap values: what matters here is where the bytes are, not what they hold. */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) - 1001) / 4096);

/** Bytes the counter saw while `job` ran. */
async function bytesReadBy(job: () => Promise<unknown>): Promise<number> {
  const before = readStats.bytes;
  await job();
  return readStats.bytes - before;
}

const inspectHeaderOnly = (file: string) => (): Promise<unknown> => inspectFile(file, { stats: false });
const runOneLayer = (file: string, layer: string) => (): Promise<unknown> => runLayer({ file, layer, inputs: { kind: 'random', tokens: 2, seed: 1 } });

describe('formats end to end: ranged reads touch only the header and the layer asked for', function () {
  this.timeout(60000);
  let dir = '';
  before(() => (dir = tempDir('ranged')));
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('safetensors: inspect --no-stats reads 8 + header; running layer 1 adds exactly its four tensors', async () => {
    const layer = (i: number): StTensor[] => [
      { name: `h.${i}.mlp.c_fc.weight`, dtype: 'F32', shape: [D, F], values: values(D * F, 4 * i) },
      { name: `h.${i}.mlp.c_fc.bias`, dtype: 'F32', shape: [F], values: values(F, 4 * i + 1) },
      { name: `h.${i}.mlp.c_proj.weight`, dtype: 'F32', shape: [F, D], values: values(F * D, 4 * i + 2) },
      { name: `h.${i}.mlp.c_proj.bias`, dtype: 'F32', shape: [D], values: values(D, 4 * i + 3) },
    ];
    // The big tensor sits between the layers, so reading "a bit more" around layer 1 would show.
    const big: StTensor = { name: 'wte.weight', dtype: 'F32', shape: [BIG / 4 / D, D], values: new Uint8Array(BIG) };
    const bytes = safetensorsBytes([...layer(0), big, ...layer(1), ...layer(2)]);
    const file = path.join(dir, 'three-layers.safetensors');
    fs.writeFileSync(file, bytes);
    const header = 8 + Number(bytes.readBigUInt64LE(0));
    const sniff = Math.min(bytes.length, PICKLE_PROBE_BYTES);
    const layerBytes = (D * F + F + F * D + D) * 4;

    assert.strictEqual(await bytesReadBy(inspectHeaderOnly(file)), sniff + header);
    assert.strictEqual(await bytesReadBy(runOneLayer(file, 'h.1.mlp')), sniff + header + layerBytes);
    // The counter sees real reads: statistics of every tensor read the whole data buffer.
    assert.strictEqual(await bytesReadBy(() => inspectFile(file, { stats: true })), sniff + bytes.length);
    assert.ok(sniff + header < bytes.length / 100, 'the header is well under 1% of the file');
  });

  it('GGUF: inspect reads the first header slice; running blk.1 adds exactly its three tensors', async () => {
    const tensors = [tensorF32('token_embd.weight', [D, BIG / 4 / D], values(BIG / 4, 99))];
    for (let i = 0; i < 3; i++) {
      tensors.push(
        tensorF32(`blk.${i}.ffn_gate.weight`, [D, F], values(D * F, 3 * i)),
        tensorF32(`blk.${i}.ffn_up.weight`, [D, F], values(D * F, 3 * i + 1)),
        tensorF32(`blk.${i}.ffn_down.weight`, [F, D], values(F * D, 3 * i + 2)),
      );
    }
    const { bytes, layout } = buildGguf({ kv: [['general.architecture', { type: 'string', value: 'llama' }]], tensors });
    const file = path.join(dir, 'three-layers.gguf');
    fs.writeFileSync(file, bytes);
    assert.ok(layout.dataStart < GGUF_LIMITS.firstReadBytes, 'the header fits in the first read');
    const sniff = Math.min(bytes.length, PICKLE_PROBE_BYTES);
    const headerRead = Math.min(bytes.length, GGUF_LIMITS.firstReadBytes);

    assert.strictEqual(await bytesReadBy(inspectHeaderOnly(file)), sniff + headerRead);
    assert.strictEqual(await bytesReadBy(runOneLayer(file, 'blk.1')), sniff + headerRead + 3 * D * F * 4);
    assert.ok(sniff + headerRead < bytes.length / 50);
  });

  it('npz (stored): listing reads the zip directory and .npy headers; running layer1 adds exactly its members\' data', async () => {
    const npy = (shape: number[], seed: number): Uint8Array => npyBytes({ descr: '<f4', shape, values: values(shape.reduce((a, b) => a * b), seed) });
    const members: Record<string, Uint8Array> = { embed: npyBytes({ descr: '<f4', shape: [BIG / 4], values: new Uint8Array(BIG) }) };
    for (let i = 0; i < 3; i++) {
      Object.assign(members, {
        [`layer${i}/W1`]: npy([D, F], 4 * i),
        [`layer${i}/b1`]: npy([F], 4 * i + 1),
        [`layer${i}/W2`]: npy([F, D], 4 * i + 2),
        [`layer${i}/b2`]: npy([D], 4 * i + 3),
      });
    }
    const bytes = npzBytes(members, 0);
    const file = path.join(dir, 'three-layers.npz');
    fs.writeFileSync(file, bytes);

    const listing = await bytesReadBy(inspectHeaderOnly(file));
    const directory = bytes.readUInt32LE(bytes.length - 22 + 12);
    const count = Object.keys(members).length;
    // sniff + the end-record search window (22 + 64 KiB) + central directory + per member: local header, .npy prelude and header.
    const bound = PICKLE_PROBE_BYTES + 22 + 0xffff + directory + count * (30 + 12 + 128);
    assert.ok(listing <= bound, `listing read ${listing} bytes, bound ${bound}`);
    assert.ok(listing < bytes.length / 50, `listing read ${listing} of ${bytes.length} bytes`);
    const run = await bytesReadBy(runOneLayer(file, 'layer1'));
    assert.strictEqual(run - listing, (D * F + F + F * D + D) * 4);
  });
});
