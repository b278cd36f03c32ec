/**
 * The one lazy API every weight-file reader implements. Opening a source reads only what is
 * needed to list tensors (a JSON file is parsed; a binary file's header only); `read` decodes one
 * tensor to float32 on demand. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';

export type WeightFormat = 'json' | 'safetensors' | 'npy' | 'npz' | 'gguf';

/** A tensor as listed by a file's header, before any data is read. */
export interface TensorInfo {
  /** Full dotted name, e.g. `h.3.mlp.c_fc.weight` (JSON nesting is flattened with dots). */
  name: string;
  /** The file's dtype as the format names it: F32, F16, BF16, F64, I32, ..., Q4_K, ... */
  dtype: string;
  /** Row-major shape (for GGUF: ne reversed, so the last dimension is the fastest). */
  shape: number[];
  /** Bytes the tensor occupies in the file, when the format says. */
  byteLength?: number;
}

/** What a file says about itself beyond its tensors. */
export interface SourceHints {
  /** An explicit activation (JSON `"activation"`, config.json `hidden_act`...), not yet validated. */
  activation?: string;
  /** An explicit layout for ambiguous square layers: `math` (x·W, [in,out]) or `torch` ([out,in]). */
  layout?: string;
  /** Architecture / model type (GGUF `general.architecture`, config.json `model_type`). */
  architecture?: string;
  /** Token labels carried by the file. */
  tokens?: string[];
  /** Inputs carried by the file, [rows x cols] row-major. */
  inputs?: { data: Float32Array; rows: number; cols: number };
  /** Where `activation` came from: the weight file itself (the default) or a config.json. */
  activationFrom?: 'file' | 'config';
  /** Per-layer activations, keyed by name prefix without the trailing dot (JSON `layers.0.activation`). */
  layerActivations?: Readonly<Record<string, string>>;
  /** config.json `hidden_size` (d_model), used only to settle an ambiguous layout. */
  hiddenSize?: number;
  /** config.json `intermediate_size` (d_ff), used only to settle an ambiguous layout. */
  intermediateSize?: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /**
   * Where the decoded values go: called once with the tensor's element count, it returns the
   * array `read` fills and returns (e.g. an array in the matrix kernel's memory, so the weights
   * are never copied again). Without it `read` allocates an ordinary array.
   */
  into?: (length: number) => Float32Array;
  /**
   * A matrix (2-D tensor, as stored or transposed) decoded straight into the matrix kernel's
   * `panels` layout (panelsLength(k, n) values, `into` called with that), so no later pass packs
   * it. Only for sources whose `decodesPanels` is true.
   */
  panels?: boolean;
}

/** The array a read decodes into: `options.into(length)`, checked, or a fresh one. */
export function targetArray(options: ReadOptions | undefined, length: number): Float32Array {
  if (!options?.into) return new Float32Array(length);
  const out = options.into(length);
  if (out.length !== length) throw new RangeError(`ReadOptions.into returned ${out.length} values for a tensor of ${length}`);
  return out;
}

/** An entry that looks like a tensor but cannot be read, and why (`W1: row 0 holds text ("a"), not numbers`). */
export interface TensorProblem {
  name: string;
  message: string;
}

export interface TensorSource {
  readonly format: WeightFormat;
  /** The path the user opened (for messages). */
  readonly path: string;
  readonly tensors: readonly TensorInfo[];
  /** Format-level metadata (safetensors `__metadata__`, GGUF key/values, JSON top-level scalars). */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly hints: SourceHints;
  /** Entries that look like tensors but could not be read (JSON); they are not in `tensors`. */
  readonly problems?: readonly TensorProblem[];
  /** Decode one tensor to float32, row-major in `shape` order. Throws FfnLensError naming file and tensor. */
  read(name: string, options?: ReadOptions): Promise<Float32Array>;
  /**
   * Decode a matrix [r, c] as its transpose [c, r], row-major (a torch [out,in] matrix into the
   * core's [in,out]), a slice at a time: no full copy in the file's order is ever made. Anything
   * but a 2-D tensor is refused. Optional: without it a caller transposes what `read` returns.
   */
  readTransposed?(name: string, options?: ReadOptions): Promise<Float32Array>;
  /** Whether `read` and `readTransposed` take ReadOptions.panels. */
  readonly decodesPanels?: boolean;
  /**
   * Rows [first, first + count) of a tensor seen as a [rows x cols] matrix (its leading dimensions
   * by its last), decoded: only those rows' bytes are read (an embedding's rows for the prompt's
   * tokens, a vocabulary head a chunk at a time). Optional.
   */
  readRows?(name: string, first: number, count: number, options?: ReadOptions): Promise<Float32Array>;
  /** Release file handles. Safe to call twice. */
  close(): Promise<void>;
}

/** Refuses a row range outside a [rows x cols] tensor (`what` names it). */
export function checkRowRange(first: number, count: number, rows: number, what: string, file: string): void {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > rows) {
    throw new FfnLensError(`${what}: rows ${first}..${first + count} are outside its ${rows} rows`, file);
  }
}
