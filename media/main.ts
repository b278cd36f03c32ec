/**
 * The FFN Lens panel (webview, browser only). Posts `ready` first, then draws what the host sends:
 * the five sections of a run, the heatmap windows and neurons it asks for. Controls re-run the
 * layer through the host. View state (zoom, token, neuron) survives hiding via setState; when the
 * charts are drawn, <body> gets data-ready="true", data-tokens and data-layer (tests wait on them).
 * A model run adds the prompt card and the next-token box above, an ablation row under the top
 * neurons, and data-model="true", data-block, data-next (top next token id) and data-ablated.
 * Selecting a unit in a model run asks for its neuron card, drawn under the one-neuron chart
 * (data-card="<block>:<unit>", data-card-scan); another block, prompt or model clears it. The
 * host can select a token and unit as a click would (`select`) and scroll to the next-token box
 * (`reveal`): the walkthrough's "Open a neuron" and "Ablate it". A comparison of two checkpoints
 * (`compare`) replaces the run's sections with the compare view (compareView.ts, data-view="compare")
 * until the next run; a comparison of their weights alone (`compareWeights`) with the weights view
 * (compareWeightsView.ts, data-view="compare-weights", data-compare-tensors).
 */
import type { CompareHeatmaps, CompareView as CompareData, CompareWeightsView as CompareWeightsData, HostToWebview, NeuronView, PanelState, RunView, UnitSort } from '../src/protocol/webview';
import { AblationRow, toggleUnit } from './ablation';
import { Charts } from './charts';
import { CompareView } from './compareView';
import { CompareWeightsView } from './compareWeightsView';
import { Controls } from './controls';
import { chartBox, chartExport, fmt, h, pct, section } from './dom';
import { Heatmap } from './heatmap';
import { markModel, ModelControls } from './modelControls';
import { NeuronCard } from './neuronCard';
import { NextTokens } from './nextTokens';
import { readTheme, watchTheme } from './theme';
import { loadState, post, saveState } from './vscode';

let state: PanelState = loadState();
let run: RunView | undefined;
let token = state.view?.token ?? 0;
let neuron: number | null = state.view?.neuron ?? null;
/** The host selected a unit (`select`): scroll to it when its card arrives. */
let scrollToUnit = false;
/** The ablation last asked for, until its run (or an error) arrives. */
let pendingAblate: number[] | undefined;
let theme = readTheme();

const app = document.getElementById('app') as HTMLElement;
const status = h('div', { class: 'status', role: 'status' });
const banner = h('div', { class: 'banner error', role: 'alert', hidden: true });
const warnings = h('ul', { class: 'banner warnings', hidden: true });
const title = h('h1', {}, 'FFN Lens');
const meta = h('p', { class: 'meta' });

const controls = new Controls({
  rerun: (layer, activation, inputs) => post({ type: 'rerun', layer, activation, inputs }),
  pickInputsFile: () => post({ type: 'pickInputsFile' }),
  exportTrace: () => post({ type: 'export' }),
});

const heatmap = new Heatmap(theme, {
  requestWindow: (sort, start, end) => {
    post({ type: 'heatmap', sort, start, end });
    remember();
  },
  selectToken: (t) => selectToken(t),
  selectNeuron: (i) => selectNeuron(i),
});

const modelControls = new ModelControls({
  prompt: (text) => post({ type: 'prompt', text }),
  block: (block) => post({ type: 'block', block }),
  selectToken: (t) => selectToken(t),
});
const nextTokens = new NextTokens(() => ablate([]));
const ablation = new AblationRow({ selectNeuron: (i) => selectNeuron(i), toggle: (unit) => toggleAblation(unit) });
chartExport.save = (name, png) => post({ type: 'exportChart', name, png });

const neuronCard = new NeuronCard(theme, {
  openExample: (unit, rank) => post({ type: 'openExample', unit, rank }),
  scan: () => post({ type: 'scan' }),
  exportCard: (unit, format) => post({ type: 'exportCard', unit, format }),
  exportScan: (format) => post({ type: 'exportScan', format }),
});
const modelArea = h('div', { class: 'model-grid', hidden: true }, modelControls.element, nextTokens.element);

const stages = chartBox('norm of each token through the stages', 240);
const sparsity = chartBox('sparsity per token', 200);
const firing = chartBox('firing rate histogram', 200);
const cut = chartBox('values before and after the filter', 240);
const top = chartBox('top neurons of the selected token', 260);
const neuronChart = chartBox('one neuron across tokens', 220);
const overall = h('p', { class: 'big-number' });
const dead = h('p', { class: 'dead' });
const tokenSelect = h('select', { 'aria-label': 'token' });
tokenSelect.addEventListener('change', () => selectToken(Number(tokenSelect.value)));
const neuronTitle = h('p', { class: 'hint' }, 'Click a bar above (or a single unit in the heatmap) to see that unit on every token.');

const charts = new Charts(
  theme,
  { stages: stages.canvas, sparsity: sparsity.canvas, firing: firing.canvas, cut: cut.canvas, top: top.canvas, neuron: neuronChart.canvas },
  (i) => selectNeuron(i),
);

const body = h(
  'div',
  { class: 'content', hidden: true },
  modelArea,
  section('stages', '1 · Expand → filter → condense', 'How large each token’s vector is at every stage (L2 norm), with each stage’s width.', stages.box),
  section('heatmap', '2 · Activations after the filter', 'Tokens × hidden units of what W2 receives; columns pool many units (largest |h|) until you zoom in.', heatmap.element),
  section(
    'sparsity',
    '3 · Sparsity',
    'Share of hidden units the filter silences, per token and overall; how often each unit fires; units that never fire.',
    overall,
    h('div', { class: 'grid2' }, sparsity.box, firing.box),
    dead,
  ),
  section('cut', '4 · What the filter cuts', 'Histogram of the values before the filter against what passes it (log scale).', cut.box),
  section(
    'top',
    '5 · Top neurons per token',
    'Units ranked by |h| × ‖row of W2‖, the size of what each writes into the output.',
    h('label', { class: 'inline' }, 'Token ', tokenSelect),
    top.box,
    ablation.element,
    neuronTitle,
    neuronChart.box,
    neuronCard.element,
  ),
);
const compareView = new CompareView(theme, {
  heatmaps: (layer, sort, start, end) => post({ type: 'compareLayer', layer, sort, start, end }),
  again: (text, swap) => post({ type: 'compareAgain', text, swap }),
  exportJson: () => post({ type: 'exportCompare' }),
});
const weightsView = new CompareWeightsView(theme, {
  swap: () => post({ type: 'swapWeights' }),
  exportJson: () => post({ type: 'exportCompare' }),
});
const placeholder = h('p', { class: 'placeholder' }, 'Waiting for the extension…');
app.replaceChildren(h('header', {}, title, meta), controls.element, status, banner, warnings, placeholder, body);

function remember(): void {
  if (!run) return;
  state = { request: run.request, view: { ...heatmap.window, token, neuron } };
  saveState(state);
}

function selectToken(t: number): void {
  if (!run || t < 0 || t >= run.tokens.length) return;
  token = t;
  tokenSelect.value = String(t);
  charts.showToken(t);
  modelControls.selectToken(t);
  showAblation();
  remember();
}

function selectNeuron(i: number): void {
  if (!run || i < 0 || i >= run.layer.dFf) return;
  neuron = i;
  neuronTitle.textContent = `Unit #${i} on every token:`;
  post({ type: 'neuron', index: i });
  if (run.model) {
    neuronCard.request(run.model.block, i);
    post({ type: 'neuronCard', index: i });
  }
  showAblation();
  remember();
}

/** The units of the shown block ablated now: the ones asked for, else the ones the run has. */
function ablatedNow(): number[] {
  return pendingAblate ?? run?.model?.ablated ?? [];
}

function showAblation(): void {
  ablation.show(run, token, neuron, ablatedNow());
}

function ablate(units: number[]): void {
  if (!run?.model) return;
  pendingAblate = units;
  post({ type: 'ablate', units });
  showAblation();
}

/** Adds `unit` to the ablated units or takes it out: what every "Ablate unit N" does. */
function toggleAblation(unit: number): void {
  ablate(toggleUnit(ablatedNow(), unit));
}

function sameRequest(a: PanelState['request'], b: RunView['request']): boolean {
  return (
    !!a &&
    a.file === b.file &&
    a.layer === b.layer &&
    a.activation === b.activation &&
    JSON.stringify(a.inputs) === JSON.stringify(b.inputs) &&
    a.model?.block === b.model?.block
  );
}

/**
 * Shows the run's sections or the compare view, and the <body> attributes of the one shown. The
 * compare view is in the document only while shown, so a run's page holds one heatmap, as before.
 */
function showView(view: 'run' | 'compare' | 'compare-weights'): void {
  const d = document.body.dataset;
  d.view = view;
  body.hidden = view !== 'run';
  controls.element.hidden = view !== 'run';
  compareView.element.hidden = view !== 'compare';
  weightsView.element.hidden = view !== 'compare-weights';
  if (view !== 'compare') {
    compareView.element.remove();
    for (const k of ['compareBlocks', 'compareLayer', 'heatmaps']) delete d[k];
  }
  if (view !== 'compare-weights') {
    weightsView.element.remove();
    delete d.compareTensors;
  }
  if (view === 'run') return;
  const shown = view === 'compare' ? compareView.element : weightsView.element;
  if (!shown.isConnected) app.append(shown);
  markModel(undefined);
  for (const k of ['layer', 'tokens', 'activation']) delete d[k];
}

function showRun(r: RunView): void {
  const started = performance.now();
  document.body.dataset.ready = 'false';
  showView('run');
  const keepView = sameRequest(state.request, r.request) && state.view;
  // the card stays (and is asked for again below) only for the same model, block and prompt
  if (!keepView || !r.model || run?.model?.text !== r.model.text) neuronCard.clear();
  run = r;
  pendingAblate = undefined;
  banner.hidden = true;
  placeholder.hidden = true;
  body.hidden = false;
  title.textContent = `${r.layer.id} · ${r.fileName}`;
  const m = r.model;
  meta.textContent =
    (m ? `${m.architecture} · block ${m.block} of ${m.blocks} · ` : '') +
    `${r.format} · ${r.layer.kind} (${r.layer.convention}) · ${r.layer.dModel} → ${r.layer.dFf} → ${r.layer.dModel} · ${r.activation} · ` +
    `${r.tokens.length} tokens · load ${fmt(r.timings.loadMs, 3)} ms, compute ${fmt(r.timings.computeMs, 3)} ms`;
  controls.show(r);
  warnings.replaceChildren(...r.warnings.map((w) => h('li', {}, `⚠ ${w}`)));
  warnings.hidden = r.warnings.length === 0;
  const threshold = r.sparsity.threshold === 0 ? 'exactly zero' : `|act| ≤ ${fmt(r.sparsity.threshold)}`;
  overall.textContent = `${pct(r.sparsity.overall)} of hidden activations silenced (${threshold}) across ${r.tokens.length} tokens`;
  const deadList = Array.from(r.sparsity.dead, (i) => `#${i}`).join(', ');
  dead.textContent = r.sparsity.deadCount
    ? `${r.sparsity.deadCount} dead unit${r.sparsity.deadCount === 1 ? '' : 's'} (silent on every token): ${deadList}${r.sparsity.deadCount > r.sparsity.dead.length ? ', …' : ''}`
    : 'No dead units: every unit fires on at least one token.';
  tokenSelect.replaceChildren(...r.tokens.map((t, i) => h('option', { value: i }, `${i}: ${t}`)));
  token = keepView ? Math.min(token, r.tokens.length - 1) : 0;
  neuron = keepView ? neuron : null;
  tokenSelect.value = String(token);
  charts.show(r, token);
  modelArea.hidden = !m;
  if (m) {
    modelControls.show(m, token);
    nextTokens.show(m);
  }
  heatmap.show(r.heatmap, r.tokens, r.maxAbsHidden);
  if (keepView && state.view && (state.view.start !== 0 || state.view.end !== r.layer.dFf || state.view.sort !== 'firing')) {
    post({ type: 'heatmap', sort: state.view.sort as UnitSort, start: state.view.start, end: Math.min(state.view.end, r.layer.dFf) });
  }
  if (neuron !== null && neuron < r.layer.dFf) selectNeuron(neuron);
  else neuronTitle.textContent = 'Click a bar above (or a single unit in the heatmap) to see that unit on every token.';
  showAblation();
  remember();
  // after layout and paint: mark ready and tell the host what was drawn
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      heatmap.draw();
      const nonBlank = heatmap.nonBlank();
      document.body.dataset.ready = 'true';
      document.body.dataset.tokens = String(r.tokens.length);
      document.body.dataset.layer = r.layer.id;
      document.body.dataset.activation = r.activation;
      markModel(r.model);
      post({ type: 'rendered', layer: r.layer.id, tokens: r.tokens.length, nonBlank, ms: performance.now() - started });
    }),
  );
}

/**
 * Shows a comparison (of either kind) in place of what was shown: `draw` fills the view, the
 * state kept for a restart becomes its request, and once drawn <body> gets data-ready and `marks`
 * and the host hears `compareRendered`.
 */
function showComparison(view: 'compare' | 'compare-weights', v: { id: number; request: PanelState['compare'] }, draw: () => void, marks: Record<string, string>): void {
  const started = performance.now();
  document.body.dataset.ready = 'false';
  run = undefined;
  neuronCard.clear();
  banner.hidden = true;
  placeholder.hidden = true;
  showView(view);
  draw();
  // a restart restores the comparison, not the run shown before it
  state = { compare: v.request };
  saveState(state);
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      document.body.dataset.ready = 'true';
      Object.assign(document.body.dataset, marks);
      post({ type: 'compareRendered', id: v.id, layer: null, nonBlank: [], ms: performance.now() - started });
    }),
  );
}

function showCompareWeights(v: CompareWeightsData): void {
  const tensors = v.layers.reduce((n, l) => n + l.tensors.length, 0);
  showComparison(
    'compare-weights',
    v,
    () => {
      title.textContent = `Compare weights · ${v.nameA} ↔ ${v.nameB}`;
      meta.textContent = `A: ${v.nameA} · B: ${v.nameB} · ${v.layers.length} blocks · ${tensors} FFN matrices · nothing run`;
      warnings.hidden = true;
      weightsView.show(v);
    },
    { compareTensors: String(tensors) },
  );
}

function showCompare(v: CompareData): void {
  showComparison(
    'compare',
    v,
    () => {
      title.textContent = `Compare · ${v.nameA} ↔ ${v.nameB}`;
      meta.textContent = `A: ${v.nameA} · B: ${v.nameB} · ${v.layers.length} blocks compared · ${v.tokens.length} tokens · d_ff ${v.dFf} · KL(A‖B) ${fmt(v.kl, 3)} nats`;
      warnings.replaceChildren(...v.warnings.map((w) => h('li', {}, `⚠ ${w}`)));
      warnings.hidden = v.warnings.length === 0;
      compareView.show(v);
    },
    { compareBlocks: String(v.layers.length) },
  );
}

function showCompareHeatmaps(m: CompareHeatmaps): void {
  const started = performance.now();
  const id = compareView.shownId;
  if (id === undefined || !compareView.showHeatmaps(m)) return;
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      if (compareView.selectedBlock !== m.layer) return;
      const nonBlank = compareView.drawHeatmaps();
      document.body.dataset.compareLayer = String(m.layer);
      document.body.dataset.heatmaps = String(nonBlank.filter(Boolean).length);
      post({ type: 'compareRendered', id, layer: m.layer, nonBlank, ms: performance.now() - started });
    }),
  );
}

function showNeuron(n: NeuronView): void {
  if (neuron !== n.index) return;
  neuronTitle.textContent = `Unit #${n.index} on every token (fires on ${pct(n.firingRate)} of tokens, ‖W2 row‖ = ${fmt(n.w2Norm)}):`;
  charts.showNeuron(n);
}

function receive(msg: HostToWebview): void {
  switch (msg.type) {
    case 'run':
      status.textContent = '';
      showRun(msg.run);
      return;
    case 'heatmap':
      if (run) heatmap.show(msg.window, run.tokens, run.maxAbsHidden);
      remember();
      return;
    case 'neuron':
      showNeuron(msg.neuron);
      return;
    case 'neuronCard':
      if (neuronCard.show(msg.card) && scrollToUnit) {
        scrollToUnit = false;
        requestAnimationFrame(() => ablation.element.scrollIntoView({ block: 'start' }));
      }
      return;
    case 'select':
      selectToken(msg.token);
      selectNeuron(msg.neuron);
      // the unit's toggle, chart and card are below the fold: scroll to them once the card is
      // there (the page is too short to scroll that far before)
      scrollToUnit = !!run?.model;
      return;
    case 'reveal':
      nextTokens.element.scrollIntoView({ block: 'start' });
      return;
    case 'busy':
      status.textContent = msg.message ?? '';
      controls.setBusy(msg.message !== null);
      modelControls.setBusy(msg.message !== null);
      compareView.setBusy(msg.message !== null);
      return;
    case 'error':
      banner.textContent = msg.message;
      banner.hidden = false;
      controls.setBusy(false);
      modelControls.setBusy(false);
      compareView.setBusy(false);
      pendingAblate = undefined;
      scrollToUnit = false;
      showAblation();
      neuronCard.failed();
      return;
    case 'empty':
      placeholder.textContent = msg.message;
      placeholder.hidden = false;
      body.hidden = run === undefined;
      return;
    case 'compare':
      status.textContent = '';
      showCompare(msg.compare);
      return;
    case 'compareHeatmaps':
      showCompareHeatmaps(msg.heatmaps);
      return;
    case 'compareWeights':
      status.textContent = '';
      showCompareWeights(msg.compare);
      return;
    default: {
      const never: never = msg;
      void never;
    }
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  try {
    receive(e.data as HostToWebview);
  } catch (err) {
    post({ type: 'log', message: `webview error: ${err instanceof Error ? err.stack ?? err.message : String(err)}` });
  }
});
window.addEventListener('error', (e) => post({ type: 'log', message: `webview error: ${e.message}` }));

watchTheme((t) => {
  theme = t;
  charts.setTheme(t);
  heatmap.setTheme(t);
  neuronCard.setTheme(t);
  compareView.setTheme(t);
  weightsView.setTheme(t);
});

post({ type: 'ready' });
