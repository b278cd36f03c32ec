/**
 * FFN Lens's entry point. Activation happens when first needed (a JSON file opened, a command, the
 * weight viewer, a restored panel), not at every window's start-up, and it only registers thin
 * stand-ins: the commands, providers, custom editor and panel serializer load everything else
 * (features.ts, bundled separately as dist/features.js) on first use, so activation evaluates a
 * few kilobytes. A JSON document being open also loads it, right after activation, for the
 * Problems panel and the editor's context keys. This file imports nothing but `vscode`, the ids
 * in constants.ts and firstRun.ts (the rest are type imports). In the extension's own samples/
 * folder (`workspaceContains:` in package.json: `npm start`, F5) it activates at start-up, to open
 * the first-run walkthrough once.
 */
import * as vscode from 'vscode';
import { Commands, isJsonDocument, JSON_LANGUAGES, PANEL_VIEW_TYPE, VIEWER_STATE_COMMAND, PANEL_MESSAGE_COMMAND, VIEWER_VIEW_TYPE } from './constants';
import type { Features } from './features';
import { openWalkthroughOnFirstRun } from './firstRun';
import type { WeightDocument } from './viewer/document';

/** JSON editors on disk and unsaved ones (other schemes are read too, through their text). */
const JSON_DOCUMENTS: vscode.DocumentSelector = ['file', 'untitled', 'vscode-vfs', 'vscode-remote'].flatMap((scheme) =>
  JSON_LANGUAGES.map((language) => ({ language, scheme })),
);

/** Options the custom editor is registered with (the same as viewer/register.ts's VIEWER_OPTIONS). */
const VIEWER_OPTIONS = {
  // The webview keeps its filter, sort and scroll with setState; the host re-posts on `ready`.
  webviewOptions: { retainContextWhenHidden: false },
  supportsMultipleEditorsPerDocument: true,
} as const;

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const timing = (globalThis as { __ffnLensLoad?: number[] }).__ffnLensLoad;
  let features: Features | undefined;
  let activateMs = 0;
  const load = (): Features => {
    if (!features) {
      const loadStart = performance.now();
      // dist/features.js beside this bundle (esbuild keeps this require as it is).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require('./features.js') as typeof import('./features');
      features = mod.createFeatures(context, { activateMs, entryMs: timing?.length === 2 ? timing[1] - timing[0] : undefined, loadStart });
      inlayChanged.push(features.inlayHints.onDidChangeInlayHints(() => inlayHintsChanged.fire()));
      context.subscriptions.push(features);
    }
    return features;
  };
  const inlayHintsChanged = new vscode.EventEmitter<void>();
  const inlayChanged: vscode.Disposable[] = [];

  context.subscriptions.push(
    inlayHintsChanged,
    { dispose: () => inlayChanged.forEach((d) => d.dispose()) },
    ...Object.values(Commands).map((id) => vscode.commands.registerCommand(id, (...args: unknown[]) => load().command(id, args))),
    vscode.commands.registerCommand(VIEWER_STATE_COMMAND, (uri?: unknown, message?: unknown) => load().viewerState(uri, message)),
    vscode.commands.registerCommand(PANEL_MESSAGE_COMMAND, (message?: unknown) => load().panelMessage(message)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state) => load().panelSerializer.deserializeWebviewPanel(panel, state),
    }),
    vscode.window.registerCustomEditorProvider(
      VIEWER_VIEW_TYPE,
      <vscode.CustomReadonlyEditorProvider<WeightDocument>>{
        openCustomDocument: (uri) => load().viewer.openCustomDocument(uri),
        resolveCustomEditor: (document, panel) => load().viewer.resolveCustomEditor(document, panel),
      },
      VIEWER_OPTIONS,
    ),
    vscode.languages.registerHoverProvider(JSON_DOCUMENTS, {
      provideHover: (doc, position, token) => load().hover.provideHover(doc, position, token),
    }),
    vscode.languages.registerInlayHintsProvider(JSON_DOCUMENTS, {
      onDidChangeInlayHints: inlayHintsChanged.event,
      provideInlayHints: (doc, range) => load().inlayHints.provideInlayHints(doc, range),
    }),
    vscode.languages.registerCodeLensProvider(JSON_DOCUMENTS, {
      provideCodeLenses: (doc, token) => load().codeLens.provideCodeLenses(doc, token),
    }),
  );

  // Problems and the editor's context keys follow JSON documents: load for the first one, after
  // activation has returned (so other extensions activating at the same time are not held up).
  const loadSoon = (): void => {
    const timer = setTimeout(load, 0);
    context.subscriptions.push({ dispose: () => clearTimeout(timer) });
  };
  if (vscode.workspace.textDocuments.some(isJsonDocument)) loadSoon();
  else {
    const opened = vscode.workspace.onDidOpenTextDocument((doc) => {
      if (!isJsonDocument(doc)) return;
      opened.dispose();
      loadSoon();
    });
    context.subscriptions.push(opened);
  }
  openWalkthroughOnFirstRun(context);
  activateMs = performance.now() - started;
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions (features.ts removes temporary copies).
}
