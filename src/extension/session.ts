/**
 * The current exploration: which file, layer, activation and inputs, and the last result. Every
 * way of running a layer (commands, CodeLens, the panel's controls, a restored panel) goes
 * through `run`, which shows cancellable progress, talks to the compute worker, reports errors as
 * notifications that say what to do, and tells the panel and the status bar.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { toPlain, isGated } from '../core/activations';
import { describeError, isFfnLensError } from '../core/errors';
import type { ActivationName } from '../core/types';
import type { ModelRunRequest } from '../protocol/model';
import type { Progress, RunRequest, RunResult } from '../protocol/run';
import type { ComputeClient } from '../worker/client';
import type { PanelRequest } from '../protocol/webview';
import { computeClient } from './compute';
import { Commands, ContextKeys } from './constants';
import { localPath, uriFromArg } from './files';
import { log } from './log';
import { SettingsStore } from './settings';
import { FfnStatusBar } from './statusBar';

/** What a run came to; commands return it so tests can check without notifications. */
export type RunOutcome =
  | { ok: true; layer: string; activation: string; tokens: number; sparsity: number }
  | { ok: false; cancelled: boolean; error: string };

export interface RunOptions {
  /** Skip the large-file question (tests, and re-runs of a file already confirmed). */
  confirmLargeFile?: boolean;
  /**
   * Called once the worker has found the layer and checked the budget (the `read` stage): from
   * then on the run fails only on bad data or a cancel. `explore` opens the panel here, so the
   * webview loads while the weights are read and the layer runs.
   */
  onLayerFound?: () => void;
  /** Called once the run is going ahead (after the large-file question), before the worker has the file. */
  onStarted?: () => void;
}

const MB = 1024 * 1024;

export class Session implements vscode.Disposable {
  request: PanelRequest | undefined;
  result: RunResult | undefined;
  /** "Running x…" while a run is in flight, for a panel that opens meanwhile. */
  busy: string | undefined;
  /** Each file's layers' own activations (what they run with when nobody overrides), by layer id. */
  private readonly defaults = new Map<string, Map<string, ActivationName>>();
  private inflight: AbortController | undefined;
  private readonly confirmed = new Set<string>();
  private readonly started = new vscode.EventEmitter<string>();
  private readonly finished = new vscode.EventEmitter<RunResult>();
  private readonly failed = new vscode.EventEmitter<string>();
  /** A run started (with a short description). */
  readonly onDidStart = this.started.event;
  /** A run finished; `result` and `request` are already updated. */
  readonly onDidRun = this.finished.event;
  /** A run failed or was cancelled (the message; empty when cancelled). */
  readonly onDidFail = this.failed.event;

  constructor(
    /** The extension's context (storage, the compute worker). */
    readonly context: vscode.ExtensionContext,
    private readonly settings: SettingsStore,
    private readonly statusBar: FfnStatusBar,
  ) {}

  /**
   * The memory budget from the settings: every request about the worker's held model passes it
   * (a request with another budget makes the worker open the model again).
   */
  get memoryBudgetBytes(): number {
    return this.settings.current.memoryBudgetMB * MB;
  }

  /** The RunRequest for the worker, with the settings applied. */
  private toRunRequest(req: PanelRequest, file: string): RunRequest {
    const s = this.settings.current;
    // A gated default would not fit plain layers; its plain form runs as the gated one on gated layers.
    const fallback = s.defaultActivation === 'auto' ? undefined : isGated(s.defaultActivation) ? toPlain(s.defaultActivation) : s.defaultActivation;
    const out: RunRequest = {
      file,
      inputs: req.inputs,
      topK: s.topK,
      memoryBudgetBytes: s.memoryBudgetMB * MB,
    };
    if (req.layer !== undefined) out.layer = req.layer;
    const activation = req.activation ?? fallback;
    if (activation) out.activation = activation;
    if (s.sparsityThreshold !== undefined) out.threshold = s.sparsityThreshold;
    return out;
  }

  /** The worker's request for a model panel: the top 5 next tokens always, the ablation when set. */
  private toModelRequest(req: PanelRequest, file: string): ModelRunRequest {
    const s = this.settings.current;
    const m = req.model as NonNullable<PanelRequest['model']>;
    const out: ModelRunRequest = { model: file, input: { kind: 'text', text: m.text }, layer: m.block, predict: 5, truncate: true, topK: s.topK, memoryBudgetBytes: s.memoryBudgetMB * MB };
    if (m.ablate.length) out.ablate = m.ablate;
    if (s.sparsityThreshold !== undefined) out.threshold = s.sparsityThreshold;
    return out;
  }

  /** Asks before a file over ffnLens.largeFileWarningMB; true to go on. */
  private async confirmSize(file: string, opts: RunOptions): Promise<boolean> {
    const limitMB = this.settings.current.largeFileWarningMB;
    if (opts.confirmLargeFile || limitMB <= 0 || this.confirmed.has(file)) return true;
    let size = 0;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch {
      return true; // the worker reports the real problem
    }
    if (size <= limitMB * MB) return true;
    const choice = await vscode.window.showWarningMessage(
      `${path.basename(file)} is ${(size / MB).toFixed(0)} MB (over ffnLens.largeFileWarningMB = ${limitMB}). ` +
        'FFN Lens reads only the chosen layer, but that can still take a while. Run it?',
      { modal: true },
      'Run',
    );
    if (choice !== 'Run') return false;
    this.confirmed.add(file);
    return true;
  }

  /** Runs `req`, replacing any run in flight. */
  async run(req: PanelRequest, opts: RunOptions = {}): Promise<RunOutcome> {
    this.inflight?.abort();
    const controller = new AbortController();
    this.inflight = controller;
    const name = path.basename(uriFromArg(req.file)?.path ?? req.file);
    const what = req.model ? `${name} (block ${req.model.block})` : req.layer ? `${name} (${req.layer})` : name;
    try {
      const uri = uriFromArg(req.file);
      if (!uri) throw new Error(`not a file: ${req.file}`);
      const file = await localPath(uri, this.settings.current.memoryBudgetMB * MB);
      if (!(await this.confirmSize(file, opts))) return this.cancelled(controller, 'the run was not started');
      const runRequest = this.toRunRequest(req, file);
      this.busy = `Running ${what}…`;
      this.started.fire(what);
      this.statusBar.busy(what);
      opts.onStarted?.();
      const client = await computeClient(this.context);
      const t0 = Date.now();
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `FFN Lens: running ${what}`, cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          let reported = 0;
          let found = false;
          const onProgress = (p: Progress): void => {
              if (p.stage === 'read' && !found && !controller.signal.aborted) {
                found = true;
                opts.onLayerFound?.();
              }
            const fraction = Math.max(reported, Math.min(1, p.fraction));
            progress.report({ message: p.message, increment: 100 * (fraction - reported) });
            reported = fraction;
          };
          // A whole model on text streams its blocks in the worker, which keeps it for the next run.
          if (req.model) return client.runModel(this.toModelRequest(req, file), { signal: controller.signal, onProgress });
          return client.run(runRequest, { signal: controller.signal, onProgress });
        },
      );
      await this.learnDefaults(file, result, client, controller.signal);
      if (controller.signal.aborted) return this.cancelled(controller, 'superseded');
      if (this.inflight === controller) this.inflight = undefined;
      this.request = req;
      this.result = result;
      void vscode.commands.executeCommand('setContext', ContextKeys.hasRun, true);
      this.statusBar.showRun(result);
      log().info(
        `ran ${result.layer.id} of ${result.file}: ${result.dModel} → ${result.dFf} → ${result.dModel}, ${result.activation}, ` +
          `${result.tokens.length} tokens, sparsity ${(100 * result.analysis.sparsity).toFixed(1)}%, ` +
          `load ${result.timings.loadMs.toFixed(0)} ms${result.timings.weightsReused ? ' (weights held from the last run)' : ''}, compute ${result.timings.computeMs.toFixed(0)} ms, total ${Date.now() - t0} ms`,
      );
      for (const w of result.warnings) log().warn(w);
      this.finished.fire(result);
      return { ok: true, layer: result.layer.id, activation: result.activation, tokens: result.tokens.length, sparsity: result.analysis.sparsity };
    } catch (e) {
      if (controller.signal.aborted || (isFfnLensError(e) && e.kind === 'cancelled')) return this.cancelled(controller, 'cancelled');
      if (this.inflight === controller) this.inflight = undefined;
      this.restoreStatus();
      const message = describeError(e);
      log().error(`run of ${what} failed: ${message}`);
      if (e instanceof Error && e.stack && !isFfnLensError(e)) log().debug(e.stack);
      this.failed.fire(message);
      this.notify(message, isFfnLensError(e) ? e.kind : undefined, req.file);
      return { ok: false, cancelled: false, error: message };
    } finally {
      // a run that replaced this one owns the busy text now
      if (this.inflight === undefined || this.inflight === controller) this.busy = undefined;
    }
  }

  /**
   * Records the layers' own activations: from the result when nothing was overridden, else (once
   * per file) from a header-only inspection, since an override applies to every layer listed.
   */
  private async learnDefaults(file: string, r: RunResult, client: { inspect: ComputeClient['inspect'] }, signal: AbortSignal): Promise<void> {
    const own = r.layers.every((l) => l.activationSource !== 'override');
    if (!own && this.defaults.has(r.file)) return;
    let layers = r.layers;
    if (!own) {
      try {
        layers = (await client.inspect(file, { stats: false, signal })).layers;
      } catch (e) {
        log().warn(`could not read the layers' own activations: ${describeError(e)}`);
        return;
      }
    }
    this.defaults.set(r.file, new Map(layers.map((l) => [l.id, l.activation])));
  }

  /** The activation `layer` of the last result's file has without an override. */
  defaultActivation(r: RunResult): ActivationName {
    return this.defaults.get(r.file)?.get(r.layer.id) ?? r.layer.activation;
  }

  private cancelled(controller: AbortController, why: string): RunOutcome {
    if (this.inflight === controller) {
      this.inflight = undefined;
      this.restoreStatus();
      this.failed.fire('');
    }
    log().info(`run ${why}`);
    return { ok: false, cancelled: true, error: why };
  }

  private restoreStatus(): void {
    if (this.result) this.statusBar.showRun(this.result);
    else this.statusBar.idle();
  }

  /** The error as a notification, with the next step as a button. Not awaited. */
  private notify(message: string, kind: string | undefined, file: string): void {
    const hint =
      kind === 'budget'
        ? ' Raise the ffnLens.memoryBudgetMB setting, or run fewer tokens.'
        : /no (ffn )?layer|no tensors/i.test(message)
          ? ' Use "FFN Lens: Inspect Weight File" to see what the file holds.'
          : '';
    const actions = kind === 'budget' ? ['Open Settings', 'Show Log'] : ['Inspect Weight File', 'Show Log'];
    void vscode.window.showErrorMessage(`FFN Lens: ${message}${hint}`, ...actions).then((choice) => {
      if (choice === 'Show Log') void vscode.commands.executeCommand(Commands.showLog);
      else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'ffnLens.memoryBudgetMB');
      else if (choice === 'Inspect Weight File') void vscode.commands.executeCommand(Commands.inspect, file);
    });
  }

  /** Stops the run in flight, if any. */
  cancel(): void {
    this.inflight?.abort();
  }

  dispose(): void {
    this.cancel();
    this.started.dispose();
    this.finished.dispose();
    this.failed.dispose();
  }
}
