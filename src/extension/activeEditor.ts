/**
 * Keeps the `ffnLens.activeWeightJson` context key in step with the active editor (for
 * editor/title and editor/context menus), and tells `onWeights` when a weight JSON comes into
 * view (the extension starts its compute worker then, ahead of a run).
 */
import * as vscode from 'vscode';
import { ContextKeys, isJsonDocument } from './constants';
import type { WeightJsonCache } from './jsonWeights';

export function trackActiveWeightJson(cache: WeightJsonCache, onWeights?: () => void): vscode.Disposable {
  let last: boolean | undefined;
  const update = (editor: vscode.TextEditor | undefined): void => {
    const doc = editor?.document;
    const isWeights = !!doc && isJsonDocument(doc) && cache.get(doc).tensors.length > 0;
    if (isWeights) onWeights?.();
    if (isWeights === last) return;
    last = isWeights;
    void vscode.commands.executeCommand('setContext', ContextKeys.activeWeightJson, isWeights);
  };
  // off the activation path: parsing a large open file must not delay activation
  const timer = setTimeout(() => update(vscode.window.activeTextEditor), 0);
  const sub = vscode.window.onDidChangeActiveTextEditor(update);
  return { dispose: () => { clearTimeout(timer); sub.dispose(); } };
}
