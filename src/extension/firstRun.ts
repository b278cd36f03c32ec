/**
 * Opens the first-run walkthrough once per profile (kept in globalState) when a window opens on
 * the extension's own samples/ folder: `npm start` and F5. Installed from the Marketplace or a
 * .vsix, VS Code opens it at install by itself; its setting for that,
 * `workbench.welcomePage.walkthroughs.openOnInstall`, turns this off too (the test harness's
 * profiles do), and an extension test run never opens it. Part of the entry bundle: it imports
 * only `vscode` and the ids.
 */
import * as vscode from 'vscode';
import { walkthroughRef } from './constants';

/** globalState key: the walkthrough was opened on a first run. */
const SHOWN_KEY = 'ffnLens.walkthroughShown';

/** What the decision depends on. */
export interface FirstRunFacts {
  /** The extension runs under an extension test runner. */
  testRun: boolean;
  /** It was opened on a first run before (this profile). */
  shown: boolean;
  /** `workbench.welcomePage.walkthroughs.openOnInstall`. */
  openOnInstall: boolean;
  /** The workspace folders on disk. */
  folders: readonly string[];
  /** The extension's samples/ folder. */
  samples: string;
}

/** A folder's path without trailing separators. */
const folderPath = (p: string): string => p.replace(/[\\/]+$/, '');

/** Whether to open the walkthrough now: a first run, allowed, on the extension's samples/ folder. */
export function shouldOpenWalkthrough(f: FirstRunFacts): boolean {
  return !f.testRun && !f.shown && f.openOnInstall && f.folders.some((d) => folderPath(d) === folderPath(f.samples));
}

/** Opens the walkthrough when `shouldOpenWalkthrough` says so (activation, not awaited). */
export function openWalkthroughOnFirstRun(context: vscode.ExtensionContext): void {
  const facts: FirstRunFacts = {
    testRun: context.extensionMode === vscode.ExtensionMode.Test,
    shown: context.globalState.get<boolean>(SHOWN_KEY) === true,
    openOnInstall: vscode.workspace.getConfiguration('workbench.welcomePage').get<boolean>('walkthroughs.openOnInstall') !== false,
    folders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    samples: vscode.Uri.joinPath(context.extensionUri, 'samples').fsPath,
  };
  if (!shouldOpenWalkthrough(facts)) return;
  void context.globalState.update(SHOWN_KEY, true);
  void vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughRef(context.extension.id), false);
}
