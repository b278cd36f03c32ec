/**
 * Restores the panel after VS Code restarts: the webview's saved state holds the request it
 * showed, a run or a comparison (untrusted: validated with parsePanelRequest or
 * parseComparePanelRequest), which is run again. extension.ts registers it for PANEL_VIEW_TYPE.
 */
import * as vscode from 'vscode';
import { parseComparePanelRequest, parsePanelRequest } from '../../protocol/webview';
import type { CompareOutcome, WeightsOutcome } from '../commands/compareCheckpoints';
import { Commands } from '../constants';
import { log } from '../log';
import type { Session } from '../session';
import { FfnPanel } from './FfnPanel';

export function panelSerializer(context: vscode.ExtensionContext, session: Session): vscode.WebviewPanelSerializer {
  return {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
      const revived = FfnPanel.revive(panel, context.extensionUri, session);
      const saved = state as { request?: unknown; compare?: unknown } | undefined;
      const compare = parseComparePanelRequest(saved?.compare);
      if (compare) {
        log().info(`restoring the panel: comparing ${compare.weights ? 'the weights of ' : ''}${compare.modelA} with ${compare.modelB} again`);
        const [a, b] = [vscode.Uri.file(compare.modelA), vscode.Uri.file(compare.modelB)];
        const outcome = compare.weights
          ? await vscode.commands.executeCommand<WeightsOutcome | undefined>(Commands.compareWeights, a, [a, b], { top: compare.top, layers: compare.layers })
          : await vscode.commands.executeCommand<CompareOutcome | undefined>(Commands.compareCheckpoints, a, [a, b], {
              text: compare.text,
              top: compare.top,
              layers: compare.layers,
            });
        if (outcome && !outcome.ok && !outcome.cancelled) revived.setEmptyMessage(`Could not restore the comparison: ${outcome.error}`);
        return;
      }
      const request = parsePanelRequest(saved?.request);
      if (!request) {
        revived.setEmptyMessage('Nothing to restore. Right-click a weight file and choose "Explore FFN Layer".');
        return;
      }
      if (session.result && session.request?.file === request.file) return;
      log().info(`restoring the panel: re-running ${request.file}`);
      const outcome = await session.run(request);
      if (!outcome.ok && !outcome.cancelled) revived.setEmptyMessage(`Could not restore the panel: ${outcome.error}`);
    },
  };
}
