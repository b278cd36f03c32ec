/**
 * One "run a layer" job from start to finish: open the file, find and select the layer, check the
 * memory budget before reading any weights, load, get the inputs, run forward and analyze, and
 * flag NaN/Inf. Used unchanged by the CLI, the compute worker and the extension. No `vscode` import.
 */
import { promises as fs } from 'fs';
import { ACTIVATIONS, type ActivationName, type FfnWeights } from '../core/types';
import { FfnLensError } from '../core/errors';
import { analyze, forward, type Gemm } from '../core';
import { openSource } from '../formats/open';
import { findLayers, fitActivation, loadLayer, selectLayer } from '../layers';
import type { LayerSpec } from '../layers/types';
import type { Progress, RunRequest, RunResult } from '../protocol/run';
import { planInputs, type InputPlan } from './inputs';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The matrix kernel (defaults to the core's TypeScript kernel). */
  gemm?: Gemm;
  /**
   * Where the weights and the trace live while the layer runs (the matrix kernel's `alloc`, so no
   * product copies its operands in). The caller releases what it returned once `runLayer` settles;
   * the result never refers to those arrays (its arrays are copied out, T x (2 d_ff + 2 d_model)
   * values), so they may be released or reused right away.
   */
  alloc?: (length: number) => Float32Array;
  /**
   * Awaited just before the forward pass, so reading the file overlaps with whatever the caller
   * still prepares for the products (the worker's kernel warming up, its helper threads booting).
   */
  computeReady?: Promise<unknown>;
  /**
   * Supplies the layer's weights instead of reading them every time: called with a key naming
   * the file's version (path, size, modification time) and the layer, and `load`, which reads
   * them (into `alloc`ated memory). The worker keeps the last layer it ran this way, so a re-run
   * with other inputs or another activation reads nothing. Return `reused: true` for held weights.
   */
  weights?: (key: string, load: () => Promise<FfnWeights>) => Promise<{ weights: FfnWeights; reused: boolean }>;
}

/** What identifies a layer's weights: the file's version and the layer's tensors and layout. */
async function weightsKey(file: string, layer: LayerSpec): Promise<string> {
  const { activation: _a, activationSource: _s, ...tensors } = layer;
  let version: [number, number] | null = null;
  try {
    const st = await fs.stat(file);
    version = [st.size, st.mtimeMs];
  } catch {
    // not a local path: the key still names the layer; such files are copies made per run
  }
  return JSON.stringify([file, version, tensors]);
}

/** What a run will hold in float32, in bytes, split so a refusal can show the numbers. */
export interface RunEstimate {
  weightBytes: number;
  activationBytes: number;
  totalBytes: number;
}

/**
 * float32 bytes of the layer's weights (and biases) plus the per-token working set:
 * T x (2 d_ff + 2 d_model) values (input, pre-activation, hidden, output), one more T x d_ff for
 * a gated layer's up projection.
 */
export function estimateRunBytes(layer: LayerSpec, tokens: number): RunEstimate {
  const { dModel, dFf } = layer;
  const gated = layer.kind === 'gated';
  const t = layer.tensors;
  const weights = (gated ? 3 : 2) * dModel * dFf + (t.b1 ? dFf : 0) + (t.bGate ? dFf : 0) + (t.b2 ? dModel : 0);
  const activations = tokens * ((gated ? 3 : 2) * dFf + 2 * dModel);
  return { weightBytes: 4 * weights, activationBytes: 4 * activations, totalBytes: 4 * (weights + activations) };
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Throws FfnLensError kind `budget` when the run would need more than `budget` bytes. */
export function checkBudget(layer: LayerSpec, tokens: number, budget: number | undefined, file: string): void {
  if (budget === undefined) return;
  const e = estimateRunBytes(layer, tokens);
  if (e.totalBytes <= budget) return;
  throw new FfnLensError(
    `layer "${layer.id}" needs ${e.totalBytes} bytes (${mib(e.totalBytes)}) of float32 memory: ` +
      `weights ${e.weightBytes} bytes (d_model ${layer.dModel} x d_ff ${layer.dFf}, ${layer.kind}) + ` +
      `activations ${e.activationBytes} bytes for ${tokens} tokens, over the memory budget of ${budget} bytes (${mib(budget)})`,
    file,
    'budget',
  );
}

/** The activation a run uses: the override (a plain name on a gated layer means its gated form) or the layer's. */
export function resolveActivation(layer: LayerSpec, override: ActivationName | undefined, file: string): ActivationName {
  if (override === undefined) return layer.activation;
  if (!ACTIVATIONS.includes(override)) {
    throw new FfnLensError(`unknown activation "${String(override)}" (valid: ${ACTIVATIONS.join(', ')})`, file, 'usage');
  }
  return fitActivation(override, layer.kind, layer.id, layer.convention, file);
}

function throwIfAborted(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new FfnLensError('cancelled', file, 'cancelled');
}

/** Runs one FFN layer of `req.file` on the requested inputs. Always closes what it opened. */
export async function runLayer(req: RunRequest, opts: RunOptions = {}): Promise<RunResult> {
  const { signal } = opts;
  const progress = (fraction: number, message: string, stage: Progress['stage']): void => opts.onProgress?.({ fraction, message, stage });
  const started = performance.now();
  throwIfAborted(signal, req.file);
  progress(0, 'opening the file', 'open');
  const source = await openSource(req.file);
  let plan: InputPlan | undefined;
  try {
    const file = source.path;
    const layers = findLayers(source.tensors, source.hints, file, { activation: req.activation });
    const selected = selectLayer(layers, req.layer, file);
    const activation = resolveActivation(selected, req.activation, file);
    const layer: LayerSpec =
      activation === selected.activation && req.activation === undefined ? selected : { ...selected, activation, activationSource: 'override' };

    plan = await planInputs(req.inputs, source, layer);
    checkBudget(layer, plan.rows, req.memoryBudgetBytes, file);

    throwIfAborted(signal, file);
    progress(0.1, `reading layer ${layer.id}`, 'read');
    const load = (): Promise<FfnWeights> => loadLayer(source, layer, { activation, signal, alloc: opts.alloc });
    let weights: FfnWeights;
    let weightsReused = false;
    if (opts.weights) {
      const got = await opts.weights(await weightsKey(file, layer), load);
      weights = { ...got.weights, activation };
      weightsReused = got.reused;
    } else {
      weights = await load();
    }
    throwIfAborted(signal, file);
    progress(0.5, 'reading the inputs', 'inputs');
    const inputs = await plan.read(signal);
    const loaded = performance.now();

    if (opts.computeReady) await opts.computeReady;
    throwIfAborted(signal, file);
    progress(0.6, 'running the layer', 'compute');
    const trace = forward(weights, inputs.data, plan.rows, { gemm: opts.gemm, alloc: opts.alloc });
    throwIfAborted(signal, file);
    progress(0.9, 'analysing', 'analyse');
    const analysis = analyze(trace, weights.w2, { topK: req.topK, threshold: req.threshold, tokens: inputs.tokens });
    const w2RowNorms = rowNorms(weights.w2, weights.dFf, weights.dModel);
    // Arrays from the caller's allocator go back to it: the result gets its own copies.
    const own = (a: Float32Array): Float32Array => (opts.alloc ? a.slice() : a);
    const [input, preActivation, hidden, output] = [own(trace.input), own(trace.preActivation), own(trace.hidden), own(trace.output)];
    const done = performance.now();

    const warnings = [...plan.warnings, ...weightWarnings(weights, layer), ...valueWarnings('inputs', inputs.data, plan.origin)];
    progress(1, 'done', 'done');
    return {
      file,
      format: source.format,
      layers,
      layer,
      activation,
      tokens: inputs.tokens,
      dModel: weights.dModel,
      dFf: weights.dFf,
      input,
      preActivation,
      hidden,
      output,
      w2RowNorms,
      analysis,
      warnings,
      timings: { loadMs: loaded - started, computeMs: done - loaded, weightsReused },
    };
  } finally {
    await plan?.close();
    await source.close();
  }
}

/** ||row i of w2|| for every hidden unit, summed in double. */
function rowNorms(w2: Float32Array, dFf: number, dModel: number): Float32Array {
  const out = new Float32Array(dFf);
  for (let i = 0; i < dFf; i++) {
    let s = 0;
    for (let j = i * dModel, end = j + dModel; j < end; j++) s += w2[j] * w2[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

function countNonFinite(data: Float32Array): { nan: number; inf: number } {
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x !== x) nan++;
    else if (x === Infinity || x === -Infinity) inf++;
  }
  return { nan, inf };
}

/** `<what> has 2 NaN and 1 Inf values (<origin>)`, or nothing when all values are finite. */
function valueWarnings(what: string, data: Float32Array, origin: string): string[] {
  const { nan, inf } = countNonFinite(data);
  if (nan === 0 && inf === 0) return [];
  return [`${what} ${what === 'inputs' ? 'have' : 'has'} ${nan} NaN and ${inf} Inf value${nan + inf === 1 ? '' : 's'} (${origin}); results will contain NaN/Inf`];
}

function weightWarnings(w: FfnWeights, layer: LayerSpec): string[] {
  const t = layer.tensors;
  const parts: [string | undefined, Float32Array | undefined][] = [
    [t.w1, w.w1],
    [t.b1, w.b1],
    [t.gate, w.wGate],
    [t.bGate, w.bGate],
    [t.w2, w.w2],
    [t.b2, w.b2],
  ];
  return parts.flatMap(([name, data]) => (name && data ? valueWarnings(`weight ${name}`, data, `layer ${layer.id}`) : []));
}
