/**
 * What one "run a layer" or "inspect a file" job asks for and gives back. Shared by the CLI, the
 * compute worker and the extension host (the pipeline in src/pipeline implements it; the worker
 * carries it across `worker_threads` with typed arrays transferred, not copied). No `vscode` import.
 */
import type { ActivationName, LayerAnalysis, TensorStats } from '../core/types';
import type { LayerSpec } from '../layers/types';
import type { TensorProblem, WeightFormat } from '../formats/source';

/** Where the per-token inputs come from. */
export type InputSpec =
  /** The weight file's own `inputs` (and `tokens`); falls back to random when it has none. */
  | { kind: 'file' }
  /** T seeded N(0,1) vectors labelled t0..t{T-1}. */
  | { kind: 'random'; tokens: number; seed: number }
  /** A separate inputs file: JSON `{tokens?, inputs}` or a `.npy` T x d_model array. */
  | { kind: 'inputsFile'; path: string };

export interface RunRequest {
  /** Weight file path (any supported format). */
  file: string;
  /** Layer id or index; undefined = the first layer. */
  layer?: string;
  /** Override the file's / convention's activation. */
  activation?: ActivationName;
  inputs: InputSpec;
  topK?: number;
  /** Sparsity threshold for smooth activations (relu/reglu always use exact zero). */
  threshold?: number;
  /** Refuse runs whose float32 working set would exceed this many bytes (checked before allocating). */
  memoryBudgetBytes?: number;
}

export interface RunResult {
  file: string;
  format: WeightFormat;
  /** Every layer found in the file (for the UI's layer picker). */
  layers: LayerSpec[];
  /** The layer that ran, with the activation actually used. */
  layer: LayerSpec;
  activation: ActivationName;
  tokens: string[];
  dModel: number;
  dFf: number;
  /** [T x dModel] */
  input: Float32Array;
  /** [T x dFf]: the gate's pre-activation for gated layers */
  preActivation: Float32Array;
  /** [T x dFf]: what W2 receives */
  hidden: Float32Array;
  /** [T x dModel]: FFN output without residual */
  output: Float32Array;
  /** [dFf]: ||row i of W2||, so the UI can rank neurons for any token */
  w2RowNorms: Float32Array;
  analysis: LayerAnalysis;
  /** Non-fatal findings: NaN/Inf in weights or inputs, random inputs used as a fallback... */
  warnings: string[];
  /** `weightsReused`: the worker still held this layer's weights from the run before (nothing was read). */
  timings: { loadMs: number; computeMs: number; weightsReused?: boolean };
}

export interface InspectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Bytes the tensor occupies in the file, when the format says. */
  byteLength?: number;
  /** Present when statistics were asked for and the dtype can be decoded. */
  stats?: TensorStats;
  /** Why stats are missing (unsupported dtype, over the memory budget...). */
  statsError?: string;
}

export interface InspectResult {
  file: string;
  format: WeightFormat;
  tensors: InspectedTensor[];
  layers: LayerSpec[];
  /** Why layer detection found nothing / failed, when it did. */
  layersError?: string;
  /** Why no tensor has statistics although they were asked for (the file is over the stats limit). */
  statsSkipped?: string;
  metadata: Record<string, unknown>;
  /** Entries that look like tensors but could not be read (not in `tensors`), by name. */
  problems: TensorProblem[];
}

export interface Progress {
  /** 0..1 */
  fraction: number;
  message: string;
  /**
   * Where the run is. `read` means the layer was found, fits the memory budget and its inputs
   * were planned: from here on the run draws a chart unless the file's data is bad or it is
   * cancelled (the extension opens its panel at this point, so the webview loads meanwhile).
   */
  stage?: 'open' | 'read' | 'inputs' | 'compute' | 'analyse' | 'done';
}
