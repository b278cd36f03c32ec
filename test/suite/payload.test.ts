// The host-side summaries the panel receives (pure functions, checked by hand), the fast JSON
// number decoder against JSON.parse, and the weight-JSON model on a large file.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { decodeNumberArray } from '../../src/extension/jsonNumbers';
import { analyseWeightJson } from '../../src/extension/jsonWeights';
import { buildRunView, heatmapWindow, histogram } from '../../src/extension/panel/payload';
import type { RunResult } from '../../src/protocol/run';
import { activate, workspaceTemp } from './helpers';

/** tiny-relu.json's run, as the pipeline returns it (see panel.test.ts for the hand computation). */
function tinyResult(): RunResult {
  const layer = {
    id: 'main', index: 0, kind: 'plain' as const, activation: 'relu' as const, activationSource: 'file' as const,
    dModel: 2, dFf: 3, convention: 'W1/W2', tensors: { w1: 'W1', b1: 'b1', w2: 'W2', b2: 'b2' }, layouts: { w1: 'in_out' as const, w2: 'in_out' as const },
  };
  return {
    file: '/w/tiny-relu.json', format: 'json', layers: [layer], layer, activation: 'relu', tokens: ['the', 'cat'], dModel: 2, dFf: 3,
    input: Float32Array.of(1, 2, -1, 0.5),
    preActivation: Float32Array.of(1, 3, -1, -1, 2, -0.5),
    hidden: Float32Array.of(1, 3, 0, 0, 2, 0),
    output: Float32Array.of(1, 3.5, 0, 2.5),
    w2RowNorms: Float32Array.of(1, 1, Math.SQRT2),
    analysis: {
      perToken: [
        { token: 'the', sparsity: 1 / 3, norms: { input: 0, expanded: 0, filtered: 0, output: 0 }, topNeurons: [{ index: 1, value: 3, score: 3 }, { index: 0, value: 1, score: 1 }] },
        { token: 'cat', sparsity: 2 / 3, norms: { input: 0, expanded: 0, filtered: 0, output: 0 }, topNeurons: [{ index: 1, value: 2, score: 2 }] },
      ],
      sparsity: 0.5,
      neurons: { firingRate: Float32Array.of(0.5, 1, 0), dead: [2] },
      threshold: 0,
    },
    warnings: [],
    timings: { loadMs: 1, computeMs: 1 },
  };
}

describe('FFN Lens host-side summaries', () => {
  before(activate);

  it('sorts units by firing rate and max-abs pools heatmap columns', () => {
    const r = tinyResult();
    const all = heatmapWindow(r, 'firing', 0, 3);
    assert.deepStrictEqual(Array.from(all.unitIndex), [1, 0, 2]); // firing 1, 0.5, 0
    assert.deepStrictEqual(Array.from(all.values), [3, 1, 0, 2, 0, 0]);
    const pooled = heatmapWindow(r, 'index', 0, 3, 2); // columns {0}, {1,2}
    assert.strictEqual(pooled.cols, 2);
    assert.deepStrictEqual(Array.from(pooled.values), [1, 3, 0, 2]);
    const zoom = heatmapWindow(r, 'index', 2, 99); // clamped to d_ff
    assert.deepStrictEqual([zoom.start, zoom.end, zoom.cols], [2, 3, 1]);
    // a NaN in a pooled column stays visible
    r.hidden[2] = NaN;
    assert.ok(Number.isNaN(heatmapWindow(r, 'index', 0, 3, 1).values[0]));
  });

  it('bins histograms on shared edges and leaves out non-finite values', () => {
    assert.deepStrictEqual(Array.from(histogram(Float32Array.of(0, 0.1, 0.5, 0.99, 1, NaN, Infinity), 0, 1, 2)), [2, 3]);
    const v = buildRunView(tinyResult(), { file: '/w/tiny-relu.json', inputs: { kind: 'file' } }, 'tiny-relu.json', 'relu');
    const total = (a: Uint32Array) => a.reduce((x, y) => x + y, 0);
    assert.strictEqual(total(v.cut.before), 6);
    assert.strictEqual(total(v.cut.after), 6);
    assert.deepStrictEqual([v.cut.min, v.cut.max], [-1, 3]);
    assert.strictEqual(v.top.k, 2);
    assert.deepStrictEqual(Array.from(v.top.index), [1, 0, 1, -1]);
    assert.strictEqual(v.maxAbsHidden, 3);
    assert.strictEqual(v.sparsity.deadCount, 1);
    assert.strictEqual(v.layers[0].label, 'main: 2 → 3 → 2');
  });

  it('decodes JSON number arrays exactly as JSON.parse + Float32Array would', () => {
    const cases = ['[1, -2.5e3, 0.1, 1e-7, 123456789012345678, 3.4028235e38, -0, 5e-324]', '[[1,2],[3,4],[5,6]]', '[]', '[[[1],[2]],[[3],[4]]]'];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 10 ** Math.floor(((seed >>> 8) % 20) - 10);
    cases.push(JSON.stringify(Array.from({ length: 2000 }, rand)));
    for (const text of cases) {
      const got = decodeNumberArray(text, 0, text.length);
      assert.ok(got, `not decoded: ${text.slice(0, 60)}`);
      const want = Float32Array.from((JSON.parse(text) as unknown[]).flat(3) as number[]);
      assert.deepStrictEqual(Array.from(got.data), Array.from(want), text.slice(0, 60));
    }
    // anything unusual goes to the JSON reader (which names the problem)
    for (const text of ['[[1,2],[3]]', '[1,,2]', '[1,2,]', '[1,"a"]', '[NaN]', '[[1],2]', '[1] x']) {
      assert.strictEqual(decodeNumberArray(text, 0, text.length), undefined, text);
    }
  });

  it('models a 12 MB weight JSON quickly and hovers it', async function () {
    this.timeout(120_000);
    const { dir, cleanup } = workspaceTemp('large');
    try {
      const d = 256;
      const f = 4096;
      const row = (n: number, s: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + s * 104729) % 2001) - 1000) / 1000);
      const mat = (r: number, c: number) => `[${Array.from({ length: r }, (_, i) => `[${row(c, i).join(',')}]`).join(',\n')}]`;
      const text = `{"c_fc.weight": ${mat(d, f)},\n"c_fc.bias": [${row(f, 1).join(',')}],\n"c_proj.weight": ${mat(f, d)},\n"c_proj.bias": [${row(d, 2).join(',')}]}\n`;
      const file = path.join(dir, 'large.json');
      fs.writeFileSync(file, text);
      const t0 = Date.now();
      const model = analyseWeightJson(text, file);
      const ms = Date.now() - t0;
      console.log(`      ${(text.length / 1e6).toFixed(1)} MB weight JSON modelled in ${ms} ms`);
      assert.deepStrictEqual(model.layers.map((l) => [l.id, l.dModel, l.dFf]), [['main', d, f]]);
      assert.ok(ms < 15_000, `modelling ${text.length} bytes took ${ms} ms`);
      const uri = vscode.Uri.file(file);
      const doc = await vscode.workspace.openTextDocument(uri);
      const at = doc.positionAt(text.indexOf('"c_proj.weight"') + 3);
      const t1 = Date.now();
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, at);
      const hoverMs = Date.now() - t1;
      const md = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')).join('\n');
      assert.match(md, /W2 of layer main/);
      console.log(`      hover on it: ${hoverMs} ms`);
    } finally {
      cleanup();
    }
  });
});
