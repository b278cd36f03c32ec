import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FfnLensError } from '../../src/core/errors';
import { estimateRunBytes, inspectFile, runLayer } from '../../src/pipeline';
import type { RunRequest } from '../../src/protocol/run';

/**
 * The 2-token ReLU layer worked out by hand (d_model 2, d_ff 3, math layout):
 *   x0 = [1, 1]:  pre = [3, 0.5, -1.5], hidden = [3, 0.5, 0], output = [3.5, 0.5]
 *   x1 = [-1, 2]: pre = [3, 3.5, -3.5], hidden = [3, 3.5, 0], output = [3.5, 6.5]
 * Unit 2 is silenced on both tokens (dead); every value is exact in float32.
 */
const HAND = {
  W1: [
    [1, -1, 0.5],
    [2, 1, -1],
  ],
  b1: [0, 0.5, -1],
  W2: [
    [1, 0],
    [0, 2],
    [-1, 1],
  ],
  b2: [0.5, -0.5],
};
const X = [
  [1, 1],
  [-1, 2],
];

let dir: string;
const file = (name: string, content: string | Uint8Array): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

/** A version 1.0 `.npy` of little-endian float32 values, written from the format's spec. */
function npyBytes(shape: number[], values: number[]): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  let headerLen = dict.length + 1; // + '\n'
  headerLen += (64 - ((10 + headerLen) % 64)) % 64;
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  const out = new Uint8Array(10 + headerLen + 4 * values.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, headerLen, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const dv = new DataView(out.buffer, 10 + headerLen);
  values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

function assertHandOutput(output: Float32Array): void {
  assert.deepStrictEqual(Array.from(output), [3.5, 0.5, 3.5, 6.5]);
}

async function rejects(p: Promise<unknown>, kind: string, ...parts: (string | RegExp)[]): Promise<FfnLensError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FfnLensError, `expected an FfnLensError, got ${String(e)}`);
    assert.strictEqual(e.kind, kind, e.describe());
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(e.describe().includes(part), `"${e.describe()}" lacks "${part}"`);
      else assert.match(e.describe(), part);
    }
    return e;
  }
  assert.fail('expected a rejection');
}

describe('pipeline: runLayer', () => {
  let weights: string;
  let withInputs: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-pipeline-'));
    weights = file('hand.json', JSON.stringify(HAND));
    withInputs = file('hand-inputs.json', JSON.stringify({ ...HAND, tokens: ['the', 'cat'], inputs: X }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the hand layer on the file\'s own inputs and tokens', async () => {
    const r = await runLayer({ file: withInputs, inputs: { kind: 'file' } });
    assert.deepStrictEqual(r.tokens, ['the', 'cat']);
    assert.strictEqual(r.layer.id, 'main');
    assert.strictEqual(r.activation, 'relu');
    assert.deepStrictEqual([r.dModel, r.dFf], [2, 3]);
    assert.deepStrictEqual(Array.from(r.preActivation), [3, 0.5, -1.5, 3, 3.5, -3.5]);
    assert.deepStrictEqual(Array.from(r.hidden), [3, 0.5, 0, 3, 3.5, 0]);
    assertHandOutput(r.output);
    assert.deepStrictEqual(Array.from(r.w2RowNorms), [1, 2, Math.fround(Math.SQRT2)]);
    assert.deepStrictEqual(r.analysis.neurons.dead, [2]);
    assert.deepStrictEqual(Array.from(r.analysis.neurons.firingRate), [1, 1, 0]);
    assert.deepStrictEqual(r.warnings, []);
    assert.ok(r.timings.loadMs >= 0 && r.timings.computeMs >= 0);
  });

  it('reads inputs from a JSON inputs file, tokens included', async () => {
    const inputs = file('in.json', JSON.stringify({ tokens: ['a', 'b'], inputs: X }));
    const r = await runLayer({ file: weights, inputs: { kind: 'inputsFile', path: inputs } });
    assert.deepStrictEqual(r.tokens, ['a', 'b']);
    assertHandOutput(r.output);
  });

  it('reads inputs from a .npy T x d_model float32 array, labelled t0..', async () => {
    const inputs = file('in.npy', npyBytes([2, 2], X.flat()));
    const r = await runLayer({ file: weights, inputs: { kind: 'inputsFile', path: inputs } });
    assert.deepStrictEqual(r.tokens, ['t0', 't1']);
    assertHandOutput(r.output);
  });

  it('refuses inputs of the wrong width, naming the inputs file and both widths', async () => {
    const json = file('wide.json', JSON.stringify({ inputs: [[1, 2, 3, 4, 5]] }));
    await rejects(runLayer({ file: weights, inputs: { kind: 'inputsFile', path: json } }), 'input', 'wide.json: inputs have width 5 but layer "main" has d_model 2');
    const npy = file('wide.npy', npyBytes([1, 5], [1, 2, 3, 4, 5]));
    await rejects(runLayer({ file: weights, inputs: { kind: 'inputsFile', path: npy } }), 'input', 'wide.npy: inputs have width 5 but layer "main" has d_model 2');
  });

  it('refuses a token count that does not match the rows, and ragged rows', async () => {
    const json = file('count.json', JSON.stringify({ tokens: ['a', 'b', 'c'], inputs: X }));
    await rejects(runLayer({ file: weights, inputs: { kind: 'inputsFile', path: json } }), 'input', 'count.json', '3 tokens but 2 input rows');
    const ragged = file('ragged.json', JSON.stringify({ inputs: [[1, 2], [3]] }));
    await rejects(runLayer({ file: weights, inputs: { kind: 'inputsFile', path: ragged } }), 'input', 'ragged.json', 'row 1 has 1 values');
    const broken = file('broken.json', '{"inputs": [[1, 2]');
    await rejects(runLayer({ file: weights, inputs: { kind: 'inputsFile', path: broken } }), 'input', 'broken.json: not valid JSON');
  });

  it('refuses a run over the memory budget with the numbers, before reading weights', async () => {
    // weights: 2 x (2 x 3) + b1 3 + b2 2 = 17 floats = 68 bytes; activations: T=2 x (2 x 3 + 2 x 2) = 20 floats = 80 bytes.
    const req: RunRequest = { file: withInputs, inputs: { kind: 'file' }, memoryBudgetBytes: 147 };
    await rejects(runLayer(req), 'budget', 'hand-inputs.json', 'needs 148 bytes', 'weights 68 bytes', 'activations 80 bytes for 2 tokens', 'memory budget of 147 bytes');
    const ok = await runLayer({ ...req, memoryBudgetBytes: 148 });
    assertHandOutput(ok.output);
  });

  it('estimates a gated layer with three matrices and an up projection per token', () => {
    const layer = { dModel: 4, dFf: 8, kind: 'gated', tensors: { w1: 'u', w2: 'd', gate: 'g' } } as Parameters<typeof estimateRunBytes>[0];
    // weights 3 x 4 x 8 = 96 floats; per token 3 x 8 + 2 x 4 = 32 floats, x 5 tokens = 160.
    assert.deepStrictEqual(estimateRunBytes(layer, 5), { weightBytes: 384, activationBytes: 640, totalBytes: 1024 });
  });

  it('falls back to 8 seeded random tokens with a warning when the file has no inputs', async () => {
    const r = await runLayer({ file: weights, inputs: { kind: 'file' } });
    assert.deepStrictEqual(r.tokens, ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
    assert.strictEqual(r.warnings.length, 1);
    assert.match(r.warnings[0], /no inputs.*8 random.*seed 0/);
    const again = await runLayer({ file: weights, inputs: { kind: 'random', tokens: 8, seed: 0 } });
    assert.deepStrictEqual(Array.from(again.input), Array.from(r.input));
    assert.deepStrictEqual(again.warnings, []);
    const other = await runLayer({ file: weights, inputs: { kind: 'random', tokens: 8, seed: 1 } });
    assert.notDeepStrictEqual(Array.from(other.input), Array.from(r.input));
  });

  it('counts NaN/Inf in weights and inputs as warnings, never throwing', async () => {
    const bad = file('nan-in.json', JSON.stringify({ inputs: [[1, null], [1, 1]] }));
    const r = await runLayer({ file: weights, inputs: { kind: 'inputsFile', path: bad } });
    assert.strictEqual(r.warnings.length, 1);
    assert.match(r.warnings[0], /^inputs have 1 NaN and 0 Inf value .*nan-in\.json/);
    assert.ok(Number.isNaN(r.output[0]));
    assert.deepStrictEqual(Array.from(r.output.subarray(2)), [3.5, 0.5]);
  });

  it('overrides the activation, and refuses a gated one on a two-matrix layer', async () => {
    const r = await runLayer({ file: withInputs, inputs: { kind: 'file' }, activation: 'silu' });
    assert.strictEqual(r.activation, 'silu');
    assert.strictEqual(r.layer.activationSource, 'override');
    // silu(0.5) = 0.5 / (1 + e^-0.5)
    assert.ok(Math.abs(r.hidden[1] - 0.5 / (1 + Math.exp(-0.5))) < 1e-6);
    await rejects(runLayer({ file: withInputs, inputs: { kind: 'file' }, activation: 'swiglu' }), 'input', 'hand-inputs.json', '"swiglu" is gated');
  });

  it('selects by index and refuses an unknown layer id (a usage error), naming the file', async () => {
    const r = await runLayer({ file: withInputs, inputs: { kind: 'file' }, layer: '0' });
    assert.strictEqual(r.layer.id, 'main');
    await rejects(runLayer({ file: withInputs, inputs: { kind: 'file' }, layer: 'h.9.mlp' }), 'usage', 'hand-inputs.json', 'h.9.mlp', 'available: main');
  });

  it('honours cancellation', async () => {
    const ac = new AbortController();
    ac.abort();
    await rejects(runLayer({ file: withInputs, inputs: { kind: 'file' } }, { signal: ac.signal }), 'cancelled');
  });

  it('reports progress from 0 to 1', async () => {
    const seen: number[] = [];
    await runLayer({ file: withInputs, inputs: { kind: 'file' } }, { onProgress: (p) => seen.push(p.fraction) });
    assert.strictEqual(seen[0], 0);
    assert.strictEqual(seen[seen.length - 1], 1);
    assert.deepStrictEqual([...seen].sort((a, b) => a - b), seen);
  });
});

describe('pipeline: inspectFile', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-inspect-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists tensors with hand-checked stats and the layer', async () => {
    const p = file('hand.json', JSON.stringify(HAND));
    const r = await inspectFile(p, { stats: true });
    assert.strictEqual(r.format, 'json');
    const b1 = r.tensors.find((t) => t.name === 'b1');
    assert.ok(b1 && b1.stats, 'b1 with stats');
    assert.deepStrictEqual(b1.shape, [3]);
    // b1 = [0, 0.5, -1]: mean -1/6, population std sqrt(((1/6)^2 + (2/3)^2 + (5/6)^2) / 3) = sqrt(42/108) = sqrt(7/18)
    assert.ok(Math.abs(b1.stats.mean - -1 / 6) < 1e-12);
    assert.ok(Math.abs(b1.stats.std - Math.sqrt(7 / 18)) < 1e-12);
    assert.deepStrictEqual([b1.stats.min, b1.stats.max, b1.stats.zeroFraction], [-1, 0.5, 1 / 3]);
    assert.deepStrictEqual(r.layers.map((l) => [l.id, l.kind, l.dModel, l.dFf]), [['main', 'plain', 2, 3]]);
    assert.strictEqual(r.layersError, undefined);
  });

  it('header only without stats; a budget skips big tensors with a reason', async () => {
    const p = file('hand.json', JSON.stringify(HAND));
    const r = await inspectFile(p, { stats: false });
    assert.ok(r.tensors.every((t) => t.stats === undefined && t.statsError === undefined));
    const b = await inspectFile(p, { stats: true, memoryBudgetBytes: 12 });
    const w1 = b.tensors.find((t) => t.name === 'W1');
    assert.match(w1?.statsError ?? '', /24 bytes.*budget of 12 bytes/);
    assert.ok(b.tensors.find((t) => t.name === 'b1')?.stats, 'b1 (12 bytes) fits');
  });

  it('keeps a missing layer as layersError instead of failing', async () => {
    const p = file('nolayer.json', JSON.stringify({ foo: [[1, 2], [3, 4]] }));
    const r = await inspectFile(p, { stats: true });
    assert.deepStrictEqual(r.layers, []);
    assert.ok(r.layersError && r.layersError.length > 0);
    assert.strictEqual(r.tensors.length, 1);
    assert.strictEqual(r.tensors[0].stats?.max, 4);
  });
});
