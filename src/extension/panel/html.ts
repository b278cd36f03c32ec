/** The panel's HTML shell (strict CSP; assets only from dist/ and media/). */
import * as vscode from 'vscode';
import { webviewHtml } from '../webviewHtml';

/** The folders the webview may load from. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, {
    script: ['dist', 'webview.js'],
    style: ['media', 'panel.css'],
    title: 'FFN Lens',
    placeholder: 'Loading FFN Lens…',
  });
}
