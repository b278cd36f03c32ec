/**
 * Reading one layer's tensors into the core layout: w1 / wGate [dModel x dFf], w2 [dFf x dModel],
 * whatever layout the file used. Only that layer's tensors are read. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { ActivationName, FfnWeights } from '../core/types';
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
  const { dModel, dFf } = spec;
  const file = source.path;
  const activation = options.activation
    ? fitActivation(options.activation, spec.kind, spec.id, spec.convention, file)
    : spec.activation;
  const { alloc } = options;
  /** Reads `name`, into an `alloc`ated array unless `transient` (a transpose follows). */
  const read = async (name: string, length: number, mode: ReadMode = 'final'): Promise<Float32Array> => {
    if (options.signal?.aborted) throw new FfnLensError('loading the layer was cancelled', file, 'cancelled');
    const mismatch = (got: number): FfnLensError =>
      new FfnLensError(`layer "${spec.id}": tensor "${name}" has ${got} numbers, expected ${length}`, file);
    // Check the listed size first, so a wrong tensor never gets an allocation of its size.
    const info = source.tensors.find((t) => t.name === name);
    const listed = info?.shape.reduce((a, b) => a * b, 1);
    const into = alloc && mode !== 'transient' ? alloc : undefined;
    if (into && listed !== undefined && listed !== length) throw mismatch(listed);
    // The reader's own count is checked again before anything is allocated.
    const checkedInto = into && ((n: number): Float32Array => {
      if (n !== length) throw mismatch(n);
      return into(n);
    });
    const readOptions = { signal: options.signal, into: checkedInto };
    const data = mode === 'transposed' ? await source.readTransposed!(name, readOptions) : await source.read(name, readOptions);
    if (data.length !== length) throw mismatch(data.length);
    return data;
  };
  /** A file matrix [rows x cols] in the core's layout: as read, or its transpose. */
  const laidOut = async (name: string, rows: number, cols: number, asIs: boolean): Promise<Float32Array> => {
    if (asIs) return read(name, rows * cols);
    const shape = source.tensors.find((t) => t.name === name)?.shape;
    // The source transposes a slice at a time into the final array: no whole copy in the file's order.
    if (source.readTransposed && shape?.length === 2 && shape[0] === rows && shape[1] === cols) return read(name, rows * cols, 'transposed');
    const data = await read(name, rows * cols, 'transient');
    return transpose(data, rows, cols, alloc?.(rows * cols));
  };
  /** [dModel x dFf] from a file matrix that is [in,out] = [dModel, dFf] or [out,in] = [dFf, dModel]. */
  const expand = (name: string, layout: MatrixLayout): Promise<Float32Array> => laidOut(name, dFf, dModel, layout === 'in_out');
  const weights: FfnWeights = { dModel, dFf, activation, w1: await expand(spec.tensors.w1, spec.layouts.w1), w2: new Float32Array(0) };
  if (spec.tensors.b1) weights.b1 = await read(spec.tensors.b1, dFf);
  if (spec.tensors.gate) weights.wGate = await expand(spec.tensors.gate, spec.layouts.gate ?? spec.layouts.w1);
  if (spec.tensors.bGate) weights.bGate = await read(spec.tensors.bGate, dFf);
  // w2 in the core is [dFf x dModel] = [in,out]; an [out,in] file holds [dModel x dFf].
  weights.w2 = await laidOut(spec.tensors.w2, dModel, dFf, spec.layouts.w2 === 'in_out');
  if (spec.tensors.b2) weights.b2 = await read(spec.tensors.b2, dModel);
  return weights;
}
