/**
 * Restores the panel after VS Code restarts: the webview's saved state holds the request it
 * showed (untrusted: validated with parsePanelRequest), which is run again. extension.ts
 * registers it for PANEL_VIEW_TYPE.
 */
import * as vscode from 'vscode';
import { parsePanelRequest } from '../../protocol/webview';
import { log } from '../log';
import type { Session } from '../session';
import { FfnPanel } from './FfnPanel';

export function panelSerializer(context: vscode.ExtensionContext, session: Session): vscode.WebviewPanelSerializer {
  return {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
      const revived = FfnPanel.revive(panel, context.extensionUri, session);
      const request = parsePanelRequest((state as { request?: unknown } | undefined)?.request);
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
