/**
 * The WebAssembly SIMD GEMM behind the core's `Gemm` signature: operands are copied into (or
 * already live in) shared kernel memory, A is packed once, and column chunks of C are computed
 * by the calling thread and the helper threads together. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { checkGemmShapes, type Gemm } from '../core/gemm';
import { GEMM_RELAXED_WASM, GEMM_SIMD_WASM } from './gemm.wasm';
import { CONTROL_OFFSET, CONTROL_SLOTS, KernelMemory, MAX_THREADS } from './memory';
import { claimChunk, HelperPool, MAX_CHUNKS, scratchFor, Slot } from './pool';

type GemmCols = (
  ap: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  j0: number,
  j1: number,
  bias: number,
  scratch: number,
) => void;
type PackA = (a: number, lda: number, m: number, k: number, dst: number) => void;

/** Below this many multiply-adds a product runs on the calling thread alone (waking a helper costs ~50 µs). */
export const DEFAULT_PARALLEL_THRESHOLD = 1 << 22;
/** A helper that finishes no chunk for this long is taken for dead. */
const STALL_MS = 30000;

export interface WasmGemmOptions {
  /** Use the relaxed-SIMD module (the caller has checked that it validates). */
  relaxed: boolean;
  /** Threads including the calling one. */
  threads: number;
  parallelThreshold?: number;
  /** Nice value for the helper threads (Linux; 0 = unchanged). */
  helperNice?: number;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Buffer.from(base64, 'base64'));
}

const modules = new Map<boolean, WebAssembly.Module>();
/** The compiled module (compiled once per process and kind; helpers receive it, not bytes). */
function compiled(relaxed: boolean): WebAssembly.Module {
  let m = modules.get(relaxed);
  if (!m) {
    m = new WebAssembly.Module(decode(relaxed ? GEMM_RELAXED_WASM : GEMM_SIMD_WASM));
    modules.set(relaxed, m);
  }
  return m;
}

export class WasmGemm {
  readonly memory: KernelMemory;
  readonly threads: number;
  /** Called between column chunks; returning true abandons the product with a cancelled error. */
  cancelCheck: (() => boolean) | undefined;
  private readonly gemmCols: GemmCols;
  private readonly packA: PackA;
  private readonly ctl: Int32Array;
  private readonly pool: HelperPool | undefined;
  private readonly threshold: number;
  private broken: string | undefined;
  private split = { chunks: 0, byCaller: 0 };
  private warm: Promise<void> | undefined;

  constructor(options: WasmGemmOptions) {
    const module = compiled(options.relaxed);
    this.threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads)));
    this.threshold = options.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD;
    this.memory = new KernelMemory();
    const exports = new WebAssembly.Instance(module, { env: { memory: this.memory.memory } }).exports;
    this.gemmCols = exports.gemm_cols as GemmCols;
    this.packA = exports.pack_a as PackA;
    this.ctl = new Int32Array(this.memory.buffer, CONTROL_OFFSET, CONTROL_SLOTS);
    if (this.threads > 1) this.pool = new HelperPool(module, this.memory.memory, this.threads - 1, options.helperNice);
  }

  /** out[m x n] = a[m x k] · b[k x n] + bias; see the core's `Gemm`. */
  readonly gemm: Gemm = (a, b, m, k, n, out, bias) => {
    checkGemmShapes(a, b, m, k, n, out, bias);
    const c = out ?? new Float32Array(m * n);
    if (m === 0 || n === 0) return c;
    if (k === 0) {
      for (let i = 0; i < m; i++) {
        if (bias) c.set(bias, i * n);
        else c.fill(0, i * n, (i + 1) * n);
      }
      return c;
    }
    const mem = this.memory;
    const temps: number[] = [];
    const place = (x: Float32Array): number => {
      if (mem.isResident(x)) return x.byteOffset;
      const at = mem.allocBytes(x.length * 4);
      temps.push(at);
      mem.f32(at, x.length).set(x);
      return at;
    };
    try {
      const aAt = place(a);
      const bAt = place(b);
      const biasAt = bias ? place(bias) : 0;
      const apAt = mem.allocBytes(Math.ceil(m / 4) * 4 * k * 4);
      temps.push(apAt);
      const cResident = mem.isResident(c);
      let cAt = c.byteOffset;
      if (!cResident) {
        cAt = mem.allocBytes(m * n * 4);
        temps.push(cAt);
      }
      this.packA(aAt, k * 4, m, k, apAt);
      this.run(apAt, bAt, cAt, m, k, n, biasAt);
      if (!cResident) c.set(mem.f32(cAt, m * n));
      return c;
    } finally {
      for (const t of temps) mem.freeBytes(t);
    }
  };

  /** Computes C = bias + packed A · B over every column, split into chunks across threads. */
  private run(ap: number, b: number, c: number, m: number, k: number, n: number, bias: number): void {
    const scratch = scratchFor(0);
    if (!this.pool || m * k * n < this.threshold) {
      this.gemmCols(ap, b, n * 4, c, n * 4, m, k, 0, n, bias, scratch);
      return;
    }
    if (this.broken) throw new FfnLensError(this.broken);
    const ctl = this.ctl;
    // About 4 chunks per thread: slack for a thread the OS delays, yet wide enough that B's rows
    // are read in long runs. Multiples of 8 columns (the micro-kernel's width).
    let cols = Math.ceil(n / (this.threads * 4) / 8) * 8;
    cols = Math.max(cols, 64, Math.ceil(n / MAX_CHUNKS / 8) * 8);
    const chunks = Math.ceil(n / cols);
    const params: [number, number][] = [
      [Slot.Ap, ap],
      [Slot.B, b],
      [Slot.Ldb, n * 4],
      [Slot.C, c],
      [Slot.Ldc, n * 4],
      [Slot.M, m],
      [Slot.K, k],
      [Slot.N, n],
      [Slot.Bias, bias],
      [Slot.ChunkCols, cols],
      [Slot.Chunks, chunks],
      [Slot.Done, 0],
      [Slot.Error, 0],
    ];
    for (const [slot, value] of params) Atomics.store(ctl, slot, value | 0);
    const gen = (Atomics.load(ctl, Slot.Seq) + 1) & 0x7fff;
    Atomics.store(ctl, Slot.Next, gen << 16);
    Atomics.store(ctl, Slot.Seq, gen);
    this.pool.wake();
    this.split = { chunks, byCaller: 0 };

    let cancelled = false;
    let failure: unknown;
    for (;;) {
      if (this.cancelCheck?.()) {
        cancelled = true;
        break;
      }
      const index = claimChunk(ctl, gen);
      if (index < 0) break;
      try {
        this.gemmCols(ap, b, n * 4, c, n * 4, m, k, index * cols, Math.min(n, (index + 1) * cols), bias, scratch);
      } catch (e) {
        failure = e;
      }
      this.split.byCaller++;
      Atomics.add(ctl, Slot.Done, 1);
      if (failure !== undefined) break;
    }
    // Close the queue (a no-op when it is empty) and wait for the chunks helpers are still on.
    let claimed = chunks;
    for (;;) {
      const v = Atomics.load(ctl, Slot.Next);
      const closed = (gen << 16) | 0xffff;
      if (Atomics.compareExchange(ctl, Slot.Next, v, closed) === v) {
        claimed = Math.min(chunks, v & 0xffff);
        break;
      }
    }
    let last = Atomics.load(ctl, Slot.Done);
    let since = Date.now();
    while (last < claimed) {
      Atomics.wait(ctl, Slot.Done, last, 100);
      const now = Atomics.load(ctl, Slot.Done);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        this.broken = 'a matrix-product thread stopped responding';
        throw new FfnLensError(this.broken);
      }
    }
    if (failure !== undefined) throw failure;
    if (Atomics.load(ctl, Slot.Error) !== 0) throw new FfnLensError('a matrix-product thread failed');
    if (cancelled) throw new FfnLensError('cancelled', undefined, 'cancelled');
  }

  /**
   * How the latest threaded product was split: its chunks, how many are finished (live, so a
   * cancelCheck can watch helpers work) and how many the calling thread computed.
   */
  splitStats(): { chunks: number; finished: number; byCaller: number } {
    return { ...this.split, finished: Atomics.load(this.ctl, Slot.Done) };
  }

  /**
   * Resolves when the helper threads are up and the kernel is warm. V8 first runs WebAssembly
   * through its baseline compiler and swaps in optimised code in the background once a
   * function is hot; a few small products here make the first real one run at full speed.
   */
  ready(): Promise<void> {
    this.warm ??= (async () => {
      await this.pool?.ready;
      const [m, k, n] = [16, 256, 512];
      const a = new Float32Array(m * k).fill(0.5);
      const b = new Float32Array(k * n).fill(0.25);
      for (let i = 0; i < 4; i++) {
        this.gemm(a, b, m, k, n);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    return this.warm;
  }

  /** Stops the helper threads. The engine must not be used afterwards. */
  async dispose(): Promise<void> {
    await this.pool?.dispose();
  }
}
