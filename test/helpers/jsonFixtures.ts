/**
 * Writes JSON weight files in every naming convention FFN Lens reads, from weights given in math
 * layout (w1 / wGate [dModel x dFf], w2 [dFf x dModel], as rows or flat row-major). Tests of the
 * readers, the layer finder and the CLI share it; it imports nothing from src/ on purpose, so it
 * is an independent statement of how real exports name and lay out their tensors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type JsonConvention =
  | 'W1/W2' | 'w1/w2' | 'linear1/linear2' | 'c_fc/c_proj' | 'fc1/fc2' | 'fc_in/fc_out' | 'wi/wo' | 'wi_0/wi_1/wo'
  | 'intermediate/output' | 'dense_h_to_4h/dense_4h_to_h' | 'gate_proj/up_proj/down_proj' | 'w1/w3/w2'
  | 'ffn_gate/ffn_up/ffn_down' | 'ffn_up/ffn_down';

/** flat dotted keys; nested objects; flat `{shape, data}`; nested with numbered levels as arrays of layer objects. */
export type JsonStyle = 'flat' | 'nested' | 'shape-data' | 'layer-array';

/** A matrix as rows, or flat row-major. */
export type Matrix = ArrayLike<number> | ArrayLike<ArrayLike<number>>;

/** Math layout: w1 / wGate [dModel x dFf], w2 [dFf x dModel]. Gated conventions need wGate. */
export interface MathWeights {
  w1: Matrix;
  b1?: ArrayLike<number>;
  wGate?: Matrix;
  bGate?: ArrayLike<number>;
  w2: Matrix;
  b2?: ArrayLike<number>;
}

export interface JsonLayerOptions {
  dModel: number;
  dFf: number;
  /** Name prefix with its trailing dot; default the convention's real one (`h.0.mlp.`), `''` for none. */
  prefix?: string;
  /** Top-level `"activation"`. */
  activation?: string;
  tokens?: string[];
  /** T x dModel. */
  inputs?: ArrayLike<ArrayLike<number>>;
  /** How matrices are stored; default the convention's native layout. */
  layout?: 'math' | 'torch';
  /** Writes a top-level `"layout"` key with this value. */
  layoutKey?: string;
  style?: JsonStyle;
  /** More top-level entries (`model_type`, `config`, extra tensors...). */
  extra?: Record<string, unknown>;
  /** Default `<convention>.json` with `/` replaced. */
  fileName?: string;
}

interface Naming {
  prefix: string;
  native: 'math' | 'torch';
  up: string;
  down: string;
  gate?: string;
  /** Our own JSON names biases separately; everything else uses `<name>.bias`. */
  biases?: [string, string, string];
}

/** The real prefix and the tensor names each convention uses. */
export const NAMINGS: Readonly<Record<JsonConvention, Naming>> = {
  'W1/W2': { prefix: '', native: 'math', up: 'W1', down: 'W2', gate: 'Wg', biases: ['b1', 'b2', 'bg'] },
  'w1/w2': { prefix: '', native: 'math', up: 'w1', down: 'w2', biases: ['b1', 'b2', 'bg'] },
  'linear1/linear2': { prefix: 'layers.0.', native: 'torch', up: 'linear1.weight', down: 'linear2.weight' },
  'c_fc/c_proj': { prefix: 'h.0.mlp.', native: 'math', up: 'c_fc.weight', down: 'c_proj.weight' },
  'fc1/fc2': { prefix: 'model.decoder.layers.0.', native: 'torch', up: 'fc1.weight', down: 'fc2.weight' },
  'fc_in/fc_out': { prefix: 'transformer.h.0.mlp.', native: 'torch', up: 'fc_in.weight', down: 'fc_out.weight' },
  'wi/wo': { prefix: 'encoder.block.0.layer.1.DenseReluDense.', native: 'torch', up: 'wi.weight', down: 'wo.weight' },
  'wi_0/wi_1/wo': { prefix: 'encoder.block.0.layer.1.DenseReluDense.', native: 'torch', gate: 'wi_0.weight', up: 'wi_1.weight', down: 'wo.weight' },
  'intermediate/output': { prefix: 'encoder.layer.0.', native: 'torch', up: 'intermediate.dense.weight', down: 'output.dense.weight' },
  'dense_h_to_4h/dense_4h_to_h': { prefix: 'gpt_neox.layers.0.mlp.', native: 'torch', up: 'dense_h_to_4h.weight', down: 'dense_4h_to_h.weight' },
  'gate_proj/up_proj/down_proj': { prefix: 'model.layers.0.mlp.', native: 'torch', gate: 'gate_proj.weight', up: 'up_proj.weight', down: 'down_proj.weight' },
  'w1/w3/w2': { prefix: 'model.layers.0.block_sparse_moe.experts.0.', native: 'torch', gate: 'w1.weight', up: 'w3.weight', down: 'w2.weight' },
  'ffn_gate/ffn_up/ffn_down': { prefix: 'blk.0.', native: 'torch', gate: 'ffn_gate.weight', up: 'ffn_up.weight', down: 'ffn_down.weight' },
  'ffn_up/ffn_down': { prefix: 'blk.0.', native: 'torch', up: 'ffn_up.weight', down: 'ffn_down.weight' },
};

export const ALL_CONVENTIONS = Object.keys(NAMINGS) as JsonConvention[];

/** True for conventions with a gate matrix. */
export function isGatedConvention(c: JsonConvention): boolean {
  return c !== 'W1/W2' && NAMINGS[c].gate !== undefined;
}

type JsonNumber = number | string;

/** Python-export spelling of non-finite numbers. */
function jsonNumber(x: number): JsonNumber {
  return Number.isFinite(x) ? x : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

function toFlat(m: Matrix, rows: number, cols: number, what: string): number[] {
  const flat: number[] = [];
  if (m.length > 0 && typeof m[0] !== 'number') {
    const rs = m as ArrayLike<ArrayLike<number>>;
    for (let r = 0; r < rs.length; r++) for (let c = 0; c < rs[r].length; c++) flat.push(rs[r][c]);
  } else {
    for (let i = 0; i < m.length; i++) flat.push((m as ArrayLike<number>)[i]);
  }
  if (flat.length !== rows * cols) throw new Error(`jsonFixtures: ${what} has ${flat.length} values, expected ${rows} x ${cols}`);
  return flat;
}

/** Rows of a [rows x cols] flat matrix, transposed first when asked. */
function rowsOf(flat: number[], rows: number, cols: number, transposed: boolean): JsonNumber[][] {
  const [outRows, outCols] = transposed ? [cols, rows] : [rows, cols];
  const out: JsonNumber[][] = [];
  for (let r = 0; r < outRows; r++) {
    const row: JsonNumber[] = [];
    for (let c = 0; c < outCols; c++) row.push(jsonNumber(transposed ? flat[c * cols + r] : flat[r * cols + c]));
    out.push(row);
  }
  return out;
}

/**
 * The layer's tensors under their full dotted names, as nested arrays in the file's layout:
 * math stores up/gate as [dModel, dFf] and down as [dFf, dModel]; torch stores their transposes.
 */
export function jsonLayerEntries(convention: JsonConvention, w: MathWeights, opts: JsonLayerOptions): Record<string, JsonNumber[] | JsonNumber[][]> {
  const n = NAMINGS[convention];
  const { dModel, dFf } = opts;
  const prefix = opts.prefix ?? n.prefix;
  const torch = (opts.layout ?? n.native) === 'torch';
  const biasName = (i: 0 | 1 | 2, weightName: string): string => prefix + (n.biases ? n.biases[i] : weightName.replace(/weight$/, 'bias'));
  const vec = (v: ArrayLike<number>): JsonNumber[] => Array.from(v, jsonNumber);
  const out: Record<string, JsonNumber[] | JsonNumber[][]> = {};
  const gated = isGatedConvention(convention) || (convention === 'W1/W2' && w.wGate !== undefined);
  if (gated) {
    if (!w.wGate || !n.gate) throw new Error(`jsonFixtures: ${convention} needs wGate`);
    out[prefix + n.gate] = rowsOf(toFlat(w.wGate, dModel, dFf, 'wGate'), dModel, dFf, torch);
    if (w.bGate) out[biasName(2, n.gate)] = vec(w.bGate);
  }
  out[prefix + n.up] = rowsOf(toFlat(w.w1, dModel, dFf, 'w1'), dModel, dFf, torch);
  if (w.b1) out[biasName(0, n.up)] = vec(w.b1);
  out[prefix + n.down] = rowsOf(toFlat(w.w2, dFf, dModel, 'w2'), dFf, dModel, torch);
  if (w.b2) out[biasName(1, n.down)] = vec(w.b2);
  return out;
}

/** Builds the JSON object for dotted `entries` in `style`. */
export function styleEntries(entries: Record<string, unknown>, style: JsonStyle): Record<string, unknown> {
  if (style === 'flat') return { ...entries };
  if (style === 'shape-data') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entries)) {
      const rows = v as unknown[];
      const matrix = Array.isArray(rows[0]);
      out[k] = matrix
        ? { shape: [rows.length, (rows[0] as unknown[]).length], data: (rows as unknown[][]).flat(), dtype: 'float32' }
        : { shape: [rows.length], data: rows };
    }
    return out;
  }
  const root: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entries)) {
    const parts = k.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = v;
  }
  return style === 'layer-array' ? (arrayify(root) as Record<string, unknown>) : root;
}

/** Objects whose keys are exactly 0..n-1 become arrays (`{"layers": [{...}, {...}]}`). */
function arrayify(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const mapped = Object.fromEntries(keys.map((k) => [k, arrayify(o[k])]));
  const numbered = keys.length > 0 && keys.every((k, i) => k === String(i)) && keys.every((k) => typeof mapped[k] === 'object' && !Array.isArray(mapped[k]));
  return numbered ? keys.map((k) => mapped[k]) : mapped;
}

function topLevel(opts: JsonLayerOptions): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  if (opts.activation !== undefined) top.activation = opts.activation;
  if (opts.layoutKey !== undefined) top.layout = opts.layoutKey;
  if (opts.tokens) top.tokens = opts.tokens;
  if (opts.inputs) top.inputs = Array.from(opts.inputs, (row) => Array.from(row, jsonNumber));
  return top;
}

/** Writes one layer in `convention`'s naming and layout; returns the file's path. */
export function writeJsonLayer(dir: string, convention: JsonConvention, weights: MathWeights, opts: JsonLayerOptions): string {
  return writeJsonLayers(dir, convention, [{ weights }], opts);
}

/** Writes several layers (each with its own prefix, default the convention's with the block number i). */
export function writeJsonLayers(
  dir: string, convention: JsonConvention, layers: { weights: MathWeights; prefix?: string }[], opts: JsonLayerOptions,
): string {
  const entries: Record<string, unknown> = {};
  layers.forEach((l, i) => {
    const native = NAMINGS[convention].prefix;
    const prefix = l.prefix ?? opts.prefix ?? (native === '' && layers.length > 1 ? `layers.${i}.` : native.replace(/\b0\./, `${i}.`));
    Object.assign(entries, jsonLayerEntries(convention, l.weights, { ...opts, prefix }));
  });
  const body = { ...topLevel(opts), ...styleEntries(entries, opts.style ?? 'flat'), ...opts.extra };
  const file = path.join(dir, opts.fileName ?? `${convention.replace(/\//g, '_')}.json`);
  fs.writeFileSync(file, JSON.stringify(body));
  return file;
}

/** A fresh temporary folder for one test. */
export function tempDir(tag = 'ffn-lens'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
}
