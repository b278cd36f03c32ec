// Issue 11 inside a real VS Code: a tiny GPT-2 folder (written by the test, with a byte-level BPE
// tokenizer.json) explored as a model, then the panel's prompt, block switch and ablation fed as
// the webview would post them, each checked against the float64 reference; and Trace Selection.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunOutcome } from '../../src/extension/session';
import { byteBpeTokenizer } from '../helpers/byteBpe';
import { logSoftmax } from '../helpers/refBlocks';
import { refForward } from '../helpers/refModel';
import { makeTinyModel, writeHfFolder, type TinyModel } from '../helpers/tinyModels';
import { activate, closeAll, lastRun, waitFor, waitForRendered, workspaceTemp } from './helpers';

// "hello world" with merges (h e), (l l), (he ll), (Ġ w): [hell, o, Ġw, o, r, l, d] (see test/unit/model-cli.test.ts)
const HELLO = [258, 111, 259, 111, 114, 108, 100];

function topIds(tiny: TinyModel, ids: number[], opts?: Parameters<typeof refForward>[2]): number[] {
  const ref = refForward(tiny, ids, opts);
  const V = tiny.config.vocab_size as number;
  const p = logSoftmax(ref.logits.subarray((ids.length - 1) * V));
  return Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, 5);
}

describe('FFN Lens: whole models in the panel', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  let tiny: TinyModel;
  let folder: string;

  before(async () => {
    await activate();
    await closeAll();
    ({ dir, cleanup } = workspaceTemp('model'));
    const { json, vocabSize } = byteBpeTokenizer();
    tiny = makeTinyModel('gpt2', { seed: 21, layers: 3, vocab: vocabSize, maxPositions: 64 });
    folder = path.join(dir, 'tiny-gpt2');
    fs.mkdirSync(folder);
    writeHfFolder(folder, tiny, { tokenizerJson: json, tokenizerConfig: { add_bos_token: false } });
  });
  after(() => cleanup());

  it('Explore Model runs the text through the model, and the prompt, block and ablation messages re-run it', async () => {
    const before = (await lastRun()).panel?.posts ?? 0;
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.exploreModel', vscode.Uri.file(folder), { text: 'hello world', block: 1 });
    assert.ok(out?.ok, JSON.stringify(out));
    let r = await waitForRendered(before);
    const m = r.panel?.run?.model;
    assert.ok(m, 'the panel got a model view');
    assert.deepStrictEqual([m.block, m.blocks], [1, 3]);
    assert.deepStrictEqual(m.tokenIds, HELLO);
    assert.deepStrictEqual(m.tokenText, ['hell', 'o', ' w', 'o', 'r', 'l', 'd']);
    assert.deepStrictEqual(m.next.map((t) => t.id), topIds(tiny, HELLO));
    assert.strictEqual(r.panel?.run?.layer, 'transformer.h.1.mlp');

    // the block slider
    let posts = r.panel?.posts ?? 0;
    let res = await vscode.commands.executeCommand<RunOutcome>('ffnLens._panelMessage', { type: 'block', block: 2 });
    assert.ok(res?.ok, JSON.stringify(res));
    r = await waitForRendered(posts);
    assert.strictEqual(r.panel?.run?.model?.block, 2);
    assert.strictEqual(r.panel?.run?.layer, 'transformer.h.2.mlp');

    // ablating units of block 2 moves the prediction as the reference says
    posts = r.panel?.posts ?? 0;
    const units = [0, 2, 4, 6, 8, 10, 12, 14];
    res = await vscode.commands.executeCommand<RunOutcome>('ffnLens._panelMessage', { type: 'ablate', units });
    assert.ok(res?.ok, JSON.stringify(res));
    r = await waitForRendered(posts);
    const a = r.panel?.run?.model;
    assert.ok(a?.nextBaseline, 'baseline beside the ablated prediction');
    assert.deepStrictEqual(a.ablated, units);
    assert.deepStrictEqual(a.nextBaseline.map((t) => t.id), topIds(tiny, HELLO));
    assert.deepStrictEqual(a.next.map((t) => t.id), topIds(tiny, HELLO, { ablate: { layer: 2, units } }));

    // a new prompt keeps the block and clears the ablation
    posts = r.panel?.posts ?? 0;
    res = await vscode.commands.executeCommand<RunOutcome>('ffnLens._panelMessage', { type: 'prompt', text: 'hello' });
    assert.ok(res?.ok, JSON.stringify(res));
    r = await waitForRendered(posts);
    assert.deepStrictEqual(r.panel?.run?.model?.tokenIds, [258, 111]);
    assert.deepStrictEqual(r.panel?.run?.model?.ablated, []);
    assert.strictEqual(r.panel?.run?.model?.block, 2);

    // messages the webview could send but that do not fit the model are ignored
    const bad = await vscode.commands.executeCommand<unknown>('ffnLens._panelMessage', { type: 'block', block: 7 });
    assert.strictEqual(bad, undefined);
    assert.strictEqual((await lastRun()).panel?.run?.model?.block, 2);
  });

  it('Trace Selection Through Model sends the selected text to the model panel', async () => {
    const note = path.join(dir, 'note.txt');
    fs.writeFileSync(note, 'first line\nhello world\n');
    const doc = await vscode.workspace.openTextDocument(note);
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(1, 0, 1, 11);
    const posts = (await lastRun()).panel?.posts ?? 0;
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.traceSelection');
    assert.ok(out?.ok, JSON.stringify(out));
    const r = await waitForRendered(posts);
    assert.deepStrictEqual(r.panel?.run?.model?.tokenIds, HELLO);
    assert.strictEqual(r.request?.model?.text, 'hello world');
  });

  it('a model that cannot run gets one clear notification-level error, not a panel', async () => {
    const broken = path.join(dir, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'config.json'), JSON.stringify({ model_type: 'bert' }));
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.exploreModel', vscode.Uri.file(broken), { text: 'hi' });
    assert.ok(out && !out.ok);
    assert.match((out as { error: string }).error, /no model\.safetensors|architecture "bert" is not supported/);
    await waitFor('the session to keep the last good run', async () => ((await lastRun()).request?.model?.text === 'hello world' ? true : undefined));
  });
});

describe('FFN Lens: neuron cards and workspace scans', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;

  before(async () => {
    await activate();
    ({ dir, cleanup } = workspaceTemp('scan'));
    const { json, vocabSize } = byteBpeTokenizer();
    const folder = path.join(dir, 'tiny');
    fs.mkdirSync(folder);
    writeHfFolder(folder, makeTinyModel('gpt2', { seed: 23, layers: 2, vocab: vocabSize, maxPositions: 64 }), { tokenizerJson: json, tokenizerConfig: { add_bos_token: false } });
    fs.mkdirSync(path.join(dir, 'corpus'));
    fs.writeFileSync(path.join(dir, 'corpus', 'a.txt'), 'hello world, hello sea\n'.repeat(20));
    fs.writeFileSync(path.join(dir, 'corpus', 'b.txt'), 'the whale and the world\n'.repeat(10));
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.exploreModel', vscode.Uri.file(folder), { text: 'hello world', block: 1 });
    assert.ok(out?.ok, JSON.stringify(out));
    await waitForRendered(0);
  });
  after(() => cleanup());

  const glob = (): string => `${path.basename(dir)}/corpus/*.txt`;

  it('a cancelled scan leaves nothing in storage; a finished one is kept there, not in the workspace', async () => {
    const storage = (await lastRun()).scanStorage;
    const count = (): number => (fs.existsSync(storage) ? fs.readdirSync(storage).length : 0);
    const before = count();
    const controller = new AbortController();
    const cancelled = vscode.commands.executeCommand<{ ok: boolean; cancelled?: boolean }>('ffnLens.scanWorkspace', { glob: glob(), ctx: 4, top: 3, signal: controller.signal });
    controller.abort();
    const c = await cancelled;
    assert.ok(c && !c.ok && c.cancelled, JSON.stringify(c));
    assert.strictEqual(count(), before, 'no partial scan stored');
    const done = await vscode.commands.executeCommand<{ ok: boolean; files: number; tokens: number; stored: string }>('ffnLens.scanWorkspace', { glob: glob(), ctx: 16, top: 3 });
    assert.ok(done?.ok, JSON.stringify(done));
    assert.strictEqual(done.files, 2);
    assert.ok(done.stored.startsWith(storage), `${done.stored} is in the extension's storage`);
    assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.json')), 'nothing written into the workspace');
    assert.strictEqual(count(), before + 1);
  });

  it("a unit's card has its vocabulary projection and the scan's examples", async () => {
    await vscode.commands.executeCommand('ffnLens._panelMessage', { type: 'neuronCard', index: 3 });
    const card = await waitFor('the card of unit 3', async () => {
      const c = (await lastRun()).panel?.card;
      return c && c.unit === 3 ? c : undefined;
    });
    assert.deepStrictEqual(card, { block: 1, unit: 3, scan: true });
  });
});
