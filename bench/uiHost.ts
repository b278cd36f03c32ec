/**
 * The in-host half of `npm run bench:ui` (bench/ui.ts bundles it and loads it as the window's
 * extensionTestsPath, so it runs inside the real extension host of code-server). It runs
 * `ffnLens.explore` with arguments, exactly as the explorer's context menu does, and times each
 * run from the moment the command is invoked to the moment the webview's `rendered` message reaches
 * the host (it posts that right after setting body[data-ready="true"], once the charts are painted;
 * the panel stamps its arrival with this process's clock), found by polling the hidden
 * `ffnLens._lastRun` command every POLL_MS. Results go to <workspace>/ui-bench-results.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { LastRun } from '../src/extension/commands/lastRun';

export interface UiBenchConfig {
  file: string;
  layer: string;
  tokens: number;
  /** Runs after the first one, each kind. */
  repeats: number;
  /**
   * Wait this long before the first run (the window finishing its start-up, as when someone
   * explores a file a little while after opening VS Code); that run is then of kind `settled`.
   */
  settleMs?: number;
}

export interface UiRun {
  /**
   * first: nothing started yet (no worker, no panel), right after the window opened; settled: the
   * same once the window has settled; reopen: panel closed before the run; open: panel showing
   */
  kind: 'first' | 'settled' | 'reopen' | 'open';
  /** command invoked -> webview says it drew the charts for this layer and token count */
  toRenderedMs: number;
  /** command invoked -> the command's promise resolved (file read, FFN computed, panel created) */
  commandMs: number;
  /** the webview's own time from receiving the run to charts painted */
  drawMs: number;
  heatmap: { rows: number; cols: number } | null;
  nonBlank: boolean;
}

export interface UiBenchResults {
  vscodeVersion: string;
  runs: UiRun[];
  error?: string;
}

const EXTENSION_ID = 'ffn-lens.ffn-lens';
const TIMEOUT_MS = 120_000;
/**
 * Not faster: every executeCommand from the extension host, even of a command registered in it,
 * also sends the workbench an activation event (`$fireCommandActivationEvent`). Polling every 2 ms
 * queued thousands of them ahead of the panel's `run` message and starved the webview's loading:
 * 15–75 s "delivery" on a 2-CPU machine. The arrival time comes from the panel's stamp anyway.
 */
const POLL_MS = 50;

function lastRun(): Thenable<LastRun> {
  return vscode.commands.executeCommand<LastRun>('ffnLens._lastRun');
}

async function oneRun(cfg: UiBenchConfig, kind: UiRun['kind'], seed: number): Promise<UiRun> {
  const before = (await lastRun()).panel?.posts ?? 0;
  const t0 = performance.now();
  const outcome = await vscode.commands.executeCommand<{ ok: boolean; error?: string } | undefined>(
    'ffnLens.explore',
    vscode.Uri.file(cfg.file),
    { layer: cfg.layer, inputs: { kind: 'random', tokens: cfg.tokens, seed }, confirmLargeFile: true },
  );
  const commandMs = performance.now() - t0;
  if (!outcome?.ok) throw new Error(`explore failed: ${outcome?.error ?? 'no outcome'}`);
  for (;;) {
    const s = await lastRun();
    const r = s.panel?.rendered;
    // a fresh panel starts its post count at 0; an open one counts up
    const posted = kind === 'open' ? (s.panel?.posts ?? 0) > before : (s.panel?.posts ?? 0) > 0;
    if (posted && r && r.layer === cfg.layer && r.tokens === cfg.tokens) {
      const toRenderedMs = r.at - t0;
      const h = s.panel?.run?.heatmap;
      return { kind, toRenderedMs, commandMs, drawMs: r.ms, heatmap: h ? { rows: h.rows, cols: h.cols } : null, nonBlank: r.nonBlank };
    }
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`no rendered ${cfg.layer} within ${TIMEOUT_MS / 1000}s`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

async function closePanel(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  for (let i = 0; i < 40 && (await lastRun()).panel; i++) await new Promise((res) => setTimeout(res, POLL_MS));
  await new Promise((res) => setTimeout(res, 300)); // let the workbench settle
}

export async function run(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) throw new Error('bench:ui needs a workspace folder');
  const cfg = JSON.parse(fs.readFileSync(path.join(folder, 'ui-bench.json'), 'utf8')) as UiBenchConfig;
  const out: UiBenchResults = { vscodeVersion: vscode.version, runs: [] };
  try {
    if (cfg.settleMs) await new Promise((res) => setTimeout(res, cfg.settleMs));
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    let seed = 1;
    out.runs.push(await oneRun(cfg, cfg.settleMs ? 'settled' : 'first', seed++));
    for (let i = 0; i < cfg.repeats; i++) out.runs.push(await oneRun(cfg, 'open', seed++));
    for (let i = 0; i < cfg.repeats; i++) {
      await closePanel();
      out.runs.push(await oneRun(cfg, 'reopen', seed++));
    }
  } catch (e) {
    out.error = e instanceof Error ? e.stack ?? e.message : String(e);
  }
  // the last run stays on screen for the driver's check and screenshot
  fs.writeFileSync(path.join(folder, 'ui-bench-results.json'), JSON.stringify(out, null, 2));
}
