/**
 * Decoding a tensor in bounded slices of its stored elements, each put in place as soon as it is
 * decoded: straight into the output, or transposed into it (a file's [out,in] matrix into the
 * core's [in,out]). The extra memory is one slice, never a second copy of the tensor, and a cancel
 * lands between slices. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { throwIfAborted } from './fileRange';
import { PANEL_KC, PANEL_NR, panelsLength } from '../core/gemm';

/**
 * Decoded float32 bytes per slice: big enough that a slice holds dozens of rows of a wide matrix
 * (tiles stay full), small next to a matrix (a LLaMA-7B one is 180 MB). Tests lower it.
 */
export const SLICE_LIMITS = { bytes: 8 * 1024 * 1024 };

/**
 * Tiles of a transpose: TILE_ROWS source rows by TILE_COLS columns. Few rows per tile, because
 * source rows of a power-of-two width (4096 floats) sit 16 KiB apart and map to the same L1 set:
 * on a LLaMA-7B matrix into warm memory 8 x 64 took 81 ms against 107 ms for 32 x 32.
 */
const TILE_ROWS = 8;
const TILE_COLS = 64;

/**
 * Where the slices of one tensor go. The stored elements are a row-major [rows x cols] matrix (a
 * 1-D tensor is one row); `out` receives them in that order, or, when `transpose`, as the
 * [cols x rows] transpose. A transposed slice is whole rows (at least one, however wide).
 */
export class SliceWriter {
  /** Stored elements per slice (the last one may be shorter). */
  readonly sliceLength: number;
  private scratch: Float32Array | undefined;
  /** The stored elements (rows x cols); `out` holds more when it is `panels` (padding). */
  readonly length: number;

  /**
   * `unit`: a slice boundary falls on a multiple of it (a quantised block); it divides `cols` when
   * transposing. `panels`: `out` receives the matrix (as stored, or its transpose) in the matrix
   * kernel's `panels` layout (see PreparedMatrix), so no later pass rearranges it.
   */
  constructor(
    readonly out: Float32Array,
    readonly rows: number,
    readonly cols: number,
    readonly transpose: boolean,
    unit = 1,
    readonly panels = false,
  ) {
    this.length = rows * cols;
    const [k, n] = transpose ? [cols, rows] : [rows, cols];
    const want = panels ? panelsLength(k, n) : rows * cols;
    if (out.length !== want) throw new RangeError(`SliceWriter: ${out.length} values is not ${rows} x ${cols}${panels ? ' in panels' : ''}`);
    const floats = Math.max(1, Math.floor(SLICE_LIMITS.bytes / 4));
    // transposed and panel slices are whole stored rows, however wide
    this.sliceLength = transpose || panels ? Math.max(1, Math.floor(floats / Math.max(1, cols))) * cols : Math.max(1, Math.floor(floats / unit)) * unit;
    if (panels) zeroPanelPadding(out, k, n);
  }

  /** Where the `n` stored elements from `first` on are to be decoded: `out` itself, or a reused scratch slice. */
  target(first: number, n: number): Float32Array {
    if (!this.transpose && !this.panels) return this.out.subarray(first, first + n);
    this.scratch ??= new Float32Array(Math.min(this.sliceLength, this.length));
    return this.scratch.subarray(0, n);
  }

  /** Puts the elements decoded into `target(first, n)` in their place. */
  commit(first: number, n: number): void {
    const src = this.scratch?.subarray(0, n);
    if (!src) return;
    const [r0, count] = [first / this.cols, n / this.cols];
    if (!this.panels) transposeRows(src, r0, count, this.rows, this.cols, this.out);
    else if (this.transpose) columnsToPanels(src, r0, count, this.cols, this.rows, this.out);
    else rowsToPanels(src, r0, count, this.rows, this.cols, this.out);
  }
}

/** Index of element (kk, j) of a k x n matrix in the `panels` layout. */
function panelAt(kk: number, j: number, k: number, npad: number): number {
  const k0 = kk - (kk % PANEL_KC);
  const kc = Math.min(PANEL_KC, k - k0);
  return k0 * npad + (j >> 3) * kc * PANEL_NR + (kk - k0) * PANEL_NR + (j & 7);
}

/** Rows [r0, r0 + count) of a k x n matrix (`src`, count x n) into their panels. */
function rowsToPanels(src: Float32Array, r0: number, count: number, k: number, n: number, out: Float32Array): void {
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  for (let i = 0; i < count; i++) {
    const kk = r0 + i;
    const k0 = kk - (kk % PANEL_KC);
    // consecutive panels of one row are kc * 8 floats apart; each takes 8 consecutive columns
    const step = Math.min(PANEL_KC, k - k0) * PANEL_NR;
    let at = k0 * npad + (kk - k0) * PANEL_NR;
    const row = i * n;
    const whole = n - (n % PANEL_NR);
    for (let j = 0; j < whole; j += PANEL_NR, at += step) {
      out[at] = src[row + j];
      out[at + 1] = src[row + j + 1];
      out[at + 2] = src[row + j + 2];
      out[at + 3] = src[row + j + 3];
      out[at + 4] = src[row + j + 4];
      out[at + 5] = src[row + j + 5];
      out[at + 6] = src[row + j + 6];
      out[at + 7] = src[row + j + 7];
    }
    for (let j = whole; j < n; j++) out[at + (j - whole)] = src[row + j];
  }
}

/** Columns [c0, c0 + count) of a k x n matrix (`src`, count stored rows of k: the file's [n, k] rows) into their panels. */
function columnsToPanels(src: Float32Array, c0: number, count: number, k: number, n: number, out: Float32Array): void {
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  for (let i = 0; i < count; i++) {
    const j = c0 + i;
    const col = i * k;
    for (let k0 = 0; k0 < k; k0 += PANEL_KC) {
      const kc = Math.min(PANEL_KC, k - k0);
      let at = panelAt(k0, j, k, npad);
      for (let kk = 0; kk < kc; kk++, at += PANEL_NR) out[at] = src[col + k0 + kk];
    }
  }
}

/** Zeroes the lanes past column n of the last panel (the kernel reads them as zeros). */
function zeroPanelPadding(out: Float32Array, k: number, n: number): void {
  const npad = Math.ceil(n / PANEL_NR) * PANEL_NR;
  if (npad === n) return;
  for (let kk = 0; kk < k; kk++) out.fill(0, panelAt(kk, n, k, npad), panelAt(kk, npad - PANEL_NR, k, npad) + PANEL_NR);
}

/** Decodes `n` stored elements from element `first` on into `into` (exactly `n` values). */
export type SliceDecoder = (first: number, n: number, into: Float32Array) => Promise<void>;

/** Runs `decode` over every slice of `writer`, in order, checking `signal` before each; returns the output. */
export async function decodeInSlices(writer: SliceWriter, decode: SliceDecoder, signal: AbortSignal | undefined, path: string): Promise<Float32Array> {
  for (let first = 0; first < writer.length; first += writer.sliceLength) {
    throwIfAborted(signal, path);
    const n = Math.min(writer.sliceLength, writer.length - first);
    await decode(first, n, writer.target(first, n));
    writer.commit(first, n);
  }
  throwIfAborted(signal, path);
  return writer.out;
}

/**
 * Rows [r0, r0 + n) of a row-major [rows x cols] matrix, given as `src` (n x cols values), written to
 * their places in `dst`, the [cols x rows] transpose. In tiles, so reads and writes both stay in
 * cache; each tile writes runs of consecutive floats.
 */
export function transposeRows(src: Float32Array, r0: number, n: number, rows: number, cols: number, dst: Float32Array): void {
  if (src.length !== n * cols) throw new RangeError(`transposeRows: ${src.length} values is not ${n} rows of ${cols}`);
  if (dst.length !== rows * cols || r0 < 0 || r0 + n > rows) throw new RangeError(`transposeRows: rows ${r0}..${r0 + n} do not fit a ${rows} x ${cols} matrix`);
  for (let i0 = 0; i0 < n; i0 += TILE_ROWS) {
    const i1 = Math.min(i0 + TILE_ROWS, n);
    for (let c0 = 0; c0 < cols; c0 += TILE_COLS) {
      const c1 = Math.min(c0 + TILE_COLS, cols);
      for (let c = c0; c < c1; c++) {
        const at = c * rows + r0;
        for (let i = i0; i < i1; i++) dst[at + i] = src[i * cols + c];
      }
    }
  }
}

/** The transpose of a row-major [rows x cols] matrix, as a [cols x rows] matrix in `dst` (a new array by default). */
export function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (src.length !== rows * cols) throw new RangeError(`transpose: ${src.length} values is not ${rows} x ${cols}`);
  if (dst.length !== src.length) throw new RangeError(`transpose: the output holds ${dst.length} values, not ${src.length}`);
  transposeRows(src, 0, rows, rows, cols, dst);
  return dst;
}

/** The stored matrix a tensor of `shape` is, row-major: [product of the leading dimensions x the last]. */
export function rowsAndCols(shape: readonly number[]): [rows: number, cols: number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1];
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), cols];
}

/** Refuses a transposed read of anything but a matrix (`what` names the tensor). */
export function checkTransposable(shape: readonly number[], what: string, file: string): void {
  if (shape.length !== 2) throw new FfnLensError(`${what} is [${shape.join(', ')}], not a matrix, so it cannot be read transposed`, file);
}
