/**
 * Issue 14, the compare view's payload (src/extension/panel/comparePayload.ts) on a comparison
 * written by hand: two tokens, four units. The "change" order, B − A, the max-abs pooling of all
 * three heatmaps over the same units, the colour scales, the JSON document "Save JSON…" writes, and
 * the checks on what the compare view may post.
 */
import * as assert from 'assert';
import { buildCompareView, buildWeightsView, compareHeatmaps, summarizeWeights } from '../../src/extension/panel/comparePayload';
import { compareDocument, mostChangedMatrix, type CompareResult, type LayerComparison, type TensorComparison, type WeightsCompareResult } from '../../src/protocol/compare';
import { parseComparePanelRequest, parseWebviewMessage } from '../../src/protocol/webview';

const layer = (l: number): LayerComparison => ({ layer: l, outputError: { mean: 0.1, max: 0.2 }, hiddenError: { mean: 0.3, max: 0.4 }, sparsityA: 0.5, sparsityB: 0.25, topOverlap: 0.75, changed: [{ index: 2, delta: -1 }] });

/** A = [[1, 0, -2, 0.5], [0, 3, 1, -1]], B differs in unit 1 of token 0 (+1) and unit 2 of token 1 (−2). */
function result(bRow0Unit3 = 0.5): CompareResult {
  return {
    tokenIds: [5, 6],
    layers: [layer(2)],
    nextA: [{ id: 1, token: 'Ġa', text: ' a', prob: 0.5 }],
    nextB: [{ id: 2, token: 'Ġb', text: ' b', prob: 0.25 }],
    kl: 0.125,
    modelA: '/m/a',
    modelB: '/m/b',
    tokens: ['x', 'y'],
    klPerPosition: [0.25, 0],
    dFf: 4,
    warnings: [],
    hidden: [{ a: Float32Array.of(1, 0, -2, 0.5, 0, 3, 1, -1), b: Float32Array.of(1, 1, -2, bRow0Unit3, 0, 3, -1, -1) }],
  };
}

describe('panel: the compare view payload (issue 14)', () => {
  it('orders units by |B − A| summed over tokens (ties by index) and sends A, B and B − A over the same units', () => {
    const m = compareHeatmaps(result(), 2, 'change', 0, 4);
    assert.ok(m);
    // |B − A| per unit: 0, 1, 2, 0
    assert.deepStrictEqual(Array.from(m.a.unitIndex), [2, 1, 0, 3]);
    assert.deepStrictEqual(Array.from(m.b.unitIndex), [2, 1, 0, 3]);
    assert.deepStrictEqual(Array.from(m.a.values), [-2, 0, 1, 0.5, 1, 3, 0, -1]);
    assert.deepStrictEqual(Array.from(m.b.values), [-2, 1, 1, 0.5, -1, 3, 0, -1]);
    assert.deepStrictEqual(Array.from(m.diff.values), [0, 1, 0, 0, -2, 0, 0, 0]);
    assert.deepStrictEqual([m.maxAbs, m.maxAbsDiff, m.layer, m.a.rows, m.a.cols, m.a.units], [3, 2, 2, 2, 4, 4]);
  });

  it('pools each column to its value of largest magnitude, a window of the order at a time', () => {
    const m = compareHeatmaps(result(), 2, 'index', 0, 4, 2);
    assert.ok(m);
    // columns: units {0, 1} and {2, 3}
    assert.deepStrictEqual(Array.from(m.a.values), [1, -2, 3, 1]);
    assert.deepStrictEqual(Array.from(m.diff.values), [1, 0, 0, -2]);
    const w = compareHeatmaps(result(), 2, 'change', 1, 3);
    assert.ok(w);
    assert.deepStrictEqual([w.a.start, w.a.end, Array.from(w.a.unitIndex)], [1, 3, [1, 0]]);
    assert.deepStrictEqual(Array.from(w.diff.values), [1, 0, 0, 0]);
  });

  it('puts a unit that turned NaN first; a block not compared, or without activations, has no heatmaps', () => {
    const m = compareHeatmaps(result(NaN), 2, 'change', 0, 4);
    assert.strictEqual(m?.b.unitIndex[0], 3);
    assert.strictEqual(m?.maxAbsDiff, 2, 'the colour scale ignores NaN');
    assert.strictEqual(compareHeatmaps(result(), 0, 'change', 0, 4), undefined);
    assert.strictEqual(compareHeatmaps({ ...result(), hidden: undefined }, 2, 'change', 0, 4), undefined);
  });

  it('the view carries the measures and readable next tokens; the document is the CLI’s', () => {
    const v = buildCompareView(result(), { nameA: 'a', nameB: 'b', text: 'x y', top: 10 });
    assert.deepStrictEqual(v.nextA, [{ id: 1, text: ' a', prob: 0.5 }]);
    assert.deepStrictEqual(Array.from(v.tokenIds), [5, 6]);
    assert.deepStrictEqual(Array.from(v.klPerPosition), [0.25, 0]);
    assert.deepStrictEqual(v.heatmaps, [2]);
    assert.deepStrictEqual(buildCompareView({ ...result(), hidden: undefined }, { nameA: 'a', nameB: 'b', text: '', top: 10 }).heatmaps, []);
    // a block whose activations were over the memory budget has no heatmaps
    const over = { ...result(), hidden: [null] };
    assert.deepStrictEqual(buildCompareView(over, { nameA: 'a', nameB: 'b', text: '', top: 10 }).heatmaps, []);
    assert.strictEqual(compareHeatmaps(over, 2, 'change', 0, 4), undefined);
    const doc = compareDocument(result());
    assert.deepStrictEqual(Object.keys(doc), ['tokenIds', 'layers', 'nextA', 'nextB', 'kl', 'modelA', 'modelB', 'tokens', 'klPerPosition']);
    assert.deepStrictEqual(doc.nextB, [{ id: 2, token: 'Ġb', prob: 0.25 }]);
    assert.ok(!('hidden' in doc));
  });

  it('the compare view may ask only for windows, texts and reports of the right form', () => {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'compareLayer', layer: 1, sort: 'change', start: 0, end: 8, extra: 1 }), { type: 'compareLayer', layer: 1, sort: 'change', start: 0, end: 8 });
    assert.strictEqual(parseWebviewMessage({ type: 'compareLayer', layer: 1, sort: 'firing', start: 0, end: 8 }), undefined, "a run's order");
    assert.strictEqual(parseWebviewMessage({ type: 'compareLayer', layer: 1, sort: 'index', start: 8, end: 8 }), undefined, 'an empty window');
    assert.strictEqual(parseWebviewMessage({ type: 'heatmap', sort: 'change', start: 0, end: 8 }), undefined, "a run's heatmap has no change order");
    assert.deepStrictEqual(parseWebviewMessage({ type: 'compareAgain', text: 'hi', swap: true }), { type: 'compareAgain', text: 'hi', swap: true });
    assert.strictEqual(parseWebviewMessage({ type: 'compareAgain', text: '', swap: false }), undefined);
    assert.strictEqual(parseWebviewMessage({ type: 'compareAgain', text: 'hi' }), undefined);
    assert.deepStrictEqual(parseWebviewMessage({ type: 'compareRendered', id: 2, layer: null, nonBlank: [], ms: 3 }), { type: 'compareRendered', id: 2, layer: null, nonBlank: [], ms: 3 });
    assert.strictEqual(parseWebviewMessage({ type: 'compareRendered', layer: null, nonBlank: [], ms: 3 }), undefined, 'which comparison');
    assert.strictEqual(parseWebviewMessage({ type: 'compareRendered', id: 2, layer: 0, nonBlank: [true, true, true, true], ms: 3 }), undefined);
    assert.strictEqual(parseWebviewMessage({ type: 'compareRendered', id: 2, layer: 0, nonBlank: [1], ms: 3 }), undefined);
  });

  it('the weights view carries the matrices, the worst of them, and what to compare again', () => {
    const t = (role: 'gate' | 'up' | 'down', relativeError: number, unit: number): TensorComparison => ({ role, nameA: `${role}.a`, nameB: `${role}.b`, relativeError, changed: [{ index: unit, relative: 2 * relativeError }] });
    const r: WeightsCompareResult = { modelA: '/m/a', modelB: '/m/b', layers: [{ layer: 0, tensors: [t('gate', 0, 1), t('up', 0, 2), t('down', 0, 3)] }, { layer: 3, tensors: [t('gate', 0.25, 7), t('up', 0.5, 9), t('down', 0.125, 4)] }] };
    const v = buildWeightsView(r, { nameA: 'a', nameB: 'b', top: 5, layers: [0, 3] }, 4);
    assert.deepStrictEqual([v.id, v.nameA, v.nameB, v.top, v.layers], [4, 'a', 'b', 5, r.layers]);
    assert.deepStrictEqual(v.request, { modelA: '/m/a', modelB: '/m/b', text: '', weights: true, top: 5, layers: [0, 3] });
    assert.deepStrictEqual(parseComparePanelRequest(JSON.parse(JSON.stringify(v.request))), v.request, 'it comes back from the webview as it went');
    assert.deepStrictEqual(summarizeWeights(v, r), { nameA: 'a', nameB: 'b', modelA: '/m/a', modelB: '/m/b', blocks: [0, 3], tensors: 6, worst: { layer: 3, role: 'up', relativeError: 0.5, unit: 9 } });
    // the largest first on a tie, NaN above any number; nothing moved: none
    const ties: WeightsCompareResult['layers'] = [{ layer: 0, tensors: [t('gate', 0.5, 1), t('up', 0.5, 2)] }, { layer: 1, tensors: [t('down', 0.25, 3)] }];
    assert.deepStrictEqual(mostChangedMatrix(ties), { layer: 0, tensor: ties[0].tensors[0] });
    const nan: WeightsCompareResult['layers'] = [{ layer: 0, tensors: [t('gate', 0.5, 1), t('up', NaN, 2), t('down', 0.75, 3)] }];
    assert.strictEqual(mostChangedMatrix(nan)?.tensor.role, 'up');
    assert.strictEqual(mostChangedMatrix([r.layers[0]]), undefined);
    // nothing moved: no worst
    const same: WeightsCompareResult = { ...r, layers: [r.layers[0]] };
    assert.strictEqual(summarizeWeights(buildWeightsView(same, { nameA: 'a', nameB: 'b', top: 5 }), same).worst, null);
    // the weights view's own message, and what a restored weights state may hold
    assert.deepStrictEqual(parseWebviewMessage({ type: 'swapWeights', extra: 1 }), { type: 'swapWeights' });
    assert.strictEqual(parseComparePanelRequest({ modelA: '/a', modelB: '/b', text: '', weights: false, top: 5 }), undefined);
    assert.strictEqual(parseComparePanelRequest({ modelA: '/a', modelB: '/b', text: '', top: 5 }), undefined, 'text is needed unless weights');
    assert.deepStrictEqual(parseComparePanelRequest({ modelA: '/a', modelB: '/b', text: 'ignored', weights: true, top: 5 }), { modelA: '/a', modelB: '/b', text: '', weights: true, top: 5 });
  });

  it('the view carries what to compare again after a restart; the state that comes back is checked', () => {
    const v = buildCompareView(result(), { nameA: 'a', nameB: 'b', text: 'x y', top: 7, layers: [2] });
    assert.deepStrictEqual(v.request, { modelA: '/m/a', modelB: '/m/b', text: 'x y', top: 7, layers: [2] });
    assert.ok(!('layers' in buildCompareView(result(), { nameA: 'a', nameB: 'b', text: 'x y', top: 7 }).request), 'every block: no list');
    // the state goes through the webview (JSON) and comes back as it went
    const back = parseComparePanelRequest(JSON.parse(JSON.stringify(v.request)));
    assert.deepStrictEqual(back, v.request);
    assert.deepStrictEqual(parseComparePanelRequest({ modelA: '/a', modelB: '/b', text: 't', top: 1, extra: true }), { modelA: '/a', modelB: '/b', text: 't', top: 1 });
    const bad: unknown[] = [
      undefined,
      null,
      'x',
      { modelA: '/a', modelB: '', text: 't', top: 1 },
      { modelA: '/a', text: 't', top: 1 },
      { modelA: '/a', modelB: '/b', text: '', top: 1 },
      { modelA: '/a', modelB: '/b', text: 't', top: 0 },
      { modelA: '/a', modelB: '/b', text: 't', top: 1.5 },
      { modelA: '/a', modelB: '/b', text: 't', top: 1, layers: [] },
      { modelA: '/a', modelB: '/b', text: 't', top: 1, layers: [-1] },
      { modelA: '/a', modelB: '/b', text: 't', top: 1, layers: '0' },
      { modelA: 3, modelB: '/b', text: 't', top: 1 },
    ];
    for (const b of bad) assert.strictEqual(parseComparePanelRequest(b), undefined, JSON.stringify(b));
  });
});
