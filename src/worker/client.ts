/**
 * The host side of the compute worker: starts it on first use, matches replies to requests by
 * id, turns an AbortSignal into a `cancel` (and terminates a worker that does not answer one in
 * time), and starts a fresh worker after a crash. No `vscode` import: the extension passes
 * `context.asAbsolutePath('dist/worker.js')`.
 */
import * as os from 'os';
import { Worker } from 'worker_threads';
import { FfnLensError } from '../core/errors';
import type { NeuronCard } from '../model/neuron';
import type { ScanResult } from '../model/scan';
import type { CompareRequest, CompareResult, WeightsCompareRequest, WeightsCompareResult } from '../protocol/compare';
import type { ModelRunRequest, ModelRunResult, NeuronCardRequest, ScanRequest } from '../protocol/model';
import type { InspectResult, Progress, RunRequest, RunResult } from '../protocol/run';
import type { FromWorker, KernelPath, ToWorker, WorkerError, WorkerKernelInfo, WorkerStartData } from '../protocol/worker';

export interface ComputeClientOptions {
  /** GEMM threads in the worker, its own included. Default: the cores, at most 8. */
  threads?: number;
  /** Force a kernel (benchmarks, tests). Default `auto`. */
  kernel?: KernelPath | 'auto';
  /** How long a cancelled request may take to answer before the worker is terminated. Default 1000 ms. */
  cancelGraceMs?: number;
  /**
   * Nice value of the worker's threads (Linux, where it is per thread): compute yields the CPU to
   * the extension host's thread when they compete. Default 5; 0 leaves priorities alone.
   */
  nice?: number;
  /**
   * Stop the worker once it has had nothing to do for this long, giving back its memory (a
   * worker keeps the kernel memory of its largest layer, e.g. 0.4 GB after a LLaMA-7B-sized
   * one); the next request starts a new one. Default 0: never.
   */
  idleStopMs?: number;
  /** Told when an idle worker is stopped (for a log line). */
  onIdleStop?: () => void;
}

/** The messages that are requests (and get replies). */
type RequestMessage = Extract<ToWorker, { type: 'run' | 'runModel' | 'neuronCard' | 'scan' | 'compare' | 'compareWeights' | 'inspect' }>;

interface Pending {
  /** The request as sent, to send again to a fresh worker (see `replaceStuckWorker`). */
  message: RequestMessage;
  resolve: (value: never) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
  file: string;
}

/** The default thread count: every core (the worker sleeps between jobs), at most 8. */
function defaultThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores));
}

function fromWorkerError(e: WorkerError): Error {
  if (e.name === 'FfnLensError') return new FfnLensError(e.message, e.file, e.kind);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class ComputeClient {
  private worker: Worker | undefined;
  private cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  /** Cancelled requests the worker has not answered yet, with their termination timers. */
  private readonly unanswered = new Map<number, NodeJS.Timeout>();
  private nextId = 1;
  private disposed = false;
  private readonly threads: number;
  private readonly kernelChoice: KernelPath | 'auto';
  private readonly graceMs: number;
  private readonly nice: number;
  private kernelInfo: WorkerKernelInfo | undefined;
  private starts = 0;
  private idleStopMs: number;
  private readonly onIdleStop: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly workerScriptPath: string,
    options: ComputeClientOptions = {},
  ) {
    this.threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
    this.kernelChoice = options.kernel ?? 'auto';
    this.graceMs = options.cancelGraceMs ?? 1000;
    this.nice = options.nice ?? 5;
    this.idleStopMs = Math.max(0, options.idleStopMs ?? 0);
    this.onIdleStop = options.onIdleStop;
  }

  /** Changes the idle time after which the worker stops (0: never); counts from now. */
  setIdleStopMs(ms: number): void {
    this.idleStopMs = Math.max(0, ms);
    if (this.pending.size === 0) this.armIdleStop();
  }

  /** Whether a worker is running now (started and not stopped since). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Starts the worker ahead of a request (when a weight file is opened, say), so the first run
   * does not wait for the thread, its bundle and its kernel. Does nothing when one is running.
   */
  warm(): void {
    if (this.disposed) return;
    this.ensureWorker();
    this.armIdleStop();
  }

  /** How many workers this client has started (a crash or a stuck cancel means one more). */
  get workerStarts(): number {
    return this.starts;
  }

  /** The kernel the current worker reported (undefined until it has started). */
  get kernel(): WorkerKernelInfo | undefined {
    return this.kernelInfo;
  }

  /** Runs one layer in the worker. Rejects with FfnLensError kind `cancelled` when `signal` aborts. */
  run(req: RunRequest, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<RunResult> {
    return this.request<RunResult>((id) => ({ type: 'run', id, request: req }), req.file, opts.signal, opts.onProgress);
  }

  /** Runs a whole model to a block's FFN in the worker (which keeps the model for the next run). */
  runModel(req: ModelRunRequest, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<ModelRunResult> {
    return this.request<ModelRunResult>((id) => ({ type: 'runModel', id, request: req }), req.model, opts.signal, opts.onProgress);
  }

  /** The neuron card of a unit, from the worker's held model. */
  neuronCard(req: NeuronCardRequest, opts: { signal?: AbortSignal } = {}): Promise<NeuronCard> {
    return this.request<NeuronCard>((id) => ({ type: 'neuronCard', id, request: req }), req.model, opts.signal);
  }

  /** Scans a corpus through the worker's held model to a block. */
  scan(req: ScanRequest, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<ScanResult> {
    return this.request<ScanResult>((id) => ({ type: 'scan', id, request: req }), req.model, opts.signal, opts.onProgress);
  }

  /** Two checkpoints on the same tokens (src/pipeline/compare.ts). */
  compare(req: CompareRequest, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<CompareResult> {
    return this.request<CompareResult>((id) => ({ type: 'compare', id, request: req }), req.modelB, opts.signal, opts.onProgress);
  }

  /** Two checkpoints' FFN weights, a block at a time. */
  compareWeights(req: WeightsCompareRequest, opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {}): Promise<WeightsCompareResult> {
    return this.request<WeightsCompareResult>((id) => ({ type: 'compareWeights', id, request: req }), req.modelB, opts.signal, opts.onProgress);
  }

  /** Lists (and with `stats`, summarises) the tensors of `path` in the worker. */
  inspect(path: string, opts: { stats: boolean; signal?: AbortSignal; memoryBudgetBytes?: number } = { stats: false }): Promise<InspectResult> {
    return this.request<InspectResult>(
      (id) => ({ type: 'inspect', id, path, stats: opts.stats, memoryBudgetBytes: opts.memoryBudgetBytes }),
      path,
      opts.signal,
    );
  }

  /** Terminates the worker (and its GEMM threads); pending requests reject. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopWorker(new FfnLensError('the compute worker was shut down', undefined, 'cancelled'));
  }

  private request<T>(make: (id: number) => RequestMessage, file: string, signal?: AbortSignal, onProgress?: (p: Progress) => void): Promise<T> {
    if (this.disposed) return Promise.reject(new FfnLensError('the compute worker was shut down', file, 'cancelled'));
    if (signal?.aborted) return Promise.reject(new FfnLensError('cancelled', file, 'cancelled'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const worker = this.ensureWorker();
      const onAbort = (): void => this.cancel(id);
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      const message = make(id);
      this.pending.set(id, {
        message,
        resolve: ((v: T) => {
          cleanup();
          resolve(v);
        }) as (value: never) => void,
        reject: (e) => {
          cleanup();
          reject(e);
        },
        onProgress,
        file,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage(message);
    });
  }

  /** Rejects request `id` now; terminates the worker if it has not answered within the grace time. */
  private cancel(id: number): void {
    const p = this.pending.get(id);
    if (!p || !this.worker) return;
    this.pending.delete(id);
    Atomics.store(this.cancelFlag, 0, id);
    this.worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
    const worker = this.worker;
    const timer = setTimeout(() => {
      this.unanswered.delete(id);
      if (this.worker === worker) this.replaceStuckWorker();
    }, this.graceMs);
    timer.unref();
    this.unanswered.set(id, timer);
    p.reject(new FfnLensError('cancelled', p.file, 'cancelled'));
  }

  /**
   * The worker ignored a cancel (stuck in a read or a long product): terminate it and send the
   * requests it still owed (read-only jobs, safe to repeat) to a fresh worker.
   */
  private replaceStuckWorker(): void {
    const owed = [...this.pending.values()];
    this.pending.clear();
    this.stopWorker(new FfnLensError('the compute worker was restarted'));
    if (owed.length === 0) return;
    const worker = this.ensureWorker();
    for (const p of owed) {
      this.pending.set(p.message.id, p);
      worker.postMessage(p.message);
    }
  }

  /** (Re)starts the idle countdown; it stops the worker only if nothing is pending or owed then. */
  private armIdleStop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleStopMs <= 0 || !this.worker) return;
    const timer = setTimeout(() => {
      if (this.idleTimer !== timer) return;
      this.idleTimer = undefined;
      if (!this.worker || this.pending.size > 0 || this.unanswered.size > 0) return;
      this.stopWorker(new FfnLensError('the compute worker was stopped while idle'));
      this.onIdleStop?.();
    }, this.idleStopMs);
    timer.unref();
    this.idleTimer = timer;
  }

  private ensureWorker(): Worker {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.worker) return this.worker;
    this.cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    const data: WorkerStartData = {
      threads: this.threads,
      kernel: this.kernelChoice,
      cancelFlag: this.cancelFlag.buffer as SharedArrayBuffer,
      nice: this.nice,
    };
    const worker = new Worker(this.workerScriptPath, { workerData: data });
    this.worker = worker;
    this.starts++;
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (e) => {
      if (this.worker === worker) this.stopWorker(new FfnLensError(`the compute worker failed: ${e.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.stopWorker(new FfnLensError(`the compute worker stopped unexpectedly (exit code ${code})`));
    });
    return worker;
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'ready') {
      this.kernelInfo = msg.kernel;
      return;
    }
    const timer = this.unanswered.get(msg.id);
    if (timer && msg.type !== 'progress') {
      clearTimeout(timer);
      this.unanswered.delete(msg.id);
      this.armIdleStop();
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case 'progress':
        p.onProgress?.(msg.progress);
        return;
      case 'runResult':
      case 'modelResult':
      case 'neuronCardResult':
      case 'scanResult':
      case 'compareResult':
      case 'compareWeightsResult':
      case 'inspectResult':
        this.pending.delete(msg.id);
        this.armIdleStop();
        p.resolve(msg.result as never);
        return;
      case 'error':
        this.pending.delete(msg.id);
        this.armIdleStop();
        p.reject(fromWorkerError(msg.error));
        return;
      default: {
        const never: never = msg;
        throw new Error(`unknown worker message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Terminates the current worker (if any) and rejects what it still owed with `reason`. */
  private stopWorker(reason: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    this.kernelInfo = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const t of this.unanswered.values()) clearTimeout(t);
    this.unanswered.clear();
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const p of owed) p.reject(reason);
    if (worker) void worker.terminate();
  }
}
