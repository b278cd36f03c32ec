/**
 * The extension's settings, typed, mirroring `contributes.configuration` in package.json. Read once
 * and re-read only when a change affects `ffnLens`.
 */
import * as vscode from 'vscode';
import { ACTIVATIONS, ActivationName } from '../core/types';
import { CONFIG_SECTION } from './constants';

export interface Settings {
  /** `auto` = the file's own / its convention's activation. */
  defaultActivation: ActivationName | 'auto';
  topK: number;
  random: { tokens: number; seed: number };
  /** Undefined = the core's default threshold for smooth activations. */
  sparsityThreshold: number | undefined;
  largeFileWarningMB: number;
  memoryBudgetMB: number;
  inlayHintsEnabled: boolean;
  /** Stop the compute worker after this many idle milliseconds; 0 keeps it. */
  workerIdleMs: number;
}

function int(v: unknown, fallback: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
}

function num(v: unknown, fallback: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

/** The current settings, with out-of-range values clamped and bad types replaced by defaults. */
export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const act = c.get<string>('defaultActivation', 'auto');
  const threshold = c.get<number | null>('sparsityThreshold', null);
  return {
    defaultActivation: (ACTIVATIONS as readonly string[]).includes(act) ? (act as ActivationName) : 'auto',
    topK: int(c.get('topK'), 10, 1, 100),
    random: { tokens: int(c.get('random.tokens'), 8, 1, 4096), seed: int(c.get('random.seed'), 0, 0, 0xffffffff) },
    sparsityThreshold: typeof threshold === 'number' && Number.isFinite(threshold) && threshold >= 0 ? threshold : undefined,
    largeFileWarningMB: int(c.get('largeFileWarningMB'), 500, 0, 1 << 20),
    memoryBudgetMB: int(c.get('memoryBudgetMB'), 2048, 16, 1 << 20),
    inlayHintsEnabled: c.get<boolean>('inlayHints.enabled', true) !== false,
    workerIdleMs: Math.round(60_000 * num(c.get('workerIdleMinutes'), 5, 0, 7 * 24 * 60)),
  };
}

/** Holds the current settings and tells listeners when they change. */
export class SettingsStore implements vscode.Disposable {
  private value = readSettings();
  private readonly emitter = new vscode.EventEmitter<Settings>();
  private readonly listener: vscode.Disposable;
  readonly onDidChange = this.emitter.event;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(CONFIG_SECTION)) return;
      this.value = readSettings();
      this.emitter.fire(this.value);
    });
  }

  get current(): Settings {
    return this.value;
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}
