// Hover, inlay hints, CodeLens and diagnostics on weight JSON files inside a real VS Code, plus the
// contributions in package.json (every command registered, categories, menus, palette).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { parsePanelRequest, parseWebviewMessage } from '../../src/protocol/webview';
import { activate, EXTENSION_ID, samples, waitFor, workspaceTemp } from './helpers';

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

async function hoverAt(uri: vscode.Uri, offset: number): Promise<string> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, doc.positionAt(offset));
  return hoverText(hovers);
}

/** The value after `| label |` in the hover's table (two label/value pairs per row). */
function cell(md: string, label: string): string | undefined {
  return new RegExp(`\\| ${label} \\| ([^|]+) \\|`).exec(md)?.[1].trim();
}

describe('FFN Lens in the JSON editor', function () {
  this.timeout(60_000);

  before(activate);

  it('contributes every command with the FFN Lens category, all registered', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as {
      contributes: { commands: { command: string; category: string; title: string }[]; menus: Record<string, { command: string; when?: string; group?: string }[]> };
    };
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of pkg.contributes.commands) {
      assert.strictEqual(c.category, 'FFN Lens', `${c.command} category`);
      assert.ok(registered.has(c.command), `${c.command} is contributed but not registered`);
    }
    const hidden = pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command);
    assert.ok(hidden.includes('ffnLens._lastRun') && hidden.includes('ffnLens.exploreLayer'));
    for (const m of [...pkg.contributes.menus['explorer/context'], ...pkg.contributes.menus['editor/context'], ...pkg.contributes.menus['editor/title']]) {
      assert.ok(m.when && m.group, `menu entry ${m.command} needs a when clause and a group`);
    }
  });

  it('hovers a tensor key with its role, shape and statistics (W1 of tiny-relu.json by hand)', async () => {
    const uri = vscode.Uri.file(samples('tiny-relu.json'));
    const text = fs.readFileSync(uri.fsPath, 'utf8');
    const md = await hoverAt(uri, text.indexOf('"W1"') + 2);
    assert.match(md, /W1 of layer main/);
    assert.strictEqual(cell(md, 'shape'), '[2, 3]');
    assert.strictEqual(cell(md, 'count'), '6');
    // values 1, -1, 0.5, 0, 2, -1
    assert.strictEqual(cell(md, 'mean'), '0.25');
    assert.strictEqual(cell(md, 'min'), '-1');
    assert.strictEqual(cell(md, 'max'), '2');
    assert.strictEqual(cell(md, 'std'), '1.07044'); // sqrt(6.875 / 6)
    assert.strictEqual(cell(md, 'L2 norm'), '2.69258'); // sqrt(7.25)
    assert.strictEqual(cell(md, 'zeros'), '16.6667%'); // one of six
    assert.strictEqual(cell(md, 'NaN'), '0');
    assert.strictEqual(cell(md, 'Inf'), '0');
  });

  it('hovers anywhere inside a tensor value, and a GPT-2 Conv1D layout', async () => {
    const tiny = vscode.Uri.file(samples('tiny-relu.json'));
    const text = fs.readFileSync(tiny.fsPath, 'utf8');
    const md = await hoverAt(tiny, text.indexOf('[1, 1]')); // inside W2
    assert.match(md, /W2 of layer main/);
    assert.strictEqual(cell(md, 'max'), '1');
    const gpt2 = vscode.Uri.file(samples('gpt2-small.json'));
    const g = fs.readFileSync(gpt2.fsPath, 'utf8');
    const md2 = await hoverAt(gpt2, g.indexOf('"h.1.mlp.c_fc.weight"') + 3);
    assert.match(md2, /W1 of layer h\.1\.mlp \(Conv1D \[in,out\]\)/);
    assert.strictEqual(cell(md2, 'shape'), '[32, 128]');
    const none = await hoverAt(tiny, text.indexOf('"activation"') + 2);
    assert.doesNotMatch(none, /of layer/);
  });

  it('shows a CodeLens above each layer', async () => {
    const uri = vscode.Uri.file(samples('gpt2-small.json'));
    await vscode.workspace.openTextDocument(uri);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10);
    const titles = lenses.map((l) => l.command?.title ?? '').filter((t) => t.includes('Explore'));
    assert.deepStrictEqual(titles, ['$(pulse) Explore h.0.mlp: 32 → 128 → 32, gelu_tanh', '$(pulse) Explore h.1.mlp: 32 → 128 → 32, gelu_tanh']);
    const lens = lenses.find((l) => l.command?.title.includes('h.1.mlp'));
    assert.strictEqual(lens?.command?.command, 'ffnLens.explore');
    assert.deepStrictEqual(lens?.command?.arguments?.[1], { layer: 'h.1.mlp' });
  });

  it('shows inlay hints with shapes, and hides them with the setting', async () => {
    const uri = vscode.Uri.file(samples('tiny-relu.json'));
    const doc = await vscode.workspace.openTextDocument(uri);
    const range = new vscode.Range(0, 0, doc.lineCount, 0);
    const hints = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', uri, range);
    const labels = hints.map((h) => (typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join('')));
    assert.deepStrictEqual(labels, ['[2×3]', '[3]', '[3×2]', '[2]']);
    const w1 = hints[0];
    assert.strictEqual(doc.getText(new vscode.Range(w1.position.translate(0, -4), w1.position)), '"W1"');
    const config = vscode.workspace.getConfiguration('ffnLens');
    await config.update('inlayHints.enabled', false, vscode.ConfigurationTarget.Global);
    try {
      await waitFor('inlay hints to disappear', async () => {
        const off = await vscode.commands.executeCommand<vscode.InlayHint[]>('vscode.executeInlayHintProvider', uri, range);
        return off.length === 0 ? true : undefined;
      }, 10_000);
    } finally {
      await config.update('inlayHints.enabled', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('reports broken tensors, NaN, unknown activations and bad inputs in the Problems panel', async () => {
    const { dir, cleanup } = workspaceTemp('diagnostics');
    try {
      const file = path.join(dir, 'broken.json');
      const text = [
        '{',
        '  "activation": "swishy",',
        '  "inputs": [[1, 2, 3]],',
        '  "W1": [[1, 2, 3], [4, 5]],',
        '  "b1": [0, 0, 0],',
        '  "W2": [[1, NaN], [0, 1], [1, 1]],',
        '  "b2": [0, 0]',
        '}',
      ].join('\n');
      fs.writeFileSync(file, text);
      const uri = vscode.Uri.file(file);
      const doc = await vscode.workspace.openTextDocument(uri);
      const diags = await waitFor('FFN Lens diagnostics', () => {
        const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'FFN Lens');
        return d.length >= 3 ? d : undefined;
      });
      const byCode = (code: string) => diags.find((d) => d.code === code);
      const act = byCode('unknown-activation');
      assert.ok(act, 'no unknown-activation diagnostic');
      assert.strictEqual(doc.getText(act.range), '"swishy"');
      assert.strictEqual(act.severity, vscode.DiagnosticSeverity.Error);
      const ragged = byCode('bad-tensor');
      assert.ok(ragged && /row 1 has 2 numbers, expected 3/.test(ragged.message), JSON.stringify(diags.map((d) => d.message)));
      assert.strictEqual(doc.getText(ragged.range), '"W1"');
      const nan = byCode('non-finite');
      assert.ok(nan && /1 NaN/.test(nan.message));
      assert.strictEqual(doc.getText(nan.range), 'NaN');

      // a layer whose shapes do not fit, and inputs of the wrong width
      const shapes = path.join(dir, 'shapes.json');
      fs.writeFileSync(shapes, '{\n  "inputs": [[1, 2, 3]],\n  "W1": [[1, 2, 3], [4, 5, 6]],\n  "W2": [[1, 2], [3, 4]]\n}\n');
      const sUri = vscode.Uri.file(shapes);
      const sDoc = await vscode.workspace.openTextDocument(sUri);
      const layer = await waitFor('a layer-shapes diagnostic', () => vscode.languages.getDiagnostics(sUri).find((d) => d.code === 'layer-shapes'));
      assert.match(layer.message, /W1 is \[2, 3\] but W2 is \[2, 2\]/);
      assert.strictEqual(sDoc.getText(layer.range), '"W1"');

      const width = path.join(dir, 'width.json');
      fs.writeFileSync(width, '{\n  "inputs": [[1, 2, 3]],\n  "W1": [[1, 2, 3], [4, 5, 6]],\n  "b1": [0, 0, 0],\n  "W2": [[1, 2], [3, 4], [5, 6]]\n}\n');
      const wUri = vscode.Uri.file(width);
      const wDoc = await vscode.workspace.openTextDocument(wUri);
      const bad = await waitFor('an inputs-width diagnostic', () => vscode.languages.getDiagnostics(wUri).find((d) => d.code === 'inputs-width'));
      assert.strictEqual(wDoc.getText(bad.range), '"inputs"');
      assert.match(bad.message, /3 values but layer main has d_model 2/);

      // issue 10: a matrix of text is the same problem as in `ffn-lens inspect`, not silently metadata
      const textual = path.join(dir, 'textual.json');
      fs.writeFileSync(textual, '{\n  "W1": [["a", "b"], ["c", "d"]],\n  "W2": [[1, 2], [3, 4]]\n}\n');
      const tUri = vscode.Uri.file(textual);
      const tDoc = await vscode.workspace.openTextDocument(tUri);
      const unreadable = await waitFor('a bad-tensor diagnostic for W1', () => vscode.languages.getDiagnostics(tUri).find((d) => d.code === 'bad-tensor'));
      assert.strictEqual(unreadable.message, 'W1: row 0 holds text ("a"), not numbers');
      assert.strictEqual(tDoc.getText(unreadable.range), '"W1"');

      // a clean weight file has none
      const tiny = vscode.Uri.file(samples('tiny-relu.json'));
      await vscode.workspace.openTextDocument(tiny);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepStrictEqual(vscode.languages.getDiagnostics(tiny).filter((d) => d.source === 'FFN Lens'), []);
    } finally {
      cleanup();
    }
  });

  it('validates every message a webview could send, and restored panel state', () => {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'neuron', index: 3, extra: 'dropped' }), { type: 'neuron', index: 3 });
    for (const bad of [
      null,
      'ready',
      { type: 'nope' },
      { type: 'neuron', index: -1 },
      { type: 'neuron', index: 1.5 },
      { type: 'heatmap', sort: 'firing', start: 5, end: 5 },
      { type: 'heatmap', sort: 'random', start: 0, end: 5 },
      { type: 'rerun', layer: 'main', activation: 'swishy', inputs: { kind: 'file' } },
      { type: 'rerun', layer: 'main', activation: 'relu', inputs: { kind: 'inputsFile', path: '/etc/passwd' } },
      { type: 'rerun', layer: 'main', activation: 'relu', inputs: { kind: 'random', tokens: 0, seed: 1 } },
      { type: 'rendered', layer: 'main', tokens: 2, nonBlank: 'yes', ms: 1 },
    ]) {
      assert.strictEqual(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
    assert.deepStrictEqual(parsePanelRequest({ file: '/w.json', layer: 'h.0.mlp', inputs: { kind: 'random', tokens: 4, seed: 2 } }), {
      file: '/w.json',
      layer: 'h.0.mlp',
      inputs: { kind: 'random', tokens: 4, seed: 2 },
    });
    assert.strictEqual(parsePanelRequest({ file: '/w.json', inputs: { kind: 'shell', cmd: 'rm' } }), undefined);
    assert.strictEqual(parsePanelRequest({ file: 42, inputs: { kind: 'file' } }), undefined);
  });
});
