/**
 * Messages between the extension host and the FFN Lens panel's webview, in two unions. Numbers
 * travel as typed arrays (postMessage structured-clones them), already summarised on the host.
 * The webview is not trusted: every message it sends goes through `parseWebviewMessage` before
 * use, and a restored panel's state through `parsePanelRequest`. No `vscode` import.
 */
import { ACTIVATIONS, ActivationName } from '../core/types';
import type { ScanExample } from '../model/scan';
import type { LayerComparison, TensorComparison } from './compare';
import type { InputSpec } from './run';

/** Re-exported so the webview imports only from the protocol. */
export { ACTIVATIONS, GATED_ACTIVATIONS, type ActivationName } from '../core/types';

/** What a panel shows: the host re-runs exactly this when a panel is restored after a restart. */
export interface PanelRequest {
  file: string;
  layer?: string;
  /** Undefined = the layer's own activation (the file's, its convention's or the setting's). */
  activation?: ActivationName;
  inputs: InputSpec;
  /** A whole model (file is its folder or .gguf): the prompt, the block shown, the ablated units. */
  model?: ModelPanelRequest;
}

/** The model side of a panel: text through the model to block `block`'s FFN. */
export interface ModelPanelRequest {
  text: string;
  block: number;
  /** Hidden units of that block zeroed in the ablated prediction (empty: none). */
  ablate: number[];
}

/** What a compare view shows: the host compares exactly this again when the panel is restored. */
export interface ComparePanelRequest {
  /** The two checkpoints' paths on disk (a folder, a .gguf or a .safetensors). */
  modelA: string;
  modelB: string;
  /** The text both ran ('' for a comparison of the weights alone). */
  text: string;
  /** The FFN weights alone (`compare --weights`), nothing run. */
  weights?: true;
  /** K of the top-K overlap. */
  top: number;
  /** The blocks compared (undefined: all). */
  layers?: number[];
}

/** Two checkpoints' FFN matrices set side by side without running anything (`ffn-lens compare --weights`). */
export interface CompareWeightsView {
  /** Which comparison of this panel it is (shared with CompareView's ids). */
  id: number;
  nameA: string;
  nameB: string;
  /** Units listed per matrix. */
  top: number;
  /** Per compared block, each FFN matrix: ‖B − A‖_F / ‖A‖_F and the units that moved most. */
  layers: { layer: number; tensors: TensorComparison[] }[];
  /** What to compare again when the panel is restored after a restart. */
  request: ComparePanelRequest;
}

/** Longest prompt the panel sends (characters). */
export const MAX_PROMPT_CHARS = 20000;
/** Longest chart PNG (as a data URL) the panel may send: 16 MB. */
export const MAX_PNG_URL = 16 * 1024 * 1024;
/** Most hidden units one ablation names. */
export const MAX_ABLATED_UNITS = 256;

/** One of the most likely next tokens, for the next-token box. */
export interface NextTokenView {
  id: number;
  /** Readable text of the token. */
  text: string;
  prob: number;
}

/** What the panel shows of a whole model beside the layer's charts. */
export interface ModelView {
  architecture: string;
  /** Blocks in the model: the layer slider runs 0..blocks-1. */
  blocks: number;
  /** The block shown. */
  block: number;
  /** The prompt as typed. */
  text: string;
  tokenIds: Int32Array;
  /** Readable text of each token (spaces as spaces). */
  tokenText: string[];
  /** [T x 2]: each token's [start, end) in `text`. */
  offsets: Int32Array;
  /** The top 5 next tokens (with the ablation when `ablated` is not empty). */
  next: NextTokenView[];
  /** With an ablation: the top 5 without it. */
  nextBaseline?: NextTokenView[];
  ablated: number[];
}

/** Hidden-unit order for the heatmap's unit axis ('change': most changed from A to B first, comparisons only). */
export type UnitSort = 'firing' | 'index' | 'change';

/** The unit orders of a comparison's heatmaps. */
export type CompareSort = Extract<UnitSort, 'change' | 'index'>;

/** A [rows x cols] slice of the hidden activations, max-abs pooled on the host. */
export interface HeatmapWindow {
  sort: UnitSort;
  /** Window [start, end) in sorted-unit positions. */
  start: number;
  end: number;
  /** d_ff. */
  units: number;
  rows: number;
  cols: number;
  /** [rows x cols], each value the one of largest magnitude among the units pooled into its column. */
  values: Float32Array;
  /** The unit index of every position in the window (end - start entries). */
  unitIndex: Int32Array;
}

/** Everything the panel draws for one run. */
export interface RunView {
  request: PanelRequest;
  fileName: string;
  format: string;
  layer: { id: string; kind: 'plain' | 'gated'; convention: string; dModel: number; dFf: number };
  layers: { id: string; label: string }[];
  activation: ActivationName;
  /** The activation the layer has without an override (marked in the picker). */
  defaultActivation: ActivationName;
  tokens: string[];
  /** [T x 4]: input, expanded, filtered, output norms. */
  norms: Float32Array;
  sparsity: {
    perToken: Float32Array;
    overall: number;
    threshold: number;
    /** Counts of neurons per firing-rate bin over [0, 1]. */
    firingHistogram: Uint32Array;
    deadCount: number;
    /** The first dead neurons (at most 256). */
    dead: Int32Array;
  };
  /** Histograms of the values before and after the filter, on the same bins over [min, max]. */
  cut: { min: number; max: number; before: Uint32Array; after: Uint32Array; beforeLabel: string; afterLabel: string };
  /** Top neurons per token, [T x k] each, index -1 where a token has fewer than k. */
  top: { k: number; index: Int32Array; value: Float32Array; score: Float32Array };
  /** Largest finite |hidden| over the whole run: the heatmap's colour scale. */
  maxAbsHidden: number;
  heatmap: HeatmapWindow;
  warnings: string[];
  timings: { loadMs: number; computeMs: number };
  /** Present when the run is a whole model on text. */
  model?: ModelView;
}

/** One hidden unit across every token. */
export interface NeuronView {
  index: number;
  /** [T] what W2 receives from this unit. */
  hidden: Float32Array;
  /** [T] its pre-activation (the gate's for gated layers). */
  pre: Float32Array;
  /** [T] gated layers of a model run: its up projection (the product is act(gate) · up). */
  up?: Float32Array;
  firingRate: number;
  w2Norm: number;
}

/** A vocabulary entry of a neuron card. */
export interface VocabScoreView {
  id: number;
  /** Readable text of the token. */
  text: string;
  value: number;
}

/** One place in a scanned corpus where a unit fired (the file relative to the workspace folder). */
export type ScanExampleView = Omit<ScanExample, 'offsets'>;

/** What the last scan of this block found for one unit. */
export interface NeuronScanView {
  /** The glob the workspace scan used, e.g. `**\/*.{txt,md}`. */
  corpus: string;
  tokens: number;
  density: number;
  max: number;
  histogram: { edges: number[]; counts: number[] };
  /** Examples from the middle of the distribution (value near the q-quantile). */
  quantiles: { q: number; value: number; example: ScanExampleView | null }[];
  /** Largest first. */
  examples: ScanExampleView[];
}

/** The neuron card: what unit `unit` of block `block` writes and reads, and where it fires. */
export interface NeuronCardView {
  block: number;
  unit: number;
  /** Top tokens its output direction promotes (final norm gain applied). */
  promotes: VocabScoreView[];
  suppresses: VocabScoreView[];
  /** Tokens whose embeddings alone excite it. */
  respondsTo: VocabScoreView[];
  /** Gated FFNs: on the current prompt, the share of tokens with gate+/up+, gate+/up−, gate−/up+, gate−/up−. */
  quadrants?: { pp: number; pn: number; np: number; nn: number };
  /** From the last workspace scan of this model and block, when there is one. */
  scan?: NeuronScanView;
}

/** Two checkpoints of one model on the same tokens (issue 14), as the compare view draws them. */
export interface CompareView {
  /** Which comparison of this panel it is (its reports name it, so a late one about the last is told apart). */
  id: number;
  /** The two models as the user knows them (workspace-relative when inside it). */
  nameA: string;
  nameB: string;
  /** The text both ran. */
  text: string;
  tokenIds: Int32Array;
  /** Readable text of each token. */
  tokens: string[];
  dFf: number;
  /** K of the top-K overlap (and of `changed`). */
  top: number;
  /** Per compared block, the names of `ffn-lens compare --json`. */
  layers: LayerComparison[];
  /** The top 5 next tokens after the last position in A and in B. */
  nextA: NextTokenView[];
  nextB: NextTokenView[];
  /** KL(A‖B) of the next-token distributions averaged over positions (nats), and at each one. */
  kl: number;
  klPerPosition: Float32Array;
  /** The blocks whose hidden activations are on the host (clicking one shows its heatmaps); all, unless over the memory budget. */
  heatmaps: number[];
  warnings: string[];
  /** What to compare again when the panel is restored after a restart (kept with setState). */
  request: ComparePanelRequest;
}

/** One block's hidden activations in A, in B and B − A: the same window of units, in the same order, for all three. */
export interface CompareHeatmaps {
  layer: number;
  a: HeatmapWindow;
  b: HeatmapWindow;
  /** Pooled like the others: each cell the difference of largest magnitude among its units. */
  diff: HeatmapWindow;
  /** Largest finite |h| of A and B together: one colour scale for both. */
  maxAbs: number;
  /** Largest finite |hB − hA|. */
  maxAbsDiff: number;
}

/** Messages the host posts to the webview. */
export type HostToWebview =
  /** A run finished: draw everything. */
  | { type: 'run'; run: RunView }
  /** The heatmap window the webview asked for. */
  | { type: 'heatmap'; window: HeatmapWindow }
  /** The neuron the webview asked for, across every token. */
  | { type: 'neuron'; neuron: NeuronView }
  /** A model panel: the card of the unit the webview asked for. */
  | { type: 'neuronCard'; card: NeuronCardView }
  /** Select token `token` and unit `neuron` as a click would and scroll to the unit (the walkthrough); the webview then asks for the unit and its card. */
  | { type: 'select'; token: number; neuron: number }
  /** Scroll the next-token box into view (the walkthrough, after an ablation). */
  | { type: 'reveal'; part: 'next' }
  /** A run started (message) or ended (null). */
  | { type: 'busy'; message: string | null }
  /** The last run failed; the previous charts stay. */
  | { type: 'error'; message: string }
  /** Nothing to show (a restored panel without a request). */
  | { type: 'empty'; message: string }
  /** A comparison of two checkpoints finished: show the compare view instead of a run. */
  | { type: 'compare'; compare: CompareView }
  /** Replaces whatever the panel shows with a comparison of two checkpoints' weights. */
  | { type: 'compareWeights'; compare: CompareWeightsView }
  /** The heatmaps of a compared block the webview asked for. */
  | { type: 'compareHeatmaps'; heatmaps: CompareHeatmaps };

/** Inputs the webview may ask for: it can keep the current inputs file but never name a path. */
export type WebviewInputs = { kind: 'file' } | { kind: 'random'; tokens: number; seed: number } | { kind: 'current' };

/** Messages the webview posts to the host. */
export type WebviewToHost =
  /** The webview loaded and listens; always the first message. */
  | { type: 'ready' }
  /** Re-run with these controls ('auto' = the layer's own activation). */
  | { type: 'rerun'; layer: string; activation: ActivationName | 'auto'; inputs: WebviewInputs }
  /** Open a dialog on the host to pick an inputs file, then re-run. */
  | { type: 'pickInputsFile' }
  /** Send this window of the heatmap's unit axis. */
  | { type: 'heatmap'; sort: UnitSort; start: number; end: number }
  /** Send this neuron across all tokens. */
  | { type: 'neuron'; index: number }
  /** A model panel: run this text through the model (same block, no ablation). */
  | { type: 'prompt'; text: string }
  /** A model panel: show this block's FFN on the same text. */
  | { type: 'block'; block: number }
  /** A model panel: predict with these hidden units of the shown block zeroed (empty: none). */
  | { type: 'ablate'; units: number[] }
  /** A model panel: send the card of this unit of the shown block. */
  | { type: 'neuronCard'; index: number }
  /** A model panel: open the file of example `rank` of unit `unit` of the last scan at the firing token. */
  | { type: 'openExample'; unit: number; rank: number }
  /** A model panel: run FFN Lens: Scan Workspace Text for the shown block. */
  | { type: 'scan' }
  /** Save the card of this unit (JSON or CSV), or the block's last scan, through a save dialog on the host. */
  | { type: 'exportCard'; unit: number; format: 'json' | 'csv' }
  | { type: 'exportScan'; format: 'json' | 'csv' }
  /** Save a chart as PNG: `png` is the canvas's `data:image/png;base64,...` URL. */
  | { type: 'exportChart'; name: string; png: string }
  /** Run the Export Trace command. */
  | { type: 'export' }
  /** The charts are drawn (for the status line and the tests). */
  | { type: 'rendered'; layer: string; tokens: number; nonBlank: boolean; ms: number }
  /** An error inside the webview, for the output channel. */
  | { type: 'log'; message: string }
  /** The compare view: send block `layer`'s three heatmaps for this window of the unit axis. */
  | { type: 'compareLayer'; layer: number; sort: CompareSort; start: number; end: number }
  /** The compare view: compare the same two checkpoints again on `text` (`swap`: B becomes the reference). */
  | { type: 'compareAgain'; text: string; swap: boolean }
  /** The weights view: compare again with A and B swapped. */
  | { type: 'swapWeights' }
  /** The compare view: save the comparison as JSON (the document of `ffn-lens compare --json`) through a save dialog. */
  | { type: 'exportCompare' }
  /** Comparison `id` is drawn: its overview (`layer` null), or a block's heatmaps (A, B, B − A: which hold more than the background). */
  | { type: 'compareRendered'; id: number; layer: number | null; nonBlank: boolean[]; ms: number };

/** Largest number of random tokens the panel may ask for. */
export const MAX_RANDOM_TOKENS = 4096;
const MAX_STRING = 2000;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
function isStr(v: unknown, max = MAX_STRING): v is string {
  return typeof v === 'string' && v.length <= max;
}
function isActivation(v: unknown): v is ActivationName {
  return typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v);
}

function isUnits(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= MAX_ABLATED_UNITS && v.every((u) => isInt(u, 0, 1 << 30));
}

function parseModelRequest(v: unknown): ModelPanelRequest | undefined {
  if (!isObj(v) || !isStr(v.text, MAX_PROMPT_CHARS) || !isInt(v.block, 0, 1 << 16)) return undefined;
  const ablate = v.ablate === undefined ? [] : v.ablate;
  return isUnits(ablate) ? { text: v.text, block: v.block, ablate } : undefined;
}

function parseWebviewInputs(v: unknown): WebviewInputs | undefined {
  if (!isObj(v)) return undefined;
  switch (v.kind) {
    case 'file':
    case 'current':
      return { kind: v.kind };
    case 'random':
      return isInt(v.tokens, 1, MAX_RANDOM_TOKENS) && isInt(v.seed, 0, 0xffffffff)
        ? { kind: 'random', tokens: v.tokens, seed: v.seed }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The message if `raw` is a well-formed WebviewToHost, else undefined. Checks types and ranges
 * that do not depend on the run (the host still checks a neuron index against d_ff).
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (!isObj(raw) || typeof raw.type !== 'string') return undefined;
  const type = raw.type as WebviewToHost['type'];
  switch (type) {
    case 'ready':
    case 'pickInputsFile':
    case 'export':
      return { type };
    case 'rerun': {
      const inputs = parseWebviewInputs(raw.inputs);
      if (!isStr(raw.layer, 500) || !inputs) return undefined;
      if (raw.activation !== 'auto' && !isActivation(raw.activation)) return undefined;
      return { type, layer: raw.layer, activation: raw.activation, inputs };
    }
    case 'heatmap':
      if (raw.sort !== 'firing' && raw.sort !== 'index') return undefined;
      if (!isInt(raw.start, 0, 1 << 30) || !isInt(raw.end, 1, 1 << 30) || raw.end <= raw.start) return undefined;
      return { type, sort: raw.sort, start: raw.start, end: raw.end };
    case 'neuron':
      return isInt(raw.index, 0, 1 << 30) ? { type, index: raw.index } : undefined;
    case 'prompt':
      return isStr(raw.text, MAX_PROMPT_CHARS) ? { type, text: raw.text } : undefined;
    case 'block':
      return isInt(raw.block, 0, 1 << 16) ? { type, block: raw.block } : undefined;
    case 'ablate':
      return isUnits(raw.units) ? { type, units: [...new Set(raw.units)] } : undefined;
    case 'neuronCard':
      return isInt(raw.index, 0, 1 << 30) ? { type, index: raw.index } : undefined;
    case 'openExample':
      return isInt(raw.unit, 0, 1 << 30) && isInt(raw.rank, 0, 1 << 16) ? { type, unit: raw.unit, rank: raw.rank } : undefined;
    case 'scan':
      return { type };
    case 'exportCard':
      return isInt(raw.unit, 0, 1 << 30) && (raw.format === 'json' || raw.format === 'csv') ? { type, unit: raw.unit, format: raw.format } : undefined;
    case 'exportScan':
      return raw.format === 'json' || raw.format === 'csv' ? { type, format: raw.format } : undefined;
    case 'exportChart':
      return isStr(raw.name, 100) && /^[\w .-]+$/.test(raw.name) && typeof raw.png === 'string' && raw.png.length <= MAX_PNG_URL && raw.png.startsWith('data:image/png;base64,')
        ? { type, name: raw.name, png: raw.png }
        : undefined;
    case 'rendered':
      if (!isStr(raw.layer, 500) || !isInt(raw.tokens, 0, 1 << 24) || typeof raw.nonBlank !== 'boolean') return undefined;
      if (typeof raw.ms !== 'number' || !Number.isFinite(raw.ms)) return undefined;
      return { type, layer: raw.layer, tokens: raw.tokens, nonBlank: raw.nonBlank, ms: raw.ms };
    case 'log':
      return typeof raw.message === 'string' ? { type, message: raw.message.slice(0, MAX_STRING) } : undefined;
    case 'compareLayer':
      if (raw.sort !== 'change' && raw.sort !== 'index') return undefined;
      if (!isInt(raw.layer, 0, 1 << 16) || !isInt(raw.start, 0, 1 << 30) || !isInt(raw.end, 1, 1 << 30) || raw.end <= raw.start) return undefined;
      return { type, layer: raw.layer, sort: raw.sort, start: raw.start, end: raw.end };
    case 'compareAgain':
      return isStr(raw.text, MAX_PROMPT_CHARS) && raw.text.length > 0 && typeof raw.swap === 'boolean' ? { type, text: raw.text, swap: raw.swap } : undefined;
    case 'exportCompare':
    case 'swapWeights':
      return { type };
    case 'compareRendered':
      if (!isInt(raw.id, 0, Number.MAX_SAFE_INTEGER) || (raw.layer !== null && !isInt(raw.layer, 0, 1 << 16))) return undefined;
      if (!Array.isArray(raw.nonBlank) || raw.nonBlank.length > 3 || !raw.nonBlank.every((b) => typeof b === 'boolean')) return undefined;
      if (typeof raw.ms !== 'number' || !Number.isFinite(raw.ms)) return undefined;
      return { type, id: raw.id, layer: raw.layer, nonBlank: raw.nonBlank as boolean[], ms: raw.ms };
    default: {
      const never: never = type;
      void never;
      return undefined;
    }
  }
}

function parseInputSpec(v: unknown): InputSpec | undefined {
  if (!isObj(v)) return undefined;
  switch (v.kind) {
    case 'file':
      return { kind: 'file' };
    case 'random':
      return isInt(v.tokens, 1, MAX_RANDOM_TOKENS) && isInt(v.seed, 0, 0xffffffff)
        ? { kind: 'random', tokens: v.tokens, seed: v.seed }
        : undefined;
    case 'inputsFile':
      return isStr(v.path) && v.path.length > 0 ? { kind: 'inputsFile', path: v.path } : undefined;
    default:
      return undefined;
  }
}

/** A PanelRequest from a restored webview's saved state, or undefined when it is not one. */
export function parsePanelRequest(raw: unknown): PanelRequest | undefined {
  if (!isObj(raw) || !isStr(raw.file) || raw.file.length === 0) return undefined;
  const inputs = parseInputSpec(raw.inputs);
  if (!inputs) return undefined;
  if (raw.layer !== undefined && !isStr(raw.layer, 500)) return undefined;
  if (raw.activation !== undefined && !isActivation(raw.activation)) return undefined;
  const req: PanelRequest = { file: raw.file, inputs };
  if (raw.model !== undefined) {
    const model = parseModelRequest(raw.model);
    if (!model) return undefined;
    req.model = model;
  }
  if (typeof raw.layer === 'string') req.layer = raw.layer;
  if (raw.activation !== undefined) req.activation = raw.activation;
  return req;
}

/** A restored compare view's state, validated (it comes back from the webview). */
export function parseComparePanelRequest(raw: unknown): ComparePanelRequest | undefined {
  if (!isObj(raw) || !isStr(raw.modelA) || !isStr(raw.modelB) || !raw.modelA || !raw.modelB) return undefined;
  if (raw.weights !== undefined && raw.weights !== true) return undefined;
  const weights = raw.weights === true;
  if (!isStr(raw.text, MAX_PROMPT_CHARS) || (!weights && !raw.text) || !isInt(raw.top, 1, 1 << 16)) return undefined;
  const req: ComparePanelRequest = { modelA: raw.modelA, modelB: raw.modelB, text: weights ? '' : raw.text, top: raw.top };
  if (weights) req.weights = true;
  if (raw.layers !== undefined) {
    if (!Array.isArray(raw.layers) || raw.layers.length === 0 || raw.layers.length > 1 << 12 || !raw.layers.every((l) => isInt(l, 0, 1 << 16))) return undefined;
    req.layers = raw.layers as number[];
  }
  return req;
}

/** What the webview keeps with setState (and the serializer receives after a restart): a run's request and view, or a comparison's. */
export interface PanelState {
  request?: PanelRequest;
  compare?: ComparePanelRequest;
  view?: { sort: UnitSort; start: number; end: number; token: number; neuron: number | null };
}
