/**
 * Where a run's per-token inputs come from: the weight file's own `inputs`/`tokens`, seeded random
 * vectors, or a separate inputs file (JSON `{tokens?, inputs}` or a `.npy` T x d_model array).
 * Resolution is in two steps, so the shape is known (and checked against the layer and the memory
 * budget) before anything large is read. No `vscode` import.
 */
import { promises as fs } from 'fs';
import { FfnLensError } from '../core/errors';
import { randomInputs } from '../core';
import { openNpySource } from '../formats/npy';
import type { TensorSource } from '../formats/source';
import type { LayerSpec } from '../layers/types';
import type { InputSpec } from '../protocol/run';

/** Tokens used when the weight file has no inputs and none were given. */
export const DEFAULT_RANDOM_TOKENS = 8;
/** Seed used with DEFAULT_RANDOM_TOKENS. */
export const DEFAULT_RANDOM_SEED = 0;

export interface LoadedInputs {
  /** [rows x cols] row-major */
  data: Float32Array;
  tokens: string[];
}

/** The inputs' shape, known before their values are read. */
export interface InputPlan {
  rows: number;
  cols: number;
  /** The file the inputs come from (for messages). */
  origin: string;
  /** Non-fatal notes, such as the random fallback. */
  warnings: string[];
  read(signal?: AbortSignal): Promise<LoadedInputs>;
  /** Releases an open inputs file. Safe to call twice. */
  close(): Promise<void>;
}

/** Works out the inputs' shape for `spec` and checks the width and the token count. */
export async function planInputs(spec: InputSpec, source: TensorSource, layer: LayerSpec): Promise<InputPlan> {
  const plan = await planFor(spec, source, layer);
  try {
    if (plan.cols !== layer.dModel) {
      throw new FfnLensError(`inputs have width ${plan.cols} but layer "${layer.id}" has d_model ${layer.dModel}`, plan.origin);
    }
    if (plan.rows < 1) throw new FfnLensError('inputs have no rows (at least one token is needed)', plan.origin);
    return plan;
  } catch (e) {
    await plan.close();
    throw e;
  }
}

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

const noClose = async (): Promise<void> => {};

function randomPlan(tokens: number, seed: number, layer: LayerSpec, origin: string, warnings: string[]): InputPlan {
  return {
    rows: tokens,
    cols: layer.dModel,
    origin,
    warnings,
    read: async () => {
      const r = randomInputs(tokens, layer.dModel, seed);
      return { data: r.data, tokens: r.labels };
    },
    close: noClose,
  };
}

async function planFor(spec: InputSpec, source: TensorSource, layer: LayerSpec): Promise<InputPlan> {
  switch (spec.kind) {
    case 'random':
      if (!Number.isInteger(spec.tokens) || spec.tokens < 1) {
        throw new FfnLensError(`the number of random tokens must be a whole number of at least 1, got ${spec.tokens}`, undefined, 'usage');
      }
      return randomPlan(spec.tokens, spec.seed, layer, source.path, []);
    case 'file': {
      const inputs = source.hints.inputs;
      if (!inputs) {
        const note = `${source.path} has no inputs: using ${DEFAULT_RANDOM_TOKENS} random N(0,1) tokens (seed ${DEFAULT_RANDOM_SEED})`;
        return randomPlan(DEFAULT_RANDOM_TOKENS, DEFAULT_RANDOM_SEED, layer, source.path, [note]);
      }
      const tokens = checkTokens(source.hints.tokens, inputs.rows, source.path);
      return {
        rows: inputs.rows,
        cols: inputs.cols,
        origin: source.path,
        warnings: [],
        read: async () => ({ data: inputs.data, tokens }),
        close: noClose,
      };
    }
    case 'inputsFile':
      return /\.npy$/i.test(spec.path) ? planNpy(spec.path) : planJson(spec.path);
  }
}

function defaultLabels(rows: number): string[] {
  return Array.from({ length: rows }, (_, t) => `t${t}`);
}

function checkTokens(tokens: unknown, rows: number, file: string): string[] {
  if (tokens === undefined) return defaultLabels(rows);
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new FfnLensError('"tokens" must be an array of strings', file);
  }
  if (tokens.length !== rows) throw new FfnLensError(`${tokens.length} tokens but ${rows} input rows`, file);
  return tokens;
}

async function planNpy(path: string): Promise<InputPlan> {
  const src = await openNpySource(path);
  const info = src.tensors[0];
  const shape = info.shape;
  if (shape.length !== 1 && shape.length !== 2) {
    await src.close();
    throw new FfnLensError(`inputs must be a T x d_model array, got shape (${shape.join(', ')})`, path);
  }
  const [rows, cols] = shape.length === 2 ? shape : [1, shape[0]];
  return {
    rows,
    cols,
    origin: path,
    warnings: [],
    read: async (signal) => ({ data: await src.read(info.name, { signal }), tokens: defaultLabels(rows) }),
    close: () => src.close(),
  };
}

async function planJson(path: string): Promise<InputPlan> {
  const text = await fs.readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FfnLensError(`not valid JSON (${e instanceof Error ? e.message : String(e)})`, path);
  }
  const obj: Record<string, unknown> = Array.isArray(doc) ? { inputs: doc } : isRecord(doc) ? doc : {};
  if (!('inputs' in obj)) throw new FfnLensError('expected an object with "inputs" (T x d_model numbers) and optional "tokens"', path);
  const { data, rows, cols } = parseMatrix(obj.inputs, path);
  const tokens = checkTokens(obj.tokens, rows, path);
  return { rows, cols, origin: path, warnings: [], read: async () => ({ data, tokens }), close: noClose };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `inputs` as nested rows (`[[...], [...]]`), one row (`[...]`), or `{shape: [T, d], data: [...]}`.
 * `null` stands for NaN (it is how `run --json` writes non-finite numbers); the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"` (and `inf`) are read as in weight files.
 */
function parseMatrix(v: unknown, file: string): { data: Float32Array; rows: number; cols: number } {
  const num = (x: unknown, where: string): number => {
    if (typeof x === 'number') return x;
    if (x === null) return NaN;
    if (typeof x === 'string' && NON_FINITE.test(x.trim())) {
      const t = x.trim().toLowerCase();
      return t.endsWith('nan') ? NaN : t.startsWith('-') ? -Infinity : Infinity;
    }
    throw new FfnLensError(`inputs${where} is ${JSON.stringify(x) ?? typeof x}, not a number`, file);
  };
  if (isRecord(v)) {
    const { shape, data } = v;
    if (!Array.isArray(shape) || !Array.isArray(data) || !shape.every((d) => Number.isInteger(d) && d >= 0) || shape.length < 1 || shape.length > 2) {
      throw new FfnLensError('inputs: expected {"shape": [T, d_model], "data": [numbers]}', file);
    }
    const [rows, cols] = shape.length === 2 ? (shape as number[]) : [1, shape[0] as number];
    if (data.length !== rows * cols) throw new FfnLensError(`inputs: shape [${shape.join(', ')}] needs ${rows * cols} values but data has ${data.length}`, file);
    return { data: Float32Array.from(data, (x, i) => num(x, `.data[${i}]`)), rows, cols };
  }
  if (!Array.isArray(v) || v.length === 0) throw new FfnLensError('inputs: expected a non-empty T x d_model array of numbers', file);
  const rowsIn = Array.isArray(v[0]) ? (v as unknown[]) : [v];
  const cols = Array.isArray(rowsIn[0]) ? rowsIn[0].length : 0;
  const data = new Float32Array(rowsIn.length * cols);
  rowsIn.forEach((row, r) => {
    if (!Array.isArray(row)) throw new FfnLensError(`inputs[${r}] is not an array (rows must all be arrays of numbers)`, file);
    if (row.length !== cols) throw new FfnLensError(`inputs row ${r} has ${row.length} values but row 0 has ${cols}`, file);
    row.forEach((x, c) => (data[r * cols + c] = num(x, `[${r}][${c}]`)));
  });
  return { data, rows: rowsIn.length, cols };
}
