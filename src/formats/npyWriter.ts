/**
 * Writing a float32 array as a `.npy` file (format version 1.0, little-endian `<f4`, C order),
 * for exporting activations to numpy. No `vscode` import.
 */
import { promises as fs } from 'fs';

/** The bytes of a .npy file holding `data` with `shape`. */
export function npyBytes(data: Float32Array, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${count} values, not ${data.length}`);
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + data.byteLength);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 10 + header.length);
  return out;
}

/** Writes `data` as a .npy file at `path` (a new file, or one FFN Lens is asked to replace). */
export async function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  await fs.writeFile(path, npyBytes(data, shape));
}
