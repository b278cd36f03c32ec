/**
 * One FFN layer's forward pass on T tokens, keeping every intermediate: expand (x·W1+b1), filter
 * (the activation, or gate ⊙ up), condense (h·W2+b2). No `vscode` import.
 */
import { activateInPlace, gateInPlace, isGated, toGated, toPlain } from './activations';
import { FfnLensError } from './errors';
import { checkPrepared, Gemm, gemm as defaultGemm, gemmPrepared as defaultGemmPrepared, type PreparedGemm } from './gemm';
import { ACTIVATIONS, FfnTrace, FfnWeights, type PlainActivation, type PreparedMatrix } from './types';

export interface ForwardOptions {
  /** The matrix kernel to use (defaults to the TypeScript i-k-j kernel). */
  gemm?: Gemm;
  /**
   * The kernel for weights that carry `prepared` matrices (defaults to the TypeScript kernel,
   * which reads either layout); pass the engine's `gemmPrepared` with matrices it prepared.
   */
  gemmPrepared?: PreparedGemm;
  /**
   * Where the trace's arrays come from (e.g. the matrix kernel's `alloc`, so products write in
   * place instead of into fresh memory). The caller owns and releases them. Default: ordinary arrays.
   */
  alloc?: (length: number) => Float32Array;
  /**
   * Ablation: these hidden units are zeroed (in rows `fromRow` on, default all) before the
   * condense product, so the output is the layer's without them. The trace's hidden shows the zeros.
   */
  ablate?: { units: readonly number[]; fromRow?: number };
  /**
   * A kernel's own filter (the engine's `activate`), tried before the core's float64 one: true
   * when it filtered `data` in place. Gated layers apply it to the gate, then multiply by up.
   */
  activate?: (name: PlainActivation, data: Float32Array) => boolean;
}

function checkLength(what: string, got: number, want: number, shape: string): void {
  if (got !== want) throw new FfnLensError(`${what} has ${got} values but the layer needs ${shape} = ${want}`);
}

/** Throws FfnLensError (kind 'input') unless the weights are a consistent layer. */
export function validateWeights(w: FfnWeights): void {
  const { dModel, dFf, activation } = w;
  if (!Number.isInteger(dModel) || dModel < 1) throw new FfnLensError(`d_model must be a whole number of at least 1, got ${dModel}`);
  if (!Number.isInteger(dFf) || dFf < 1) throw new FfnLensError(`d_ff must be a whole number of at least 1, got ${dFf}`);
  if (!ACTIVATIONS.includes(activation)) {
    throw new FfnLensError(`unknown activation '${String(activation)}' (known: ${ACTIVATIONS.join(', ')})`);
  }
  const gated = isGated(activation);
  const prepared = w.prepared;
  const hasGate = !!(w.wGate || prepared?.wGate);
  if (gated && !hasGate) {
    throw new FfnLensError(`activation ${activation} is gated and needs a gate matrix, but the layer has none`);
  }
  if (!gated && (hasGate || w.bGate)) {
    throw new FfnLensError(
      `the layer has a gate ${hasGate ? 'matrix' : 'bias'} but activation ${activation} is not gated (the gated form is ${toGated(activation)})`,
    );
  }
  const expand = `d_model x d_ff = ${dModel} x ${dFf}`;
  const condense = `d_ff x d_model = ${dFf} x ${dModel}`;
  checkMatrix(gated ? 'the up matrix (w1)' : 'w1', w.w1, prepared?.w1, dModel, dFf, expand, !!prepared);
  if (w.b1) checkLength(gated ? 'the up bias (b1)' : 'b1', w.b1.length, dFf, 'd_ff');
  if (hasGate) checkMatrix('the gate matrix', w.wGate, prepared?.wGate, dModel, dFf, expand, !!prepared);
  if (w.bGate) checkLength('the gate bias', w.bGate.length, dFf, 'd_ff');
  checkMatrix('w2', w.w2, prepared?.w2, dFf, dModel, condense, !!prepared);
  if (w.b2) checkLength('b2', w.b2.length, dModel, 'd_model');
  if (w.w2RowNorms) checkLength('the norms of w2\'s rows', w.w2RowNorms.length, dFf, 'd_ff');
}

/**
 * A weight matrix: the plain array must have k x n values, except that with prepared weights it
 * may be empty (the prepared matrix, which must then exist and be k x n, holds the values).
 */
function checkMatrix(what: string, plain: Float32Array | undefined, prep: PreparedMatrix | undefined, k: number, n: number, shape: string, isPrepared: boolean): void {
  if (!isPrepared) {
    checkLength(what, plain?.length ?? 0, k * n, shape);
    return;
  }
  if (!prep) throw new FfnLensError(`${what} has no prepared form, but the layer's other matrices are prepared`);
  if (prep.k !== k || prep.n !== n) throw new FfnLensError(`${what} is prepared as ${prep.k} x ${prep.n} but the layer needs ${shape}`);
  checkPrepared(prep, what);
  if (plain && plain.length !== 0) checkLength(what, plain.length, k * n, shape);
}

/** Throws FfnLensError (kind 'input') unless `input` is `tokens` rows of width dModel. */
export function validateInput(input: Float32Array, tokens: number, dModel: number): void {
  if (!Number.isInteger(tokens) || tokens < 1) throw new FfnLensError(`the number of tokens must be a whole number of at least 1, got ${tokens}`);
  if (input.length === tokens * dModel) return;
  if (input.length % tokens === 0) {
    throw new FfnLensError(`inputs have width ${input.length / tokens} but the layer's d_model is ${dModel}`);
  }
  throw new FfnLensError(`inputs have ${input.length} values, which is not ${tokens} tokens x d_model ${dModel} = ${tokens * dModel}`);
}

/**
 * Runs the layer on `tokens` rows of `input` ([T x dModel], token-major). Rows are independent;
 * they are batched into one matrix product per projection only for speed.
 *  - plain: preActivation = x·W1+b1, hidden = act(preActivation);
 *  - gated: preActivation = x·Wg+bg (the gate), up = x·W1+b1, hidden = act(preActivation) ⊙ up;
 *  - output = hidden·W2+b2 (no residual).
 * NaN and Inf flow through to the trace; they never throw. Shape problems throw FfnLensError.
 */
export function forward(weights: FfnWeights, input: Float32Array, tokens: number, options: ForwardOptions = {}): FfnTrace {
  validateWeights(weights);
  const prepared = weights.prepared;
  const steps = forwardSteps(weights, input, tokens, options);
  let step = steps.next();
  while (!step.done) {
    const name = step.value;
    step = steps.next({ plain: (weights[name] ?? EMPTY) as Float32Array, prepared: prepared?.[name] });
  }
  return step.value;
}

const EMPTY = new Float32Array(0);

/** A weight matrix of the layer: w1 and wGate are [dModel x dFf], w2 is [dFf x dModel]. */
export type FfnMatrixName = 'w1' | 'wGate' | 'w2';

/** One matrix handed to forwardSteps: the plain row-major array, or its prepared form (then used instead). */
export interface MatrixSupply {
  plain: Float32Array;
  prepared?: PreparedMatrix;
}

/** What forwardSteps needs of the layer besides its matrices. */
export type FfnLayerInfo = Pick<FfnWeights, 'dModel' | 'dFf' | 'activation' | 'b1' | 'bGate' | 'b2'>;

/**
 * The forward pass as steps, for callers that read each matrix just before its product and give
 * its memory back right after (a one-shot run streams a layer through one matrix's worth of
 * memory): it yields the name of the matrix it needs next, is resumed with it, and never asks for
 * an earlier one again. `forward` drives it with matrices already in memory.
 * The caller checks each matrix's size (validateWeights does for `forward`).
 */
export function* forwardSteps(layer: FfnLayerInfo, input: Float32Array, tokens: number, options: ForwardOptions = {}): Generator<FfnMatrixName, FfnTrace, MatrixSupply> {
  const { dModel, dFf, activation } = layer;
  validateInput(input, tokens, dModel);
  const plainMm = options.gemm ?? defaultGemm;
  const preparedMm = options.gemmPrepared ?? defaultGemmPrepared;
  /** x[m x k] · the matrix (prepared when it is) + bias. */
  const mm = (x: Float32Array, m: MatrixSupply, rowsOfX: number, k: number, n: number, out: Float32Array, bias?: Float32Array): Float32Array =>
    m.prepared ? preparedMm(x, m.prepared, rowsOfX, out, bias) : plainMm(x, m.plain, rowsOfX, k, n, out, bias);
  const alloc = options.alloc ?? ((length: number) => new Float32Array(length));
  /** A copy of `src` in an allocated array. */
  const copy = (src: Float32Array): Float32Array => {
    const out = alloc(src.length);
    out.set(src);
    return out;
  };
  const x = copy(input);
  const rows = (width: number): Float32Array => alloc(tokens * width);
  let preActivation: Float32Array;
  let up: Float32Array | undefined;
  let hidden: Float32Array;
  if (isGated(activation)) {
    preActivation = mm(x, yield 'wGate', tokens, dModel, dFf, rows(dFf), layer.bGate);
    up = mm(x, yield 'w1', tokens, dModel, dFf, rows(dFf), layer.b1);
    hidden = copy(preActivation);
    if (options.activate?.(toPlain(activation), hidden)) {
      for (let i = 0; i < hidden.length; i++) hidden[i] *= up[i];
    } else gateInPlace(activation, hidden, up);
  } else {
    preActivation = mm(x, yield 'w1', tokens, dModel, dFf, rows(dFf), layer.b1);
    hidden = copy(preActivation);
    if (!options.activate?.(toPlain(activation), hidden)) activateInPlace(toPlain(activation), hidden);
  }
  if (options.ablate) {
    for (const u of options.ablate.units) {
      if (!Number.isInteger(u) || u < 0 || u >= dFf) throw new FfnLensError(`cannot ablate hidden unit ${u}: the layer has units 0..${dFf - 1}`);
    }
    for (let r = options.ablate.fromRow ?? 0; r < tokens; r++) for (const u of options.ablate.units) hidden[r * dFf + u] = 0;
  }
  const output = mm(hidden, yield 'w2', tokens, dFf, dModel, rows(dModel), layer.b2);
  const trace: FfnTrace = { tokens, dModel, dFf, activation, input: x, preActivation, hidden, output };
  if (up) trace.up = up;
  return trace;
}
