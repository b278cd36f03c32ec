/**
 * The matrix kernel the command line computes with: the same engine as the compute worker and
 * the benchmarks (src/kernels), on every core. No `vscode` import.
 */
import * as os from 'os';
import { FfnLensError } from '../core/errors';
import { bestPath, createGemmEngine, detectWasmFeatures, type GemmEngine } from '../kernels';
import type { EngineChoice } from './args';

/**
 * `auto`: the WebAssembly SIMD kernels (relaxed SIMD when V8 has it) when this Node has
 * WebAssembly SIMD and shared memory, else the TypeScript kernel. `wasm` refuses to fall back.
 */
export function createCliEngine(choice: EngineChoice): GemmEngine {
  if (choice === 'ts') return createGemmEngine({ path: 'ts' });
  const path = bestPath(detectWasmFeatures());
  if (path === 'ts') {
    if (choice === 'wasm') {
      throw new FfnLensError(`--engine wasm: this Node (${process.version}) has no WebAssembly SIMD with shared memory; use --engine ts or auto`, undefined, 'usage');
    }
    return createGemmEngine({ path: 'ts' });
  }
  const threads = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return createGemmEngine({ path, threads });
}
