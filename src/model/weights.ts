/**
 * A model's weights as a forward pass uses them: each matrix read into kernel memory just before
 * its product (transposed straight into [in, out] when the file stores [out, in]), laid out once
 * for the kernel, multiplied, and given back at once, so a whole model streams through about one
 * matrix of memory and every matrix reuses memory the one before had mapped. Vectors (norms,
 * biases) and embedding rows are read as they are needed. No `vscode` import.
 */
import { FfnLensError, isFfnLensError } from '../core/errors';
import type { MatrixSupply } from '../core/ffn';
import { panelsLength } from '../core/gemm';
import type { PlainActivation, PreparedMatrix } from '../core/types';
import type { TensorSource } from '../formats/source';
import type { GemmEngine } from '../kernels';
import type { LinearTensors } from './spec';
import type { WeightStore } from './store';

const EMPTY = new Float32Array(0);

export class ModelWeights {
  constructor(
    private readonly source: TensorSource,
    private readonly engine: GemmEngine,
    private readonly signal?: AbortSignal,
    /** Keeps what was read for later runs, within its budget (the worker's); none: stream everything. */
    private readonly store?: WeightStore,
  ) {}

  private checkCancel(): void {
    if (this.signal?.aborted) throw new FfnLensError('cancelled', this.source.path, 'cancelled');
  }

  /** Whether weights are kept between runs (a long-lived process with a budget). */
  get keeps(): boolean {
    return this.store !== undefined;
  }

  /** A vector or small tensor, whole, as float32. */
  async vector(name: string): Promise<Float32Array> {
    this.checkCancel();
    const kept = this.store?.vectors.get(name);
    if (kept) return kept;
    const v = await this.source.read(name, { signal: this.signal });
    if (this.store?.reserve(v.byteLength)) this.store.vectors.set(name, v);
    return v;
  }

  /** Rows [first, first + count) of a [rows x cols] tensor (embedding rows, a chunk of the head). */
  async rows(name: string, first: number, count: number): Promise<Float32Array> {
    this.checkCancel();
    const info = this.source.tensors.find((t) => t.name === name);
    const cols = info ? info.shape[info.shape.length - 1] : 0;
    if (this.store && info) {
      let whole = this.store.tensors.get(name);
      if (!whole && this.store.reserve(4 * info.shape.reduce((a, b) => a * b, 1))) {
        whole = await this.source.read(name, { signal: this.signal });
        this.store.tensors.set(name, whole);
      }
      if (whole) return whole.subarray(first * cols, (first + count) * cols);
    }
    if (this.source.readRows) return this.source.readRows(name, first, count, { signal: this.signal });
    return (await this.source.read(name, { signal: this.signal })).slice(first * cols, (first + count) * cols);
  }

  /**
   * The linear map's weight as an [inDim x outDim] matrix for the kernel, with `use` run while it
   * is in memory; always given back afterwards.
   */
  async withMatrix<T>(l: LinearTensors, inDim: number, outDim: number, use: (m: MatrixSupply) => T): Promise<T> {
    const m = await this.matrix(l.weight, l.layout, inDim, outDim);
    try {
      return use(m);
    } finally {
      this.release(m);
    }
  }

  /** `name` in the core's [in x out] layout, prepared for the kernel; give it back with `release`. */
  async matrix(name: string, layout: LinearTensors['layout'], inDim: number, outDim: number): Promise<MatrixSupply> {
    this.checkCancel();
    const kept = this.store?.matrices.get(name);
    if (kept) return kept;
    const m = await this.readMatrix(name, layout, inDim, outDim);
    if (this.store?.reserve(4 * inDim * outDim)) this.store.matrices.set(name, m);
    return m;
  }

  private async readMatrix(name: string, layout: LinearTensors['layout'], inDim: number, outDim: number): Promise<MatrixSupply> {
    const length = inDim * outDim;
    /** Kernel memory for `want` values (what the reader asks for must be that), else past kernel memory an ordinary array, copied in per product. */
    const kernelArray = (want: number, what: string) => (n: number): Float32Array => {
      if (n !== want) throw new FfnLensError(`tensor ${name} has ${n} values${what}, expected ${want}`, this.source.path);
      try {
        return this.engine.alloc(n);
      } catch (e) {
        if (!(isFfnLensError(e) && e.kind === 'budget')) throw e;
        return new Float32Array(n);
      }
    };
    // [out, in] matrices are transposed on the way: straight into the panels (read -> decode ->
    // compute); [in, out] ones are read straight into place and packed by the kernel (faster than
    // scattering them from here)
    if (this.engine.path !== 'ts' && this.source.decodesPanels && this.source.readTransposed && layout === 'out_in') {
      const into = kernelArray(panelsLength(inDim, outDim), ' in panels');
      const data = await this.source.readTransposed(name, { signal: this.signal, panels: true, into });
      return { plain: EMPTY, prepared: { k: inDim, n: outDim, layout: 'panels', data } };
    }
    const alloc = kernelArray(length, ` (${inDim} x ${outDim})`);
    const options = { signal: this.signal, into: alloc };
    const plain =
      layout === 'in_out' ? await this.source.read(name, options) : this.source.readTransposed ? await this.source.readTransposed(name, options) : undefined;
    if (!plain) throw new FfnLensError(`the reader cannot transpose ${name}`, this.source.path);
    let prepared: PreparedMatrix;
    try {
      prepared = this.engine.prepare(plain, inDim, outDim);
    } catch (e) {
      if (!(isFfnLensError(e) && e.kind === 'budget')) {
        this.engine.release(plain);
        throw e;
      }
      prepared = { k: inDim, n: outDim, layout: 'rows', data: plain };
    }
    return { plain: prepared.layout === 'rows' ? prepared.data : EMPTY, prepared };
  }

  /** Gives a matrix from `matrix` back to kernel memory. */
  release(m: MatrixSupply): void {
    if (this.store?.keeps(m)) return;
    this.engine.release(m.prepared?.data ?? m.plain);
  }

  /** The WebAssembly kernel's plain product (attention's q·kᵀ and p·v); undefined on the TypeScript kernel. */
  get gemm(): GemmEngine['gemm'] | undefined {
    return this.engine.path === 'ts' ? undefined : this.engine.gemm;
  }

  /** The kernel's product with a prepared matrix (for the FFN core). */
  get gemmPrepared(): GemmEngine['gemmPrepared'] {
    return this.engine.gemmPrepared;
  }
  /** The engine's own filter, where it has one (see ForwardOptions.activate). */
  readonly activate = (name: PlainActivation, data: Float32Array): boolean => this.engine.activate(name, data);

  /** out = x · m + bias, for `rows` rows of x. */
  product(x: Float32Array, m: MatrixSupply, rows: number, out: Float32Array, bias?: Float32Array): Float32Array {
    const p = m.prepared as PreparedMatrix;
    return this.engine.gemmPrepared(x, p, rows, out, bias);
  }

  /** x · W + b for a linear map, W streamed in and given back. */
  async linear(l: LinearTensors, x: Float32Array, rows: number, inDim: number, outDim: number): Promise<Float32Array> {
    const bias = l.bias ? await this.vector(l.bias) : undefined;
    const out = new Float32Array(rows * outDim);
    return this.withMatrix(l, inDim, outDim, (m) => this.product(x, m, rows, out, bias));
  }
}
