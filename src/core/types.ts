/**
 * The shapes every part of FFN Lens agrees on. No `vscode` import here or anywhere in src/core.
 *
 * Layout conventions inside the core (whatever the file's layout was):
 *  - matrices are row-major Float32Array,
 *  - w1 / wGate are [dModel x dFf] (math layout, h = x·W1),
 *  - w2 is [dFf x dModel] (y = h·W2), so row i of w2 is what hidden unit i writes,
 *  - per-token arrays are [T x width], token-major.
 */

/** Plain activations (one expand matrix) and gated ones (gate, up, down: hidden = act(x·Wg+bg) ⊙ (x·Wu+bu)). */
export type PlainActivation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu';
/** swiglu = silu gate (LLaMA, Mistral, Qwen); geglu = erf GELU gate; geglu_tanh = tanh-approximated GELU gate (Gemma); reglu = ReLU gate. */
export type GatedActivation = 'swiglu' | 'geglu' | 'geglu_tanh' | 'reglu';
export type ActivationName = PlainActivation | GatedActivation;

export const PLAIN_ACTIVATIONS: readonly PlainActivation[] = ['relu', 'gelu', 'gelu_tanh', 'silu'];
export const GATED_ACTIVATIONS: readonly GatedActivation[] = ['swiglu', 'geglu', 'geglu_tanh', 'reglu'];
export const ACTIVATIONS: readonly ActivationName[] = [...PLAIN_ACTIVATIONS, ...GATED_ACTIVATIONS];

/** The weights of one FFN layer, in the core's layout (see file comment). */
export interface FfnWeights {
  dModel: number;
  dFf: number;
  activation: ActivationName;
  /** [dModel x dFf]: the expand matrix; for gated layers the "up" projection. */
  w1: Float32Array;
  /** [dFf] */
  b1?: Float32Array;
  /** [dModel x dFf]: gated layers only, the gate projection. */
  wGate?: Float32Array;
  /** [dFf] */
  bGate?: Float32Array;
  /** [dFf x dModel]: the condense matrix. */
  w2: Float32Array;
  /** [dModel] */
  b2?: Float32Array;
  /**
   * The matrices laid out once for a matrix kernel (GemmEngine.prepare), so that products need
   * not repack them each run. When set, forward multiplies these; w1, wGate and w2 may then be
   * empty (length 0) because the kernel holds the only copy of their values.
   */
  prepared?: PreparedWeights;
  /** ||row i of w2|| for every hidden unit (summed in double), when already known: weights whose w2 was given up for `prepared` carry them. */
  w2RowNorms?: Float64Array;
}

/**
 * A k x n right-hand matrix of products (a weight matrix) laid out once for a matrix kernel:
 *  - `rows`: `data` is the row-major k x n matrix (k·n values);
 *  - `panels`: the WebAssembly kernel's own layout, k·ceil(n/8)·8 values: for each block of up to
 *    PANEL_KC rows (k0 = 0, PANEL_KC, 2·PANEL_KC, ...; kc = min(PANEL_KC, k - k0)), the ceil(n/8)
 *    panels of kc x 8 values (row-major inside a panel, columns past n zero) one after another;
 *    block k0 starts at k0·npad and its panel q at k0·npad + q·kc·8, with npad = ceil(n/8)·8.
 * Any kernel multiplies either layout (see src/core/gemm.ts `gemmPrepared`).
 */
export interface PreparedMatrix {
  readonly k: number;
  readonly n: number;
  readonly layout: 'rows' | 'panels';
  readonly data: Float32Array;
}

/** FfnWeights' matrices prepared for a kernel: w1 and wGate are [dModel x dFf], w2 is [dFf x dModel]. */
export interface PreparedWeights {
  w1: PreparedMatrix;
  wGate?: PreparedMatrix;
  w2: PreparedMatrix;
}

/** Everything one forward pass computed, for T tokens. */
export interface FfnTrace {
  tokens: number;
  dModel: number;
  dFf: number;
  activation: ActivationName;
  /** [T x dModel] */
  input: Float32Array;
  /** [T x dFf]: x·W1+b1 for plain layers; the gate's x·Wg+bg for gated layers. */
  preActivation: Float32Array;
  /** [T x dFf]: gated layers only, x·Wu+bu. */
  up?: Float32Array;
  /** [T x dFf]: what W2 receives (act(pre) or act(gate)⊙up). */
  hidden: Float32Array;
  /** [T x dModel]: hidden·W2+b2, without the residual. */
  output: Float32Array;
}

/** Summary statistics of a tensor; mean/std/min/max/l2 over finite values only. */
export interface TensorStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  l2: number;
  zeroFraction: number;
  nanCount: number;
  infCount: number;
}

export interface NeuronScore {
  /** hidden unit index */
  index: number;
  /** hidden_i: the filtered activation that W2 receives */
  value: number;
  /** |hidden_i| x ||row i of W2||: how much neuron i writes into the output */
  score: number;
}

export interface TokenAnalysis {
  token: string;
  /** fraction of hidden units the filter silenced for this token */
  sparsity: number;
  norms: { input: number; expanded: number; filtered: number; output: number };
  topNeurons: NeuronScore[];
}

export interface LayerAnalysis {
  perToken: TokenAnalysis[];
  /** fraction of (token, unit) pairs silenced */
  sparsity: number;
  neurons: {
    /** [dFf] fraction of tokens on which each unit was not silenced */
    firingRate: Float32Array;
    /** indices of units silenced on every token */
    dead: number[];
  };
  /** the threshold used: 0 for relu/reglu (exact), else the smooth-activation threshold */
  threshold: number;
}
