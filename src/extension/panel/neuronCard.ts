/**
 * The neuron card the panel shows for a unit of a model run: its vocabulary projection (from the
 * worker's held model), its gated-FFN quadrants on the current prompt, and what the latest
 * workspace scan of the block found for it.
 */
import type { NeuronCard } from '../../model/neuron';
import type { ScanNeuron } from '../../model/scan';
import type { ModelRunResult } from '../../protocol/model';
import type { NeuronCardView, NeuronScanView, ScanExampleView } from '../../protocol/webview';
import type { StoredScan } from '../scanStore';

/** Shares of the prompt's tokens in each sign quadrant of (gate, up) for unit `u` (zeros count as +). */
export function quadrants(r: ModelRunResult, u: number): NeuronCardView['quadrants'] {
  if (!r.up) return undefined;
  const T = r.tokens.length;
  const q = { pp: 0, pn: 0, np: 0, nn: 0 };
  for (let t = 0; t < T; t++) {
    const g = r.preActivation[t * r.dFf + u] >= 0;
    const up = r.up[t * r.dFf + u] >= 0;
    if (g && up) q.pp++;
    else if (g) q.pn++;
    else if (up) q.np++;
    else q.nn++;
  }
  return { pp: q.pp / T, pn: q.pn / T, np: q.np / T, nn: q.nn / T };
}

const exampleView = (e: ScanNeuron['examples'][number]): ScanExampleView => ({
  value: e.value,
  file: e.file,
  window: e.window,
  position: e.position,
  token: e.token,
  context: e.context,
  tokenSpan: e.tokenSpan,
});

/** What the scan found for unit `u`, if it watched it. */
export function scanView(scan: StoredScan | undefined, u: number): NeuronScanView | undefined {
  const n = scan?.result.neurons.find((x) => x.index === u);
  if (!scan || !n) return undefined;
  return {
    corpus: scan.corpus,
    tokens: scan.result.tokens,
    density: n.density,
    max: n.max,
    histogram: n.histogram,
    quantiles: n.quantiles.map((q) => ({ q: q.q, value: q.value, example: q.example ? exampleView(q.example) : null })),
    examples: n.examples.map(exampleView),
  };
}

export function cardView(card: NeuronCard, r: ModelRunResult, scan: StoredScan | undefined): NeuronCardView {
  const scores = (xs: NeuronCard['promotes']) => xs.map((x) => ({ id: x.id, text: x.text, value: x.value }));
  const v: NeuronCardView = { block: card.layer, unit: card.neuron, promotes: scores(card.promotes), suppresses: scores(card.suppresses), respondsTo: scores(card.respondsTo) };
  const q = quadrants(r, card.neuron);
  if (q) v.quadrants = q;
  const s = scanView(scan, card.neuron);
  if (s) v.scan = s;
  return v;
}
