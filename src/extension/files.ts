/**
 * From what a command was given (a Uri, a path, nothing) to a path the compute worker can read.
 * Files on disk are used in place; an unsaved JSON editor and files on other file systems
 * (virtual workspaces, remote schemes) are copied to a private temp folder through
 * `vscode.workspace.fs`, up to a size cap, so the worker never needs anything but a path.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { FfnLensError } from '../core/errors';
import { isJsonDocument, WEIGHT_EXTENSIONS } from './constants';

let tempDir: string | undefined;

function privateTemp(): string {
  if (!tempDir) tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-'));
  return tempDir;
}

/** Removes the copies made for this session (called on deactivate). */
export function removeTempCopies(): void {
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

/** A Uri from a command argument: a Uri, a string path or file URI, or a `{uri}`/`{resourceUri}` object. */
export function uriFromArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  // A URI has a scheme of two or more characters (`file:`, `vscode-vfs:`, `memfs:/x` without an
  // authority); a Windows drive (`C:\`) has one letter, and a plain path has none.
  if (typeof arg === 'string' && arg) return /^[a-z][\w+.-]+:/i.test(arg) ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  if (typeof arg === 'object' && arg !== null) {
    const o = arg as { uri?: unknown; resourceUri?: unknown };
    return uriFromArg(o.resourceUri ?? o.uri);
  }
  return undefined;
}

/** True for the extensions FFN Lens reads. */
export function isWeightFileName(name: string): boolean {
  return (WEIGHT_EXTENSIONS as readonly string[]).includes(path.extname(name).toLowerCase());
}

/** The active editor's document when it is a weight file FFN Lens can read. */
export function activeWeightUri(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc) return undefined;
  if (isJsonDocument(doc) || isWeightFileName(doc.fileName)) return doc.uri;
  return undefined;
}

/** Asks for a weight file with an open dialog. */
export async function pickWeightFile(title = 'Explore an FFN layer'): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    openLabel: 'Open',
    filters: { 'Weight files': WEIGHT_EXTENSIONS.map((e) => e.slice(1)), 'All files': ['*'] },
  });
  return picked?.[0];
}

/**
 * A local path for `uri`: `file:` as is (an open, modified editor is saved to a temp copy first, so
 * the run sees what the user sees); other schemes are copied when at most `capBytes`.
 */
export async function localPath(uri: vscode.Uri, capBytes: number): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open && (open.isDirty || open.isUntitled)) {
    return writeCopy(uri, Buffer.from(open.getText(), 'utf8'));
  }
  if (uri.scheme === 'file') return uri.fsPath;
  let size: number;
  try {
    size = (await vscode.workspace.fs.stat(uri)).size;
  } catch (e) {
    throw new FfnLensError(`cannot read the file (${e instanceof Error ? e.message : String(e)})`, uri.toString());
  }
  if (size > capBytes) {
    throw new FfnLensError(
      `is on a ${uri.scheme}: file system and ${size} bytes is over the ${capBytes}-byte limit for copying it locally; ` +
        'open it from a local folder instead',
      uri.toString(),
      'budget',
    );
  }
  return writeCopy(uri, await vscode.workspace.fs.readFile(uri));
}

function writeCopy(uri: vscode.Uri, bytes: Uint8Array): string {
  const hash = crypto.createHash('sha1').update(uri.toString()).digest('hex').slice(0, 10);
  const base = path.basename(uri.path) || 'untitled';
  const name = isWeightFileName(base) ? base : `${base}.json`;
  const dir = path.join(privateTemp(), hash);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A short name for messages: the workspace-relative path when there is one. */
export function displayName(file: string): string {
  return vscode.workspace.asRelativePath(file, false);
}
