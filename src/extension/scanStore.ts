/**
 * Workspace scans, kept in the extension's global storage (never in the user's folder), one JSON
 * file per model, block and corpus, written atomically (a temporary file renamed into place, so a
 * cancelled or failed scan leaves nothing behind). The latest scan of a model's block is what the
 * neuron card shows.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import type * as vscode from 'vscode';
import type { ScanResult } from '../model/scan';

/** One stored scan. */
export interface StoredScan {
  model: string;
  layer: number;
  /** The glob the files were picked by. */
  corpus: string;
  /** The workspace folder file names are relative to. */
  folder: string;
  files: { path: string; name: string }[];
  createdAt: number;
  result: ScanResult;
}

const hash = (...parts: (string | number)[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);

export class ScanStore {
  private readonly latest = new Map<string, StoredScan>();

  constructor(private readonly dir: string) {}

  /** The file a scan of (model, layer, corpus, folder) is kept in; its name starts with the block's key. */
  private file(s: Pick<StoredScan, 'model' | 'layer' | 'corpus' | 'folder'>): string {
    return path.join(this.dir, `${hash(s.model, s.layer)}-${hash(s.corpus, s.folder)}.json`);
  }

  /** Keeps a finished scan (replacing an older scan of the same corpus). */
  async save(s: StoredScan): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const target = this.file(s);
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.writeFile(tmp, JSON.stringify(s));
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    this.latest.set(hash(s.model, s.layer), s);
    return target;
  }

  /** The newest scan of `model`'s block `layer`, if any. */
  async load(model: string, layer: number): Promise<StoredScan | undefined> {
    const key = hash(model, layer);
    const cached = this.latest.get(key);
    if (cached) return cached;
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.startsWith(`${key}-`) && n.endsWith('.json'));
    } catch {
      return undefined;
    }
    let best: { at: number; name: string } | undefined;
    for (const n of names) {
      const at = (await fs.stat(path.join(this.dir, n))).mtimeMs;
      if (!best || at > best.at) best = { at, name: n };
    }
    if (!best) return undefined;
    try {
      const s = JSON.parse(await fs.readFile(path.join(this.dir, best.name), 'utf8')) as StoredScan;
      this.latest.set(key, s);
      return s;
    } catch {
      return undefined; // unreadable: as if there were none
    }
  }

  /** How many scan files the store holds (tests). */
  async count(): Promise<number> {
    try {
      return (await fs.readdir(this.dir)).filter((n) => n.endsWith('.json')).length;
    } catch {
      return 0;
    }
  }
}

let store: ScanStore | undefined;

/** The extension's scan store, under its global storage. */
export function scanStore(context: vscode.ExtensionContext): ScanStore {
  store ??= new ScanStore(path.join(context.globalStorageUri.fsPath, 'scans'));
  return store;
}
