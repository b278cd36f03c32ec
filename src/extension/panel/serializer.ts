/**
 * Restores the panel after VS Code restarts: the webview's saved state holds the request it
 * showed (untrusted: validated with parsePanelRequest), which is run again.
 */
import * as vscode from 'vscode';
import { parsePanelRequest } from '../../protocol/webview';
import { PANEL_VIEW_TYPE } from '../constants';
import { log } from '../log';
import type { Session } from '../session';
import { FfnPanel } from './FfnPanel';

export function registerPanelSerializer(context: vscode.ExtensionContext, session: Session): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
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
  });
}
