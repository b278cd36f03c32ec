/**
 * Issue 11: the streamed whole-model forward pass against the float64 reference written from the
 * papers' formulas (test/helpers/refModel.ts), on tiny models of every architecture, written as
 * Hugging Face folders (and LLaMA as GGUF too), on both kernels. Residual entering every block,
 * block L's FFN trace, the next-token distribution, and an ablation.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createGemmEngine, bestPath, detectWasmFeatures, type GemmEngine } from '../../src/kernels';
import { modelForward } from '../../src/model/forward';
import { openModel, type OpenModel } from '../../src/model/open';
import { ModelHolder } from '../../src/pipeline/heldModel';
import { runModel } from '../../src/pipeline/runModel';
import { refForward, type RefForward } from '../helpers/refModel';
import { logSoftmax } from '../helpers/refBlocks';
import { makeTinyModel, writeHfFolder, writeLlamaGguf, type Arch, type TinyModel } from '../helpers/tinyModels';

const IDS = [3, 17, 5, 5, 30, 1, 22];

/** Largest |a - b| relative to the largest |b| (float32 against float64 through several blocks). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'lengths');
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-4): void => {
  const e = relErr(a, b);
  assert.ok(e < tol, `${what}: relative error ${e.toExponential(2)} over ${tol}`);
};

/** softmax of the reference's last-position logits. */
function refProbs(ref: RefForward, vocab: number): Float64Array {
  const T = ref.logits.length / vocab;
  const row = ref.logits.subarray((T - 1) * vocab, T * vocab);
  return Float64Array.from(logSoftmax(row), Math.exp);
}

describe('model: streamed forward pass against the float64 reference', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-model-forward-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const engines: [string, () => GemmEngine][] = [['ts', () => createGemmEngine({ path: 'ts' })]];
  if (bestPath(detectWasmFeatures()) !== 'ts') engines.push(['wasm', () => createGemmEngine({ threads: 2 })]);

  const cases: { arch: Arch; opts?: Parameters<typeof makeTinyModel>[1]; label?: string }[] = [
    { arch: 'gpt2' },
    { arch: 'llama' },
    { arch: 'llama', label: 'llama3 rope_scaling', opts: { ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, maxPositions: 64 } },
    { arch: 'mistral', label: 'mistral, sliding window 3', opts: { slidingWindow: 3 } },
    { arch: 'qwen2' },
    { arch: 'gemma' },
    { arch: 'gpt_neox' },
  ];

  for (const [engineName, makeEngine] of engines) {
    describe(`${engineName} kernel`, () => {
      let engine: GemmEngine;
      before(async () => {
        engine = makeEngine();
        await engine.ready();
      });
      after(() => engine.dispose());

      cases.forEach((c, n) => {
        it(`${c.label ?? c.arch}: residuals, layer 1's FFN and the next-token distribution`, async () => {
          const tiny = makeTinyModel(c.arch, { seed: 100 + n, layers: 3, ...c.opts });
          const folder = path.join(dir, `${engineName}-${n}`);
          fs.mkdirSync(folder);
          writeHfFolder(folder, tiny);
          const model = await openModel(folder);
          try {
            assert.strictEqual(model.spec.arch, c.arch);
            const got = await modelForward(model, IDS, { engine, layer: 1, predict: 5 });
            const ref = refForward(tiny, IDS);
            checkAgainst(got, ref, model, tiny, 1);
          } finally {
            await model.close();
          }
        });
      });

      it('an ablation zeroes those hidden units and changes the prediction as the reference does', async () => {
        const tiny = makeTinyModel('llama', { seed: 7, layers: 3 });
        const folder = path.join(dir, `${engineName}-ablate`);
        fs.mkdirSync(folder);
        writeHfFolder(folder, tiny);
        const model = await openModel(folder);
        try {
          const units = [0, 3, 9];
          const got = await modelForward(model, IDS, { engine, layer: 1, predict: 5, ablate: units });
          const base = refForward(tiny, IDS);
          const ablated = refForward(tiny, IDS, { ablate: { layer: 1, units } });
          const V = model.spec.vocabSize;
          const [pb, pa] = [refProbs(base, V), refProbs(ablated, V)];
          for (const t of got.next ?? []) assert.ok(Math.abs(t.prob - pb[t.id]) < 1e-4, `baseline p(${t.id})`);
          for (const t of got.nextAblated ?? []) assert.ok(Math.abs(t.prob - pa[t.id]) < 1e-4, `ablated p(${t.id})`);
          // the ablation must matter in this model, or the test proves nothing
          assert.ok(Math.max(...pa.map((p, i) => Math.abs(p - pb[i]))) > 1e-3, 'ablation changes the reference distribution');
          // the traced FFN is the baseline's (no zeroed units)
          close('hidden (baseline)', got.trace.hidden, base.ffn[1].hidden);
        } finally {
          await model.close();
        }
      });

      it('the same LLaMA weights as a GGUF (q/k in Meta order, vocabulary embedded) give the same activations', async () => {
        const tiny = makeTinyModel('llama', { seed: 11, layers: 2 });
        const file = path.join(dir, `${engineName}-tiny.gguf`);
        const tokens = Array.from({ length: tiny.config.vocab_size as number }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i] : `▁t${i}`));
        writeLlamaGguf(file, tiny, { tokenizer: { model: 'llama', tokens, scores: tokens.map((_, i) => -i), tokenTypes: tokens.map((_, i) => (i < 3 ? 3 : 1)), bos: 1, eos: 2 } });
        const folder = path.join(dir, `${engineName}-hf-of-gguf`);
        fs.mkdirSync(folder);
        writeHfFolder(folder, tiny);
        const [g, h] = [await openModel(file), await openModel(folder)];
        try {
          assert.strictEqual(g.spec.rope?.pairing, 'interleaved');
          assert.strictEqual(h.spec.rope?.pairing, 'half');
          const [a, b] = [await modelForward(g, IDS, { engine, layer: 1, predict: 5 }), await modelForward(h, IDS, { engine, layer: 1, predict: 5 })];
          close('GGUF vs HF hidden', a.trace.hidden, b.trace.hidden, 1e-5);
          close('GGUF vs HF output', a.trace.output, b.trace.output, 1e-5);
          assert.deepStrictEqual(a.next?.map((t) => t.id), b.next?.map((t) => t.id));
          checkAgainst(a, refForward(tiny, IDS), g, tiny, 1);
        } finally {
          await g.close();
          await h.close();
        }
      });
    });
  }

  function checkAgainst(got: Awaited<ReturnType<typeof modelForward>>, ref: RefForward, model: OpenModel, tiny: TinyModel, layer: number): void {
    for (let b = 0; b <= layer; b++) close(`residual entering block ${b}`, got.residuals[b], ref.residual[b]);
    const f = ref.ffn[layer];
    close('FFN input', got.trace.input, f.input);
    if (f.gate) {
      close('gate', got.trace.preActivation, f.gate);
      close('up', got.trace.up as Float32Array, f.up as Float64Array);
    } else {
      close('pre-activation', got.trace.preActivation, f.up as Float64Array);
    }
    close('hidden', got.trace.hidden, f.hidden);
    close('output', got.trace.output, f.output);
    const probs = refProbs(ref, model.spec.vocabSize);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    assert.deepStrictEqual(got.next?.map((t) => t.id), order.slice(0, 5), `top-5 ids (${tiny.arch})`);
    got.next?.forEach((t) => assert.ok(Math.abs(t.prob - probs[t.id]) < 1e-4, `p(${t.id}) = ${t.prob} vs ${probs[t.id]}`));
  }
});

describe('model: the worker keeps the model, its weights and the residuals of the last prompt', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-model-held-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('re-runs from the cached residuals and kept weights give the same numbers as fresh runs', async () => {
    const tiny = makeTinyModel('qwen2', { seed: 31, layers: 4 });
    const folder = path.join(dir, 'qwen');
    fs.mkdirSync(folder);
    writeHfFolder(folder, tiny);
    const engine = createGemmEngine({ path: bestPath(detectWasmFeatures()) === 'ts' ? 'ts' : 'auto', threads: 2 });
    const holder = new ModelHolder(engine);
    try {
      const req = (layer: number, ablate?: number[]) => ({ model: folder, input: { kind: 'ids' as const, ids: IDS }, layer, predict: 3, ablate, memoryBudgetBytes: 64 << 20 });
      const held = [await runModel(req(3), engine, { holder }), await runModel(req(1), engine, { holder }), await runModel(req(2, [1, 2]), engine, { holder })];
      const fresh = [await runModel(req(3), engine), await runModel(req(1), engine), await runModel(req(2, [1, 2]), engine)];
      held.forEach((h, i) => {
        assert.deepStrictEqual(Array.from(h.hidden), Array.from(fresh[i].hidden), `run ${i}: hidden`);
        assert.deepStrictEqual(Array.from(h.residual), Array.from(fresh[i].residual), `run ${i}: residual`);
        // the held head is one float32 product; a one-shot run sums the logits in double
        const sameNext = (a: typeof h.next, b: typeof h.next, what: string): void => {
          assert.deepStrictEqual(a?.map((t) => t.id), b?.map((t) => t.id), `${what}: ids`);
          a?.forEach((t, k) => assert.ok(Math.abs(t.prob - (b?.[k].prob ?? NaN)) < 1e-6, `${what}: p(${t.id})`));
        };
        sameNext(h.next, fresh[i].next, `run ${i}: next`);
        if (i === 2) sameNext(h.nextBaseline, fresh[i].nextBaseline, 'baseline');
      });
      // and still the reference's numbers
      close('held run, block 1 hidden', held[1].hidden, refForward(tiny, IDS).ffn[1].hidden);
    } finally {
      await holder.drop();
      await engine.dispose();
    }
  });
});
