/**
 * The HTML shell every FFN Lens webview uses: a strict CSP (`default-src 'none'`, no inline code or
 * style, scripts only with a fresh nonce, assets only from the extension), one script, one stylesheet
 * and a placeholder until the webview has drawn.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';

export interface WebviewShell {
  /** Path segments of the built script under the extension, e.g. `['dist', 'webview.js']`. */
  script: string[];
  style: string[];
  title: string;
  /** Text shown until the webview replaces it. */
  placeholder: string;
  /** Attributes on `<body>`, e.g. `data-ready="false"`. */
  bodyAttributes?: string;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The page for `shell`, with a fresh nonce each time. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, shell: WebviewShell): string {
  const nonce = crypto.randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...shell.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...shell.style));
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
<title>${escapeHtml(shell.title)}</title>
</head>
<body${shell.bodyAttributes ? ' ' + shell.bodyAttributes : ''}>
<main id="app" aria-live="polite"><p class="placeholder">${escapeHtml(shell.placeholder)}</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
