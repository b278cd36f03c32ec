/**
 * `ffnLens._lastRun` (hidden from the palette): what the session holds and what the panel last
 * posted to its webview, as plain JSON, so integration tests can check the data without pixels.
 */
import * as path from 'path';
import { FfnPanel, PanelReport } from '../panel/FfnPanel';
import type { PanelRequest } from '../../protocol/webview';
import type { CommandDeps } from './deps';

export interface LastRun {
  request: PanelRequest | null;
  layer: string | null;
  panel: PanelReport | null;
  /** Where workspace scans are kept (the extension's global storage). */
  scanStorage: string;
}

export function lastRun(deps: CommandDeps): LastRun {
  return {
    request: deps.session.request ?? null,
    layer: deps.session.result?.layer.id ?? null,
    panel: FfnPanel.instance?.state ?? null,
    scanStorage: path.join(deps.context.globalStorageUri.fsPath, 'scans'),
  };
}
