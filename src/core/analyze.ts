/**
 * What a forward pass did, per token and per hidden unit: sparsity, norms at each stage, the
 * neurons that wrote most into the output, firing rates and dead units. No `vscode` import.
 */
import { gateFunction, toPlain } from './activations';
import { FfnLensError } from './errors';
import { checkPrepared, preparedRow } from './gemm';
import { l2Norm } from './stats';
import { FfnTrace, LayerAnalysis, NeuronScore, PreparedMatrix, TokenAnalysis } from './types';

/** How many neurons each token lists by default. */
export const DEFAULT_TOP_K = 5;
/** The default silencing threshold for smooth filters (gelu, gelu_tanh, silu and their gated forms). */
export const DEFAULT_SMOOTH_THRESHOLD = 0.01;

export interface AnalyzeOptions {
  /** Neurons listed per token (default DEFAULT_TOP_K, capped at d_ff). */
  topK?: number;
  /** Silencing threshold for smooth filters (default DEFAULT_SMOOTH_THRESHOLD); ignored for relu/reglu. */
  threshold?: number;
  /** One label per token (default t0..t{T-1}). */
  tokens?: string[];
}

/**
 * Summarises a trace.
 *
 * Sparsity: a hidden unit i is *silenced* on a token when |act(pre_i)| <= threshold, where act is
 * the layer's filter and pre_i its input: the activation of the expanded value for plain layers,
 * and the gate's activation for gated layers (the up path is linear, so the gate alone decides
 * what is let through). For relu and reglu the threshold is always 0, so a unit is silenced
 * exactly when pre_i <= 0 (relu(pre_i) = 0 iff pre_i <= 0, -0 included). For the smooth filters
 * (gelu, gelu_tanh, silu, geglu, geglu_tanh, swiglu), which are never exactly 0, the threshold
 * defaults to 0.01. A NaN pre-activation is never silenced. A token's sparsity is the fraction of
 * its d_ff units silenced; the layer's is the fraction of all (token, unit) pairs; a unit's firing
 * rate is the fraction of tokens on which it is not silenced, and a unit is dead when it is
 * silenced on every token.
 *
 * Per token it also gives the L2 norms of the input row, the expanded row (preActivation: the
 * gate's for gated layers), the filtered row (hidden) and the output row, and the top-k neurons by
 * score = |hidden_i| x ||row i of w2||, ties going to the lower index; a NaN score ranks below
 * every number.
 *
 * `w2` is the layer's [dFf x dModel] condense matrix.
 */
export function analyze(trace: FfnTrace, w2: Float32Array, options: AnalyzeOptions = {}): LayerAnalysis {
  checkTrace(trace); // before w2's shape is taken from it
  return analyzeWithNorms(trace, w2RowNorms(w2, trace.dFf, trace.dModel), options);
}

/** ||row i of w2|| ([dFf x dModel]) for every hidden unit i, summed in double (l2Norm). */
export function w2RowNorms(w2: Float32Array, dFf: number, dModel: number): Float64Array {
  if (w2.length !== dFf * dModel) {
    throw new FfnLensError(`w2 has ${w2.length} values but the layer needs d_ff x d_model = ${dFf} x ${dModel} = ${dFf * dModel}`);
  }
  const norms = new Float64Array(dFf);
  for (let i = 0; i < dFf; i++) norms[i] = l2Norm(w2, i * dModel, dModel);
  return norms;
}

/** w2RowNorms of a prepared w2 (the same values: each row is read back in column order). */
export function preparedW2RowNorms(w2: PreparedMatrix): Float64Array {
  checkPrepared(w2, 'w2');
  const norms = new Float64Array(w2.k);
  const row = new Float32Array(w2.n);
  for (let i = 0; i < w2.k; i++) norms[i] = l2Norm(preparedRow(w2, i, row));
  return norms;
}

/**
 * `analyze` with the norms of w2's rows (`w2RowNorms`) instead of w2 itself: the same result,
 * for weights whose w2 is no longer at hand (prepared for a kernel) or whose norms are known.
 */
export function analyzeWithNorms(trace: FfnTrace, rowNorms: Float64Array, options: AnalyzeOptions = {}): LayerAnalysis {
  const { tokens: T, dModel, dFf } = trace;
  checkTrace(trace);
  if (rowNorms.length !== dFf) throw new FfnLensError(`there are ${rowNorms.length} norms of w2's rows for d_ff = ${dFf}`);
  const requestedK = options.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(requestedK) || requestedK < 0) {
    throw new FfnLensError(`top-k must be a whole number of at least 0, got ${requestedK}`, undefined, 'usage');
  }
  const topK = Math.min(requestedK, dFf);
  const exact = toPlain(trace.activation) === 'relu';
  const threshold = exact ? 0 : (options.threshold ?? DEFAULT_SMOOTH_THRESHOLD);
  if (!(threshold >= 0) || threshold === Infinity) {
    throw new FfnLensError(`the sparsity threshold must be a finite number of at least 0, got ${options.threshold}`, undefined, 'usage');
  }
  const labels = options.tokens ?? Array.from({ length: T }, (_, t) => `t${t}`);
  if (labels.length !== T) throw new FfnLensError(`there are ${labels.length} token labels for ${T} tokens`);

  const act = gateFunction(trace.activation);
  const { preActivation: pre, hidden } = trace;
  const fired = new Uint32Array(dFf);
  const perToken: TokenAnalysis[] = [];
  const scores = new Float64Array(dFf);
  let silencedTotal = 0;
  for (let t = 0; t < T; t++) {
    const base = t * dFf;
    let silenced = 0;
    for (let i = 0; i < dFf; i++) {
      const p = pre[base + i];
      // For relu, |relu(p)| <= 0 is p <= 0; the fround keeps smooth filters consistent with the float32 hidden.
      const off = exact ? p <= 0 : Math.abs(Math.fround(act(p))) <= threshold;
      if (off) silenced++;
      else fired[i]++;
      scores[i] = Math.abs(hidden[base + i]) * rowNorms[i];
    }
    silencedTotal += silenced;
    perToken.push({
      token: labels[t],
      sparsity: silenced / dFf,
      norms: {
        input: l2Norm(trace.input, t * dModel, dModel),
        expanded: l2Norm(pre, base, dFf),
        filtered: l2Norm(hidden, base, dFf),
        output: l2Norm(trace.output, t * dModel, dModel),
      },
      topNeurons: topNeurons(scores, hidden, base, topK),
    });
  }

  const firingRate = new Float32Array(dFf);
  const dead: number[] = [];
  for (let i = 0; i < dFf; i++) {
    firingRate[i] = fired[i] / T;
    if (fired[i] === 0) dead.push(i);
  }
  return { perToken, sparsity: silencedTotal / (T * dFf), neurons: { firingRate, dead }, threshold };
}

function checkTrace(trace: FfnTrace): void {
  const { tokens: T, dModel, dFf } = trace;
  if (!Number.isInteger(T) || T < 1) throw new FfnLensError(`the trace has ${T} tokens; at least 1 is needed`);
  const want = (what: string, got: number, n: number): void => {
    if (got !== n) throw new FfnLensError(`the trace's ${what} has ${got} values, expected ${n}`);
  };
  want('input', trace.input.length, T * dModel);
  want('preActivation', trace.preActivation.length, T * dFf);
  want('hidden', trace.hidden.length, T * dFf);
  want('output', trace.output.length, T * dModel);
}

/** Orders scores with NaN below every number. */
function key(s: number): number {
  return s === s ? s : -Infinity;
}

/** True when unit a ranks above unit b: higher score, or equal score and lower index. */
function better(sa: number, ia: number, sb: number, ib: number): boolean {
  const ka = key(sa);
  const kb = key(sb);
  if (ka !== kb) return ka > kb;
  // -Infinity === -Infinity for two NaNs: fall through to the index.
  return ia < ib;
}

/**
 * The k best units of one token, best first, with a min-heap of size k (worst kept unit on top):
 * O(d_ff log k), no sort of the whole row.
 */
function topNeurons(scores: Float64Array, hidden: Float32Array, base: number, k: number): NeuronScore[] {
  if (k === 0) return [];
  const heap = new Int32Array(k);
  let size = 0;
  const worse = (a: number, b: number): boolean => better(scores[b], b, scores[a], a);
  const siftDown = (from: number): void => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l], heap[m])) m = l;
      if (r < size && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      const tmp = heap[i];
      heap[i] = heap[m];
      heap[m] = tmp;
      i = m;
    }
  };
  for (let u = 0; u < scores.length; u++) {
    if (size < k) {
      let i = size++;
      heap[i] = u;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        const tmp = heap[i];
        heap[i] = heap[parent];
        heap[parent] = tmp;
        i = parent;
      }
    } else if (better(scores[u], u, scores[heap[0]], heap[0])) {
      heap[0] = u;
      siftDown(0);
    }
  }
  const chosen = Array.from(heap.subarray(0, size));
  chosen.sort((a, b) => (better(scores[a], a, scores[b], b) ? -1 : 1));
  return chosen.map((index) => ({ index, value: hidden[base + index], score: scores[index] }));
}
