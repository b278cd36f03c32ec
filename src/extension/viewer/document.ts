/**
 * One weight file open in the viewer: its listing (read once, shared by every editor showing the
 * file, re-read when the file changes on disk) and the statistics computed so far. All reading
 * goes through the ViewerBackend (the compute worker); the file is never written.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { describeError, FfnLensError, isFfnLensError } from '../../core/errors';
import type { StatsOutcome, ViewerView } from '../../protocol/viewer';
import { localPath } from '../files';
import { log } from '../log';
import type { ViewerBackend } from './backend';
import { buildView } from './summary';

/** Where a document is: reading its header, listed, or unreadable (with describeError's text). */
export type DocumentState =
  | { kind: 'loading' }
  | { kind: 'view'; view: ViewerView }
  | { kind: 'error'; message: string };

const MB = 1024 * 1024;
/** Changes closer together than this reload once (a file being written fires many). */
const RELOAD_DEBOUNCE_MS = 300;

export class WeightDocument implements vscode.CustomDocument {
  private current: DocumentState = { kind: 'loading' };
  /** The local path the worker reads (a temp copy for non-`file:` schemes). */
  private file: string | undefined;
  private controller = new AbortController();
  private readonly pending = new Map<string, Promise<StatsOutcome>>();
  private readonly stateEmitter = new vscode.EventEmitter<DocumentState>();
  private readonly statsEmitter = new vscode.EventEmitter<{ name: string; outcome: StatsOutcome }>();
  private readonly disposables: vscode.Disposable[] = [this.stateEmitter, this.statsEmitter];
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<void> | undefined;
  /** The listing changed (loading, listed, failed). */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Statistics of one tensor arrived. */
  readonly onDidComputeStats = this.statsEmitter.event;

  constructor(
    readonly uri: vscode.Uri,
    private readonly backend: ViewerBackend,
    /** The memory budget in bytes (ffnLens.memoryBudgetMB), read when needed. */
    private readonly budgetBytes: () => number,
  ) {
    if (uri.scheme === 'file') {
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)),
      );
      this.disposables.push(watcher, watcher.onDidChange(() => this.scheduleReload()), watcher.onDidCreate(() => this.scheduleReload()));
    }
  }

  get state(): DocumentState {
    return this.current;
  }

  get fileName(): string {
    return path.posix.basename(this.uri.path);
  }

  /** Reads the listing (again); resolves when it is listed or has failed, never rejects. */
  load(): Promise<void> {
    this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.pending.clear();
    this.setState({ kind: 'loading' });
    const started = Date.now();
    const run = (async () => {
      try {
        const file = await localPath(this.uri, this.budgetBytes());
        const [stat, listing] = await Promise.all([vscode.workspace.fs.stat(this.uri), this.backend.list(file, controller.signal)]);
        if (controller.signal.aborted) return;
        this.file = file;
        const view = buildView(listing, this.fileName, stat.size, Date.now() - started);
        log().info(`viewer: listed ${this.uri.fsPath || this.uri.toString()}: ${view.tensors.length} tensors, ${view.layers.length} layers in ${view.listMs} ms`);
        this.setState({ kind: 'view', view });
      } catch (e) {
        if (controller.signal.aborted) return;
        const message = describeError(e);
        log().error(`viewer: cannot list ${this.uri.toString()}: ${message}`);
        if (e instanceof Error && e.stack && !isFfnLensError(e)) log().debug(e.stack);
        this.setState({ kind: 'error', message });
      }
    })();
    this.loading = run;
    return run;
  }

  /** Resolves once the current load has finished (for tests and the state command). */
  async settled(): Promise<void> {
    while (this.loading) {
      const l = this.loading;
      await l;
      if (this.loading === l) return;
    }
  }

  /**
   * Statistics of tensor `name`, computed once (concurrent requests share the work). The outcome
   * is kept in the view, so a reloaded webview shows it again. Never rejects.
   */
  requestStats(name: string): Promise<StatsOutcome> {
    const running = this.pending.get(name);
    if (running) return running;
    const state = this.current;
    if (state.kind !== 'view' || !this.file) return Promise.resolve(this.refuse(name, 'the file is not listed yet'));
    const done = state.view.stats[name];
    if (done?.ok) return Promise.resolve(done);
    const tensor = state.view.tensors.find((t) => t.name === name);
    if (!tensor) return Promise.resolve(this.refuse(name, `no tensor named '${name}'`));
    const { view } = state;
    const file = this.file;
    const signal = this.controller.signal;
    const budget = this.budgetBytes();
    const work = (async (): Promise<StatsOutcome> => {
      const started = Date.now();
      try {
        const need = tensor.elements * 4;
        if (need > budget) {
          throw new FfnLensError(
            `'${name}' needs ${(need / MB).toFixed(1)} MB as float32, over the memory budget of ${(budget / MB).toFixed(0)} MB (ffnLens.memoryBudgetMB)`,
            undefined,
            'budget',
          );
        }
        const stats = await this.backend.tensorStats(file, name, budget, signal);
        return { ok: true, stats, ms: Date.now() - started };
      } catch (e) {
        // The file name is in the editor's title already: the message alone reads better in a cell.
        return { ok: false, error: isFfnLensError(e) ? e.message : describeError(e) };
      }
    })().then((outcome) => {
      if (this.pending.get(name) === work) this.pending.delete(name);
      if (signal.aborted) return outcome; // the file was reloaded or closed meanwhile: the new listing replaces it
      view.stats[name] = outcome;
      this.statsEmitter.fire({ name, outcome });
      return outcome;
    });
    this.pending.set(name, work);
    return work;
  }

  /** An outcome for a request that cannot run; told to the webviews (so no cell waits forever), not kept. */
  private refuse(name: string, error: string): StatsOutcome {
    const outcome: StatsOutcome = { ok: false, error };
    this.statsEmitter.fire({ name, outcome });
    return outcome;
  }

  private setState(state: DocumentState): void {
    this.current = state;
    this.stateEmitter.fire(state);
  }

  private scheduleReload(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      log().info(`viewer: ${this.fileName} changed on disk, reading it again`);
      void this.load();
    }, RELOAD_DEBOUNCE_MS);
  }

  dispose(): void {
    this.controller.abort();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}
