/**
 * `ffnLens._lastRun` (hidden from the palette): what the session holds and what the panel last
 * posted to its webview (a run, or a comparison of two checkpoints), as plain JSON, so integration
 * tests can check the data without pixels.
 */
import * as path from 'path';
import { FfnPanel, PanelReport } from '../panel/FfnPanel';
import type { CompareSummary, WeightsSummary } from '../panel/comparePayload';
import type { PanelRequest } from '../../protocol/webview';
import type { CommandDeps } from './deps';

export interface LastRun {
  request: PanelRequest | null;
  layer: string | null;
  panel: PanelReport | null;
  /** The comparison the panel shows, when it shows one (also `panel.compare`). */
  compare: CompareSummary | null;
  /** The comparison of weights alone the panel shows, when it shows one (also `panel.compareWeights`). */
  compareWeights: WeightsSummary | null;
  /** Where workspace scans are kept (the extension's global storage). */
  scanStorage: string;
}

export function lastRun(deps: CommandDeps): LastRun {
  const panel = FfnPanel.instance?.state ?? null;
  return {
    request: deps.session.request ?? null,
    layer: deps.session.result?.layer.id ?? null,
    panel,
    compare: panel?.compare ?? null,
    compareWeights: panel?.compareWeights ?? null,
    scanStorage: path.join(deps.context.globalStorageUri.fsPath, 'scans'),
  };
}
