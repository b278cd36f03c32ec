/**
 * FFN Lens: Export Trace. Argument (optional, the test seam for the save dialog): the target file.
 * Writes the last RunResult as JSON (typed arrays as nested arrays, [T][width]) to a temporary
 * file beside the target and renames it into place, so a failed export leaves nothing behind.
 * Never writes to the weight file. Returns `{ok, path}` or `{ok: false, error}`.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import type { RunResult } from '../../protocol/run';
import { uriFromArg } from '../files';
import { log } from '../log';
import type { CommandDeps } from './deps';

export type ExportOutcome = { ok: true; path: string; bytes: number } | { ok: false; error: string };

/** A float32 value as JSON: 9 significant digits round-trip float32; NaN/Inf as the strings readers accept. */
function num(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Number(v.toPrecision(9));
}

function flat(a: Float32Array): (number | string)[] {
  return Array.from(a, num);
}

function rows(a: Float32Array, width: number): (number | string)[][] {
  const out: (number | string)[][] = [];
  for (let i = 0; i < a.length; i += width) out.push(flat(a.subarray(i, i + width)));
  return out;
}

/** The trace as a plain JSON value. */
export function traceJson(r: RunResult): unknown {
  return {
    file: r.file,
    format: r.format,
    layer: r.layer,
    activation: r.activation,
    tokens: r.tokens,
    dModel: r.dModel,
    dFf: r.dFf,
    input: rows(r.input, r.dModel),
    preActivation: rows(r.preActivation, r.dFf),
    hidden: rows(r.hidden, r.dFf),
    output: rows(r.output, r.dModel),
    w2RowNorms: flat(r.w2RowNorms),
    analysis: {
      sparsity: r.analysis.sparsity,
      threshold: r.analysis.threshold,
      perToken: r.analysis.perToken,
      neurons: { firingRate: flat(r.analysis.neurons.firingRate), dead: r.analysis.neurons.dead },
    },
    layers: r.layers,
    warnings: r.warnings,
    timings: r.timings,
  };
}

function sameFile(a: vscode.Uri, b: string): boolean {
  const other = uriFromArg(b);
  return !!other && path.normalize(a.fsPath) === path.normalize(other.fsPath) && a.scheme === other.scheme;
}

export async function exportTrace(deps: CommandDeps, arg?: unknown): Promise<ExportOutcome | undefined> {
  const r = deps.session.result;
  const req = deps.session.request;
  if (!r || !req) {
    void vscode.window.showInformationMessage('FFN Lens: nothing to export yet. Explore a layer first.');
    return { ok: false, error: 'nothing to export' };
  }
  let target = uriFromArg(arg);
  if (!target) {
    const source = uriFromArg(req.file);
    const base = `${path.basename(source?.path ?? r.file).replace(/\.[^.]+$/, '')}.${r.layer.id}.trace.json`;
    target = await vscode.window.showSaveDialog({
      title: 'FFN Lens: export the trace',
      defaultUri: source ? vscode.Uri.joinPath(source, '..', base) : undefined,
      filters: { JSON: ['json'] },
    });
    if (!target) return undefined;
  }
  if (sameFile(target, req.file) || sameFile(target, r.file)) {
    const error = 'refusing to overwrite the weight file; choose another file for the trace';
    void vscode.window.showErrorMessage(`FFN Lens: ${error}.`);
    return { ok: false, error };
  }
  // rename(overwrite) would replace a folder: only ever replace a file
  const existing = await vscode.workspace.fs.stat(target).then((s) => s, () => undefined);
  if (existing && existing.type & vscode.FileType.Directory) {
    const error = `${vscode.workspace.asRelativePath(target, false)} is a folder; choose a file name for the trace`;
    void vscode.window.showErrorMessage(`FFN Lens: ${error}.`);
    return { ok: false, error };
  }
  const tmp = vscode.Uri.joinPath(target, '..', `.${path.basename(target.path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const bytes = Buffer.from(JSON.stringify(traceJson(r)) + '\n', 'utf8');
    await vscode.workspace.fs.writeFile(tmp, bytes);
    await vscode.workspace.fs.rename(tmp, target, { overwrite: true });
    log().info(`exported the trace of ${r.layer.id} to ${target.toString()} (${bytes.length} bytes)`);
    const shown = vscode.workspace.asRelativePath(target, false);
    void vscode.window.showInformationMessage(`FFN Lens: trace exported to ${shown}.`, 'Open').then((c) => {
      if (c === 'Open') void vscode.window.showTextDocument(target as vscode.Uri);
    });
    return { ok: true, path: target.scheme === 'file' ? target.fsPath : target.toString(), bytes: bytes.length };
  } catch (e) {
    await vscode.workspace.fs.delete(tmp).then(undefined, () => undefined);
    const error = describeError(e);
    log().error(`export to ${target.toString()} failed: ${error}`);
    void vscode.window.showErrorMessage(`FFN Lens: could not export the trace: ${error}. Choose a folder you can write to.`);
    return { ok: false, error };
  }
}
