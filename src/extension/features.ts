/**
 * Everything FFN Lens does, created on first use: extension.ts registers thin stand-ins for the
 * commands, providers, custom editor and panel serializer, and loads this module (a bundle of its
 * own, dist/features.js) the first time one of them is used or a JSON document is open. So
 * activation evaluates a few kilobytes, not the parsers, the JSON model and the panel code.
 */
import * as vscode from 'vscode';
import { LayerCodeLensProvider } from './codeLens';
import { trackActiveWeightJson } from './activeEditor';
import { runCommand } from './commands';
import type { CommandDeps } from './commands/deps';
import { prestartCompute, setWorkerIdleMs } from './compute';
import type { CommandId } from './constants';
import { WeightDiagnostics } from './diagnostics';
import { removeTempCopies } from './files';
import { WeightHoverProvider } from './hover';
import { ShapeInlayHintsProvider } from './inlayHints';
import { WeightJsonCache } from './jsonWeights';
import { initLog, log } from './log';
import { FfnPanel } from './panel/FfnPanel';
import { panelSerializer } from './panel/serializer';
import { Session } from './session';
import { SettingsStore } from './settings';
import { FfnStatusBar } from './statusBar';
import { createWeightViewer, type WeightViewer } from './viewer/register';

export interface Features extends vscode.Disposable {
  command(id: CommandId, args: unknown[]): unknown;
  viewerState(uri?: unknown, message?: unknown): Promise<unknown>;
  /** Feeds a message to the panel as its webview would (tests); resolves when the run it starts settles. */
  panelMessage(message: unknown): Promise<unknown>;
  readonly hover: vscode.HoverProvider;
  readonly inlayHints: ShapeInlayHintsProvider;
  readonly codeLens: vscode.CodeLensProvider;
  readonly viewer: WeightViewer['provider'];
  readonly panelSerializer: vscode.WebviewPanelSerializer;
}

/** How activation went, for the log line. */
export interface ActivationReport {
  /** activate()'s own time. */
  activateMs: number;
  /** The entry bundle's evaluation, when known. */
  entryMs?: number;
  /** performance.now() when the entry started loading this module. */
  loadStart?: number;
}

export function createFeatures(context: vscode.ExtensionContext, report: ActivationReport): Features {
  const started = report.loadStart ?? performance.now();
  initLog(context);
  const settings = new SettingsStore();
  const statusBar = new FfnStatusBar();
  const session = new Session(context, settings, statusBar);
  const jsonCache = new WeightJsonCache();
  const deps: CommandDeps = { context, session, settings, jsonCache };
  const inlayHints = new ShapeInlayHintsProvider(jsonCache, settings);
  const viewer = createWeightViewer(context, deps);
  setWorkerIdleMs(settings.current.workerIdleMs);
  const disposables: vscode.Disposable[] = [
    settings,
    statusBar,
    session,
    inlayHints,
    viewer,
    new WeightDiagnostics(jsonCache),
    settings.onDidChange((s) => setWorkerIdleMs(s.workerIdleMs)),
    trackActiveWeightJson(jsonCache, () => prestartCompute(context)),
    { dispose: () => jsonCache.clear() },
    { dispose: () => FfnPanel.instance?.dispose() },
    { dispose: () => removeTempCopies() },
  ];
  const entry = report.entryMs === undefined ? '' : `, its entry bundle evaluated in ${report.entryMs.toFixed(1)} ms`;
  log().info(
    `activated in ${Math.round(report.activateMs)} ms${entry}; features loaded on first use in ${(performance.now() - started).toFixed(1)} ms (dist/features.js evaluated and set up) ` +
      `(VS Code ${vscode.version}, trusted workspace: ${vscode.workspace.isTrusted})`,
  );
  return {
    command: (id, args) => runCommand(deps, id, args),
    viewerState: (uri, message) => viewer.state(uri, message),
    panelMessage: async (message) => (FfnPanel.instance ? FfnPanel.instance.simulate(message) : { ok: false, error: 'no panel' }),
    hover: new WeightHoverProvider(jsonCache),
    inlayHints,
    codeLens: new LayerCodeLensProvider(jsonCache),
    viewer: viewer.provider,
    panelSerializer: panelSerializer(context, session),
    dispose: () => {
      while (disposables.length) disposables.pop()?.dispose();
    },
  };
}
