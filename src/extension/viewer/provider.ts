/**
 * The custom read-only editor for binary weight files. Opening a file starts its listing at once
 * (header only, in the compute worker) while the webview boots; every tab of the same file shares
 * one WeightDocument. Nothing here ever writes to the file.
 */
import * as vscode from 'vscode';
import type { ViewerBackend } from './backend';
import { WeightDocument } from './document';
import { EditorSnapshot, ViewerEditor } from './editor';

export class WeightViewerProvider implements vscode.CustomReadonlyEditorProvider<WeightDocument> {
  private readonly editors = new Set<ViewerEditor>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly backend: ViewerBackend,
    private readonly budgetBytes: () => number,
    private readonly explore: (uri: vscode.Uri, layer: string) => Thenable<unknown>,
  ) {}

  openCustomDocument(uri: vscode.Uri): WeightDocument {
    const document = new WeightDocument(uri, this.backend, this.budgetBytes);
    void document.load();
    return document;
  }

  resolveCustomEditor(document: WeightDocument, panel: vscode.WebviewPanel): void {
    const editor = new ViewerEditor(document, panel, this.extensionUri, this.explore);
    this.editors.add(editor);
    panel.onDidDispose(() => {
      this.editors.delete(editor);
      editor.dispose();
    });
  }

  /** The open tabs (optionally only those of `uri`), once their listing has settled. */
  async snapshots(uri?: string): Promise<EditorSnapshot[]> {
    const editors = [...this.editors].filter((e) => !uri || e.document.uri.toString() === uri);
    await Promise.all(editors.map((e) => e.document.settled()));
    return editors.map((e) => e.state());
  }

  /** Feeds `raw` to the tabs of `uri` as if their webviews had posted it (tests only). */
  async simulate(uri: string, raw: unknown): Promise<void> {
    await Promise.all([...this.editors].filter((e) => e.document.uri.toString() === uri).map((e) => e.receive(raw)));
  }

  dispose(): void {
    for (const e of this.editors) e.dispose();
    this.editors.clear();
  }
}
