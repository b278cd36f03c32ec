/**
 * What this JavaScript engine's WebAssembly can do, found by validating tiny modules (never by
 * version sniffing). No `vscode` import.
 */

/** `(func (result v128) (f32x4.add (v128.const ...) (v128.const ...)))` */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 43, 1, 41, 0, 253, 12, 0, 0, 128, 63, 0, 0, 128, 63, 0, 0, 128,
  63, 0, 0, 128, 63, 253, 12, 0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 64, 253, 228, 1, 11,
]);

/** `(func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd ...))` */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);

/** `(memory 1 1 shared)` */
const SHARED_MEMORY_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 3, 1, 1]);

/** The V8 flag that turns relaxed SIMD on in Node 20 (Node 22+ and VS Code's Electron have it on). */
export const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

export interface WasmFeatures {
  /** Fixed-width 128-bit SIMD. */
  simd: boolean;
  /** Relaxed SIMD (fused multiply-add), possibly after turning the V8 flag on. */
  relaxedSimd: boolean;
  /** True when relaxed SIMD only works because this process set RELAXED_SIMD_FLAG. */
  relaxedSimdByFlag: boolean;
  /** Shared WebAssembly memory (and so SharedArrayBuffer), needed for more than one thread. */
  sharedMemory: boolean;
}

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

function sharedMemoryWorks(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || !validates(SHARED_MEMORY_PROBE)) return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * Turns on relaxed SIMD through V8's flag. V8 flags are per process: this affects every isolate
 * (worker threads included), and only adds an instruction set, so it is safe to do once.
 */
function enableRelaxedFlag(): boolean {
  try {
    // Node's `v8` module is absent in browsers; require lazily so bundles for the web still load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const v8 = require('v8') as typeof import('v8');
    v8.setFlagsFromString(RELAXED_SIMD_FLAG);
    return validates(RELAXED_PROBE);
  } catch {
    return false;
  }
}

let cached: WasmFeatures | undefined;

/**
 * Detects SIMD, relaxed SIMD and shared memory. With `enableRelaxedFlag` (the default), relaxed
 * SIMD that only needs V8's experimental flag (Node 20) is switched on. The answer is cached.
 */
export function detectWasmFeatures(options: { enableRelaxedFlag?: boolean } = {}): WasmFeatures {
  const allowFlag = options.enableRelaxedFlag ?? true;
  if (cached && (cached.relaxedSimd || !allowFlag)) return cached;
  const simd = validates(SIMD_PROBE);
  let relaxedSimd = simd && validates(RELAXED_PROBE);
  let relaxedSimdByFlag = false;
  if (simd && !relaxedSimd && allowFlag) {
    relaxedSimd = enableRelaxedFlag();
    relaxedSimdByFlag = relaxedSimd;
  }
  cached = { simd, relaxedSimd, relaxedSimdByFlag, sharedMemory: sharedMemoryWorks() };
  return cached;
}
