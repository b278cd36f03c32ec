/**
 * The weight-file viewer: a custom read-only editor for .safetensors, .npy, .npz and .gguf
 * (package.json `contributes.customEditors`, viewType `ffnLens.weightViewer`).
 *
 * Wiring (in activate(), inside `context.subscriptions.push(...)`, where `deps` holds the settings):
 *
 *     registerWeightViewer(context, deps),
 *
 * with `import { registerWeightViewer } from './viewer/register';`.
 *
 * Statistics of one tensor need the compute worker to accept `tensors` in `inspect` (see
 * backend.ts): ComputeClient.inspect options, the worker's `inspect` message and
 * pipeline/inspect.ts `InspectOptions.tensors` ("list and read only these tensors").
 */
import * as vscode from 'vscode';
import { Commands } from '../constants';
import { computeBackend, type ViewerBackend } from './backend';
import { WeightViewerProvider } from './provider';

/** The custom editor's view type (package.json `contributes.customEditors`). */
export const VIEWER_VIEW_TYPE = 'ffnLens.weightViewer';

/**
 * Internal, for tests (not in package.json, so not in the palette): `(uri?, message?)`. With a
 * message, feeds it to the tabs of `uri` as if their webview had posted it; then returns what every
 * open viewer tab (of `uri`) was sent, once their listings have settled.
 */
export const VIEWER_STATE_COMMAND = 'ffnLens._viewerState';

/** What the viewer needs from the extension: the settings (for the memory budget). */
export interface ViewerDeps {
  settings: { readonly current: { readonly memoryBudgetMB: number } };
  /** Replaces the compute worker (tests). */
  backend?: ViewerBackend;
}

/** Registers the viewer and its state command; dispose the result to remove both. */
export function registerWeightViewer(context: vscode.ExtensionContext, deps: ViewerDeps): vscode.Disposable {
  const provider = new WeightViewerProvider(
    context.extensionUri,
    deps.backend ?? computeBackend(context),
    () => deps.settings.current.memoryBudgetMB * 1024 * 1024,
    (uri, layer) => vscode.commands.executeCommand(Commands.exploreLayer, uri, layer),
  );
  return vscode.Disposable.from(
    vscode.window.registerCustomEditorProvider(VIEWER_VIEW_TYPE, provider, {
      // The webview keeps its filter, sort and scroll with setState; the host re-posts on `ready`.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    }),
    vscode.commands.registerCommand(VIEWER_STATE_COMMAND, async (uri?: unknown, message?: unknown) => {
      const key = uri instanceof vscode.Uri ? uri.toString() : typeof uri === 'string' ? uri : undefined;
      if (key !== undefined && message !== undefined) await provider.simulate(key, message);
      return provider.snapshots(key);
    }),
    provider,
  );
}
