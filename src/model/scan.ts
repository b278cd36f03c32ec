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

/** A unit's running state: its top examples (kept sorted, smallest last), histogram, density and a reservoir. */
class UnitState {
  top: ScanExample[] = [];
  hist = new StreamingHistogram(50);
  fired = 0;
  seen = 0;
  max = -Infinity;
  quad = [0, 0, 0, 0];
  reservoir: { value: number; example: ScanExample }[] = [];
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
  const rankOf = (e: ScanExample): number => (byAbs ? Math.abs(e.value) : e.value);
  const random = lcg(20261203);
  const name = (id: number): string => tokenizer.display(id);
  let tokens = 0;
  let windows = 0;
  for (const [fi, f] of files.entries()) {
    // one file's tokens at a time: memory does not grow with the corpus
    const e = tokenizer.encode(await f.text(), { addSpecialTokens: false });
    const fileWindows = Math.ceil(e.ids.length / opts.ctx);
    for (let w = 0, start = 0; start < e.ids.length; w++, start += opts.ctx) {
      if (opts.signal?.aborted) throw new FfnLensError('cancelled', model.path, 'cancelled');
      opts.onProgress?.((fi + w / fileWindows) / files.length, `${f.name}: window ${w + 1} of ${fileWindows}`);
      const ids = e.ids.slice(start, start + opts.ctx);
      const input = bos ? [tokenizer.bosId as number, ...ids] : ids;
      const out = await modelForward(model, input, { engine: opts.engine, layer: opts.layer, store: opts.store, signal: opts.signal });
      const hidden = out.trace.hidden;
      const gate = out.trace.up ? out.trace.preActivation : undefined;
      const up = out.trace.up;
      const dFf = spec.dFf;
      /** The example at window position p (file token start + p). */
      const example = (p: number, value: number): ScanExample => {
        const at = start + p;
        const from = Math.max(0, at - CONTEXT_TOKENS);
        const to = Math.min(e.ids.length, at + CONTEXT_TOKENS + 1);
        const before = e.ids.slice(from, at).map(name).join('');
        const token = name(e.ids[at]);
        const after = e.ids.slice(at + 1, to).map(name).join('');
        return { value, file: f.name, window: w, position: p, token, context: before + token + after, tokenSpan: [before.length, before.length + token.length], offsets: e.offsets[at] };
      };
      for (let p = 0; p < ids.length; p++) {
        const row = (p + bos) * dFf;
        units.forEach((u, j) => {
          const s = state[j];
          const v = hidden[row + u];
          s.seen++;
          if (Math.abs(v) > threshold) s.fired++;
          if (v > s.max) s.max = v;
          s.hist.add(v);
          if (gate && up) s.quad[(gate[row + u] >= 0 ? 0 : 2) + (up[row + u] >= 0 ? 0 : 1)]++;
          const key = byAbs ? Math.abs(v) : v;
          if (opts.top > 0 && (s.top.length < opts.top || key > rankOf(s.top[s.top.length - 1]))) {
            // insert in order (largest first); ties keep the earlier example first
            let at = s.top.length;
            while (at > 0 && rankOf(s.top[at - 1]) < key) at--;
            s.top.splice(at, 0, example(p, v));
            if (s.top.length > opts.top) s.top.pop();
          }
          // reservoir sampling (algorithm R): a uniform sample of the unit's activations
          if (s.reservoir.length < RESERVOIR) s.reservoir.push({ value: v, example: example(p, v) });
          else {
            const k = Math.floor(random() * s.seen);
            if (k < RESERVOIR) s.reservoir[k] = { value: v, example: example(p, v) };
          }
        });
      }
      tokens += ids.length;
      windows++;
    }
  }
  const neurons: ScanNeuron[] = units.map((index, j) => {
    const s = state[j];
    const quantiles = QUANTILES.map((q) => {
      const value = s.hist.quantile(q);
      let best: { value: number; example: ScanExample } | undefined;
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
      examples: s.top,
    };
  });
  opts.onProgress?.(1, 'done');
  return { tokens, windows, layer: opts.layer, threshold, neurons };
}
