/**
 * A weight JSON as the editor features see it: every tensor with the offsets of its key and value,
 * its shape and data, its role in a layer (W1/b1/W2/b2 or gate/up/down, with the layout found),
 * plus the activation keys and the inputs. Built once per document version and cached; hover,
 * inlay hints, CodeLens and diagnostics all read the same model. No `vscode` import.
 */
import { parseActivation } from '../core/activations';
import { describeError } from '../core/errors';
import { tensorStats } from '../core/stats';
import type { TensorStats } from '../core/types';
import { hintsFromConfig } from '../formats/configJson';
import { JSON_RESERVED_KEYS, looksLikeTensor, tensorFromJsonValue } from '../formats/json';
import type { SourceHints, TensorInfo } from '../formats/source';
import { findLayers } from '../layers';
import type { LayerSpec, MatrixLayout } from '../layers/types';
import { decodeNumberArray } from './jsonNumbers';
import { scanJson, ScannedProperty } from './jsonScan';

/** A tensor's job in a layer. */
export interface TensorRole {
  layer: LayerSpec;
  /** W1, b1, W2, b2 for plain layers; gate, up, down (and their biases) for gated ones. */
  role: string;
  /** How the file stores the matrix, in words, for matrices. */
  layout?: string;
}

export interface WeightTensor {
  name: string;
  keyOffset: number;
  keyLength: number;
  valueOffset: number;
  valueLength: number;
  shape?: number[];
  data?: Float32Array;
  /** Why the value is not a tensor (ragged rows, a string among the numbers...). */
  error?: string;
  nanCount: number;
  infCount: number;
  /** Where the first NaN/Infinity is written, when the text shows it. */
  firstNonFinite?: { offset: number; length: number };
  role?: TensorRole;
}

/** An `activation` key (top level or per layer). */
export interface ActivationEntry {
  value: string;
  known: boolean;
  valueOffset: number;
  valueLength: number;
}

/** A reserved top-level key (inputs, tokens) and what it holds. */
export interface KeyEntry {
  keyOffset: number;
  keyLength: number;
  count: number;
  width?: number;
  error?: string;
}

export interface WeightJson {
  file: string;
  tensors: WeightTensor[];
  layers: LayerSpec[];
  /** Why no layer was found (or a layer did not fit), when tensors exist. */
  layersError?: string;
  activations: ActivationEntry[];
  inputs?: KeyEntry;
  tokens?: KeyEntry;
  hints: SourceHints;
  /** Parse time, for the log. */
  ms: number;
}

const RESERVED = new Set(JSON_RESERVED_KEYS);
const NON_FINITE_TEXT = /"?-?(?:NaN|Infinity|inf)"?/i;

/** JSON.parse of a value's text; bare NaN/Infinity (Python's json module writes them) become strings the reader accepts. */
function parseSlice(slice: string): unknown {
  try {
    return JSON.parse(slice);
  } catch (e) {
    if (!/NaN|Infinity/.test(slice)) throw e;
    return JSON.parse(slice.replace(/"?(-?Infinity|NaN)"?/g, '"$1"'));
  }
}

/** Whether a non-numeric array is meant as a tensor, by the reader's own rule (formats/json.ts). */
function looksLikeTensorText(p: ScannedProperty, text: string): boolean {
  try {
    return looksLikeTensor(parseSlice(text.slice(p.valueOffset, p.valueOffset + p.valueLength)));
  } catch {
    return false;
  }
}

/** The fast path (see jsonNumbers), else the JSON reader's decoder with its precise messages. */
function decode(p: ScannedProperty, children: ScannedProperty[], text: string, file: string): { shape: number[]; data: Float32Array } {
  if (p.kind === 'numbers') {
    const fast = decodeNumberArray(text, p.valueOffset, p.valueOffset + p.valueLength);
    if (fast) return fast;
  } else {
    const data = children.find((c) => c.name === `${p.name}.data`);
    const shape = children.find((c) => c.name === `${p.name}.shape`);
    const fast = data?.kind === 'numbers' ? decodeNumberArray(text, data.valueOffset, data.valueOffset + data.valueLength) : undefined;
    if (fast && children.every((c) => c === data || c === shape || c.name === `${p.name}.dtype`)) {
      if (!shape) return { shape: [fast.data.length], data: fast.data };
      const dims = parseSlice(text.slice(shape.valueOffset, shape.valueOffset + shape.valueLength));
      if (Array.isArray(dims) && dims.every((d) => Number.isSafeInteger(d) && d >= 0) && dims.reduce((a: number, b: number) => a * b, 1) === fast.data.length) {
        return { shape: dims as number[], data: fast.data };
      }
    }
  }
  return tensorFromJsonValue(parseSlice(text.slice(p.valueOffset, p.valueOffset + p.valueLength)), p.name, file);
}

function decodeTensor(p: ScannedProperty, children: ScannedProperty[], text: string, file: string): WeightTensor {
  const t: WeightTensor = {
    name: p.name,
    keyOffset: p.keyOffset,
    keyLength: p.keyLength,
    valueOffset: p.valueOffset,
    valueLength: p.valueLength,
    nanCount: 0,
    infCount: 0,
  };
  try {
    const decoded = decode(p, children, text, file);
    t.shape = decoded.shape;
    t.data = decoded.data;
  } catch (e) {
    t.error = describeError(e).replace(`${file}: `, '');
    return t;
  }
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x !== x) t.nanCount++;
    else if (x === Infinity || x === -Infinity) t.infCount++;
  }
  if (t.nanCount + t.infCount > 0) {
    const m = NON_FINITE_TEXT.exec(text.slice(p.valueOffset, p.valueOffset + p.valueLength));
    if (m) t.firstNonFinite = { offset: p.valueOffset + m.index, length: m[0].length };
  }
  return t;
}

function layoutText(layout: MatrixLayout, convention: string): string {
  if (layout === 'out_in') return 'torch Linear [out,in]';
  return /c_fc|c_proj|conv1d/i.test(convention) ? 'Conv1D [in,out]' : '[in,out], x·W';
}

/** Tensor name -> role, for every layer found. */
function roles(layers: LayerSpec[]): Map<string, TensorRole> {
  const out = new Map<string, TensorRole>();
  for (const layer of layers) {
    const t = layer.tensors;
    const gated = layer.kind === 'gated';
    const conv = layer.convention;
    out.set(t.w1, { layer, role: gated ? 'up' : 'W1', layout: layoutText(layer.layouts.w1, conv) });
    out.set(t.w2, { layer, role: gated ? 'down' : 'W2', layout: layoutText(layer.layouts.w2, conv) });
    if (t.b1) out.set(t.b1, { layer, role: gated ? 'up bias' : 'b1' });
    if (t.b2) out.set(t.b2, { layer, role: gated ? 'down bias' : 'b2' });
    if (t.gate) out.set(t.gate, { layer, role: 'gate', layout: layer.layouts.gate && layoutText(layer.layouts.gate, conv) });
    if (t.bGate) out.set(t.bGate, { layer, role: 'gate bias' });
  }
  return out;
}

/** Reads the top-level reserved keys the way the JSON reader does, keeping their offsets. */
function readReserved(p: ScannedProperty, text: string, file: string, model: WeightJson): void {
  const slice = text.slice(p.valueOffset, p.valueOffset + p.valueLength);
  const h = model.hints;
  let value: unknown;
  try {
    value = parseSlice(slice);
  } catch {
    return;
  }
  switch (p.name) {
    case 'activation':
      if (typeof value === 'string') {
        h.activation = value;
        model.activations.push({ value, known: parseActivation(value) !== undefined, valueOffset: p.valueOffset, valueLength: p.valueLength });
      }
      return;
    case 'layout':
      if (typeof value === 'string') h.layout = value;
      return;
    case 'tokens':
      if (Array.isArray(value)) {
        h.tokens = value.map((v) => String(v));
        model.tokens = { keyOffset: p.keyOffset, keyLength: p.keyLength, count: value.length };
      }
      return;
    case 'inputs': {
      const entry: KeyEntry = { keyOffset: p.keyOffset, keyLength: p.keyLength, count: 0 };
      model.inputs = entry;
      try {
        const t = tensorFromJsonValue(value, 'inputs', file);
        const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
        entry.count = rows;
        entry.width = cols;
        if (t.shape.length <= 2) h.inputs = { data: t.data, rows, cols };
        else entry.error = `"inputs" must be T x d_model (rank 2), found shape [${t.shape.join(', ')}]`;
      } catch (e) {
        entry.error = describeError(e).replace(`${file}: `, '');
      }
      return;
    }
    case 'model_type':
    case 'architecture':
      if (typeof value === 'string' && value && (p.name === 'architecture' || !h.architecture)) h.architecture = value;
      return;
    case 'config':
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const c = hintsFromConfig(value as Record<string, unknown>);
        if (c.activation && !h.activation) h.activation = c.activation;
        h.architecture ??= c.architecture;
        h.hiddenSize ??= c.hiddenSize;
        h.intermediateSize ??= c.intermediateSize;
      }
      return;
    default:
      return;
  }
}

/** Builds the model of a weight JSON's text. Never throws; problems end up in the model. */
export function analyseWeightJson(text: string, file: string): WeightJson {
  const started = Date.now();
  const model: WeightJson = { file, tensors: [], layers: [], activations: [], hints: {}, ms: 0 };
  const scan = scanJson(text);
  const props = scan.properties;
  const layerActivations: Record<string, string> = {};
  for (let i = 0; i < props.length; i++) {
    const p = props[i];
    const parent = p.parent >= 0 ? props[p.parent] : undefined;
    if (parent && parent.kind === 'tensorObject') continue; // its data/shape/dtype
    if (p.depth === 0 && RESERVED.has(p.name)) {
      readReserved(p, text, file, model);
    } else if (p.kind === 'numbers' || p.kind === 'tensorObject' || (p.kind === 'array' && looksLikeTensorText(p, text))) {
      // An array of text rows is a tensor the reader cannot read: it gets its problem, as in `inspect`.
      const children = p.kind === 'tensorObject' ? props.filter((c) => c.parent === i) : [];
      model.tensors.push(decodeTensor(p, children, text, file));
    } else if (p.depth > 0 && p.kind === 'string' && p.name.endsWith('.activation')) {
      const value = String(parseSlice(text.slice(p.valueOffset, p.valueOffset + p.valueLength)));
      layerActivations[p.name.slice(0, -'.activation'.length)] = value;
      model.activations.push({ value, known: parseActivation(value) !== undefined, valueOffset: p.valueOffset, valueLength: p.valueLength });
    }
  }
  if (Object.keys(layerActivations).length) model.hints.layerActivations = layerActivations;
  const good = model.tensors.filter((t) => t.shape);
  if (good.length > 0) {
    const infos: TensorInfo[] = good.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape as number[] }));
    try {
      model.layers = findLayers(infos, model.hints, file);
      if (model.layers.length === 0) model.layersError = 'no FFN layer found among the tensors';
    } catch (e) {
      const message = describeError(e).replace(`${file}: `, '');
      const badActivation = /activation "/.test(message);
      if (!/^unknown activation/.test(message)) model.layersError = message; // unknown ones get their own diagnostic
      if (badActivation) {
        // still show roles and lenses: find the layers as if the file named no activation
        const { activation: _a, activationFrom: _f, layerActivations: _l, ...rest } = model.hints;
        try {
          model.layers = findLayers(infos, rest, file);
        } catch {
          // the layersError above stands
        }
      }
    }
    const byName = roles(model.layers);
    for (const t of model.tensors) t.role = byName.get(t.name);
  }
  model.ms = Date.now() - started;
  return model;
}

/** The tensor whose key or value contains `offset`. */
export function tensorAt(model: WeightJson, offset: number): WeightTensor | undefined {
  for (const t of model.tensors) {
    if (offset >= t.keyOffset && offset <= t.valueOffset + t.valueLength) return t;
  }
  return undefined;
}

const statsCache = new WeakMap<WeightTensor, TensorStats>();

/** Statistics of a tensor, computed once. */
export function statsOf(t: WeightTensor): TensorStats | undefined {
  if (!t.data) return undefined;
  let s = statsCache.get(t);
  if (!s) {
    s = tensorStats(t.data);
    statsCache.set(t, s);
  }
  return s;
}

/** "W1 of layer h.0.mlp (Conv1D [in,out])", or "not part of a layer found". */
export function describeRole(t: WeightTensor): string {
  if (!t.role) return 'not part of an FFN layer found';
  const layout = t.role.layout ? ` (${t.role.layout})` : '';
  return `${t.role.role} of layer ${t.role.layer.id}${layout}`;
}

/** Enough of a TextDocument for the cache (structural, so this module needs no `vscode`). */
export interface DocumentLike {
  readonly uri: { toString(): string };
  readonly version: number;
  readonly fileName: string;
  getText(): string;
}

/** One model per document, rebuilt when the version changes; a few documents at most. */
export class WeightJsonCache {
  private readonly models = new Map<string, { version: number; model: WeightJson }>();

  constructor(private readonly capacity = 8) {}

  get(doc: DocumentLike): WeightJson {
    const key = doc.uri.toString();
    const hit = this.models.get(key);
    if (hit && hit.version === doc.version) {
      // most recently used last
      this.models.delete(key);
      this.models.set(key, hit);
      return hit.model;
    }
    const model = analyseWeightJson(doc.getText(), doc.fileName);
    this.models.delete(key);
    this.models.set(key, { version: doc.version, model });
    while (this.models.size > this.capacity) this.models.delete(this.models.keys().next().value as string);
    return model;
  }

  forget(uri: { toString(): string }): void {
    this.models.delete(uri.toString());
  }

  clear(): void {
    this.models.clear();
  }
}
