/**
 * Reading one layer's tensors into the core layout: w1 / wGate [dModel x dFf], w2 [dFf x dModel],
 * whatever layout the file used. Only that layer's tensors are read. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { ActivationName, FfnWeights } from '../core/types';
import type { TensorSource } from '../formats/source';
import { fitActivation } from './conventions';
import type { LayerSpec, MatrixLayout } from './types';

export interface LoadOptions {
  /** Replaces the layer's activation (fitted to the layer: silu on a gated layer is swiglu). */
  activation?: ActivationName;
  signal?: AbortSignal;
  /**
   * Where the weights (in the core's layout) and biases go, e.g. the matrix kernel's `alloc`, so
   * no product has to copy them in. The caller owns and releases what it returns; a matrix that
   * needs transposing is decoded into an ordinary array first. Default: ordinary arrays.
   */
  alloc?: (length: number) => Float32Array;
}

/** Reads `spec`'s tensors from `source` and returns them in the core's layout. */
export async function loadLayer(source: TensorSource, spec: LayerSpec, options: LoadOptions = {}): Promise<FfnWeights> {
  const { dModel, dFf } = spec;
  const file = source.path;
  const activation = options.activation
    ? fitActivation(options.activation, spec.kind, spec.id, spec.convention, file)
    : spec.activation;
  const { alloc } = options;
  /** Reads `name`, into an `alloc`ated array when `final` (no transpose follows). */
  const read = async (name: string, length: number, final = true): Promise<Float32Array> => {
    if (options.signal?.aborted) throw new FfnLensError('loading the layer was cancelled', file, 'cancelled');
    const mismatch = (got: number): FfnLensError =>
      new FfnLensError(`layer "${spec.id}": tensor "${name}" has ${got} numbers, expected ${length}`, file);
    // Check the listed size first, so a wrong tensor never gets an allocation of its size.
    const info = source.tensors.find((t) => t.name === name);
    const listed = info?.shape.reduce((a, b) => a * b, 1);
    if (alloc && final && listed !== undefined && listed !== length) throw mismatch(listed);
    const data = await source.read(name, { signal: options.signal, into: alloc && final ? alloc : undefined });
    if (data.length !== length) throw mismatch(data.length);
    return data;
  };
  /** A file matrix [rows x cols] in the core's layout: as read, or transposed into an `alloc`ated array. */
  const laidOut = async (name: string, rows: number, cols: number, asIs: boolean): Promise<Float32Array> => {
    if (asIs) return read(name, rows * cols);
    const data = await read(name, rows * cols, false);
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

const BLOCK = 32;

/**
 * The transpose of a row-major [rows x cols] matrix, as a [cols x rows] matrix in `dst` (a new
 * array by default). Works in 32 x 32 tiles so both sides stay in cache (a 4096 x 11008 matrix
 * is ~180 MB).
 */
export function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (src.length !== rows * cols) throw new RangeError(`transpose: ${src.length} values is not ${rows} x ${cols}`);
  if (dst.length !== src.length) throw new RangeError(`transpose: the output holds ${dst.length} values, not ${src.length}`);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(r0 + BLOCK, rows);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(c0 + BLOCK, cols);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[rowBase + c];
      }
    }
  }
  return dst;
}
