/**
 * The shared WebAssembly memory every GEMM thread works in, and a small first-fit allocator over
 * it. Arrays allocated here are "resident": the kernel reads and writes them in place, so weights
 * decoded straight into `alloc`ated arrays are never copied. No `vscode` import.
 *
 * Layout (bytes): [0, 1 KiB) unused so that address 0 can mean "none"; the thread control block
 * at CONTROL_OFFSET; per-thread scratch from SCRATCH_OFFSET; the heap from HEAP_OFFSET.
 */
import { FfnLensError } from '../core/errors';

const PAGE = 65536;
/** The wasm32 limit: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;
const ALIGN = 64;

/** Int32 slots of the control block (see pool.ts). */
export const CONTROL_OFFSET = 1024;
export const CONTROL_SLOTS = 64;
/** Per thread: a packed KC x NC B block (96 x 1536 floats = 576 KiB, see gemm.wat) and a 4 x 8 edge tile. */
export const SCRATCH_OFFSET = 4096;
export const SCRATCH_BYTES = 640 * 1024;
export const MAX_THREADS = 16;
export const HEAP_OFFSET = SCRATCH_OFFSET + MAX_THREADS * SCRATCH_BYTES;

interface Block {
  offset: number;
  bytes: number;
}

export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  /** Every ArrayBuffer this memory has exposed (growing a shared memory yields a new one). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Free blocks in address order. */
  private free: Block[] = [];
  private readonly used = new Map<number, number>();

  /** Always shared: the module imports a shared memory, whether or not helpers run. */
  constructor(initialBytes = 16 * 1048576) {
    const initial = Math.ceil(Math.max(initialBytes, HEAP_OFFSET + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
    this.free.push({ offset: HEAP_OFFSET, bytes: initial * PAGE - HEAP_OFFSET });
  }

  /** The current buffer (recorded, so arrays viewing it are recognised as resident). */
  get buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** Bytes the memory holds now (it never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Reserves `bytes` (64-byte aligned) and returns the address. Grows the memory when needed. */
  allocBytes(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.free.findIndex((b) => b.bytes >= size);
    if (i < 0) {
      this.grow(size);
      i = this.free.findIndex((b) => b.bytes >= size);
    }
    const block = this.free[i];
    const offset = block.offset;
    if (block.bytes === size) this.free.splice(i, 1);
    else this.free[i] = { offset: offset + size, bytes: block.bytes - size };
    this.used.set(offset, size);
    return offset;
  }

  /** Returns an allocation to the heap. Unknown addresses are ignored. */
  freeBytes(offset: number): void {
    const bytes = this.used.get(offset);
    if (bytes === undefined) return;
    this.used.delete(offset);
    let i = this.free.findIndex((b) => b.offset > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { offset, bytes });
    // Coalesce with the next and the previous block.
    const next = this.free[i + 1];
    if (next && offset + bytes === next.offset) {
      this.free[i].bytes += next.bytes;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.offset + prev.bytes === offset) {
      prev.bytes += this.free[i].bytes;
      this.free.splice(i, 1);
    }
  }

  /** A float32 array of `length` values living in kernel memory (contents unspecified). */
  alloc(length: number): Float32Array {
    return this.f32(this.allocBytes(length * 4), length);
  }

  /** Releases an array from `alloc`. The array must not be used afterwards. */
  release(array: Float32Array): void {
    if (this.isResident(array)) this.freeBytes(array.byteOffset);
  }

  /** A view of `length` floats at `offset`. */
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.buffer, offset, length);
  }

  /** True when `array` lives in this memory (the kernel can use it without a copy). */
  isResident(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer);
  }

  private grow(atLeast: number): void {
    const last = this.free[this.free.length - 1];
    const end = this.memory.buffer.byteLength;
    const tail = last && last.offset + last.bytes === end ? last.bytes : 0;
    const pages = Math.ceil((atLeast - tail) / PAGE);
    const have = end / PAGE;
    // Grow by at least an eighth to keep the number of grows (and new buffers) small.
    const want = Math.min(MAX_PAGES - have, Math.max(pages, Math.ceil(have / 8)));
    if (want < pages) {
      throw new FfnLensError(
        `the matrix kernel needs ${Math.ceil(atLeast / 1048576)} MiB more but WebAssembly memory is limited to 4 GiB`,
        undefined,
        'budget',
      );
    }
    this.memory.grow(want);
    if (tail) last.bytes += want * PAGE;
    else this.free.push({ offset: end, bytes: want * PAGE });
  }
}
