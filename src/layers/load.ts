/**
 * Reading one layer's tensors into the core layout: w1 / wGate [dModel x dFf], w2 [dFf x dModel],
 * whatever layout the file used. Only that layer's tensors are read. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { FfnMatrixName } from '../core/ffn';
import { panelsLength } from '../core/gemm';
import type { ActivationName, FfnWeights, PreparedMatrix } from '../core/types';
import { transpose } from '../formats/slices';
import type { TensorSource } from '../formats/source';
import { fitActivation } from './conventions';
import type { LayerSpec, MatrixLayout } from './types';

export { transpose };

export interface LoadOptions {
  /** Replaces the layer's activation (fitted to the layer: silu on a gated layer is swiglu). */
  activation?: ActivationName;
  signal?: AbortSignal;
  /**
   * Where the weights (in the core's layout) and biases go, e.g. the matrix kernel's `alloc`, so
   * no product has to copy them in. The caller owns and releases what it returns; a matrix that
   * needs transposing is decoded a slice at a time straight into its array (only a source
   * without `readTransposed` makes a whole ordinary copy first). Default: ordinary arrays.
   */
  alloc?: (length: number) => Float32Array;
}

/** How a tensor is read: as stored, transposed by the source, or into a transient array that is transposed here. */
type ReadMode = 'final' | 'transposed' | 'transient';

/** Reads `spec`'s tensors from `source` and returns them in the core's layout. */
export async function loadLayer(source: TensorSource, spec: LayerSpec, options: LoadOptions = {}): Promise<FfnWeights> {
  const activation = layerActivation(source, spec, options);
  const w1 = await loadMatrix(source, spec, 'w1', options);
  const weights: FfnWeights = { dModel: spec.dModel, dFf: spec.dFf, activation, w1, w2: new Float32Array(0) };
  const biases = await loadBiases(source, spec, options);
  if (biases.b1) weights.b1 = biases.b1;
  if (spec.tensors.gate) weights.wGate = await loadMatrix(source, spec, 'wGate', options);
  if (biases.bGate) weights.bGate = biases.bGate;
  weights.w2 = await loadMatrix(source, spec, 'w2', options);
  if (biases.b2) weights.b2 = biases.b2;
  return weights;
}

/** The activation a load runs with: the override fitted to the layer, or the layer's own. */
export function layerActivation(source: TensorSource, spec: LayerSpec, options: LoadOptions): ActivationName {
  return options.activation ? fitActivation(options.activation, spec.kind, spec.id, spec.convention, source.path) : spec.activation;
}

/** The layer's biases (those it has), in `alloc`ated arrays when given. */
export async function loadBiases(source: TensorSource, spec: LayerSpec, options: LoadOptions = {}): Promise<Pick<FfnWeights, 'b1' | 'bGate' | 'b2'>> {
  const t = spec.tensors;
  const out: Pick<FfnWeights, 'b1' | 'bGate' | 'b2'> = {};
  if (t.b1) out.b1 = await readTensor(source, spec, t.b1, spec.dFf, 'final', options);
  if (t.bGate) out.bGate = await readTensor(source, spec, t.bGate, spec.dFf, 'final', options);
  if (t.b2) out.b2 = await readTensor(source, spec, t.b2, spec.dModel, 'final', options);
  return out;
}

/**
 * One of the layer's matrices in the core's layout ([dModel x dFf] for w1 and wGate, [dFf x dModel]
 * for w2), whatever layout the file used: read as stored, or transposed by the source a slice at a
 * time straight into its array.
 */
export async function loadMatrix(source: TensorSource, spec: LayerSpec, name: FfnMatrixName, options: LoadOptions = {}): Promise<Float32Array> {
  const { dModel, dFf } = spec;
  if (name === 'w2') {
    // w2 in the core is [dFf x dModel] = [in,out]; an [out,in] file holds [dModel x dFf].
    return laidOut(source, spec, spec.tensors.w2, dModel, dFf, spec.layouts.w2 === 'in_out', options);
  }
  const tensor = name === 'w1' ? spec.tensors.w1 : spec.tensors.gate;
  if (!tensor) throw new FfnLensError(`layer "${spec.id}" has no gate matrix`, source.path);
  const layout = name === 'w1' ? spec.layouts.w1 : (spec.layouts.gate ?? spec.layouts.w1);
  // [dModel x dFf] from a file matrix that is [in,out] = [dModel, dFf] or [out,in] = [dFf, dModel].
  return laidOut(source, spec, tensor, dFf, dModel, layout === 'in_out', options);
}

/** A file matrix [rows x cols] in the core's layout: as read, or its transpose. */
async function laidOut(source: TensorSource, spec: LayerSpec, name: string, rows: number, cols: number, asIs: boolean, options: LoadOptions): Promise<Float32Array> {
  if (asIs) return readTensor(source, spec, name, rows * cols, 'final', options);
  const shape = source.tensors.find((t) => t.name === name)?.shape;
  // The source transposes a slice at a time into the final array: no whole copy in the file's order.
  if (source.readTransposed && shape?.length === 2 && shape[0] === rows && shape[1] === cols) return readTensor(source, spec, name, rows * cols, 'transposed', options);
  const data = await readTensor(source, spec, name, rows * cols, 'transient', options);
  return transpose(data, rows, cols, options.alloc?.(rows * cols));
}

/** Reads `name` (`length` values), into an `alloc`ated array unless `transient` (a transpose follows). */
async function readTensor(source: TensorSource, spec: LayerSpec, name: string, length: number, mode: ReadMode, options: LoadOptions): Promise<Float32Array> {
  const file = source.path;
  if (options.signal?.aborted) throw new FfnLensError('loading the layer was cancelled', file, 'cancelled');
  const mismatch = (got: number): FfnLensError => new FfnLensError(`layer "${spec.id}": tensor "${name}" has ${got} numbers, expected ${length}`, file);
  // Check the listed size first, so a wrong tensor never gets an allocation of its size.
  const info = source.tensors.find((t) => t.name === name);
  const listed = info?.shape.reduce((a, b) => a * b, 1);
  const into = options.alloc && mode !== 'transient' ? options.alloc : undefined;
  if (into && listed !== undefined && listed !== length) throw mismatch(listed);
  // The reader's own count is checked again before anything is allocated.
  const checkedInto =
    into &&
    ((n: number): Float32Array => {
      if (n !== length) throw mismatch(n);
      return into(n);
    });
  const readOptions = { signal: options.signal, into: checkedInto };
  const data = mode === 'transposed' ? await source.readTransposed!(name, readOptions) : await source.read(name, readOptions);
  if (data.length !== length) throw mismatch(data.length);
  return data;
}

/**
 * One of the layer's matrices decoded straight into the matrix kernel's `panels` layout (in
 * `alloc`ated memory), when the source can (`decodesPanels`): read → decode → compute, with no
 * packing pass. Undefined when it cannot (the caller reads it plainly and prepares it).
 */
export async function loadPanels(source: TensorSource, spec: LayerSpec, name: FfnMatrixName, options: LoadOptions = {}): Promise<PreparedMatrix | undefined> {
  if (!source.decodesPanels || !source.readTransposed || !options.alloc) return undefined;
  const { dModel, dFf } = spec;
  const [k, n] = name === 'w2' ? [dFf, dModel] : [dModel, dFf];
  const tensor = name === 'w2' ? spec.tensors.w2 : name === 'w1' ? spec.tensors.w1 : spec.tensors.gate;
  if (!tensor) throw new FfnLensError(`layer "${spec.id}" has no gate matrix`, source.path);
  const layout = name === 'w2' ? spec.layouts.w2 : name === 'w1' ? spec.layouts.w1 : (spec.layouts.gate ?? spec.layouts.w1);
  // A matrix stored as the kernel reads it ([in, out]) is read straight into place and packed by
  // the kernel itself (faster than scattering it from here); one stored [out, in] is transposed on
  // the way anyway, so it goes straight into the panels.
  if (layout === 'in_out') return undefined;
  // The core's matrix is [k x n]; the [out, in] file holds its transpose.
  const shape = source.tensors.find((t) => t.name === tensor)?.shape;
  const stored = [n, k];
  if (!shape || shape.length !== 2 || shape[0] !== stored[0] || shape[1] !== stored[1]) {
    throw new FfnLensError(`layer "${spec.id}": tensor "${tensor}" is [${shape?.join(', ') ?? '?'}], expected [${stored.join(', ')}]`, source.path);
  }
  if (options.signal?.aborted) throw new FfnLensError('loading the layer was cancelled', source.path, 'cancelled');
  const want = panelsLength(k, n);
  const into = (length: number): Float32Array => {
    if (length !== want) throw new FfnLensError(`layer "${spec.id}": tensor "${tensor}" would take ${length} values in panels, expected ${want}`, source.path);
    return (options.alloc as (n: number) => Float32Array)(length);
  };
  const readOptions = { signal: options.signal, into, panels: true };
  const data = await source.readTransposed!(tensor, readOptions);
  return { k, n, layout: 'panels', data };
}
