/**
 * FFN Lens: Scan Workspace Text. Runs the workspace's text files (picked by a glob, default
 * `**\/*.{txt,md}`) through the model of the panel to its block, in the worker, with a progress
 * notification and cancel; every unit's top examples, density and histogram are kept in the
 * extension's global storage (not the user's folder) and shown on the neuron cards. Arguments
 * (optional): `{glob, ctx, top}`.
 */
import * as vscode from 'vscode';
import { describeError, isFfnLensError } from '../../core/errors';
import { localPath, uriFromArg } from '../files';
import { computeClient } from '../compute';
import { log } from '../log';
import { FfnPanel } from '../panel/FfnPanel';
import { scanStore } from '../scanStore';
import type { CommandDeps } from './deps';

export const DEFAULT_SCAN_GLOB = '**/*.{txt,md}';
/** Most files one scan reads. */
const MAX_FILES = 5000;

export type ScanOutcome = { ok: true; files: number; tokens: number; windows: number; stored: string } | { ok: false; cancelled: boolean; error: string };

/** A scan's options: the context window, the examples kept per unit, and a caller's cancel (the tests'). */
export interface ScanOptions {
  ctx?: number;
  top?: number;
  signal?: AbortSignal;
}

/** A file to scan, named as the card shows it. */
export type ScanFile = { path: string; name: string };

const byPath = (a: ScanFile, b: ScanFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export async function scanWorkspace(deps: CommandDeps, optionsArg?: unknown): Promise<ScanOutcome | undefined> {
  const o = (typeof optionsArg === 'object' && optionsArg !== null ? optionsArg : {}) as ScanOptions & { glob?: string };
  if (!deps.session.request?.model) {
    void vscode.window.showInformationMessage('FFN Lens: open a model first (FFN Lens: Explore Model); the scan runs its shown block.');
    return undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showInformationMessage('FFN Lens: open a folder to scan its text files.');
    return undefined;
  }
  const glob = o.glob ?? (await vscode.window.showInputBox({ title: 'Scan workspace text', prompt: 'Files to scan (a glob in the workspace)', value: DEFAULT_SCAN_GLOB }));
  if (!glob) return undefined;
  const uris = (await vscode.workspace.findFiles(new vscode.RelativePattern(folder, glob), '**/node_modules/**', MAX_FILES)).filter((u) => u.scheme === 'file');
  if (uris.length === 0) {
    void vscode.window.showInformationMessage(`FFN Lens: no files match ${glob}.`);
    return { ok: false, cancelled: false, error: 'no files' };
  }
  const files = uris.map((u) => ({ path: u.fsPath, name: vscode.workspace.asRelativePath(u, false) }));
  return scanFiles(deps, files, { corpus: glob, folder: folder.uri.fsPath }, o);
}

/**
 * Runs `files` through the panel's model to its shown block in the worker (progress, cancel) and
 * keeps every unit's examples in global storage as the scan of `corpus` (file names relative to
 * `folder`); the card on screen is sent again with them.
 */
export async function scanFiles(deps: CommandDeps, unsorted: ScanFile[], source: { corpus: string; folder: string }, o: ScanOptions = {}): Promise<ScanOutcome> {
  const req = deps.session.request;
  if (!req?.model) return { ok: false, cancelled: false, error: 'no model is open' };
  // the worker takes the files in path order (the order the stored examples refer to)
  const files = [...unsorted].sort(byPath);
  const model = await localPath(uriFromArg(req.file) as vscode.Uri, deps.settings.current.memoryBudgetMB * 1024 * 1024);
  const layer = req.model.block;
  const client = await computeClient(deps.context);
  const controller = new AbortController();
  // a caller's signal (the tests') cancels as the notification's button does
  if (o.signal instanceof AbortSignal) {
    if (o.signal.aborted) controller.abort();
    else o.signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `FFN Lens: scanning ${files.length} file(s) through block ${layer}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let reported = 0;
        return client.scan(
          { model, layer, files, ctx: o.ctx ?? 64, top: o.top ?? 20, memoryBudgetBytes: deps.settings.current.memoryBudgetMB * 1024 * 1024 },
          {
            signal: controller.signal,
            onProgress: (p) => {
              progress.report({ message: p.message, increment: 100 * Math.max(0, p.fraction - reported) });
              reported = Math.max(reported, p.fraction);
            },
          },
        );
      },
    );
    const stored = await scanStore(deps.context).save({ model, layer, corpus: source.corpus, folder: source.folder, files, createdAt: Date.now(), result });
    log().info(`scanned ${files.length} files (${result.tokens} tokens, ${result.windows} windows) through block ${layer}; kept in ${stored}`);
    FfnPanel.instance?.refreshCard();
    return { ok: true, files: files.length, tokens: result.tokens, windows: result.windows, stored };
  } catch (e) {
    const cancelled = controller.signal.aborted || (isFfnLensError(e) && e.kind === 'cancelled');
    if (!cancelled) void vscode.window.showErrorMessage(`FFN Lens: the scan failed: ${describeError(e)}`);
    return { ok: false, cancelled, error: cancelled ? 'cancelled' : describeError(e) };
  }
}
