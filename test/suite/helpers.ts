// Shared by the FFN Lens integration tests (runs inside the real extension host).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LastRun } from '../../src/extension/commands/lastRun';

export const EXTENSION_ID = 'ffn-lens.ffn-lens';

/** The samples/ workspace folder. */
export function samples(...parts: string[]): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the suite needs the samples/ workspace open');
  return path.join(folder.uri.fsPath, ...parts);
}

export async function activate(): Promise<void> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  await ext.activate();
}

/** Polls `probe` until it returns something other than undefined. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function lastRun(): Thenable<LastRun> {
  return vscode.commands.executeCommand<LastRun>('ffnLens._lastRun');
}

/** Waits until the panel's webview reported drawing the run it was last sent (`posts` above `after`). */
export async function waitForRendered(after = 0, timeoutMs = 45_000): Promise<LastRun> {
  return waitFor(
    'the panel to draw the run',
    async () => {
      const r = await lastRun();
      return r.panel?.rendered && r.panel.posts > after ? r : undefined;
    },
    timeoutMs,
  );
}

/** A fresh folder inside the workspace (removed by the returned function). */
export function workspaceTemp(name: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(samples(`.test-${name}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function close(a: number, b: number, tol = 1e-5): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

export function assertClose(actual: number, expected: number, what: string, tol = 1e-5): void {
  assert.ok(close(actual, expected, tol), `${what}: expected ${expected}, got ${actual}`);
}

/** Closes every editor and panel (so a test starts without the FFN Lens panel). */
export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
