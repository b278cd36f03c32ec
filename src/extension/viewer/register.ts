/**
 * The weight-file viewer: a custom read-only editor for .safetensors, .npy, .npz and .gguf
 * (package.json `contributes.customEditors`, viewType `ffnLens.weightViewer`).
 *
 * extension.ts registers the custom editor with a stand-in that creates the real provider
 * (`createWeightViewer`, in features.ts) on first use.
 *
 * Statistics of one tensor need the compute worker to accept `tensors` in `inspect` (see
 * backend.ts): ComputeClient.inspect options, the worker's `inspect` message and
 * pipeline/inspect.ts `InspectOptions.tensors` ("list and read only these tensors").
 */
import * as vscode from 'vscode';
import { Commands } from '../constants';
import { computeBackend, type ViewerBackend } from './backend';
import { WeightViewerProvider } from './provider';

export { VIEWER_STATE_COMMAND, VIEWER_VIEW_TYPE } from '../constants';

/** What the viewer needs from the extension: the settings (for the memory budget). */
export interface ViewerDeps {
  settings: { readonly current: { readonly memoryBudgetMB: number } };
  /** Replaces the compute worker (tests). */
  backend?: ViewerBackend;
}

/** The viewer's provider and its test command, for extension.ts to register (it registers thin stand-ins that load this lazily). */
export interface WeightViewer extends vscode.Disposable {
  provider: WeightViewerProvider;
  /** The `ffnLens._viewerState` command. */
  state(uri?: unknown, message?: unknown): Promise<unknown>;
}

export function createWeightViewer(context: vscode.ExtensionContext, deps: ViewerDeps): WeightViewer {
  const provider = new WeightViewerProvider(
    context.extensionUri,
    deps.backend ?? computeBackend(context),
    () => deps.settings.current.memoryBudgetMB * 1024 * 1024,
    (uri, layer) => vscode.commands.executeCommand(Commands.exploreLayer, uri, layer),
  );
  return {
    provider,
    state: async (uri?: unknown, message?: unknown) => {
      const key = uri instanceof vscode.Uri ? uri.toString() : typeof uri === 'string' ? uri : undefined;
      if (key !== undefined && message !== undefined) await provider.simulate(key, message);
      return provider.snapshots(key);
    },
    dispose: () => provider.dispose(),
  };
}
