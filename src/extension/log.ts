/** The "FFN Lens" output channel: what ran, how long it took, and every error in full. */
import * as vscode from 'vscode';
import { EXTENSION_NAME } from './constants';

let channel: vscode.LogOutputChannel | undefined;

/** Creates the channel (once); disposed with the extension. */
export function initLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  if (!channel) {
    channel = vscode.window.createOutputChannel(EXTENSION_NAME, { log: true });
    const c = channel;
    context.subscriptions.push({ dispose: () => { c.dispose(); channel = undefined; } });
  }
  return channel;
}

/** The channel; a no-op sink before activation (so shared modules can log unconditionally). */
export function log(): Pick<vscode.LogOutputChannel, 'info' | 'warn' | 'error' | 'debug' | 'show'> {
  return channel ?? { info() {}, warn() {}, error() {}, debug() {}, show() {} };
}
