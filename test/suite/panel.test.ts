// The explorer panel inside a real VS Code: commands run the layer through the compute worker and
// the panel receives the right numbers (read back through the hidden ffnLens._lastRun command),
// checked against samples/tiny-relu.json worked out by hand:
//   the: x=[1,2]    pre=[1,3,-1]    h=[1,3,0]  y=[1,3.5]
//   cat: x=[-1,0.5] pre=[-1,2,-0.5] h=[0,2,0]  y=[0,2.5]
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunOutcome } from '../../src/extension/session';
import { safetensorsBytes } from '../helpers/binaryWriters';
import { activate, assertClose, closeAll, lastRun, samples, waitFor, waitForRendered, workspaceTemp } from './helpers';

const TINY = (): string => samples('tiny-relu.json');

async function explore(file: string, options?: object): Promise<RunOutcome> {
  const out = await vscode.commands.executeCommand<RunOutcome | undefined>('ffnLens.explore', vscode.Uri.file(file), options);
  assert.ok(out, 'explore returned nothing');
  return out;
}

describe('FFN Lens panel', function () {
  this.timeout(90_000);

  before(async () => {
    await activate();
    await closeAll();
  });

  it('explores tiny-relu.json and sends the hand-computed numbers to the webview', async () => {
    const before = (await lastRun()).panel?.posts ?? 0;
    const outcome = await explore(TINY());
    assert.deepStrictEqual(outcome, { ok: true, layer: 'main', activation: 'relu', tokens: 2, sparsity: 0.5 });
    const r = await waitForRendered(before);
    const run = r.panel?.run;
    assert.ok(run, 'nothing was posted to the panel');
    assert.deepStrictEqual(run.tokens, ['the', 'cat']);
    assert.strictEqual(run.layer, 'main');
    assert.strictEqual(run.dModel, 2);
    assert.strictEqual(run.dFf, 3);
    assert.strictEqual(run.activation, 'relu');
    assertClose(run.sparsity, 0.5, 'overall sparsity');
    assertClose(run.perTokenSparsity[0], 1 / 3, 'sparsity of "the"');
    assertClose(run.perTokenSparsity[1], 2 / 3, 'sparsity of "cat"');
    const want = [
      [Math.sqrt(5), Math.sqrt(11), Math.sqrt(10), Math.sqrt(13.25)],
      [Math.sqrt(1.25), Math.sqrt(5.25), 2, 2.5],
    ];
    want.forEach((row, t) => row.forEach((v, k) => assertClose(run.norms[t][k], v, `norm ${k} of token ${t}`)));
    // |h| x ||W2 row||: "the" -> unit 1 (3 x 1) then unit 0 (1 x 1); "cat" -> unit 1 only
    assert.deepStrictEqual(run.topNeurons[0].slice(0, 2), [1, 0]);
    assert.strictEqual(run.topNeurons[1][0], 1);
    assert.strictEqual(run.deadCount, 1);
    assert.deepStrictEqual(run.dead, [2]);
    assert.deepStrictEqual(run.heatmap, { rows: 2, cols: 3, start: 0, end: 3, sort: 'firing' });
    assert.ok(run.cutBins > 0);
    const drawn = r.panel?.rendered;
    assert.ok(drawn && drawn.nonBlank, 'the webview reported a blank heatmap');
    assert.strictEqual(drawn.tokens, 2);
    assert.strictEqual(drawn.layer, 'main');
    assert.strictEqual(r.panel?.rejected, 0, 'the webview sent messages that failed validation');
  });

  it('changes the activation and marks the file default', async () => {
    const before = (await lastRun()).panel?.posts ?? 0;
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.changeActivation', 'gelu');
    assert.ok(out.ok, JSON.stringify(out));
    const r = await waitForRendered(before);
    assert.strictEqual(r.panel?.run?.activation, 'gelu');
    assert.strictEqual(r.panel?.run?.defaultActivation, 'relu');
    const back = await vscode.commands.executeCommand<RunOutcome>('ffnLens.changeActivation', 'auto');
    assert.ok(back.ok && back.activation === 'relu', JSON.stringify(back));
    const bad = await vscode.commands.executeCommand<RunOutcome>('ffnLens.changeActivation', 'swishy');
    assert.ok(!bad.ok && /unknown activation/.test(bad.error));
  });

  it('chooses random, file and inputs-file inputs without dialogs', async () => {
    let out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.chooseInputs', { kind: 'random', tokens: 5, seed: 3 });
    assert.ok(out.ok, JSON.stringify(out));
    let r = await lastRun();
    assert.deepStrictEqual(r.panel?.run?.tokens, ['t0', 't1', 't2', 't3', 't4']);
    assert.deepStrictEqual(r.request?.inputs, { kind: 'random', tokens: 5, seed: 3 });
    out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.chooseInputs', { kind: 'inputsFile', path: samples('tiny-inputs.json') });
    assert.ok(out.ok, JSON.stringify(out));
    r = await lastRun();
    assert.deepStrictEqual(r.panel?.run?.tokens, ['a', 'b', 'c']);
    // a = [0,1]: pre = [0,2,-0.5] -> h = [0,2,0]: unit 1 alone fires
    assert.deepStrictEqual(r.panel?.run?.topNeurons[0][0], 1);
    out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.chooseInputs', { kind: 'file' });
    assert.ok(out.ok);
    assert.deepStrictEqual((await lastRun()).panel?.run?.tokens, ['the', 'cat']);
  });

  it('selects a layer of a two-layer GPT-2 style file', async () => {
    const out = await explore(samples('gpt2-small.json'));
    assert.ok(out.ok, JSON.stringify(out));
    let r = await lastRun();
    assert.deepStrictEqual(r.panel?.run?.layers, ['h.0.mlp', 'h.1.mlp']);
    assert.strictEqual(r.panel?.run?.activation, 'gelu_tanh');
    assert.strictEqual(r.panel?.run?.dFf, 128);
    const sel = await vscode.commands.executeCommand<RunOutcome>('ffnLens.selectLayer', 'h.1.mlp');
    assert.ok(sel.ok && sel.layer === 'h.1.mlp', JSON.stringify(sel));
    r = await lastRun();
    assert.strictEqual(r.panel?.run?.layer, 'h.1.mlp');
    assert.deepStrictEqual(r.panel?.run?.tokens, ['The', ' cat', ' sat', ' on', ' the', ' mat']);
    const bad = await vscode.commands.executeCommand<RunOutcome>('ffnLens.selectLayer', 'h.9.mlp');
    assert.ok(!bad.ok && /no layer "h\.9\.mlp"/.test(bad.error), JSON.stringify(bad));
  });

  it('runs a gated (swiglu) layer and a safetensors file', async () => {
    let out = await explore(samples('llama-swiglu.json'), { layer: 'model.layers.1.mlp' });
    assert.ok(out.ok && out.activation === 'swiglu' && out.layer === 'model.layers.1.mlp', JSON.stringify(out));
    assert.strictEqual(out.tokens, vscode.workspace.getConfiguration('ffnLens').get('random.tokens'));
    out = await explore(samples('gpt2-small.safetensors'), { inputs: { kind: 'random', tokens: 4, seed: 1 } });
    assert.ok(out.ok && out.layer === 'h.0.mlp' && out.tokens === 4, JSON.stringify(out));
  });

  it('re-sends the run when the hidden panel is shown again (state survives hide/restore)', async () => {
    await explore(TINY());
    const shown = await waitForRendered(0);
    const posts = shown.panel?.posts ?? 0;
    // hide the panel behind an editor in the same group, then bring it back
    const doc = await vscode.workspace.openTextDocument({ content: 'cover', language: 'plaintext' });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Active, preview: false });
    await waitFor('the panel to be hidden', async () => ((await lastRun()).panel?.visible === false ? true : undefined), 15_000).catch(() => undefined);
    await vscode.commands.executeCommand('ffnLens.showPanel');
    const again = await waitForRendered(posts);
    assert.deepStrictEqual(again.panel?.run?.tokens, ['the', 'cat']);
  });

  it('exports the trace atomically and never over the weight file', async () => {
    await explore(TINY());
    const { dir, cleanup } = workspaceTemp('export');
    try {
      const target = path.join(dir, 'trace.json');
      const out = await vscode.commands.executeCommand<{ ok: boolean; path?: string; error?: string }>('ffnLens.exportTrace', vscode.Uri.file(target));
      assert.ok(out.ok, JSON.stringify(out));
      const trace = JSON.parse(fs.readFileSync(target, 'utf8'));
      assert.deepStrictEqual(trace.hidden, [[1, 3, 0], [0, 2, 0]]);
      assert.deepStrictEqual(trace.output, [[1, 3.5], [0, 2.5]]);
      assert.deepStrictEqual(trace.preActivation, [[1, 3, -1], [-1, 2, -0.5]]);
      assert.deepStrictEqual(trace.tokens, ['the', 'cat']);
      assert.deepStrictEqual(trace.analysis.neurons.dead, [2]);
      // refused: the weight file itself
      const weights = fs.readFileSync(TINY(), 'utf8');
      const refused = await vscode.commands.executeCommand<{ ok: boolean; error?: string }>('ffnLens.exportTrace', vscode.Uri.file(TINY()));
      assert.ok(!refused.ok && /weight file/.test(refused.error ?? ''));
      assert.strictEqual(fs.readFileSync(TINY(), 'utf8'), weights);
      // a folder is never replaced
      const folder = path.join(dir, 'a-folder');
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'keep'), 'x');
      const onFolder = await vscode.commands.executeCommand<{ ok: boolean; error?: string }>('ffnLens.exportTrace', vscode.Uri.file(folder));
      assert.ok(!onFolder.ok && /is a folder/.test(onFolder.error ?? ''), JSON.stringify(onFolder));
      assert.deepStrictEqual(fs.readdirSync(folder), ['keep']);
      // a write that fails (the parent is a file) leaves no partial or temporary file
      const failed = await vscode.commands.executeCommand<{ ok: boolean }>('ffnLens.exportTrace', vscode.Uri.file(path.join(dir, 'trace.json', 'x.json')));
      assert.ok(!failed.ok, 'exporting under a file should fail');
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['a-folder', 'trace.json']);
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(target, 'utf8')).tokens, ['the', 'cat']);
    } finally {
      cleanup();
    }
  });

  it('gives a clear error, not a panel, for a JSON file without an FFN layer', async () => {
    await closeAll();
    await waitFor('the panel to close', async () => ((await lastRun()).panel === null ? true : undefined));
    const out = await explore(samples('not-a-layer.json'));
    assert.ok(!out.ok, 'not-a-layer.json should not run');
    assert.match(out.error, /not-a-layer\.json/);
    assert.match(out.error, /expected/);
    assert.match(out.error, /W1\/W2|c_fc\/c_proj/);
    assert.strictEqual((await lastRun()).panel, null, 'a panel was opened for a file without a layer');
  });

  it('opens the panel (busy) as soon as the layer is found, before the run finishes', async () => {
    await closeAll();
    await waitFor('the panel to close', async () => ((await lastRun()).panel === null ? true : undefined));
    // A layer big enough that reading and running it takes a good fraction of a second here.
    const { dir, cleanup } = workspaceTemp('early');
    try {
      const [d, f] = [1024, 4096];
      const file = path.join(dir, 'big.safetensors');
      const w = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).map((_, i) => Math.sin(i) / 32).buffer);
      fs.writeFileSync(file, safetensorsBytes([
        { name: 'h.0.mlp.c_fc.weight', dtype: 'F32', shape: [d, f], values: w(d * f) },
        { name: 'h.0.mlp.c_proj.weight', dtype: 'F32', shape: [f, d], values: w(f * d) },
      ]));
      let settled = false;
      const run = explore(file, { inputs: { kind: 'random', tokens: 512, seed: 1 } }).finally(() => (settled = true));
      let openedEarly = false;
      while (!settled && !openedEarly) {
        const panel = (await lastRun()).panel;
        openedEarly = panel !== null && !settled;
        if (!openedEarly) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const out = await run;
      assert.ok(out.ok, JSON.stringify(out));
      assert.ok(openedEarly, 'the panel opened only once the run had finished');
      const r = await waitForRendered(0);
      assert.strictEqual(r.panel?.run?.layer, 'h.0.mlp');
      assert.strictEqual(r.panel?.run?.tokens.length, 512);
    } finally {
      cleanup();
    }
  });

  it('inspects a weight file into a Markdown table', async () => {
    const out = await vscode.commands.executeCommand<{ uri: string; tensors: number; layers: string[]; markdown: string }>('ffnLens.inspect', vscode.Uri.file(TINY()));
    assert.strictEqual(out.tensors, 4);
    assert.deepStrictEqual(out.layers, ['main']);
    assert.match(out.markdown, /\| W1 \| F32 \| \[2, 3\] \| W1 · main \| 0\.25 \| 1\.07 \| -1 \| 2 \|/);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === out.uri);
    assert.ok(doc && doc.languageId === 'markdown');
    const st = await vscode.commands.executeCommand<{ tensors: number; layers: string[] }>('ffnLens.inspect', vscode.Uri.file(samples('gpt2-small.safetensors')));
    assert.strictEqual(st.tensors, 8);
    assert.deepStrictEqual(st.layers, ['h.0.mlp', 'h.1.mlp']);
  });

  it('runs the remaining commands', async () => {
    assert.strictEqual(await vscode.commands.executeCommand('ffnLens.showLog'), true);
    await explore(TINY());
    assert.strictEqual(await vscode.commands.executeCommand('ffnLens.showPanel'), true);
    const viaViewer = await vscode.commands.executeCommand<RunOutcome>('ffnLens.exploreLayer', vscode.Uri.file(samples('gpt2-small.json')), 'h.1.mlp');
    assert.ok(viaViewer.ok && viaViewer.layer === 'h.1.mlp', JSON.stringify(viaViewer));
  });
});
