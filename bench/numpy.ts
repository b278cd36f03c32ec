/**
 * Runs bench/numpy_ffn.py in a child python3 with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
 * removed from its environment only (they pin OpenBLAS to a slower kernel on this machine);
 * tests and this process keep their environment.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { FfnCase } from './shapes';

export interface NumpyRun {
  version: string;
  blas: Record<string, unknown>;
  /** ms per forward, by case name */
  times: Map<string, number[]>;
  /** the variables removed for the child, with the values they had here */
  unset: Record<string, string>;
}

/** numpy's timings, or a reason why there are none (no python3, no numpy, a failure). */
export function runNumpy(cases: FfnCase[]): NumpyRun | { skipped: string } {
  const env = { ...process.env };
  const unset: Record<string, string> = {};
  for (const key of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']) {
    if (env[key] !== undefined) unset[key] = env[key] as string;
    delete env[key];
  }
  const script = path.join(__dirname, 'numpy_ffn.py');
  const arg = JSON.stringify(cases.map((c) => ({ name: c.name, T: c.T, d: c.d, f: c.f, gated: c.gated, reps: c.reps })));
  const child = spawnSync('python3', [script, arg], { env, encoding: 'utf8', maxBuffer: 64 * 1048576 });
  if (child.error) return { skipped: `python3 not runnable (${child.error.message})` };
  if (child.status !== 0) {
    const why = /No module named 'numpy'/.test(child.stderr) ? 'numpy is not installed' : child.stderr.trim().split('\n').pop();
    return { skipped: why ?? `python3 exited with ${child.status}` };
  }
  const out = JSON.parse(child.stdout) as { numpy: string; blas: Record<string, unknown>; results: { name: string; times_ms: number[] }[] };
  return { version: out.numpy, blas: out.blas, times: new Map(out.results.map((r) => [r.name, r.times_ms])), unset };
}
