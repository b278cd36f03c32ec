/**
 * The texts of a scan's corpus: files given by path, and every text file under folders given,
 * in sorted path order. A folder's files are named relative to it; a file as it was given.
 * Hidden files and folders (a leading dot) and node_modules are skipped, and so are files whose
 * first 8 KiB hold a NUL byte (not text). No `vscode` import.
 */
import { promises as fs } from 'fs';
import * as nodePath from 'path';
import { FfnLensError } from '../core/errors';
import type { CorpusFile } from './scan';

/** A corpus file larger than this is refused by name (a scan reads each file whole). */
export const MAX_CORPUS_FILE_BYTES = 64 * 1024 * 1024;

async function isText(path: string): Promise<boolean> {
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return !buf.subarray(0, bytesRead).includes(0);
  } finally {
    await fh.close();
  }
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = nodePath.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}

/** The corpus' files (path to read, name to report), sorted by path. */
export async function listCorpus(entries: readonly string[]): Promise<{ path: string; name: string }[]> {
  if (entries.length === 0) throw new FfnLensError('no corpus given: --corpus DIR|FILE...', undefined, 'usage');
  const found: { path: string; name: string }[] = [];
  for (const entry of entries) {
    let st;
    try {
      st = await fs.stat(entry);
    } catch {
      throw new FfnLensError('no such file or folder', entry);
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      await walk(entry, files);
      for (const f of files) if (await isText(f)) found.push({ path: f, name: nodePath.relative(entry, f).split(nodePath.sep).join('/') });
    } else {
      found.push({ path: entry, name: entry });
    }
  }
  const key = (p: string): string => nodePath.resolve(p);
  return found.sort((a, b) => (key(a.path) < key(b.path) ? -1 : key(a.path) > key(b.path) ? 1 : 0));
}

/** A corpus file whose text is read (as UTF-8) when the scan reaches it. */
export function corpusFile(f: { path: string; name: string }): CorpusFile {
  return {
    name: f.name,
    text: async () => {
      const st = await fs.stat(f.path);
      if (st.size > MAX_CORPUS_FILE_BYTES) throw new FfnLensError(`is ${st.size} bytes; a corpus file is at most ${MAX_CORPUS_FILE_BYTES} (split it)`, f.path);
      return fs.readFile(f.path, 'utf8');
    },
  };
}
