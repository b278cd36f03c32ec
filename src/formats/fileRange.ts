/**
 * Ranged reads over one open file. Every binary reader goes through here so that no reader ever
 * reads a whole weight file to list it, and every read is checked against the real file size
 * before anything is allocated. No `vscode` import.
 */
import { promises as fs } from 'fs';
import { constants as bufferConstants } from 'buffer';
import { FfnLensError } from '../core/errors';

/** Reads are issued in slices this big so a cancel lands within one slice. */
const SLICE = 16 * 1024 * 1024;

/** The largest single read the runtime can hold in one buffer. */
export const MAX_READ_BYTES = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32 - 1);

/**
 * Bytes read from weight files in this process: every RangeReader read plus the format sniffer's
 * probe (open.ts). `runLayer` and `inspectFile` close their sources before returning, so this is
 * how a caller measures what a whole job read (scripts/measureReads.ts, the ranged-read tests).
 */
export const readStats = { bytes: 0 };

export class RangeReader {
  /** Bytes returned by `read` so far (tests use it to prove a reader touched only what it needed). */
  bytesRead = 0;
  private handle: fs.FileHandle | undefined;

  private constructor(readonly path: string, handle: fs.FileHandle, readonly size: number) {
    this.handle = handle;
  }

  /** Opens `path` for reading; a missing file, a directory or a permission problem becomes an FfnLensError. */
  static async open(path: string): Promise<RangeReader> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (e) {
      throw new FfnLensError(`cannot open the file (${describeFsError(e)})`, path);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new FfnLensError('is not a regular file', path);
      return new RangeReader(path, handle, stat.size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      if (e instanceof FfnLensError) throw e;
      throw new FfnLensError(`cannot read the file (${describeFsError(e)})`, path);
    }
  }

  /**
   * Reads exactly `length` bytes at `offset` into a fresh buffer (its own ArrayBuffer, byteOffset 0,
   * so typed views over it are aligned), or into `into` (exactly `length` bytes) when given, so a
   * caller can read a tensor straight into its final array. `what` names the thing being read for
   * error messages.
   */
  async read(offset: number, length: number, signal?: AbortSignal, what = 'data', into?: Uint8Array): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FfnLensError(`${what}: invalid byte range (offset ${offset}, length ${length})`, this.path);
    }
    if (offset + length > this.size) {
      throw new FfnLensError(
        `${what}: bytes ${offset}..${offset + length} are past the end of the file (${this.size} bytes)`,
        this.path,
      );
    }
    if (length > MAX_READ_BYTES) {
      throw new FfnLensError(`${what}: ${length} bytes is more than one read can hold (${MAX_READ_BYTES})`, this.path, 'budget');
    }
    const handle = this.handle;
    if (!handle) throw new FfnLensError(`${what}: the file was already closed`, this.path);
    throwIfAborted(signal, this.path);
    if (into && into.length !== length) throw new RangeError(`${what}: the target holds ${into.length} bytes, the read ${length}`);
    const out = into ?? new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const want = Math.min(SLICE, length - done);
      let got: number;
      try {
        ({ bytesRead: got } = await handle.read(out, done, want, offset + done));
      } catch (e) {
        throw new FfnLensError(`${what}: read failed at byte ${offset + done} (${describeFsError(e)})`, this.path);
      }
      if (got === 0) {
        throw new FfnLensError(`${what}: the file ended at byte ${offset + done}; it shrank while being read`, this.path);
      }
      done += got;
      this.bytesRead += got;
      readStats.bytes += got;
      throwIfAborted(signal, this.path);
    }
    return out;
  }

  /** Releases the handle. Safe to call twice. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.close().catch(() => undefined);
  }
}

/**
 * Text taken from a file (a tensor or member name, a dtype, a parser's complaint) made safe to put
 * in a one-line message: control and line-separator characters are escaped and long text is cut.
 */
export function printable(text: string, max = 120): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Throws the `cancelled` FfnLensError when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw new FfnLensError('reading was cancelled', path, 'cancelled');
}

function describeFsError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  }
}
