/**
 * Helper threads for the GEMM: each instantiates the same compiled module on the same shared
 * memory, sleeps in Atomics.wait, and on a new job takes column chunks from a shared counter
 * until none are left. The calling thread takes chunks too, so a helper that is slow to wake
 * only means the caller does more of the work; nothing ever waits for a helper to start.
 *
 * The helpers' code is a short string run with `eval: true`, so the bundles need no extra entry
 * file. No `vscode` import.
 */
import { Worker } from 'worker_threads';
import { CONTROL_OFFSET, CONTROL_SLOTS, SCRATCH_BYTES, SCRATCH_OFFSET } from './memory';
import { LOWER_PRIORITY_SOURCE } from './priority';

/** Int32 slots of the control block. */
export const Slot = {
  /** Job generation; helpers wait for it to change. */
  Seq: 0,
  /** (generation & 0x7fff) << 16 | next chunk index; claimed by compare-and-swap. */
  Next: 1,
  /** Chunks finished (by anyone) in the current job. */
  Done: 2,
  Chunks: 3,
  ChunkCols: 4,
  Stop: 5,
  /** Set by a helper whose chunk threw; the caller reports it. */
  Error: 6,
  Ap: 8,
  B: 9,
  Ldb: 10,
  C: 11,
  Ldc: 12,
  M: 13,
  K: 14,
  N: 15,
  Bias: 16,
  /** 1 when B is a prepared (`panels`) matrix: gemm_cols_packed instead of gemm_cols, Ldb its bytes per row of k. */
  Packed: 17,
} as const;

/** The most chunks one job may have: the chunk index lives in the low 16 bits of Slot.Next. */
export const MAX_CHUNKS = 0xff00;

/** Claims the next chunk of generation `gen`, or returns -1 when there is none. */
export function claimChunk(ctl: Int32Array, gen: number): number {
  const tag = (gen & 0x7fff) << 16;
  for (;;) {
    const v = Atomics.load(ctl, Slot.Next);
    if ((v & 0x7fff0000) !== tag) return -1;
    const index = v & 0xffff;
    if (index >= Atomics.load(ctl, Slot.Chunks)) return -1;
    if (Atomics.compareExchange(ctl, Slot.Next, v, v + 1) === v) return index;
  }
}

// Plain JS (run by the helper thread as is); mirrors claimChunk and the slots above.
const HELPER_SOURCE = `
const { workerData, parentPort } = require('worker_threads');
const { module, memory, scratch, nice } = workerData;
(${LOWER_PRIORITY_SOURCE})(nice);
const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports;
const { gemm_cols: gemmCols, gemm_cols_packed: gemmColsPacked } = kernel;
const ctl = new Int32Array(memory.buffer, ${CONTROL_OFFSET}, ${CONTROL_SLOTS});
let seen = Atomics.load(ctl, ${Slot.Seq});
parentPort.postMessage('up');
for (;;) {
  Atomics.wait(ctl, ${Slot.Seq}, seen);
  seen = Atomics.load(ctl, ${Slot.Seq});
  if (Atomics.load(ctl, ${Slot.Stop}) !== 0) break;
  const tag = (seen & 0x7fff) << 16;
  const p = (s) => Atomics.load(ctl, s);
  const ap = p(${Slot.Ap}), b = p(${Slot.B}), ldb = p(${Slot.Ldb}), c = p(${Slot.C}), ldc = p(${Slot.Ldc});
  const m = p(${Slot.M}), k = p(${Slot.K}), n = p(${Slot.N}), bias = p(${Slot.Bias}), cols = p(${Slot.ChunkCols});
  const product = p(${Slot.Packed}) ? gemmColsPacked : gemmCols;
  for (;;) {
    const v = Atomics.load(ctl, ${Slot.Next});
    if ((v & 0x7fff0000) !== tag) break;
    const index = v & 0xffff;
    if (index >= Atomics.load(ctl, ${Slot.Chunks})) break;
    if (Atomics.compareExchange(ctl, ${Slot.Next}, v, v + 1) !== v) continue;
    try {
      product(ap, b, ldb, c, ldc, m, k, index * cols, Math.min(n, (index + 1) * cols), bias, scratch);
    } catch (e) {
      Atomics.store(ctl, ${Slot.Error}, 1);
    }
    Atomics.add(ctl, ${Slot.Done}, 1);
    Atomics.notify(ctl, ${Slot.Done});
  }
}
`;

/** The scratch address of thread `id` (0 is the calling thread). */
export function scratchFor(id: number): number {
  return SCRATCH_OFFSET + id * SCRATCH_BYTES;
}

/** `count` helper threads on `memory`, started now, stopped by `dispose`. */
export class HelperPool {
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private disposed = false;
  /** Resolves when every helper is waiting for work (or has failed to start). */
  readonly ready: Promise<void>;

  /** `nice` > 0 lowers each helper's priority (Linux only, see priority.ts). */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, count: number, nice = 0) {
    this.ctl = new Int32Array(memory.buffer, CONTROL_OFFSET, CONTROL_SLOTS);
    const up: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const w = new Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, scratch: scratchFor(i + 1), nice } });
      // Helpers never keep the process alive; dispose() terminates them explicitly.
      w.unref();
      w.on('error', () => Atomics.store(this.ctl, Slot.Error, 1));
      up.push(
        new Promise<void>((resolve) => {
          w.once('message', () => resolve());
          w.once('exit', () => resolve());
        }),
      );
      this.workers.push(w);
    }
    // A new thread boots only while its parent's event loop runs: a product started before
    // then is computed by the calling thread alone (still correct, just not parallel).
    this.ready = Promise.all(up).then(() => undefined);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Wakes the helpers for the job whose parameters are already in the control block. */
  wake(): void {
    Atomics.notify(this.ctl, Slot.Seq);
  }

  /** Stops and terminates every helper; resolves when they are gone. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, Slot.Stop, 1);
    Atomics.add(this.ctl, Slot.Seq, 1);
    Atomics.notify(this.ctl, Slot.Seq);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
