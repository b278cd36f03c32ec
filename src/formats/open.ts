/**
 * One entry point for every weight file: picks the reader by extension, or by the first bytes when
 * the extension says nothing, refuses PyTorch pickles, and adds what a config.json beside the file
 * says. Readers are loaded on first use, so a build without one still opens the others.
 * No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import { FfnLensError, isFfnLensError } from '../core/errors';
import { type ConfigHints, readConfigBeside } from './configJson';
import { readStats } from './fileRange';
import { PICKLE_PROBE_BYTES, type PickleKind, looksLikePickle } from './pickle';
import type { SourceHints, TensorSource, WeightFormat } from './source';

export type Opener = (path: string) => Promise<TensorSource>;

export interface OpenOptions {
  /** Read `config.json` beside the file for activation and architecture hints (default true). */
  config?: boolean;
  /** Replaces the built-in reader of a format (tests; alternative readers). */
  openers?: Partial<Record<WeightFormat, Opener>>;
}

export const SUPPORTED_FORMATS = '.json, .safetensors (and model.safetensors.index.json), .npy, .npz, .gguf';

const PICKLE_EXTENSIONS = new Set(['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle']);

/** Opens `path` with the reader its extension (or its magic bytes) calls for. */
export async function openSource(path: string, options: OpenOptions = {}): Promise<TensorSource> {
  const head = await readHead(path);
  if (startsWith(head, 'version https://git-lfs')) {
    throw new FfnLensError('is a Git LFS pointer, not the weights; run `git lfs pull` to fetch the file', path);
  }
  const ext = nodePath.extname(path).toLowerCase();
  const sniffed = sniff(head);
  const pickle = sniffed === 'pickle' || sniffed === 'torch-zip' || /\.(bin|pt|pth)\.index\.json$/i.test(path) ||
    (PICKLE_EXTENSIONS.has(ext) && (!sniffed || sniffed === 'npz'));
  let format: WeightFormat;
  if (/\.safetensors\.index\.json$/i.test(path) || ext === '.safetensors') format = 'safetensors';
  else if (pickle) throw pickleError(path);
  else if (ext === '.json') format = 'json';
  else if (ext === '.npy') format = 'npy';
  else if (ext === '.npz') format = 'npz';
  else if (ext === '.gguf') format = 'gguf';
  else if (sniffed) format = sniffed as WeightFormat;
  else {
    throw new FfnLensError(`unrecognised weight file (neither its extension nor its first bytes match a supported format: ${SUPPORTED_FORMATS})`, path);
  }
  const opener = options.openers?.[format] ?? builtinOpener(format);
  const source = await opener(path);
  if (options.config === false) return source;
  const config = await readConfigBeside(path);
  return config ? withConfig(source, config) : source;
}

/** The message for `.bin` / `.pt` / `.pth` / `.ckpt`: what the file is, why we refuse, how to convert. */
export function pickleError(path: string): FfnLensError {
  const base = nodePath.basename(path);
  const out = base.replace(/\.[^.]+$/, '') + '.safetensors';
  return new FfnLensError(
    `is a PyTorch pickle file, and FFN Lens never unpickles (loading a pickle can run arbitrary code); convert it to safetensors: ` +
      `python -c "import torch; from safetensors.torch import save_file; sd = torch.load('${base}', map_location='cpu', weights_only=True); ` +
      `sd = sd.get('state_dict', sd.get('model', sd)); save_file({k: v.contiguous().clone() for k, v in sd.items() if isinstance(v, torch.Tensor)}, '${out}')"`,
    path,
  );
}

/**
 * Each format's module and the name of its opener, loaded on first use. `require` rather than
 * `import()`: esbuild bundles both, but only `require` also resolves `.ts` under the tsx test
 * runner; a module that is missing fails at run time with the message below.
 */
const READERS: Record<WeightFormat, [() => unknown, string]> = {
  json: [() => require('./json'), 'openJsonSource'],
  safetensors: [() => require('./safetensors'), 'openSafetensorsSource'],
  npy: [() => require('./npy'), 'openNpySource'],
  npz: [() => require('./npz'), 'openNpzSource'],
  gguf: [() => require('./gguf'), 'openGgufSource'],
};

function builtinOpener(format: WeightFormat): Opener {
  const [load, exportName] = READERS[format];
  let opener: unknown;
  try {
    opener = (load() as Record<string, unknown>)[exportName];
  } catch (e) {
    throw new FfnLensError(`the ${format} reader is not available in this build (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (typeof opener !== 'function') throw new FfnLensError(`the ${format} reader is not available in this build (no ${exportName})`);
  return opener as Opener;
}

/** The same source with config.json's hints filling what the file does not say. */
function withConfig(source: TensorSource, config: ConfigHints): TensorSource {
  const hints: SourceHints = { ...source.hints };
  if (!config.ignored) {
    if (!hints.activation && config.activation) {
      hints.activation = config.activation;
      hints.activationFrom = 'config';
    }
    hints.architecture ??= config.architecture;
    hints.hiddenSize ??= config.hiddenSize;
    hints.intermediateSize ??= config.intermediateSize;
  }
  const metadata = { ...source.metadata, configJson: config.ignored ? { path: config.configPath, ignored: config.ignored } : { path: config.configPath } };
  // A view of the same source (prototype delegation keeps its class and extras such as bytesRead).
  return Object.create(source, { hints: { value: hints, enumerable: true }, metadata: { value: metadata, enumerable: true } }) as TensorSource;
}

async function readHead(path: string): Promise<Uint8Array> {
  let handle: fs.FileHandle | undefined;
  try {
    // Open, then fstat, as RangeReader does (a FIFO blocks here like in every reader, so a cancel can end it).
    handle = await fs.open(path, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new FfnLensError(`is a folder, not a weight file${await folderHint(path)}`, path);
    if (!stat.isFile()) throw new FfnLensError('is not a regular file', path);
    const buf = new Uint8Array(PICKLE_PROBE_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    readStats.bytes += bytesRead;
    return buf.subarray(0, bytesRead);
  } catch (e) {
    if (isFfnLensError(e)) throw e;
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'EISDIR') throw new FfnLensError(`is a folder, not a weight file${await folderHint(path)}`, path);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : typeof code === 'string' ? code : String(e);
    throw new FfnLensError(`cannot open the file (${why})`, path);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function folderHint(dir: string): Promise<string> {
  try {
    const names = (await fs.readdir(dir)).filter((n) => /\.(safetensors|gguf|npz|npy)$|safetensors\.index\.json$/i.test(n));
    return names.length ? `; open one of: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}` : '';
  } catch {
    return '';
  }
}

type Sniffed = WeightFormat | PickleKind;

/** The format the first bytes announce, if any. */
export function sniff(head: Uint8Array): Sniffed | undefined {
  if (startsWith(head, 'GGUF')) return 'gguf';
  if (head[0] === 0x93 && startsWith(head.subarray(1), 'NUMPY')) return 'npy';
  const pickle = looksLikePickle(head);
  if (pickle) return pickle;
  if (startsWith(head, 'PK\x03\x04') || startsWith(head, 'PK\x05\x06')) return 'npz';
  if (head.length >= 9 && head[8] === 0x7b /* { */ && head[6] === 0 && head[7] === 0) return 'safetensors';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] === 0x7b || head[i] === 0x5b) return 'json';
  return undefined;
}

function startsWith(bytes: Uint8Array, text: string): boolean {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}
