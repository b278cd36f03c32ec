/**
 * Finding FFN layers in a file by tensor names and shapes, behind any prefix (`h.3.mlp.`,
 * `model.layers.3.mlp.`, `blk.3.`...), and choosing one. Layout rule, per layer: the biases, the
 * inputs' width and config.json's sizes decide when they can; when nothing in the file tells
 * [in,out] from [out,in] (a square layer, or no biases), `hints.layout` decides, else the
 * convention's native layout. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { ActivationName } from '../core/types';
import type { SourceHints, TensorInfo } from '../formats/source';
import {
  CONVENTIONS, CONVENTION_SUMMARY, type Convention, architectureActivation, checkActivation, fitActivation, parseLayout,
} from './conventions';
import type { LayerSpec, MatrixLayout } from './types';

type RoleKey = 'up' | 'down' | 'gate' | 'bUp' | 'bDown' | 'bGate';

interface Match {
  tensor: TensorInfo;
  /** How the tensor is called in messages: its local name without `.weight` (`c_fc`, `b1`, `c_fc.bias`). */
  label: string;
}

interface Group {
  convention: Convention;
  prefix: string;
  roles: Partial<Record<RoleKey, Match>>;
  /** Position of the group's first tensor in the file. */
  first: number;
}

export interface FindOptions {
  /** The user's activation: beats everything the file says (activationSource `override`). */
  activation?: ActivationName;
}

/**
 * Every FFN layer in `tensors`, ordered by appearance of their naming pattern and naturally by
 * the numbers in their ids (layer 2 before layer 10). Throws an FfnLensError when there is none,
 * when a layer's shapes cannot fit together, or when the activation is unknown or does not fit.
 */
export function findLayers(tensors: readonly TensorInfo[], hints: SourceHints, file?: string, options: FindOptions = {}): LayerSpec[] {
  const layoutHint = parseLayout(hints.layout, file);
  const groups = matchGroups(tensors);
  const used = new Set<string>();
  const chosen: Group[] = [];
  for (const convention of CONVENTIONS) {
    for (const g of groups) {
      if (g.convention !== convention || !isComplete(g)) continue;
      const names = Object.values(g.roles).map((m) => m.tensor.name);
      if (names.some((n) => used.has(n))) continue;
      names.forEach((n) => used.add(n));
      chosen.push(g);
    }
  }
  if (chosen.length === 0) throw noLayerError(tensors, groups, file);
  const skeletonRank = new Map<string, number>();
  for (const g of [...chosen].sort((a, b) => a.first - b.first)) {
    const s = skeleton(layerId(g));
    if (!skeletonRank.has(s)) skeletonRank.set(s, skeletonRank.size);
  }
  chosen.sort((a, b) => {
    const ia = layerId(a);
    const ib = layerId(b);
    return skeletonRank.get(skeleton(ia))! - skeletonRank.get(skeleton(ib))! || compareNumbers(ia, ib) || a.first - b.first;
  });
  return chosen.map((g, index) => toSpec(g, index, hints, layoutHint, file, options));
}

/**
 * One layer by exact id, by index (`"0"`), or by a unique id segment (`"3"` for `h.3.mlp`, `"h.3"`).
 * With no choice, the first layer (the only one, in a single-layer file).
 */
export function selectLayer(layers: readonly LayerSpec[], idOrIndex: string | undefined, file?: string): LayerSpec {
  if (layers.length === 0) throw new FfnLensError('no FFN layer found', file);
  const want = idOrIndex?.trim();
  if (!want) return layers[0];
  const exact = layers.find((l) => l.id === want);
  if (exact) return exact;
  if (/^\d+$/.test(want) && Number(want) < layers.length) return layers[Number(want)];
  const bySegment = layers.filter((l) => `.${l.id}.`.includes(`.${want}.`));
  if (bySegment.length === 1) return bySegment[0];
  const ids = layers.map((l) => l.id);
  const shown = ids.length > 24 ? ids.slice(0, 24).join(', ') + `, ... (${ids.length} in all)` : ids.join(', ');
  const why = bySegment.length > 1 ? `is ambiguous (matches ${bySegment.map((l) => l.id).slice(0, 6).join(', ')})` : 'not found';
  throw new FfnLensError(`layer "${want}" ${why}; available: ${shown} (or an index 0-${layers.length - 1})`, file, 'usage');
}

// ---- matching names ----

function matchGroups(tensors: readonly TensorInfo[]): Group[] {
  const groups = new Map<string, Group>();
  tensors.forEach((tensor, position) => {
    CONVENTIONS.forEach((convention, ci) => {
      for (const [key, alias, label] of aliases(convention)) {
        const name = tensor.name;
        if (name !== alias && !name.endsWith('.' + alias)) continue;
        const prefix = name.slice(0, name.length - alias.length);
        if (convention.excludePrefix?.test(prefix)) continue;
        const id = `${ci}|${prefix}`;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { convention, prefix, roles: {}, first: position }));
        g.roles[key] ??= { tensor, label };
      }
    });
  });
  return [...groups.values()];
}

const aliasCache = new Map<Convention, [RoleKey, string, string][]>();

/** [role, full local name, label] for every spelling a convention accepts. */
function aliases(c: Convention): [RoleKey, string, string][] {
  let list = aliasCache.get(c);
  if (list) return list;
  list = [];
  const roles: [RoleKey, RoleKey, Convention['up'] | undefined][] = [['up', 'bUp', c.up], ['down', 'bDown', c.down], ['gate', 'bGate', c.gate]];
  for (const [w, b, r] of roles) {
    if (!r) continue;
    for (const n of r.names) list.push([w, `${n}.weight`, n], [w, n, n], [b, `${n}.bias`, `${n}.bias`]);
    for (const n of r.biases ?? []) list.push([b, n, n]);
  }
  aliasCache.set(c, list);
  return list;
}

function isComplete(g: Group): boolean {
  return !!g.roles.up && !!g.roles.down && (g.convention.kind === 'plain' || !!g.roles.gate);
}

function layerId(g: Group): string {
  return g.prefix ? g.prefix.replace(/\.$/, '') : 'main';
}

function skeleton(id: string): string {
  return id.replace(/\d+/g, '#');
}

function compareNumbers(a: string, b: string): number {
  const na = (a.match(/\d+/g) ?? []).map(Number);
  const nb = (b.match(/\d+/g) ?? []).map(Number);
  for (let i = 0; i < Math.min(na.length, nb.length); i++) if (na[i] !== nb[i]) return na[i] - nb[i];
  return na.length - nb.length;
}

function noLayerError(tensors: readonly TensorInfo[], groups: Group[], file?: string): FfnLensError {
  const names = tensors.map((t) => t.name);
  const found = names.length > 12 ? names.slice(0, 12).join(', ') + `, ... (${names.length} in all)` : names.join(', ') || 'none';
  const described = groups
    .filter((g) => g.roles.up || g.roles.gate) // a lone c_proj is GPT-2 attention, not a broken FFN
    .map((g) => {
      const keys = (['gate', 'up', 'down'] as const).filter((k) => k !== 'gate' || g.convention.gate);
      const have = keys.filter((k) => g.roles[k]).map((k) => g.roles[k]!.label);
      const missing = keys.filter((k) => !g.roles[k]).map((k) => g.convention[k]!.names[0]);
      return { key: `${g.prefix}|${have.join(',')}`, missing: missing.length, text: `"${layerId(g)}" has ${have.join(', ')} but no ${missing.join(', ')}` };
    })
    .sort((a, b) => a.missing - b.missing);
  const seen = new Set<string>();
  const partial: string[] = [];
  for (const d of described) {
    if (seen.has(d.key) || partial.length >= 3) continue;
    seen.add(d.key);
    partial.push(d.text);
  }
  return new FfnLensError(
    `no FFN layer found: expected ${CONVENTION_SUMMARY}${partial.length ? ` (${partial.join('; ')})` : ''} (found tensors: ${found})`,
    file,
  );
}

// ---- shapes and layout ----

interface Fit {
  layout: MatrixLayout;
  dModel: number;
  dFf: number;
  /** First bias that does not fit, as a message. */
  biasProblem?: string;
}

function toSpec(g: Group, index: number, hints: SourceHints, layoutHint: MatrixLayout | undefined, file: string | undefined, options: FindOptions): LayerSpec {
  const id = layerId(g);
  const { up, down, gate, bUp, bDown, bGate } = g.roles as Required<Group['roles']>;
  const fit = chooseLayout(g, id, hints, layoutHint, file);
  const { activation, activationSource } = chooseActivation(g, id, hints, file, options);
  const spec: LayerSpec = {
    id, index, kind: g.convention.kind, activation, activationSource, dModel: fit.dModel, dFf: fit.dFf,
    convention: g.convention.name,
    tensors: { w1: up.tensor.name, w2: down.tensor.name },
    layouts: { w1: fit.layout, w2: fit.layout },
  };
  if (bUp) spec.tensors.b1 = bUp.tensor.name;
  if (bDown) spec.tensors.b2 = bDown.tensor.name;
  if (gate) {
    spec.tensors.gate = gate.tensor.name;
    spec.layouts.gate = fit.layout;
  }
  if (bGate) spec.tensors.bGate = bGate.tensor.name;
  return spec;
}

function shapeText(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function chooseLayout(g: Group, id: string, hints: SourceHints, layoutHint: MatrixLayout | undefined, file?: string): Fit {
  const { up, down, gate } = g.roles;
  for (const m of [up, down, gate]) {
    if (!m) continue;
    const s = m.tensor.shape;
    if (s.length !== 2) throw new FfnLensError(`layer "${id}": ${m.label} is ${shapeText(s)}, expected a matrix`, file);
    if (s[0] === 0 || s[1] === 0) throw new FfnLensError(`layer "${id}": ${m.label} is ${shapeText(s)}, an empty matrix`, file);
  }
  const u = up!.tensor.shape;
  const d = down!.tensor.shape;
  if (d[0] !== u[1] || d[1] !== u[0]) {
    throw new FfnLensError(`layer "${id}": ${up!.label} is ${shapeText(u)} but ${down!.label} is ${shapeText(d)}; expected ${shapeText([u[1], u[0]])}`, file);
  }
  if (gate && (gate.tensor.shape[0] !== u[0] || gate.tensor.shape[1] !== u[1])) {
    throw new FfnLensError(`layer "${id}": ${gate.label} is ${shapeText(gate.tensor.shape)} but ${up!.label} is ${shapeText(u)}; expected the same shape`, file);
  }
  const native = g.convention.native;
  const fits = [native, native === 'in_out' ? 'out_in' : 'in_out'].map((layout) => fitFor(g, layout as MatrixLayout));
  let ok = fits.filter((f) => !f.biasProblem);
  if (ok.length === 0) throw new FfnLensError(`layer "${id}": ${fits[0].biasProblem}`, file);
  const narrow = (pred: (f: Fit) => boolean): void => {
    if (ok.length > 1 && ok.some(pred) && !ok.every(pred)) ok = ok.filter(pred);
  };
  if (hints.inputs) narrow((f) => f.dModel === hints.inputs!.cols);
  if (hints.hiddenSize) narrow((f) => f.dModel === hints.hiddenSize);
  if (hints.intermediateSize) narrow((f) => f.dFf === hints.intermediateSize);
  if (layoutHint) narrow((f) => f.layout === layoutHint);
  return ok[0];
}

function fitFor(g: Group, layout: MatrixLayout): Fit {
  const u = g.roles.up!.tensor.shape;
  const [dModel, dFf] = layout === 'in_out' ? [u[0], u[1]] : [u[1], u[0]];
  const checks: [Match | undefined, number, string][] = [
    [g.roles.bUp, dFf, 'd_ff'], [g.roles.bGate, dFf, 'd_ff'], [g.roles.bDown, dModel, 'd_model'],
  ];
  for (const [m, want, what] of checks) {
    if (!m) continue;
    const n = m.tensor.shape.reduce((a, b) => a * b, 1);
    if (n !== want) return { layout, dModel, dFf, biasProblem: `${m.label} has ${n} number${n === 1 ? '' : 's'}, expected ${want} (${what})` };
  }
  return { layout, dModel, dFf };
}

// ---- activation ----

function chooseActivation(
  g: Group, id: string, hints: SourceHints, file: string | undefined, options: FindOptions,
): { activation: ActivationName; activationSource: LayerSpec['activationSource'] } {
  const { kind, name } = g.convention;
  const fit = (a: ActivationName): ActivationName => fitActivation(a, kind, id, name, file);
  if (options.activation) return { activation: fit(options.activation), activationSource: 'override' };
  const perLayer = layerActivation(hints.layerActivations, id);
  if (perLayer) {
    return { activation: fit(checkActivation(perLayer.value, `"${perLayer.key}.activation" in the file`, file)), activationSource: 'file' };
  }
  if (hints.activation) {
    const from = hints.activationFrom ?? 'file';
    const where = from === 'config' ? 'from config.json' : 'from the file';
    return { activation: fit(checkActivation(hints.activation, where, file)), activationSource: from };
  }
  const byArchitecture = architectureActivation(hints.architecture, kind) ?? g.convention.activation;
  if (byArchitecture) return { activation: fit(byArchitecture), activationSource: 'architecture' };
  return { activation: fit('relu'), activationSource: 'default' };
}

/** The activation set on the layer or its nearest enclosing object (`layers.0` for `layers.0.mlp`). */
function layerActivation(map: SourceHints['layerActivations'], id: string): { key: string; value: string } | undefined {
  if (!map) return undefined;
  for (let key = id; key; key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '') {
    if (Object.prototype.hasOwnProperty.call(map, key)) return { key, value: map[key] };
  }
  return undefined;
}
