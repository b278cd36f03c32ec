/**
 * The status bar item: "FFN Lens" once the extension's features have loaded (on first use; the
 * browser tests' readiness signal), then the last run's layer and sparsity. Clicking it shows the
 * panel.
 */
import * as vscode from 'vscode';
import type { RunResult } from '../protocol/run';
import { Commands, EXTENSION_NAME } from './constants';

export class FfnStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('ffnLens.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = EXTENSION_NAME;
    this.item.command = Commands.showPanel;
    this.idle();
    this.item.show();
  }

  /** No run yet. */
  idle(): void {
    this.item.text = `$(pulse) ${EXTENSION_NAME}`;
    this.item.tooltip = 'FFN Lens: explore a weight file (right-click a .json, .safetensors, .npy, .npz or .gguf file)';
  }

  /** A run is in progress. */
  busy(what: string): void {
    this.item.text = `$(sync~spin) ${EXTENSION_NAME}: ${what}`;
  }

  /** The last run's layer and sparsity. */
  showRun(r: RunResult): void {
    const pct = (100 * r.analysis.sparsity).toFixed(0);
    this.item.text = `$(pulse) ${EXTENSION_NAME}: ${r.layer.id} · ${pct}% sparse`;
    const md = new vscode.MarkdownString(
      `**${r.layer.id}** of \`${r.file}\`  \n${r.dModel} → ${r.dFf} → ${r.dModel}, ${r.activation}, ` +
        `${r.tokens.length} tokens, ${pct}% of hidden units silenced, ${r.analysis.neurons.dead.length} dead  \nClick to show the panel.`,
    );
    this.item.tooltip = md;
  }

  dispose(): void {
    this.item.dispose();
  }
}
