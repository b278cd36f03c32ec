// Issue 14 inside a real VS Code: FFN Lens: Compare Checkpoints on two checkpoints of a tiny LLaMA
// written by the test (a float32 Hugging Face folder and its Q8_0 GGUF). What the panel was sent
// (through `_lastRun`) is what the pipeline gives when the test runs it in-process on the same
// files; a checkpoint against itself shows zero errors and a blank difference heatmap; a pair
// without a shared vocabulary gets one clean error and leaves the panel as it was; the next run
// takes the panel back from the comparison. Compare Checkpoint Weights shows the FFN matrices of
// the same pair as the pipeline compares them, nothing run.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CompareOutcome, WeightsOutcome } from '../../src/extension/commands/compareCheckpoints';
import type { RunOutcome } from '../../src/extension/session';
import { createGemmEngine } from '../../src/kernels';
import { compareOnText, compareWeights as compareWeightsInProcess } from '../../src/pipeline/compare';
import type { CompareResult } from '../../src/protocol/compare';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { makeTinyModel, writeHfFolder, writeLlamaGguf, type GgufTokenizer } from '../helpers/tinyModels';
import { activate, closeAll, lastRun, waitFor, workspaceTemp } from './helpers';

const TEXT = 'hello world, hello whale';

/** |got − want| within `rel` of |want| (plus `abs`), with a message. */
function near(got: number, want: number, what: string, rel = 1e-3, abs = 1e-7): void {
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want) + abs, `${what}: ${got} vs ${want}`);
}

/** Waits until the compare view reported drawing `layer`'s heatmaps (null: its overview); which of A, B, B − A are not blank. */
async function compareDrawn(layer: number | null): Promise<boolean[]> {
  try {
    return await waitFor(`the compare view to draw ${layer === null ? 'its overview' : `block ${layer}'s heatmaps`}`, async () => {
      const r = (await lastRun()).panel?.compareRendered;
      if (layer === null) return r?.overviewMs !== undefined ? [] : undefined;
      return r?.layer === layer ? r.nonBlank : undefined;
    }, 45_000);
  } catch (e) {
    const p = (await lastRun()).panel;
    throw new Error(`${e instanceof Error ? e.message : String(e)}; the panel: ${JSON.stringify({ showing: p?.showing, visible: p?.visible, rendered: p?.compareRendered, sent: p?.compareHeatmaps })}`);
  }
}

describe('FFN Lens: Compare Checkpoints', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  let f32: string;
  let q8: string;
  let bigger: string;
  let vocabSize: number;

  before(async () => {
    await activate();
    await closeAll();
    ({ dir, cleanup } = workspaceTemp('compare'));
    const tok = byteBpeTokenizer();
    vocabSize = tok.vocabSize;
    const shape = { layers: 3, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, maxPositions: 32 };
    const model = makeTinyModel('llama', { seed: 41, vocab: vocabSize, ...shape });
    f32 = path.join(dir, 'f32');
    fs.mkdirSync(f32);
    writeHfFolder(f32, model, { tokenizerJson: tok.json, tokenizerConfig: { add_bos_token: false } });
    const vocab = (tok.json.model as { vocab: Record<string, number> }).vocab;
    const tokens: string[] = [];
    for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
    const ggufTok: GgufTokenizer = { model: 'gpt2', tokens, merges: (tok.json.model as { merges: string[] }).merges, tokenTypes: tokens.map((_, id) => (id === tok.eot ? 3 : 1)), bos: tok.eot, eos: tok.eot, addBos: false };
    q8 = writeLlamaGguf(path.join(dir, 'q8_0.gguf'), model, { tensorType: 'Q8_0', tokenizer: ggufTok });
    // the same shape, one token more: not the same vocabulary
    bigger = path.join(dir, 'bigger');
    fs.mkdirSync(bigger);
    writeHfFolder(bigger, makeTinyModel('llama', { seed: 41, vocab: vocabSize + 1, ...shape }));
  });
  after(() => cleanup());

  const compare = (a: string, b: string, text = TEXT): Thenable<CompareOutcome | undefined> =>
    vscode.commands.executeCommand<CompareOutcome | undefined>('ffnLens.compareCheckpoints', vscode.Uri.file(a), [vscode.Uri.file(a), vscode.Uri.file(b)], { text });

  /** The comparison computed in this process, by the pipeline alone (no worker, no panel). */
  async function inProcess(a: string, b: string, text = TEXT): Promise<CompareResult> {
    const engine = createGemmEngine({ threads: 1 });
    try {
      await engine.ready();
      return await compareOnText({ modelA: a, modelB: b, input: { kind: 'text', text }, top: 10, truncate: true }, engine);
    } finally {
      await engine.dispose();
    }
  }

  it('a folder against its Q8_0 GGUF: the panel gets what the pipeline gives, and a block shows three heatmaps', async () => {
    const out = await compare(f32, q8);
    assert.ok(out?.ok, JSON.stringify(out));
    await compareDrawn(null);
    const r = await lastRun();
    assert.strictEqual(r.panel?.showing, 'compare');
    const got = r.compare;
    assert.ok(got, '_lastRun has the comparison');
    const want = await inProcess(f32, q8);
    assert.deepStrictEqual(got.tokenIds, want.tokenIds);
    assert.deepStrictEqual([got.modelA, got.modelB, got.dFf, got.heatmapBlocks], [f32, q8, 64, 3]);
    assert.deepStrictEqual(got.layers.map((l) => l.layer), [0, 1, 2]);
    const T = want.tokenIds.length;
    got.layers.forEach((l, i) => {
      const w = want.layers[i];
      assert.ok(w.outputError.mean > 1e-4, 'Q8_0 really differs (else this test shows nothing)');
      near(l.outputError.mean, w.outputError.mean, `block ${i} outputError.mean`);
      near(l.outputError.max, w.outputError.max, `block ${i} outputError.max`);
      near(l.hiddenError.mean, w.hiddenError.mean, `block ${i} hiddenError.mean`);
      near(l.hiddenError.max, w.hiddenError.max, `block ${i} hiddenError.max`);
      near(l.sparsityA, w.sparsityA, `block ${i} sparsityA`, 0, 2 / (T * 64));
      near(l.sparsityB, w.sparsityB, `block ${i} sparsityB`, 0, 2 / (T * 64));
      near(l.topOverlap, w.topOverlap, `block ${i} topOverlap`, 0, 0.5 / T);
      assert.strictEqual(l.changed[0].index, w.changed[0].index, `block ${i} most changed unit`);
    });
    assert.ok(want.kl > 0);
    near(got.kl, want.kl, 'kl', 1e-2, 1e-9);
    assert.deepStrictEqual(got.nextA.map((t) => t.id), want.nextA.map((t) => t.id));
    assert.deepStrictEqual(got.nextB.map((t) => t.id), want.nextB.map((t) => t.id));
    assert.strictEqual(out.kl, got.kl);

    // clicking block 1: A, B and B − A, all units in one window
    await vscode.commands.executeCommand('ffnLens._panelMessage', { type: 'compareLayer', layer: 1, sort: 'change', start: 0, end: 64 });
    assert.deepStrictEqual(await compareDrawn(1), [true, true, true]);
    assert.deepStrictEqual((await lastRun()).panel?.compareHeatmaps, { layer: 1, rows: T, cols: 64, start: 0, end: 64 });
    // a block that was not compared, or a window the protocol refuses, gets no answer
    assert.strictEqual(await vscode.commands.executeCommand('ffnLens._panelMessage', { type: 'compareLayer', layer: 7, sort: 'change', start: 0, end: 64 }), undefined);
    assert.deepStrictEqual(await vscode.commands.executeCommand('ffnLens._panelMessage', { type: 'compareLayer', layer: 1, sort: 'firing', start: 0, end: 64 }), { ok: false, error: 'rejected' });
    assert.strictEqual((await lastRun()).panel?.compareHeatmaps?.layer, 1);
  });

  it("the view's Swap compares again with B as the reference, on the text typed", async () => {
    const out = await vscode.commands.executeCommand<CompareOutcome>('ffnLens._panelMessage', { type: 'compareAgain', text: 'hello world', swap: true });
    assert.ok(out?.ok, JSON.stringify(out));
    const got = (await lastRun()).compare;
    assert.ok(got);
    assert.deepStrictEqual([got.modelA, got.modelB, got.text], [q8, f32, 'hello world']);
    assert.deepStrictEqual(got.tokenIds, [258, 111, 259, 111, 114, 108, 100]);
    near(got.kl, (await inProcess(q8, f32, 'hello world')).kl, 'KL(B‖A)', 1e-2, 1e-9);
  });

  it('a checkpoint against itself: every error and the KL zero, the difference heatmap blank', async () => {
    const out = await compare(f32, f32);
    assert.ok(out?.ok, JSON.stringify(out));
    const got = (await lastRun()).compare;
    assert.ok(got);
    assert.strictEqual(got.layers.length, 3);
    for (const l of got.layers) {
      assert.deepStrictEqual([l.outputError, l.hiddenError], [{ mean: 0, max: 0 }, { mean: 0, max: 0 }], `block ${l.layer}`);
      assert.strictEqual(l.sparsityA, l.sparsityB);
      assert.strictEqual(l.topOverlap, 1);
    }
    assert.strictEqual(got.kl, 0);
    assert.deepStrictEqual(got.nextA, got.nextB);
    await compareDrawn(null);
    await vscode.commands.executeCommand('ffnLens._panelMessage', { type: 'compareLayer', layer: 0, sort: 'index', start: 0, end: 64 });
    assert.deepStrictEqual(await compareDrawn(0), [true, true, false]);
  });

  it('a pair without a shared vocabulary gets one clean error, and the panel keeps its comparison', async () => {
    const out = await compare(f32, bigger);
    assert.ok(out && !out.ok && !out.cancelled, JSON.stringify(out));
    assert.match(out.error, new RegExp(`do not share a vocabulary: .*f32 has ${vocabSize} tokens, .*bigger has ${vocabSize + 1}`));
    assert.ok(!out.error.includes('\n'), 'one line');
    const r = await lastRun();
    assert.strictEqual(r.panel?.showing, 'compare');
    assert.strictEqual(r.compare?.kl, 0, 'the self-comparison is still shown');
  });

  it('Compare Checkpoint Weights: every FFN matrix as the pipeline compares it, nothing run; Swap; then text takes the panel back', async () => {
    const [a, b] = [vscode.Uri.file(f32), vscode.Uri.file(q8)];
    const out = await vscode.commands.executeCommand<WeightsOutcome>('ffnLens.compareWeights', a, [a, b], { top: 5 });
    assert.ok(out?.ok, JSON.stringify(out));
    await compareDrawn(null);
    const r = await lastRun();
    assert.strictEqual(r.panel?.showing, 'compare-weights');
    assert.strictEqual(r.compare, null, 'the comparison on text is gone');
    const got = r.compareWeights;
    assert.ok(got, '_lastRun has the weights comparison');
    assert.deepStrictEqual([got.modelA, got.modelB, got.blocks, got.tensors], [f32, q8, [0, 1, 2], 9]);
    // the pipeline in this process on the same files: the matrix that moved most
    const want = await compareWeightsInProcess({ modelA: f32, modelB: q8, top: 5 });
    let worst = { layer: -1, role: '', relativeError: 0, unit: -1 };
    for (const l of want.layers) for (const t of l.tensors) if (t.relativeError > worst.relativeError) worst = { layer: l.layer, role: t.role, relativeError: t.relativeError, unit: t.changed[0].index };
    assert.ok(worst.relativeError > 1e-4, 'Q8_0 really differs');
    assert.deepStrictEqual(got.worst, worst);
    assert.deepStrictEqual([out.blocks, out.tensors, out.worst], [3, 9, worst.relativeError]);
    // Swap: B becomes the reference
    const swapped = await vscode.commands.executeCommand<WeightsOutcome>('ffnLens._panelMessage', { type: 'swapWeights' });
    assert.ok(swapped?.ok, JSON.stringify(swapped));
    const back = (await lastRun()).compareWeights;
    assert.deepStrictEqual([back?.modelA, back?.modelB], [q8, f32]);
    // a comparison on text replaces it
    assert.ok((await compare(f32, q8))?.ok);
    const after = await lastRun();
    assert.deepStrictEqual([after.panel?.showing, after.compareWeights], ['compare', null]);
  });

  it('three selected items are refused; the next model run takes the panel back', async () => {
    const three = [f32, q8, bigger].map((p) => vscode.Uri.file(p));
    const refused = await vscode.commands.executeCommand<CompareOutcome>('ffnLens.compareCheckpoints', three[0], three, { text: TEXT });
    assert.deepStrictEqual(refused, { ok: false, cancelled: false, error: 'select two checkpoints to compare, not 3' });
    const posts = (await lastRun()).panel?.posts ?? 0;
    const run = await vscode.commands.executeCommand<RunOutcome>('ffnLens.exploreModel', vscode.Uri.file(f32), { text: 'hello world', block: 1 });
    assert.ok(run?.ok, JSON.stringify(run));
    const r = await waitFor('the run to be drawn', async () => {
      const l = await lastRun();
      return l.panel?.rendered && (l.panel.posts ?? 0) > posts ? l : undefined;
    }, 45_000);
    assert.strictEqual(r.panel?.showing, 'run');
    assert.strictEqual(r.compare, null);
    assert.strictEqual(r.panel?.run?.model?.block, 1);
  });
});
