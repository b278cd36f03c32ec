/**
 * Recognises PyTorch / pickle files so they can be refused with a useful message. FFN Lens never
 * unpickles anything: loading a pickle runs whatever code the file names. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import { RangeReader } from './fileRange';

export type PickleKind = 'pickle' | 'torch-zip';

/** Bytes of a file's start that `looksLikePickle` needs to recognise both kinds. */
export const PICKLE_PROBE_BYTES = 30 + 1024;

/**
 * Recognises, from a file's first bytes: a raw pickle (PROTO opcode 0x80 with protocol 2..5, what
 * `torch.save(..., _use_new_zipfile_serialization=False)` and `pickle.dump` write) or a PyTorch zip
 * whose first member is one `torch.save` writes (`<archive>/data.pkl`, `<archive>/byteorder`,
 * `<archive>/version`, `<archive>/data/0`...).
 */
export function looksLikePickle(head: Uint8Array): PickleKind | undefined {
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  if (head.length >= 30 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    const nameLen = head[26] | (head[27] << 8);
    const name = Buffer.from(head.subarray(30, 30 + nameLen)).toString('utf8');
    if (isTorchPickleMember(name) || /(^|\/)(byteorder|version|\.format_version)$|\/data\/\d+$/.test(name)) return 'torch-zip';
  }
  return undefined;
}

/** True for the member name PyTorch stores its pickled object under (`data.pkl`, `archive/data.pkl`...). */
export function isTorchPickleMember(name: string): boolean {
  return /(^|\/)data\.pkl$/.test(name);
}

/** Reads the start of `path` and says whether it is a pickle or a PyTorch zip. */
export async function detectPickleFile(path: string): Promise<PickleKind | undefined> {
  const reader = await RangeReader.open(path);
  try {
    return looksLikePickle(await reader.read(0, Math.min(reader.size, PICKLE_PROBE_BYTES), undefined, 'file start'));
  } finally {
    await reader.close();
  }
}

/** The one error every reader throws for a pickle: what the file is, why it is refused and how to convert it. */
export function pickleRefusal(path: string): FfnLensError {
  return new FfnLensError(
    'this is a PyTorch/pickle file, and FFN Lens never unpickles (loading a pickle can run arbitrary code); ' +
      'convert it to safetensors first, e.g. python -c "import torch; from safetensors.torch import save_file; ' +
      "save_file(torch.load('model.bin', weights_only=True), 'model.safetensors')\"",
    path,
  );
}
