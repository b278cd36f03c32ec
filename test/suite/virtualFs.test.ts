// Weight files on a virtual file system (no local path): FFN Lens reads them through
// vscode.workspace.fs, copying at most the memory budget, and refuses a bigger one with the numbers.
// The file system is a small in-memory provider registered by this test for its own scheme.
import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { RunOutcome } from '../../src/extension/session';
import { activate, closeAll, samples } from './helpers';

const SCHEME = 'ffnlens-test-mem';
/** What the provider claims for `huge.json`: 3 GiB, over the default 2048 MB budget (never read). */
const HUGE_BYTES = 3 * 1024 ** 3;

class MemFs implements vscode.FileSystemProvider {
  readonly reads: string[] = [];
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  constructor(private readonly files: Map<string, Uint8Array>) {}
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    if (uri.path === '/huge.json') return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: HUGE_BYTES };
    const data = this.files.get(uri.path);
    if (!data) throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: data.byteLength };
  }
  readDirectory(): [string, vscode.FileType][] {
    return [...this.files.keys()].map((p) => [p.slice(1), vscode.FileType.File]);
  }
  readFile(uri: vscode.Uri): Uint8Array {
    this.reads.push(uri.path);
    const data = this.files.get(uri.path);
    if (!data) throw vscode.FileSystemError.FileNotFound(uri);
    return data;
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
  writeFile(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions('read-only');
  }
}

describe('FFN Lens on a virtual file system', function () {
  this.timeout(90_000);
  let memfs: MemFs;
  let registration: vscode.Disposable;

  before(async () => {
    await activate();
    await closeAll();
    memfs = new MemFs(new Map([['/tiny-relu.json', fs.readFileSync(samples('tiny-relu.json'))]]));
    registration = vscode.workspace.registerFileSystemProvider(SCHEME, memfs, { isReadonly: true });
  });
  after(async () => {
    registration.dispose();
    await closeAll();
  });

  it('runs a layer of a file that has no local path (read through workspace.fs)', async () => {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: '/tiny-relu.json' });
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.explore', uri, { confirmLargeFile: true });
    // tiny-relu.json by hand: "the" keeps units 0 and 1, "cat" keeps unit 1 only: 3 of 6 silenced
    assert.deepStrictEqual(out, { ok: true, layer: 'main', activation: 'relu', tokens: 2, sparsity: 0.5 });
    assert.ok(memfs.reads.includes('/tiny-relu.json'), 'the file was not read through the provider');
  });

  it('refuses a virtual file over the memory budget before reading it, with the numbers', async () => {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: '/huge.json' });
    const readsBefore = memfs.reads.length;
    const out = await vscode.commands.executeCommand<RunOutcome>('ffnLens.explore', uri, { confirmLargeFile: true });
    assert.ok(out && !out.ok, 'the run should have been refused');
    assert.match(out.error, new RegExp(`${SCHEME}: file system and ${HUGE_BYTES} bytes is over the \\d+-byte limit`));
    assert.strictEqual(memfs.reads.length, readsBefore, 'the huge file was read');
  });
});
