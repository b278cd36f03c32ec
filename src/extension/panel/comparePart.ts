/**
 * The host side of the panel's compare view (issue 14), owned by FfnPanel. The comparison on
 * screen stays here with every compared block's hidden activations; the webview gets the measures
 * and next tokens at once and a block's three heatmaps (A, B, B − A) when it asks, pooled to the
 * width it draws. It also answers the view's buttons: compare again on another text or with A and
 * B swapped (through the command, so progress and errors are the command's), and save as JSON.
 * A comparison of the weights alone (`compare --weights`) is shown in its place the same way.
 */
import * as vscode from 'vscode';
import type { CompareResult, WeightsCompareResult } from '../../protocol/compare';
import type { CompareView, CompareWeightsView, HostToWebview, WebviewToHost } from '../../protocol/webview';
import { Commands } from '../constants';
import type { CompareOutcome, WeightsOutcome } from '../commands/compareCheckpoints';
import { buildCompareView, buildWeightsView, compareHeatmaps, summarizeCompare, summarizeWeights, type CompareLabels, type CompareSummary, type WeightsSummary } from './comparePayload';
import { saveCompare, saveWeightsCompare } from './exports';

/** The webview's messages this part answers. */
export type CompareMessage = Extract<WebviewToHost, { type: 'compareLayer' | 'compareAgain' | 'exportCompare' | 'swapWeights' | 'compareRendered' }>;

/** What the compare view reported drawing, for `_lastRun`. */
export interface CompareRendered {
  /** The overview (measures, charts, next tokens) is drawn, in this many ms. */
  overviewMs?: number;
  /** The block whose heatmaps were drawn last... */
  layer?: number;
  /** ...and which of A, B, B − A hold more than the background (a self-comparison's difference does not). */
  nonBlank?: boolean[];
}

export class ComparePart {
  private shown: { result: CompareResult; view: CompareView } | undefined;
  /** A comparison of the weights alone, shown in place of `shown`. */
  private shownWeights: { result: WeightsCompareResult; view: CompareWeightsView } | undefined;
  /** The weights comparison posted last, summarised (undefined once something replaced it). */
  weightsSummary: WeightsSummary | undefined;
  /** Comparisons shown so far: the id of the next. */
  private count = 0;
  /** The comparison posted last, summarised (undefined once a run replaced it). */
  summary: CompareSummary | undefined;
  rendered: CompareRendered | undefined;
  /** The block whose heatmaps were sent last. */
  heatmaps: { layer: number; rows: number; cols: number; start: number; end: number } | undefined;

  constructor(private readonly post: (message: HostToWebview) => void) {}

  /** Whether the panel shows a comparison (rather than a run). */
  get active(): boolean {
    return this.shown !== undefined || this.shownWeights !== undefined;
  }

  /** Shows `result` (its hidden activations are kept here until a run or another comparison replaces it). */
  show(result: CompareResult, labels: CompareLabels): void {
    const view = buildCompareView(result, labels, ++this.count);
    this.clear();
    this.shown = { result, view };
    this.summary = summarizeCompare(view, result);
    this.repost();
  }

  /** Shows a comparison of the two checkpoints' weights alone. */
  showWeights(result: WeightsCompareResult, labels: Omit<CompareLabels, 'text'>): void {
    const view = buildWeightsView(result, labels, ++this.count);
    this.clear();
    this.shownWeights = { result, view };
    this.weightsSummary = summarizeWeights(view, result);
    this.repost();
  }

  /** Posts the comparison again (the webview reloaded). */
  repost(): void {
    if (this.shown) this.post({ type: 'compare', compare: this.shown.view });
    else if (this.shownWeights) this.post({ type: 'compareWeights', compare: this.shownWeights.view });
  }

  /** A run (or another comparison) replaced the comparison on screen. */
  clear(): void {
    this.shownWeights = undefined;
    this.weightsSummary = undefined;
    this.shown = undefined;
    this.summary = undefined;
    this.rendered = undefined;
    this.heatmaps = undefined;
  }

  handle(msg: CompareMessage): Promise<CompareOutcome | WeightsOutcome | undefined> | undefined {
    const shown = this.shown;
    switch (msg.type) {
      case 'compareLayer': {
        const maps = shown && compareHeatmaps(shown.result, msg.layer, msg.sort, msg.start, msg.end);
        if (!maps) return undefined;
        this.heatmaps = { layer: maps.layer, rows: maps.a.rows, cols: maps.a.cols, start: maps.a.start, end: maps.a.end };
        this.post({ type: 'compareHeatmaps', heatmaps: maps });
        return undefined;
      }
      case 'compareAgain': {
        if (!shown) return undefined;
        const a = vscode.Uri.file(shown.result.modelA);
        const b = vscode.Uri.file(shown.result.modelB);
        const pair = msg.swap ? [b, a] : [a, b];
        return Promise.resolve(vscode.commands.executeCommand<CompareOutcome | undefined>(Commands.compareCheckpoints, pair[0], pair, { text: msg.text }));
      }
      case 'exportCompare':
        if (shown) void saveCompare(shown.result);
        else if (this.shownWeights) void saveWeightsCompare(this.shownWeights.result);
        return undefined;
      case 'swapWeights': {
        const w = this.shownWeights;
        if (!w) return undefined;
        const [a, b] = [vscode.Uri.file(w.result.modelA), vscode.Uri.file(w.result.modelB)];
        return Promise.resolve(vscode.commands.executeCommand<WeightsOutcome | undefined>(Commands.compareWeights, b, [b, a], { top: w.view.top, layers: w.view.request.layers }));
      }
      case 'compareRendered':
        if (msg.id === this.shownWeights?.view.id) {
          this.rendered = { overviewMs: msg.ms };
          return undefined;
        }
        if (msg.id !== shown?.view.id) return undefined; // about a comparison no longer shown
        this.rendered = msg.layer === null ? { ...this.rendered, overviewMs: msg.ms } : { ...this.rendered, layer: msg.layer, nonBlank: msg.nonBlank };
        return undefined;
      default: {
        const never: never = msg;
        void never;
        return undefined;
      }
    }
  }
}
