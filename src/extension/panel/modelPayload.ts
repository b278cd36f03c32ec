/**
 * The model side of the panel's payload: the prompt, its tokens and their places in the text, the
 * block shown and the next-token predictions, from a whole-model run. No chart data: the layer's
 * charts come from payload.ts as for any run.
 */
import type { ModelRunResult, NextTokenInfo } from '../../protocol/model';
import type { RunResult } from '../../protocol/run';
import type { ModelView, NextTokenView, PanelRequest } from '../../protocol/webview';

/** Whether a run is a whole model on text. */
export function isModelRun(r: RunResult): r is ModelRunResult {
  return (r as Partial<ModelRunResult>).inputSource === 'model';
}

const view = (next: NextTokenInfo[] | undefined): NextTokenView[] => (next ?? []).map((t) => ({ id: t.id, text: t.text, prob: t.prob }));

export function buildModelView(r: ModelRunResult, request: PanelRequest): ModelView {
  const offsets = new Int32Array(r.offsets.length * 2);
  r.offsets.forEach(([a, b], i) => offsets.set([a, b], 2 * i));
  const v: ModelView = {
    architecture: r.architecture,
    blocks: r.blocks,
    block: r.layer.index,
    text: request.model?.text ?? '',
    tokenIds: Int32Array.from(r.tokenIds),
    tokenText: r.tokenText,
    offsets,
    next: view(r.next),
    ablated: r.ablated ?? [],
  };
  if (r.nextBaseline) v.nextBaseline = view(r.nextBaseline);
  return v;
}

/** The model part of the `_lastRun` summary. */
export interface ModelSummary {
  block: number;
  blocks: number;
  tokenIds: number[];
  tokenText: string[];
  next: { id: number; prob: number }[];
  nextBaseline?: { id: number; prob: number }[];
  ablated: number[];
}

export function summarizeModel(m: ModelView): ModelSummary {
  const ids = (n: NextTokenView[]): { id: number; prob: number }[] => n.map((t) => ({ id: t.id, prob: t.prob }));
  const s: ModelSummary = { block: m.block, blocks: m.blocks, tokenIds: Array.from(m.tokenIds), tokenText: m.tokenText, next: ids(m.next), ablated: m.ablated };
  if (m.nextBaseline) s.nextBaseline = ids(m.nextBaseline);
  return s;
}
