/**
 * Issue 14 through the compute worker: `compare` and `compareWeights` give what the in-process
 * pipeline gives (the panel's path), the hidden activations come across for the heatmaps, and a
 * cancelled comparison rejects as cancelled.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { FfnLensError } from '../../src/core/errors';
import { createGemmEngine } from '../../src/kernels';
import { compareOnText, compareWeights } from '../../src/pipeline/compare';
import type { CompareRequest } from '../../src/protocol/compare';
import { ComputeClient } from '../../src/worker/client';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { makeTinyModel, writeF32F16Pair } from '../helpers/tinyModels';

describe('worker: compare (issue 14)', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-worker-compare-'));
  const workerJs = path.join(dir, 'worker.js');
  let client: ComputeClient;
  let req: CompareRequest;

  before(async () => {
    await esbuild.build({ bundle: true, platform: 'node', format: 'cjs', target: 'node18', logLevel: 'error', entryPoints: [path.join(__dirname, '../../src/worker/worker.ts')], outfile: workerJs });
    const { json, vocabSize } = byteBpeTokenizer();
    const model = makeTinyModel('llama', { seed: 7, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: vocabSize, maxPositions: 32 });
    const { a, b } = writeF32F16Pair(dir, model, json);
    req = { modelA: a, modelB: b, input: { kind: 'text', text: 'hello world, hello' }, top: 5, keepHidden: true };
    client = new ComputeClient(workerJs, { threads: 1 });
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compare gives what the pipeline gives in-process, with both hidden activations per block', async () => {
    const engine = createGemmEngine({ threads: 1 });
    await engine.ready();
    const local = await compareOnText(req, engine);
    await engine.dispose();
    const remote = await client.compare(req);
    assert.deepStrictEqual(remote.tokenIds, local.tokenIds);
    assert.deepStrictEqual(remote.layers, local.layers);
    assert.strictEqual(remote.kl, local.kl);
    assert.ok(remote.kl > 0, 'F16 changes the distribution a little');
    assert.strictEqual(remote.hidden?.length, 2);
    const T = remote.tokenIds.length;
    for (const [i, h] of (remote.hidden ?? []).entries()) {
      assert.ok(h && h.a instanceof Float32Array && h.a.length === T * 64);
      assert.deepStrictEqual(Array.from(h.b), Array.from((local.hidden ?? [])[i]?.b ?? []));
    }
  });

  it('compareWeights gives what the pipeline gives in-process', async () => {
    const local = await compareWeights({ modelA: req.modelA, modelB: req.modelB, top: 3 });
    assert.deepStrictEqual(await client.compareWeights({ modelA: req.modelA, modelB: req.modelB, top: 3 }), local);
    assert.ok(local.layers[0].tensors.every((t) => t.relativeError > 0 && t.relativeError < 1e-3), 'F16 rounding is a small relative change');
  });

  it('a cancelled comparison rejects as cancelled', async () => {
    const controller = new AbortController();
    const p = client.compare(req, { signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(p, (e: unknown) => e instanceof FfnLensError && e.kind === 'cancelled');
  });
});
