import * as vscode from 'vscode';

/** Placeholder until the extension features land. */
export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
