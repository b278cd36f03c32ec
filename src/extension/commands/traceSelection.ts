/**
 * FFN Lens: Trace Selection Through Model (editor context menu). Sends the selected text (the
 * current line when nothing is selected) to the model panel: the model and block shown now, or,
 * when no model is open, one picked in a dialog.
 */
import * as vscode from 'vscode';
import { MAX_PROMPT_CHARS, type PanelRequest } from '../../protocol/webview';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';
import { requestFile } from './explore';
import { runInPanel } from './exploreModel';

export async function traceSelection(deps: CommandDeps, textArg?: unknown): Promise<RunOutcome | undefined> {
  const editor = vscode.window.activeTextEditor;
  let text = typeof textArg === 'string' ? textArg : '';
  if (!text && editor) text = editor.selection.isEmpty ? editor.document.lineAt(editor.selection.active.line).text : editor.document.getText(editor.selection);
  if (!text.trim()) {
    void vscode.window.showInformationMessage('FFN Lens: select some text to trace through the model.');
    return undefined;
  }
  if (text.length > MAX_PROMPT_CHARS) {
    void vscode.window.showWarningMessage(`FFN Lens: the selection is ${text.length} characters; the first ${MAX_PROMPT_CHARS} are traced.`);
    text = text.slice(0, MAX_PROMPT_CHARS);
  }
  const current = deps.session.request;
  let request: PanelRequest;
  if (current?.model) {
    request = { ...current, model: { ...current.model, text, ablate: [] } };
  } else {
    const picked = await vscode.window.showOpenDialog({
      title: 'Trace the selection through which model? (a Hugging Face folder or a .gguf file)',
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      openLabel: 'Trace',
    });
    if (!picked?.[0]) return undefined;
    request = { file: requestFile(picked[0]), inputs: { kind: 'file' }, model: { text, block: 0, ablate: [] } };
  }
  return runInPanel(deps, request);
}
