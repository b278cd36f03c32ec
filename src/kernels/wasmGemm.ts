/**
 * The WebAssembly SIMD GEMM behind the core's `Gemm` signature: operands are copied into (or
 * already live in) shared kernel memory, A is packed once, and column chunks of C are computed
 * by the calling thread and the helper threads together. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { checkGemmShapes, checkPreparedShapes, PANEL_KC, panelsLength, type Gemm, type PreparedGemm } from '../core/gemm';
import { activateInPlace } from '../core/activations';
import type { PlainActivation, PreparedMatrix } from '../core/types';
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
type PackB = (b: number, ldb: number, kc: number, nc: number, dst: number) => void;
type Act = (kind: number, p: number, n: number) => void;

/** The filters the module computes (its `act` kinds); the others stay with the core. */
const ACT_KINDS: Partial<Record<PlainActivation, number>> = { gelu_tanh: 1, silu: 2 };

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
  private readonly gemmColsPacked: GemmCols;
  private readonly packA: PackA;
  private readonly packB: PackB;
  private readonly act: Act;
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
    this.gemmColsPacked = exports.gemm_cols_packed as GemmCols;
    this.packA = exports.pack_a as PackA;
    this.packB = exports.pack_b as PackB;
    this.act = exports.act as Act;
    this.ctl = new Int32Array(this.memory.buffer, CONTROL_OFFSET, CONTROL_SLOTS);
    if (this.threads > 1) this.pool = new HelperPool(module, this.memory.memory, this.threads - 1, options.helperNice);
  }

  /** out[m x n] = a[m x k] · b[k x n] + bias; see the core's `Gemm`. */
  readonly gemm: Gemm = (a, b, m, k, n, out, bias) => {
    checkGemmShapes(a, b, m, k, n, out, bias);
    return this.product(a, b, false, m, k, n, out, bias);
  };

  /** out = a · B + bias with B prepared (`prepare`, or any `panels` / `rows` matrix); see the core's `PreparedGemm`. */
  readonly gemmPrepared: PreparedGemm = (a, b, m, out, bias) => {
    checkPreparedShapes(a, b, m, out, bias);
    return this.product(a, b.data, b.layout === 'panels', m, b.k, b.n, out, bias);
  };

  /**
   * Lays out b (k x n, row-major) once as the `panels` the micro-kernel reads (see PreparedMatrix),
   * so that products with it (`gemmPrepared`) skip packing B. b is handed over: when it lives in
   * kernel memory (from `alloc`) and n is a multiple of 8, it is rearranged in place (a buffer of
   * PANEL_KC rows, held while this runs, is all the extra memory); otherwise the panels go to a
   * new allocation and b is given back to the allocator (if it came from it). Use and release
   * the result's `data`, never b. Throws, with b untouched, when kernel memory cannot hold what
   * this needs.
   */
  prepare(b: Float32Array, k: number, n: number): PreparedMatrix {
    for (const [what, v] of [['k', k], ['n', n]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new FfnLensError(`prepare: ${what} = ${v} is not a non-negative integer`);
    }
    if (b.length !== k * n) throw new FfnLensError(`prepare: b has ${b.length} values, expected ${k} x ${n} = ${k * n}`);
    const mem = this.memory;
    const ld = n * 4;
    if (mem.isResident(b) && n % 8 === 0) {
      // Block k0 of the panels takes exactly the bytes of rows k0 .. k0+kc of b: copy those rows
      // aside, then pack them back over themselves.
      const at = b.byteOffset;
      const temp = mem.allocBytes(Math.min(k, PANEL_KC) * ld);
      try {
        const bytes = new Uint8Array(mem.buffer);
        for (let k0 = 0; k0 < k; k0 += PANEL_KC) {
          const kc = Math.min(PANEL_KC, k - k0);
          bytes.copyWithin(temp, at + k0 * ld, at + (k0 + kc) * ld);
          this.packB(temp, ld, kc, n, at + k0 * ld);
        }
      } finally {
        mem.freeBytes(temp);
      }
      return { k, n, layout: 'panels', data: mem.f32(at, k * n) };
    }
    const length = panelsLength(k, n);
    const npad = Math.ceil(n / 8) * 8;
    const dst = mem.allocBytes(length * 4);
    const resident = mem.isResident(b);
    let stage = 0;
    try {
      // An ordinary array goes through kernel memory a PANEL_KC-row block at a time.
      if (!resident) stage = mem.allocBytes(Math.min(k, PANEL_KC) * ld);
      for (let k0 = 0; k0 < k; k0 += PANEL_KC) {
        const kc = Math.min(PANEL_KC, k - k0);
        if (!resident) mem.f32(stage, kc * n).set(b.subarray(k0 * n, (k0 + kc) * n));
        this.packB(resident ? b.byteOffset + k0 * ld : stage, ld, kc, n, dst + k0 * npad * 4);
      }
    } catch (e) {
      mem.freeBytes(dst);
      throw e;
    } finally {
      if (stage) mem.freeBytes(stage);
    }
    mem.release(b);
    return { k, n, layout: 'panels', data: mem.f32(dst, length) };
  }

  /**
   * The filter `name` over `data` in place, four lanes at a time in float32 (`act` in gemm.wat),
   * on the calling thread; false (data untouched) for a filter the module does not compute.
   */
  activate(name: PlainActivation, data: Float32Array): boolean {
    const kind = ACT_KINDS[name];
    if (kind === undefined) return false;
    const n4 = data.length & ~3;
    if (n4 > 0) {
      const mem = this.memory;
      if (mem.isResident(data)) this.act(kind, data.byteOffset, n4);
      else {
        // a block at a time through kernel memory: a copy in and out costs little next to exp
        const block = Math.min(n4, 1 << 16);
        const at = mem.allocBytes(block * 4);
        try {
          const view = mem.f32(at, block);
          for (let i = 0; i < n4; i += block) {
            const len = Math.min(block, n4 - i);
            view.set(data.subarray(i, i + len));
            this.act(kind, at, len);
            data.set(len === block ? view : view.subarray(0, len), i);
          }
        } finally {
          mem.freeBytes(at);
        }
      }
    }
    if (n4 < data.length) activateInPlace(name, data, n4, data.length - n4);
    return true;
  }

  /** The product of gemm and gemmPrepared: b is row-major, or `panels` when `packed`. */
  private product(a: Float32Array, b: Float32Array, packed: boolean, m: number, k: number, n: number, out?: Float32Array, bias?: Float32Array): Float32Array {
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
      this.run(apAt, bAt, packed, cAt, m, k, n, biasAt);
      if (!cResident) c.set(mem.f32(cAt, m * n));
      return c;
    } finally {
      for (const t of temps) mem.freeBytes(t);
    }
  }

  /**
   * Computes C = bias + packed A · B over every column, split into chunks across threads; B is
   * row-major (gemm_cols packs it block by block) or, when `packed`, prepared panels.
   */
  private run(ap: number, b: number, packed: boolean, c: number, m: number, k: number, n: number, bias: number): void {
    const scratch = scratchFor(0);
    const kernel = packed ? this.gemmColsPacked : this.gemmCols;
    // Bytes per row of k: of B itself, or of its panels (n rounded up to whole panels).
    const ldb = packed ? Math.ceil(n / 8) * 32 : n * 4;
    if (!this.pool || m * k * n < this.threshold) {
      kernel(ap, b, ldb, c, n * 4, m, k, 0, n, bias, scratch);
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
      [Slot.Ldb, ldb],
      [Slot.Packed, packed ? 1 : 0],
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
        kernel(ap, b, ldb, c, n * 4, m, k, index * cols, Math.min(n, (index + 1) * cols), bias, scratch);
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
      // Both products: B packed per product, and B prepared once (its own loop code).
      const prepared = this.prepare(new Float32Array(k * n).fill(0.25), k, n);
      try {
        for (let i = 0; i < 4; i++) {
          this.gemm(a, b, m, k, n);
          this.gemmPrepared(a, prepared, m);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } finally {
        this.memory.release(prepared.data);
      }
    })();
    return this.warm;
  }

  /** Stops the helper threads. The engine must not be used afterwards. */
  async dispose(): Promise<void> {
    await this.pool?.dispose();
  }
}
