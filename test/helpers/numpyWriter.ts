/**
 * Lets numpy itself write `.npy` / `.npz` fixtures (np.save, np.savez, np.savez_compressed), so the
 * readers are checked against the real library and not only against our own writers. Needs python3
 * with numpy, which not every machine has: tests call `hasNumpy()` and `this.skip()` without it.
 */
import { spawnSync } from 'child_process';

/** One array for numpy: values as nested rows (or a vector), stored with `dtype` (`<f4`, `>f4`, `<f8`, `>f2`...). */
export interface NumpyArray {
  values: readonly number[] | readonly (readonly number[])[];
  dtype: string;
  /** Stored column-major (np.asfortranarray), so the file's header says `fortran_order: True`. */
  fortran?: boolean;
}

/** What numpy wrote into each array's `.npy` header (np.lib.format.header_data_from_array_1_0). */
export interface NumpyHeader {
  descr: string;
  fortran_order: boolean;
  shape: number[];
}

// Values travel as JSON numbers: float64 round-trips exactly between JavaScript and Python.
const SCRIPT = String.raw`
import sys, json, numpy as np
job = json.load(sys.stdin)
def build(spec):
    a = np.array(spec['values'], dtype=np.float64).astype(spec['dtype'])
    return np.asfortranarray(a) if spec.get('fortran') else np.ascontiguousarray(a)
arrays = {k: build(v) for k, v in job['arrays'].items()}
if job['kind'] == 'npy':
    np.save(job['file'], arrays['array'])
elif job['kind'] == 'savez_compressed':
    np.savez_compressed(job['file'], **arrays)
else:
    np.savez(job['file'], **arrays)
def header(a):
    h = np.lib.format.header_data_from_array_1_0(a)
    return {'descr': h['descr'], 'fortran_order': bool(h['fortran_order']), 'shape': list(h['shape'])}
print(json.dumps({k: header(a) for k, a in arrays.items()}))
`;

let available: boolean | undefined;

/** True when `python3 -c "import numpy"` works (checked once per process). */
export function hasNumpy(): boolean {
  if (available === undefined) {
    const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    available = r.status === 0;
  }
  return available;
}

function runNumpy(kind: 'npy' | 'savez' | 'savez_compressed', file: string, arrays: Record<string, NumpyArray>): Record<string, NumpyHeader> {
  if (!hasNumpy()) throw new Error('numpyWriter: python3 with numpy is not available (call hasNumpy() and skip first)');
  const r = spawnSync('python3', ['-c', SCRIPT], { input: JSON.stringify({ kind, file, arrays }), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`numpyWriter: python3 failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, NumpyHeader>;
}

/** np.save(file, array); returns the header numpy wrote. */
export function numpySave(file: string, array: NumpyArray): NumpyHeader {
  return runNumpy('npy', file, { array }).array;
}

/**
 * np.savez (stored) or np.savez_compressed (deflated) with `arrays` as keyword arguments, so key
 * `layer0/W1` becomes member `layer0/W1.npy`. `file` should end in `.npz` (numpy adds it otherwise).
 */
export function numpySavez(file: string, arrays: Record<string, NumpyArray>, compressed = false): Record<string, NumpyHeader> {
  return runNumpy(compressed ? 'savez_compressed' : 'savez', file, arrays);
}
