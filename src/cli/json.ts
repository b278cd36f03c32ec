/**
 * The JSON the CLI prints (`run --json`, `inspect --json`): the contract of issue 2, key for key.
 * Float32 values are printed as the JS numbers they are (no rounding). JSON has no NaN/Infinity:
 * they are written as `null`, and a line in `warnings` says how many there were.
 */
import type { InspectResult, RunResult } from '../protocol/run';
import type { TensorStats } from '../core/types';

/** One row of `perToken` in `run --json`. */
export interface JsonToken {
  token: string;
  sparsity: number | null;
  norms: { input: number | null; expanded: number | null; filtered: number | null; output: number | null };
  topNeurons: { index: number; value: number | null; score: number | null }[];
}

/** `run --json`: the contract keys plus `file`, `format`, `sparsity`, `threshold`, `warnings`, `layers`. */
export interface RunJson {
  file: string;
  format: string;
  layer: string;
  activation: string;
  dModel: number;
  dFf: number;
  tokens: string[];
  output: (number | null)[][];
  perToken: JsonToken[];
  neurons: { dead: number[]; firingRate: (number | null)[] };
  sparsity: number | null;
  threshold: number;
  /** The compute path that ran: WebAssembly SIMD kernels or TypeScript. */
  engine?: 'wasm' | 'ts';
  preActivation?: (number | null)[][];
  hidden?: (number | null)[][];
  layers: { id: string; index: number; kind: string; convention: string; activation: string; dModel: number; dFf: number }[];
  warnings: string[];
}

/** `inspect --json`. */
export interface InspectJson {
  file: string;
  format: string;
  tensors: { name: string; dtype: string; shape: number[]; stats: JsonStats | null; statsError?: string }[];
  layers: RunJson['layers'];
  layersError?: string;
  /** Entries that look like tensors but could not be read: never silently dropped. */
  problems: { name: string; message: string }[];
  warnings: string[];
}

type JsonStats = { [K in keyof Pick<TensorStats, 'mean' | 'std' | 'min' | 'max' | 'zeroFraction' | 'nanCount' | 'infCount'>]: number | null };

/** Counts the non-finite numbers turned into `null` while building one document. */
class NullCounter {
  count = 0;
  num(x: number): number | null {
    if (Number.isFinite(x)) return x;
    this.count++;
    return null;
  }
  rows(data: ArrayLike<number>, rows: number, cols: number): (number | null)[][] {
    const out: (number | null)[][] = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const row: (number | null)[] = new Array(cols);
      for (let c = 0; c < cols; c++) row[c] = this.num(data[r * cols + c]);
      out[r] = row;
    }
    return out;
  }
  warning(): string[] {
    return this.count ? [`${this.count} non-finite value${this.count === 1 ? '' : 's'} (NaN or Infinity) written as null`] : [];
  }
}

function layerList(layers: RunResult['layers']): RunJson['layers'] {
  return layers.map((l) => ({ id: l.id, index: l.index, kind: l.kind, convention: l.convention, activation: l.activation, dModel: l.dModel, dFf: l.dFf }));
}

/** Builds the `run --json` document; `full` adds `preActivation` and `hidden` (T x dFf each). */
export function runToJson(r: RunResult, full: boolean, engine?: 'wasm' | 'ts'): RunJson {
  const n = new NullCounter();
  const T = r.tokens.length;
  const doc: RunJson = {
    file: r.file,
    format: r.format,
    layer: r.layer.id,
    activation: r.activation,
    dModel: r.dModel,
    dFf: r.dFf,
    tokens: r.tokens,
    output: n.rows(r.output, T, r.dModel),
    perToken: r.analysis.perToken.map((t) => ({
      token: t.token,
      sparsity: n.num(t.sparsity),
      norms: { input: n.num(t.norms.input), expanded: n.num(t.norms.expanded), filtered: n.num(t.norms.filtered), output: n.num(t.norms.output) },
      topNeurons: t.topNeurons.map((k) => ({ index: k.index, value: n.num(k.value), score: n.num(k.score) })),
    })),
    neurons: { dead: r.analysis.neurons.dead, firingRate: Array.from(r.analysis.neurons.firingRate, (x) => n.num(x)) },
    sparsity: n.num(r.analysis.sparsity),
    threshold: r.analysis.threshold,
    ...(engine ? { engine } : {}),
    ...(full ? { preActivation: n.rows(r.preActivation, T, r.dFf), hidden: n.rows(r.hidden, T, r.dFf) } : {}),
    layers: layerList(r.layers),
    warnings: [],
  };
  doc.warnings = [...r.warnings, ...n.warning()];
  return doc;
}

/** Builds the `inspect --json` document. */
export function inspectToJson(r: InspectResult): InspectJson {
  const n = new NullCounter();
  const doc: InspectJson = {
    file: r.file,
    format: r.format,
    tensors: r.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      stats: t.stats
        ? {
            mean: n.num(t.stats.mean),
            std: n.num(t.stats.std),
            min: n.num(t.stats.min),
            max: n.num(t.stats.max),
            zeroFraction: n.num(t.stats.zeroFraction),
            nanCount: t.stats.nanCount,
            infCount: t.stats.infCount,
          }
        : null,
      ...(t.statsError ? { statsError: t.statsError } : {}),
    })),
    layers: layerList(r.layers),
    problems: r.problems.map((p) => ({ name: p.name, message: p.message })),
    warnings: [],
  };
  if (r.layersError) doc.layersError = r.layersError;
  doc.warnings = n.warning();
  return doc;
}
