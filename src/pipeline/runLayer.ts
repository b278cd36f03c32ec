/**
 * One "run a layer" job from start to finish: open the file, find and select the layer, check the
 * memory budget before reading any weights, load, get the inputs, run forward and analyze, and
 * flag NaN/Inf. Used unchanged by the CLI, the compute worker and the extension. No `vscode` import.
 */
import { promises as fs } from 'fs';
import { ACTIVATIONS, type ActivationName, type FfnWeights } from '../core/types';
import { FfnLensError } from '../core/errors';
import { analyzeWithNorms, forward, preparedW2RowNorms, w2RowNorms as computeW2RowNorms, type Gemm, type PreparedGemm } from '../core';
import { forwardSteps, type FfnMatrixName, type ForwardOptions, type MatrixSupply } from '../core/ffn';
import type { FfnTrace } from '../core/types';
import type { TensorSource } from '../formats/source';
import { loadBiases, loadMatrix, loadPanels } from '../layers/load';
import { openSource } from '../formats/open';
import type { TensorProblem } from '../formats/source';
import { findLayers, fitActivation, loadLayer, selectLayer } from '../layers';
import type { LayerSpec } from '../layers/types';
import type { Progress, RunRequest, RunResult } from '../protocol/run';
import { planInputs, type InputPlan, type LoadedInputs } from './inputs';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The matrix kernel (defaults to the core's TypeScript kernel). */
  gemm?: Gemm;
  /** The kernel for weights that carry `prepared` matrices (see ForwardOptions.gemmPrepared). */
  gemmPrepared?: PreparedGemm;
  /** The kernel's own filter (see ForwardOptions.activate). */
  activate?: ForwardOptions['activate'];
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
   * The weights returned may carry `prepared` matrices (for `gemmPrepared`) in place of the plain
   * ones, best with `w2RowNorms` (else they are read back from the prepared w2).
   */
  weights?: (key: string, load: () => Promise<FfnWeights>) => Promise<{ weights: FfnWeights; reused: boolean }>;
  /**
   * One-shot runs (ignored with `weights`): each matrix is read into `alloc`ated memory just
   * before its product, laid out by `prepare`, and given back with `release` right after, so the
   * layer passes through about one matrix of memory, and each matrix reuses the memory (already
   * mapped) of the one before.
   */
  stream?: MatrixStream;
}

/** How a streamed run lays out each matrix for the kernel and gives it back. */
export interface MatrixStream {
  /** The kernel multiplies `panels` matrices: sources that can decode straight into them do. */
  panels: boolean;
  /** `plain` (k x n, from `alloc`) for the kernel; it may be rearranged in place. */
  prepare(plain: Float32Array, k: number, n: number): MatrixSupply;
  /** Gives back what `prepare` returned. */
  release(supply: MatrixSupply): void;
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
    refuseProblems(source.problems, file);
    const layers = findLayers(source.tensors, source.hints, file, { activation: req.activation });
    const selected = selectLayer(layers, req.layer, file);
    const activation = resolveActivation(selected, req.activation, file);
    const layer: LayerSpec =
      activation === selected.activation && req.activation === undefined ? selected : { ...selected, activation, activationSource: 'override' };

    plan = await planInputs(req.inputs, source, layer);
    checkBudget(layer, plan.rows, req.memoryBudgetBytes, file);

    throwIfAborted(signal, file);
    progress(0.1, `reading layer ${layer.id}`, 'read');
    let computed: Computed;
    if (opts.stream && !opts.weights) {
      computed = await streamedForward(source, layer, activation, plan, opts);
    } else {
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
      const trace = forward(weights, inputs.data, plan.rows, { gemm: opts.gemm, gemmPrepared: opts.gemmPrepared, alloc: opts.alloc, activate: opts.activate });
      const norms =
        weights.w2RowNorms ??
        (weights.prepared && weights.w2.length === 0 ? preparedW2RowNorms(weights.prepared.w2) : computeW2RowNorms(weights.w2, weights.dFf, weights.dModel));
      computed = { trace, inputs, norms, weightWarnings: weightWarnings(weights, layer), weightsReused, loaded };
    }
    const { trace, inputs, norms, weightsReused, loaded } = computed;
    throwIfAborted(signal, file);
    progress(0.9, 'analysing', 'analyse');
    const analysis = analyzeWithNorms(trace, norms, { topK: req.topK, threshold: req.threshold, tokens: inputs.tokens });
    // float32 rounding of the double norms: for float32 rows these are exactly sqrt of the
    // double sum of squares (l2Norm rescales only at 0, NaN or Inf, where both agree).
    const w2RowNorms = Float32Array.from(norms);
    // Arrays from the caller's allocator go back to it: the result gets its own copies.
    const own = (a: Float32Array): Float32Array => (opts.alloc ? a.slice() : a);
    const [input, preActivation, hidden, output] = [own(trace.input), own(trace.preActivation), own(trace.hidden), own(trace.output)];
    const done = performance.now();

    const warnings = [...plan.warnings, ...computed.weightWarnings, ...valueWarnings('inputs', inputs.data, plan.origin)];
    progress(1, 'done', 'done');
    return {
      file,
      format: source.format,
      layers,
      layer,
      activation,
      tokens: inputs.tokens,
      dModel: layer.dModel,
      dFf: layer.dFf,
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

/**
 * A file with tensors that cannot be read is not run: the layer could be missing one of them,
 * and a run on what is left would answer a different question. Every problem is named.
 */
function refuseProblems(problems: readonly TensorProblem[] | undefined, file: string): void {
  if (!problems || problems.length === 0) return;
  const n = problems.length;
  throw new FfnLensError(`${n} tensor${n === 1 ? '' : 's'} cannot be read: ${problems.map((p) => p.message).join('; ')}`, file);
}

/** What the forward pass of a run gives the analysis. */
interface Computed {
  trace: FfnTrace;
  inputs: LoadedInputs;
  /** ||row i of w2|| in double. */
  norms: Float64Array;
  weightWarnings: string[];
  weightsReused: boolean;
  /** When the weights and inputs were read (performance.now()). */
  loaded: number;
  /** Time spent reading, when reads and products interleave (a streamed run). */
  readMs?: number;
}

/**
 * A one-shot run through one matrix's worth of memory: the biases and inputs first, then each
 * matrix read just before its product (forwardSteps asks for them in order), laid out by
 * `stream.prepare`, and given back by `stream.release` before the next is read. The norms of w2's
 * rows and the NaN/Inf counts are taken from each matrix while it is there.
 */
async function streamedForward(source: TensorSource, layer: LayerSpec, activation: ActivationName, plan: InputPlan, opts: RunOptions): Promise<Computed> {
  const { signal } = opts;
  const stream = opts.stream as MatrixStream;
  const file = source.path;
  const load = { activation, signal, alloc: opts.alloc };
  const started = performance.now();
  const biases = await loadBiases(source, layer, load);
  throwIfAborted(signal, file);
  opts.onProgress?.({ fraction: 0.3, message: 'reading the inputs', stage: 'inputs' });
  const inputs = await plan.read(signal);
  let readMs = performance.now() - started;
  if (opts.computeReady) await opts.computeReady;
  throwIfAborted(signal, file);
  opts.onProgress?.({ fraction: 0.4, message: `running the layer, reading each matrix as it is needed`, stage: 'compute' });
  const t = layer.tensors;
  const warnings: string[] = [];
  for (const [name, data] of [[t.b1, biases.b1], [t.bGate, biases.bGate], [t.b2, biases.b2]] as const) {
    if (name && data) warnings.push(...valueWarnings(`weight ${name}`, data, `layer ${layer.id}`));
  }
  const tensorOf: Record<FfnMatrixName, string | undefined> = { w1: t.w1, wGate: t.gate, w2: t.w2 };
  const steps = forwardSteps({ dModel: layer.dModel, dFf: layer.dFf, activation, ...biases }, inputs.data, plan.rows, {
    gemm: opts.gemm,
    gemmPrepared: opts.gemmPrepared,
    alloc: opts.alloc,
    activate: opts.activate,
  });
  let norms: Float64Array | undefined;
  let held: MatrixSupply | undefined;
  try {
    let step = steps.next();
    while (!step.done) {
      const name = step.value;
      if (held) stream.release(held);
      held = undefined;
      throwIfAborted(signal, file);
      const t0 = performance.now();
      // Straight into the kernel's panels when both sides can: read -> decode -> compute, no packing pass.
      const panels = stream.panels ? await loadPanels(source, layer, name, load) : undefined;
      if (panels) {
        readMs += performance.now() - t0;
        warnings.push(...valueWarnings(`weight ${tensorOf[name]}`, panels.data, `layer ${layer.id}`));
        if (name === 'w2') norms = preparedW2RowNorms(panels);
        held = { plain: new Float32Array(0), prepared: panels };
      } else {
        const plain = await loadMatrix(source, layer, name, load);
        readMs += performance.now() - t0;
        warnings.push(...valueWarnings(`weight ${tensorOf[name]}`, plain, `layer ${layer.id}`));
        const [k, n] = name === 'w2' ? [layer.dFf, layer.dModel] : [layer.dModel, layer.dFf];
        if (name === 'w2') norms = computeW2RowNorms(plain, k, n);
        held = stream.prepare(plain, k, n);
      }
      step = steps.next(held);
    }
    return { trace: step.value, inputs, norms: norms as Float64Array, weightWarnings: warnings, weightsReused: false, loaded: started + readMs, readMs };
  } finally {
    if (held) stream.release(held);
  }
}

/** How many values of `data` are NaN and how many ±Inf. */
export function countNonFinite(data: Float32Array): { nan: number; inf: number } {
  // First pass without branches: x * 0 is 0 for every finite x, NaN for NaN and ±Inf (several
  // times faster than counting; weights are nearly always finite).
  const n4 = data.length - (data.length % 4);
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  for (let i = 0; i < n4; i += 4) {
    s0 += data[i] * 0;
    s1 += data[i + 1] * 0;
    s2 += data[i + 2] * 0;
    s3 += data[i + 3] * 0;
  }
  for (let i = n4; i < data.length; i++) s0 += data[i] * 0;
  if (s0 + s1 + s2 + s3 === 0) return { nan: 0, inf: 0 };
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x !== x) nan++;
    else if (x === Infinity || x === -Infinity) inf++;
  }
  return { nan, inf };
}

/**
 * NaN and Inf counts of weight arrays already scanned, by array: a layer the worker holds is
 * scanned on its first run only (weights are never written once loaded and prepared).
 */
const weightCounts = new WeakMap<Float32Array, { nan: number; inf: number }>();

/** `<what> has 2 NaN and 1 Inf values (<origin>)`, or nothing when all values are finite. */
function valueWarnings(what: string, data: Float32Array, origin: string, remember = false): string[] {
  let counts = remember ? weightCounts.get(data) : undefined;
  if (!counts) {
    counts = countNonFinite(data);
    if (remember) weightCounts.set(data, counts);
  }
  const { nan, inf } = counts;
  if (nan === 0 && inf === 0) return [];
  return [`${what} ${what === 'inputs' ? 'have' : 'has'} ${nan} NaN and ${inf} Inf value${nan + inf === 1 ? '' : 's'} (${origin}); results will contain NaN/Inf`];
}

function weightWarnings(w: FfnWeights, layer: LayerSpec): string[] {
  const t = layer.tensors;
  // A prepared matrix holds the same values (plus zero padding), so it counts the same NaN and Inf.
  const p = w.prepared;
  const values = (plain: Float32Array | undefined, prep: { data: Float32Array } | undefined): Float32Array | undefined =>
    prep && !(plain && plain.length > 0) ? prep.data : plain;
  const parts: [string | undefined, Float32Array | undefined][] = [
    [t.w1, values(w.w1, p?.w1)],
    [t.b1, w.b1],
    [t.gate, values(w.wGate, p?.wGate)],
    [t.bGate, w.bGate],
    [t.w2, values(w.w2, p?.w2)],
    [t.b2, w.b2],
  ];
  return parts.flatMap(([name, data]) => (name && data ? valueWarnings(`weight ${name}`, data, `layer ${layer.id}`, true) : []));
}
