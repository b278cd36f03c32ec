/**
 * `ffnLens._lastRun` (hidden from the palette): what the session holds and what the panel last
 * posted to its webview, as plain JSON, so integration tests can check the data without pixels.
 */
import { FfnPanel, PanelReport } from '../panel/FfnPanel';
import type { PanelRequest } from '../../protocol/webview';
import type { CommandDeps } from './deps';

export interface LastRun {
  request: PanelRequest | null;
  layer: string | null;
  panel: PanelReport | null;
}

export function lastRun(deps: CommandDeps): LastRun {
  return {
    request: deps.session.request ?? null,
    layer: deps.session.result?.layer.id ?? null,
    panel: FfnPanel.instance?.state ?? null,
  };
}
