/**
 * FFN Lens: Explore FFN Layer. Arguments (all optional): the file (a Uri from the explorer,
 * editor or CodeLens, or a path), then `{layer, activation, inputs, confirmLargeFile}`. Without a
 * file: the active editor's weight file, else an open dialog. For JSON the panel opens once the
 * worker has found the layer, so a file without a layer gets a message, not an empty panel.
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { parseActivation } from '../../core/activations';
import type { InputSpec } from '../../protocol/run';
import type { PanelRequest } from '../../protocol/webview';
import { activeWeightUri, pickWeightFile, uriFromArg } from '../files';
import { FfnPanel } from '../panel/FfnPanel';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';

/** Weight files that are not JSON: a panel for them opens as soon as their run starts. */
const BINARY_WEIGHTS = /\.(safetensors|gguf|npy|npz)$/i;

export interface ExploreOptions {
  layer?: string | number;
  activation?: string;
  inputs?: InputSpec;
  confirmLargeFile?: boolean;
}

function options(arg: unknown): ExploreOptions {
  // the explorer passes (uri, selectedUris[]): an array is not options
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg) && !(arg instanceof vscode.Uri) ? (arg as ExploreOptions) : {};
}

/** The file as a PanelRequest stores it: a path for files on disk, else the URI. */
export function requestFile(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}

/** The file's own inputs when a JSON file carries an "inputs" key, else seeded random tokens from the settings. */
export async function defaultInputs(uri: vscode.Uri, deps: CommandDeps): Promise<InputSpec> {
  const { tokens, seed } = deps.settings.current.random;
  const random: InputSpec = { kind: 'random', tokens, seed };
  if (!/\.json$/i.test(uri.path)) return random;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return deps.jsonCache.get(open).inputs ? { kind: 'file' } : random;
  if (uri.scheme !== 'file') return { kind: 'file' };
  try {
    const text = await fs.promises.readFile(uri.fsPath, 'utf8');
    return /"inputs"\s*:/.test(text) ? { kind: 'file' } : random;
  } catch {
    return { kind: 'file' }; // the run reports why the file cannot be read
  }
}

export async function explore(deps: CommandDeps, fileArg?: unknown, optionsArg?: unknown): Promise<RunOutcome | undefined> {
  const uri = uriFromArg(fileArg) ?? activeWeightUri() ?? (await pickWeightFile());
  if (!uri) return undefined;
  const o = options(optionsArg);
  const request: PanelRequest = { file: requestFile(uri), inputs: o.inputs ?? (await defaultInputs(uri, deps)) };
  if (o.layer !== undefined) request.layer = String(o.layer);
  if (o.activation && o.activation !== 'auto') {
    const activation = parseActivation(o.activation);
    if (!activation) {
      const message = `unknown activation "${o.activation}"`;
      void vscode.window.showErrorMessage(`FFN Lens: ${message}. Use "FFN Lens: Change Activation" to pick one.`);
      return { ok: false, cancelled: false, error: message };
    }
    request.activation = activation;
  }
  // The panel opens early so that its webview loads while the worker reads and runs the layer: for
  // a binary weight file as the run starts (they all but always hold layers), for JSON (often not
  // weights at all) once the worker has found the layer. A panel opened for a run that then fails
  // closes again (the notification says why).
  let opened: FfnPanel | undefined;
  const open = (): void => {
    const existed = FfnPanel.instance;
    const panel = FfnPanel.createOrShow(deps.context.extensionUri, deps.session);
    if (!existed) opened = panel;
  };
  const binary = BINARY_WEIGHTS.test(uri.path);
  const outcome = await deps.session.run(request, {
    confirmLargeFile: o.confirmLargeFile,
    onStarted: binary ? open : undefined,
    onLayerFound: open,
  });
  if (outcome.ok) FfnPanel.createOrShow(deps.context.extensionUri, deps.session);
  else if (opened && FfnPanel.instance === opened && outcome.error !== 'superseded') opened.dispose();
  return outcome;
}
