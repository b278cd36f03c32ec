/**
 * Comparing two checkpoints of one model (issue 14): what a quantisation or a fine-tune did to each
 * FFN. The JSON document of `ffn-lens compare`, which the panel shows too; other scripts rely on
 * these names. No `vscode` import.
 */
import type { ModelInput, NextTokenInfo } from './model';

export interface CompareRequest {
  modelA: string;
  modelB: string;
  input: ModelInput;
  /** Blocks to compare (0-based); undefined: all. */
  layers?: number[];
  /** Neurons per token in `topOverlap`, and entries in `changed` (default 10). */
  top?: number;
  truncate?: boolean;
  threshold?: number;
  /** Also keep each compared block's hidden activations of A and B (the panel's heatmaps). */
  keepHidden?: boolean;
  /**
   * With `keepHidden`: the most bytes those may take (default: no limit). Over it, the blocks of
   * largest hidden error are kept and a warning names the others.
   */
  hiddenBudgetBytes?: number;
}

/** A mean and the worst over tokens. */
export interface ErrorSummary {
  mean: number;
  max: number;
}

export interface LayerComparison {
  layer: number;
  /** ‖yB − yA‖ / ‖yA‖ of the FFN output per token (yA = 0 and yB = 0 count as 0). */
  outputError: ErrorSummary;
  /** The same for the hidden activations (what enters the down projection). */
  hiddenError: ErrorSummary;
  /** Share of (token, unit) pairs the filter silences, as `run` reports it. */
  sparsityA: number;
  sparsityB: number;
  /** Jaccard overlap of the top-K units by |hidden| per token, averaged over tokens. */
  topOverlap: number;
  /** Units whose mean |hidden| over tokens changed most: delta = mean|hB| − mean|hA|, largest |delta| first. */
  changed: { index: number; delta: number }[];
}

export interface CompareResult {
  tokenIds: number[];
  layers: LayerComparison[];
  /** Top-5 next tokens after the last position. */
  nextA: NextTokenInfo[];
  nextB: NextTokenInfo[];
  /** KL(A‖B) of the next-token distributions, averaged over all positions, in nats. */
  kl: number;
  /** Beyond the contract: what the panel and the text output show. */
  modelA: string;
  modelB: string;
  tokens: string[];
  /** KL(A‖B) at each position. */
  klPerPosition: number[];
  dFf: number;
  warnings: string[];
  /** With `keepHidden`: per compared block (same order as `layers`), A's and B's hidden [T x dFf]; null where over the budget. */
  hidden?: ({ a: Float32Array; b: Float32Array } | null)[];
}

/** `--weights`: each FFN matrix of B against A's, without running anything. */
export interface WeightsCompareRequest {
  modelA: string;
  modelB: string;
  layers?: number[];
  top?: number;
}

export interface TensorComparison {
  /** up, gate or down. */
  role: 'up' | 'gate' | 'down';
  nameA: string;
  nameB: string;
  /** ‖B − A‖_F / ‖A‖_F. */
  relativeError: number;
  /** Units (rows of up/gate, columns of down, whatever the storage) whose weights changed most: ‖b_i − a_i‖ / ‖a_i‖. */
  changed: { index: number; relative: number }[];
}

export interface WeightsCompareResult {
  modelA: string;
  modelB: string;
  layers: { layer: number; tensors: TensorComparison[] }[];
}

/**
 * The FFN matrix that moved most: the largest relative difference (NaN counts as the largest, the
 * first one on a tie); undefined when none moved.
 */
export function mostChangedMatrix(layers: WeightsCompareResult['layers']): { layer: number; tensor: TensorComparison } | undefined {
  const larger = (x: number, y: number): boolean => (Number.isNaN(x) ? !Number.isNaN(y) : x > y);
  let most: { layer: number; tensor: TensorComparison } | undefined;
  for (const l of layers) {
    for (const t of l.tensors) if (t.relativeError !== 0 && (!most || larger(t.relativeError, most.tensor.relativeError))) most = { layer: l.layer, tensor: t };
  }
  return most;
}

/** The document `ffn-lens compare --json` prints (and the panel's "Save JSON…" writes): the contract's names first. */
export interface CompareDocument {
  tokenIds: number[];
  layers: LayerComparison[];
  nextA: { id: number; token: string; prob: number }[];
  nextB: { id: number; token: string; prob: number }[];
  kl: number;
  modelA: string;
  modelB: string;
  tokens: string[];
  klPerPosition: number[];
}

/** A CompareResult as its JSON document (no hidden activations, no display text). */
export function compareDocument(r: CompareResult): CompareDocument {
  const next = (list: NextTokenInfo[]): CompareDocument['nextA'] => list.map((t) => ({ id: t.id, token: t.token, prob: t.prob }));
  return { tokenIds: r.tokenIds, layers: r.layers, nextA: next(r.nextA), nextB: next(r.nextB), kl: r.kl, modelA: r.modelA, modelB: r.modelB, tokens: r.tokens, klPerPosition: r.klPerPosition };
}
