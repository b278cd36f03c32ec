/** What every command gets: the extension context, the session, the settings and the JSON model cache. */
import type * as vscode from 'vscode';
import type { WeightJsonCache } from '../jsonWeights';
import type { Session } from '../session';
import type { SettingsStore } from '../settings';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  session: Session;
  settings: SettingsStore;
  jsonCache: WeightJsonCache;
}
