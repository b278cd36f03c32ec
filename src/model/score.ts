/**
 * `score`: a model's mean next-token loss on a text, the number its training code reports. The
 * text is tokenised as `scan` does it (no template tokens; BOS before each window only when the
 * tokenizer adds one), cut into windows of `ctx` ids, and each window is run alone. The loss is the
 * mean of −log p(next token), in nats, over every position a window predicts: all of a window's
 * tokens but its first. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { GemmEngine } from '../kernels';
import { modelForward } from './forward';
import type { OpenModel } from './open';
import type { WeightStore } from './store';

export interface ScoreOptions {
  engine: GemmEngine;
  /** Window length in tokens (default: the model's context, less one for a BOS). */
  ctx?: number;
  store?: WeightStore;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/** The document `score --json` prints; other scripts rely on these names. */
export interface ScoreResult {
  tokens: number;
  windows: number;
  /** Mean −log p(next token) in nats over the predicted positions. */
  meanLoss: number;
  /** exp(meanLoss). */
  perplexity: number;
}

/** The window length `score` and `scan` use when none is given: the model's context, BOS included. */
export function defaultWindow(model: OpenModel): number {
  const bos = model.tokenizer.addsBos && model.tokenizer.bosId !== undefined ? 1 : 0;
  return model.spec.maxPositions - bos;
}

export async function scoreText(model: OpenModel, text: string, opts: ScoreOptions): Promise<ScoreResult & { predicted: number }> {
  const { spec, tokenizer } = model;
  const bos = tokenizer.addsBos && tokenizer.bosId !== undefined ? 1 : 0;
  const ctx = opts.ctx ?? defaultWindow(model);
  if (!Number.isInteger(ctx) || ctx < 2) throw new FfnLensError(`--ctx must be at least 2 (a window predicts all its tokens but the first), got ${ctx}`, model.path, 'usage');
  if (ctx + bos > spec.maxPositions) throw new FfnLensError(`--ctx ${ctx} is longer than the model's context of ${spec.maxPositions}${bos ? ' (with its BOS)' : ''}`, model.path, 'usage');
  const ids = tokenizer.encode(text, { addSpecialTokens: false }).ids;
  const V = spec.vocabSize;
  let total = 0;
  let predicted = 0;
  let windows = 0;
  const count = Math.ceil(ids.length / ctx);
  for (let start = 0; start < ids.length; start += ctx) {
    if (opts.signal?.aborted) throw new FfnLensError('cancelled', model.path, 'cancelled');
    opts.onProgress?.(windows / count, `window ${windows + 1} of ${count}`);
    const window = ids.slice(start, start + ctx);
    windows++;
    if (window.length < 2) continue;
    const input = bos ? [tokenizer.bosId as number, ...window] : window;
    const out = await modelForward(model, input, { engine: opts.engine, layer: 0, store: opts.store, signal: opts.signal, rowNorms: false, logits: true });
    const logits = out.logits as Float32Array;
    // the row of window[p - 1] predicts window[p]
    for (let p = 1; p < window.length; p++) {
      const row = logits.subarray((p - 1 + bos) * V, (p + bos) * V);
      total += logSumExp(row) - row[window[p]];
      predicted++;
    }
  }
  if (predicted === 0) throw new FfnLensError(`the text is ${ids.length} token${ids.length === 1 ? '' : 's'}: scoring needs at least two (the first is never predicted)`, model.path, 'usage');
  const meanLoss = total / predicted;
  return { tokens: ids.length, windows, meanLoss, perplexity: Math.exp(meanLoss), predicted };
}

/** log Σ exp(row), in float64 with the max taken out. */
function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}
