/**
 * Messages between the extension host (ComputeClient) and the compute worker (src/worker/worker.ts).
 * Every request carries an id the replies repeat; typed arrays in results are transferred, not
 * copied. No `vscode` import.
 */
import type { ErrorKind } from '../core/errors';
import type { NeuronCard } from '../model/neuron';
import type { ScanResult } from '../model/scan';
import type { CompareRequest, CompareResult, WeightsCompareRequest, WeightsCompareResult } from './compare';
import type { ModelRunRequest, ModelRunResult, NeuronCardRequest, ScanRequest } from './model';
import type { InspectResult, Progress, RunRequest, RunResult } from './run';

/** The matrix kernel a worker runs (see src/kernels). */
export type KernelPath = 'relaxed-simd' | 'simd' | 'ts';

/** What the host passes as `workerData` when it starts the worker. */
export interface WorkerStartData {
  /** GEMM threads including the worker's own (1 = no helper threads). */
  threads: number;
  /** Force a kernel; `auto` takes the best the engine supports. */
  kernel: KernelPath | 'auto';
  /**
   * One Int32 the host sets to the id of a cancelled request, so a matrix product running in the
   * worker can stop between column chunks without waiting for the `cancel` message to be read.
   */
  cancelFlag: SharedArrayBuffer;
  /** Nice value for the worker and its GEMM threads, so the host's thread wins the CPU (Linux only; 0 = unchanged). */
  nice: number;
}

/** Host -> worker. */
export type ToWorker =
  /** Run one layer (the worker answers `runResult` or `error`, with `progress` on the way). */
  | { type: 'run'; id: number; request: RunRequest }
  /** Run a whole model on text to a block's FFN (answered by `modelResult` or `error`, with `progress`). */
  | { type: 'runModel'; id: number; request: ModelRunRequest }
  /** The neuron card of a unit (answered by `neuronCardResult` or `error`). */
  | { type: 'neuronCard'; id: number; request: NeuronCardRequest }
  /** Scan a corpus through a model to a block (answered by `scanResult` or `error`, with `progress`). */
  | { type: 'scan'; id: number; request: ScanRequest }
  /** Compare two checkpoints on the same tokens (answered by `compareResult` or `error`, with `progress`). */
  | { type: 'compare'; id: number; request: CompareRequest }
  /** Compare two checkpoints' FFN weights (answered by `compareWeightsResult` or `error`, with `progress`). */
  | { type: 'compareWeights'; id: number; request: WeightsCompareRequest }
  /** Inspect a file (answered by `inspectResult` or `error`). */
  | { type: 'inspect'; id: number; path: string; stats: boolean; memoryBudgetBytes?: number }
  /** Stop request `id`; the worker answers it with a `cancelled` error as soon as it notices. */
  | { type: 'cancel'; id: number }
  /** Exit the worker thread at once with `code`, as a crash would (used to test recovery). */
  | { type: 'exit'; code: number };

/** An error carried across the thread boundary; `FfnLensError`s keep their file and kind. */
export interface WorkerError {
  /** `FfnLensError` for the user's mistakes, else the original error's name. */
  name: string;
  message: string;
  file?: string;
  kind?: ErrorKind;
}

/** Which kernel the worker ended up with. */
export interface WorkerKernelInfo {
  path: KernelPath;
  threads: number;
  /** Relaxed SIMD works only because the worker turned V8's experimental flag on (Node 20). */
  relaxedSimdByFlag: boolean;
}

/** Worker -> host. */
export type FromWorker =
  /** The worker started and built its kernel; sent once, before any reply. */
  | { type: 'ready'; kernel: WorkerKernelInfo }
  /** How far request `id` has got. */
  | { type: 'progress'; id: number; progress: Progress }
  /** Request `id` (a `run`) finished; its typed arrays were transferred. */
  | { type: 'runResult'; id: number; result: RunResult }
  /** Request `id` (a `runModel`) finished; its typed arrays were transferred. */
  | { type: 'modelResult'; id: number; result: ModelRunResult }
  /** Request `id` (a `neuronCard`) finished. */
  | { type: 'neuronCardResult'; id: number; result: NeuronCard }
  /** Request `id` (a `scan`) finished. */
  | { type: 'scanResult'; id: number; result: ScanResult }
  /** Request `id` (a `compare`) finished; its typed arrays were transferred. */
  | { type: 'compareResult'; id: number; result: CompareResult }
  /** Request `id` (a `compareWeights`) finished. */
  | { type: 'compareWeightsResult'; id: number; result: WeightsCompareResult }
  /** Request `id` (an `inspect`) finished. */
  | { type: 'inspectResult'; id: number; result: InspectResult }
  /** Request `id` failed (kind `cancelled` when it was cancelled). */
  | { type: 'error'; id: number; error: WorkerError };
