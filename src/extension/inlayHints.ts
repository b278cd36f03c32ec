/** Inlay hints after each tensor key in a weight JSON: its shape (setting ffnLens.inlayHints.enabled). */
import * as vscode from 'vscode';
import { shapeText } from './format';
import { describeRole, WeightJsonCache } from './jsonWeights';
import type { SettingsStore } from './settings';

export class ShapeInlayHintsProvider implements vscode.InlayHintsProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeInlayHints = this.changed.event;
  private readonly listener: vscode.Disposable;

  constructor(
    private readonly cache: WeightJsonCache,
    private readonly settings: SettingsStore,
  ) {
    this.listener = settings.onDidChange(() => this.changed.fire());
  }

  provideInlayHints(doc: vscode.TextDocument, range: vscode.Range): vscode.InlayHint[] {
    if (!this.settings.current.inlayHintsEnabled) return [];
    const model = this.cache.get(doc);
    const from = doc.offsetAt(range.start);
    const to = doc.offsetAt(range.end);
    const hints: vscode.InlayHint[] = [];
    for (const t of model.tensors) {
      const at = t.keyOffset + t.keyLength;
      if (!t.shape || at < from || at > to) continue;
      const hint = new vscode.InlayHint(doc.positionAt(at), shapeText(t.shape), vscode.InlayHintKind.Type);
      hint.paddingLeft = true;
      hint.tooltip = describeRole(t);
      hints.push(hint);
    }
    return hints;
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
