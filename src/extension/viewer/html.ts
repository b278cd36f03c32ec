/**
 * The viewer's HTML shell: a strict CSP (no inline code or style, scripts only with a fresh nonce,
 * assets only from dist/), the built script and stylesheet, and a placeholder until the listing.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';

/** The only folder the viewer webview may load from. */
export function viewerResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist')];
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function viewerHtml(webview: vscode.Webview, extensionUri: vscode.Uri, fileName: string): string {
  const nonce = crypto.randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'viewer.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'viewer.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource}`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${escapeHtml(fileName)}</title>
</head>
<body data-ready="false">
<main id="app" aria-live="polite"><p class="placeholder">Reading the header of ${escapeHtml(fileName)}…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
