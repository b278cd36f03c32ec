/**
 * FFN Lens: Explore Model. A Hugging Face folder (or a .safetensors inside one) or a .gguf, run on
 * text through the model's own tokenizer: the panel gets a prompt box, the token chips, a block
 * slider and the next-token box. Arguments (optional): the folder or file (Uri or path), then
 * `{text, block, ablate}`. Without one: the folder of the active model file, else an open dialog.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PanelRequest } from '../../protocol/webview';
import { uriFromArg } from '../files';
import { FfnPanel } from '../panel/FfnPanel';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';
import { requestFile } from './explore';

/** The text a model panel starts with when the model brings none. */
export const DEFAULT_PROMPT = 'The whale surfaced beside the ship, and the sailors';

export interface ModelOptions {
  text?: string;
  block?: number;
  ablate?: number[];
}

/**
 * The first sample line of the first of `models` that has one: the first non-empty line of a
 * sample.txt, samples.txt or prompt.txt in its folder (beside it for a file), else DEFAULT_PROMPT.
 */
export async function samplePrompt(...models: string[]): Promise<string> {
  for (const model of models) {
    const dir = /\.(gguf|safetensors)$/i.test(model) ? path.dirname(model) : model;
    for (const name of ['sample.txt', 'samples.txt', 'prompt.txt']) {
      try {
        const line = (await fs.readFile(path.join(dir, name), 'utf8')).split(/\r?\n/).find((l) => l.trim());
        if (line) return line.trim().slice(0, 2000);
      } catch {
        // no such file: try the next
      }
    }
  }
  return DEFAULT_PROMPT;
}

async function pickModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'Explore a model: a Hugging Face folder or a .gguf file',
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Explore',
    filters: { 'GGUF models': ['gguf'], 'All files': ['*'] },
  });
  return picked?.[0];
}

/** The model the active editor's file belongs to (a .gguf, or a file in a folder with config.json). */
function activeModel(): vscode.Uri | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri ?? (vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined)?.uri;
  if (!uri || uri.scheme !== 'file') return undefined;
  if (/\.gguf$/i.test(uri.path)) return uri;
  return /\.safetensors$/i.test(uri.path) ? vscode.Uri.joinPath(uri, '..') : undefined;
}

export async function exploreModel(deps: CommandDeps, fileArg?: unknown, optionsArg?: unknown): Promise<RunOutcome | undefined> {
  let uri = uriFromArg(fileArg) ?? activeModel() ?? (await pickModel());
  if (!uri) return undefined;
  // config.json or tokenizer.json stand for their folder
  if (/(^|\/)(config|tokenizer|tokenizer_config)\.json$/i.test(uri.path)) uri = vscode.Uri.joinPath(uri, '..');
  const o = (typeof optionsArg === 'object' && optionsArg !== null && !Array.isArray(optionsArg) ? optionsArg : {}) as ModelOptions;
  const file = requestFile(uri);
  const request: PanelRequest = {
    file,
    inputs: { kind: 'file' },
    model: { text: o.text ?? (await samplePrompt(file)), block: o.block ?? 0, ablate: o.ablate ?? [] },
  };
  return runInPanel(deps, request);
}

/**
 * Runs a model request with the panel opened as the run starts (closed again if it fails), beside
 * the active text editor or in `column`.
 */
export async function runInPanel(deps: CommandDeps, request: PanelRequest, column?: vscode.ViewColumn): Promise<RunOutcome> {
  let opened: FfnPanel | undefined;
  const open = (): void => {
    const existed = FfnPanel.instance;
    const panel = FfnPanel.createOrShow(deps.context.extensionUri, deps.session, column);
    if (!existed) opened = panel;
  };
  const outcome = await deps.session.run(request, { onStarted: open });
  if (outcome.ok) FfnPanel.createOrShow(deps.context.extensionUri, deps.session, column);
  else if (opened && FfnPanel.instance === opened && outcome.error !== 'superseded') opened.dispose();
  return outcome;
}
