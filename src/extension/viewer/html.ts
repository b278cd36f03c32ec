/** The viewer's HTML shell (strict CSP; assets only from dist/), with a placeholder until the listing. */
import * as vscode from 'vscode';
import { webviewHtml } from '../webviewHtml';

/** The only folder the viewer webview may load from. */
export function viewerResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist')];
}

export function viewerHtml(webview: vscode.Webview, extensionUri: vscode.Uri, fileName: string): string {
  return webviewHtml(webview, extensionUri, {
    script: ['dist', 'viewer.js'],
    style: ['dist', 'viewer.css'],
    title: fileName,
    placeholder: `Reading the header of ${fileName}…`,
    bodyAttributes: 'data-ready="false"',
  });
}
