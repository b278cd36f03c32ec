/**
 * FFN Lens: activation wires everything and does no work itself (no parsing, no worker start), so
 * it stays fast. It happens when first needed (a JSON file opened, a command, the weight viewer,
 * a restored panel), not at every window's start-up. The compute worker starts when a weight file
 * comes into view or on the first run; weight JSON models are parsed on first use.
 */
import * as vscode from 'vscode';
import { trackActiveWeightJson } from './activeEditor';
import { LayerCodeLensProvider } from './codeLens';
import { registerCommands } from './commands';
import { prestartCompute, setWorkerIdleMs } from './compute';
import { WeightDiagnostics } from './diagnostics';
import { removeTempCopies } from './files';
import { WeightHoverProvider } from './hover';
import { ShapeInlayHintsProvider } from './inlayHints';
import { WeightJsonCache } from './jsonWeights';
import { initLog, log } from './log';
import { FfnPanel } from './panel/FfnPanel';
import { registerPanelSerializer } from './panel/serializer';
import { Session } from './session';
import { SettingsStore } from './settings';
import { FfnStatusBar } from './statusBar';
import { registerWeightViewer } from './viewer/register';

/** JSON editors on disk and unsaved ones (other schemes are read too, through their text). */
const JSON_DOCUMENTS: vscode.DocumentSelector = ['file', 'untitled', 'vscode-vfs', 'vscode-remote'].flatMap((scheme) => [
  { language: 'json', scheme },
  { language: 'jsonc', scheme },
]);

export function activate(context: vscode.ExtensionContext): void {
  const started = Date.now();
  initLog(context);
  const settings = new SettingsStore();
  const statusBar = new FfnStatusBar();
  const session = new Session(context, settings, statusBar);
  const jsonCache = new WeightJsonCache();
  const inlayHints = new ShapeInlayHintsProvider(jsonCache, settings);
  const deps = { context, session, settings, jsonCache };
  setWorkerIdleMs(settings.current.workerIdleMs);
  context.subscriptions.push(
    settings,
    statusBar,
    session,
    ...registerCommands(deps),
    registerPanelSerializer(context, session),
    registerWeightViewer(context, deps),
    vscode.languages.registerHoverProvider(JSON_DOCUMENTS, new WeightHoverProvider(jsonCache)),
    inlayHints,
    vscode.languages.registerInlayHintsProvider(JSON_DOCUMENTS, inlayHints),
    vscode.languages.registerCodeLensProvider(JSON_DOCUMENTS, new LayerCodeLensProvider(jsonCache)),
    new WeightDiagnostics(jsonCache),
    settings.onDidChange((s) => setWorkerIdleMs(s.workerIdleMs)),
    trackActiveWeightJson(jsonCache, () => prestartCompute(context)),
    { dispose: () => jsonCache.clear() },
    { dispose: () => FfnPanel.instance?.dispose() },
  );
  log().info(`activated in ${Date.now() - started} ms (VS Code ${vscode.version}, trusted workspace: ${vscode.workspace.isTrusted})`);
}

export function deactivate(): void {
  removeTempCopies();
}
