/**
 * A corpus scan (issue 12): every file's text through the model to block L, and for each unit
 * watched, where it fires hardest. The rules other scripts rely on:
 *  - files in sorted path order, each tokenised on its own with no special tokens, its ids cut into
 *    consecutive windows of `ctx` ids (the last may be shorter);
 *  - each window runs on its own from position 0, BOS prepended only where the tokenizer adds one
 *    by default; `position` never counts it; `window` is the window's index within its file;
 *  - examples ranked by the unit's hidden value (what enters the down projection), largest first;
 *  - density: the share of scanned tokens with |hidden| > threshold (0 for ReLU, 0.01 for smooth
 *    activations unless given);
 *  - a 50-bin histogram per unit and quantile samples from the middle of the distribution.
 * Memory stays at units x K examples (and a 20-example reservoir per unit) plus one window.
 * No `vscode` import.
 */
import { DEFAULT_SMOOTH_THRESHOLD } from '../core/analyze';
import { FfnLensError } from '../core/errors';
import type { GemmEngine } from '../kernels';
import { modelForward } from './forward';
import type { OpenModel } from './open';
import { StreamingHistogram } from './scanStats';
import type { WeightStore } from './store';

/** One text of the corpus: `name` as reported (the path as given, or relative to its folder), read when its turn comes. */
export interface CorpusFile {
  name: string;
  text(): Promise<string>;
}

export interface ScanExample {
  value: number;
  file: string;
  window: number;
  position: number;
  token: string;
  /** About 12 tokens either side, as text; the token is at `tokenSpan` within it. */
  context: string;
  tokenSpan: [number, number];
  /** [start, end) of the token in the file's text (UTF-16 indices), to open it there. */
  offsets: [number, number];
}

export interface ScanNeuron {
  index: number;
  /** Gated FFNs: the share of scanned tokens with gate+/up+, gate+/up−, gate−/up+, gate−/up− (zero counts as +). */
  quadrants?: { pp: number; pn: number; np: number; nn: number };
  density: number;
  max: number;
  histogram: { edges: number[]; counts: number[] };
  quantiles: { q: number; value: number; example: ScanExample | null }[];
  examples: ScanExample[];
}

export interface ScanResult {
  tokens: number;
  windows: number;
  layer: number;
  threshold: number;
  neurons: ScanNeuron[];
}

export interface ScanOptions {
  engine: GemmEngine;
  layer: number;
  ctx: number;
  top: number;
  /** Units to watch; undefined: every unit of the layer. */
  neurons?: readonly number[];
  threshold?: number;
  /** Rank examples by the signed hidden value (default) or by its magnitude (a gated unit's meaning can sit in its negative products). */
  rank?: 'signed' | 'abs';
  store?: WeightStore;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/** Context tokens shown either side of an example. */
export const CONTEXT_TOKENS = 12;
const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9];
const RESERVOIR = 20;

/**
 * A place an example stands at, kept as numbers while its file is being scanned; its text (the
 * token and its context) is built once the file is done, and only for places still kept.
 */
interface Place {
  value: number;
  window: number;
  position: number;
  /** The token's index in its file. */
  at: number;
  example?: ScanExample;
}

/** A unit's running state: its top places (sorted, largest first), histogram, density and a reservoir. */
class UnitState {
  top: Place[] = [];
  hist = new StreamingHistogram(50);
  fired = 0;
  seen = 0;
  max = -Infinity;
  quad = [0, 0, 0, 0];
  reservoir: Place[] = [];
}

/** Deterministic pseudo-random numbers for the reservoirs (the same scan gives the same samples). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function scanCorpus(model: OpenModel, files: readonly CorpusFile[], opts: ScanOptions): Promise<ScanResult> {
  const { spec, tokenizer } = model;
  if (!Number.isInteger(opts.ctx) || opts.ctx < 1) throw new FfnLensError(`--ctx must be at least 1, got ${opts.ctx}`, model.path, 'usage');
  const bos = tokenizer.addsBos && tokenizer.bosId !== undefined ? 1 : 0;
  if (opts.ctx + bos > spec.maxPositions) throw new FfnLensError(`--ctx ${opts.ctx} is longer than the model's context of ${spec.maxPositions}${bos ? ' (with its BOS)' : ''}`, model.path, 'usage');
  const units = opts.neurons ? [...opts.neurons] : Array.from({ length: spec.dFf }, (_, i) => i);
  const bad = units.find((u) => !Number.isInteger(u) || u < 0 || u >= spec.dFf);
  if (bad !== undefined) throw new FfnLensError(`neuron ${bad} does not exist: block ${opts.layer}'s FFN has units 0..${spec.dFf - 1}`, model.path, 'usage');
  const relu = spec.activation === 'relu' || spec.activation === 'reglu';
  const threshold = relu ? 0 : (opts.threshold ?? DEFAULT_SMOOTH_THRESHOLD);
  const state = units.map(() => new UnitState());
  const byAbs = opts.rank === 'abs';
  const random = lcg(20261203);
  // each token's readable text once: building contexts is otherwise most of a scan's time
  const shown = new Map<number, string>();
  const name = (id: number): string => {
    let t = shown.get(id);
    if (t === undefined) shown.set(id, (t = tokenizer.display(id)));
    return t;
  };
  const top = opts.top;
  const dFf = spec.dFf;
  let tokens = 0;
  let windows = 0;
  for (const [fi, f] of files.entries()) {
    // one file's tokens at a time: memory does not grow with the corpus
    const e = tokenizer.encode(await f.text(), { addSpecialTokens: false });
    const fileWindows = Math.ceil(e.ids.length / opts.ctx);
    /** Places of this file kept at some point (their text is built when the file is done). */
    const pending: Place[] = [];
    for (let w = 0, start = 0; start < e.ids.length; w++, start += opts.ctx) {
      if (opts.signal?.aborted) throw new FfnLensError('cancelled', model.path, 'cancelled');
      opts.onProgress?.((fi + w / fileWindows) / files.length, `${f.name}: window ${w + 1} of ${fileWindows}`);
      const ids = e.ids.slice(start, start + opts.ctx);
      const input = bos ? [tokenizer.bosId as number, ...ids] : ids;
      const out = await modelForward(model, input, { engine: opts.engine, layer: opts.layer, store: opts.store, signal: opts.signal, rowNorms: false });
      const hidden = out.trace.hidden;
      const gate = out.trace.up ? out.trace.preActivation : undefined;
      const up = out.trace.up;
      for (let j = 0; j < units.length; j++) {
        const u = units[j];
        const s = state[j];
        for (let p = 0; p < ids.length; p++) {
          const at = (p + bos) * dFf + u;
          const v = hidden[at];
          s.seen++;
          if (Math.abs(v) > threshold) s.fired++;
          if (v > s.max) s.max = v;
          s.hist.add(v);
          if (gate && up) s.quad[(gate[at] >= 0 ? 0 : 2) + (up[at] >= 0 ? 0 : 1)]++;
          const key = byAbs ? Math.abs(v) : v;
          const list = s.top;
          if (top > 0 && (list.length < top || key > (byAbs ? Math.abs(list[list.length - 1].value) : list[list.length - 1].value))) {
            // insert in order (largest first); ties keep the earlier place first
            let k = list.length;
            while (k > 0 && (byAbs ? Math.abs(list[k - 1].value) : list[k - 1].value) < key) k--;
            const place: Place = { value: v, window: w, position: p, at: start + p };
            list.splice(k, 0, place);
            pending.push(place);
            if (list.length > top) list.pop();
          }
          // reservoir sampling (algorithm R): a uniform sample of the unit's activations
          const r = s.reservoir.length < RESERVOIR ? s.reservoir.length : Math.floor(random() * s.seen);
          if (r < RESERVOIR) {
            const place: Place = { value: v, window: w, position: p, at: start + p };
            s.reservoir[r] = place;
            pending.push(place);
          }
        }
      }
      tokens += ids.length;
      windows++;
    }
    // the file is done: the text of every place still kept, then the file's tokens can go
    const kept = new Set<Place>();
    for (const s of state) for (const place of [...s.top, ...s.reservoir]) kept.add(place);
    for (const place of pending) {
      if (place.example || !kept.has(place)) continue;
      const from = Math.max(0, place.at - CONTEXT_TOKENS);
      const to = Math.min(e.ids.length, place.at + CONTEXT_TOKENS + 1);
      let before = '';
      for (let i = from; i < place.at; i++) before += name(e.ids[i]);
      const token = name(e.ids[place.at]);
      let after = '';
      for (let i = place.at + 1; i < to; i++) after += name(e.ids[i]);
      place.example = {
        value: place.value,
        file: f.name,
        window: place.window,
        position: place.position,
        token,
        context: before + token + after,
        tokenSpan: [before.length, before.length + token.length],
        offsets: e.offsets[place.at],
      };
    }
  }
  const neurons: ScanNeuron[] = units.map((index, j) => {
    const s = state[j];
    const quantiles = QUANTILES.map((q) => {
      const value = s.hist.quantile(q);
      let best: Place | undefined;
      for (const r of s.reservoir) if (!best || Math.abs(r.value - value) < Math.abs(best.value - value)) best = r;
      return { q, value, example: best?.example ?? null };
    });
    const quadrants = s.quad.some((x) => x > 0) ? { pp: s.quad[0] / s.seen, pn: s.quad[1] / s.seen, np: s.quad[2] / s.seen, nn: s.quad[3] / s.seen } : undefined;
    return {
      index,
      ...(quadrants ? { quadrants } : {}),
      density: s.seen ? s.fired / s.seen : 0,
      max: s.seen ? s.max : 0,
      histogram: s.hist.toJson(),
      quantiles,
      examples: s.top.map((p) => p.example as ScanExample),
    };
  });
  opts.onProgress?.(1, 'done');
  return { tokens, windows, layer: opts.layer, threshold, neurons };
}
