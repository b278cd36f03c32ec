/**
 * FFN Lens: Inspect Weight File. Argument (optional): the file. Lists every tensor (dtype, shape,
 * role, statistics) and the layers found, as a Markdown document opened in its preview.
 * Returns `{uri, tensors, layers}` (or `{error}`) for tests.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import type { TensorStats } from '../../core/types';
import { tensorRoles } from '../../layers/roles';
import type { InspectResult } from '../../protocol/run';
import { computeClient } from '../compute';
import { activeWeightUri, localPath, pickWeightFile, uriFromArg } from '../files';
import { log } from '../log';
import type { CommandDeps } from './deps';

export type InspectOutcome = { uri: string; tensors: number; layers: string[]; markdown: string } | { error: string };

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString());

function stats(s: TensorStats | undefined, why: string | undefined): string {
  if (!s) return `| | | | | | ${why ?? ''} |`;
  const bad = s.nanCount + s.infCount > 0 ? ` ⚠ ${s.nanCount} NaN, ${s.infCount} Inf` : '';
  return `| ${fmt(s.mean)} | ${fmt(s.std)} | ${fmt(s.min)} | ${fmt(s.max)} | ${fmt(s.l2)} | ${(100 * s.zeroFraction).toFixed(1)}%${bad} |`;
}

/** The report as Markdown. */
export function inspectMarkdown(r: InspectResult, name: string): string {
  const roles = tensorRoles(r.layers);
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [
    `# ${esc(name)}`,
    '',
    `Format **${r.format}**, ${r.tensors.length} tensors, ${r.layers.length} FFN layer${r.layers.length === 1 ? '' : 's'}.`,
    '',
    '## Layers',
    '',
  ];
  if (r.layers.length) {
    lines.push('| id | kind | convention | d_model → d_ff | activation |', '|---|---|---|---|---|');
    for (const l of r.layers) lines.push(`| ${esc(l.id)} | ${l.kind} | ${esc(l.convention)} | ${l.dModel} → ${l.dFf} | ${l.activation} (${l.activationSource}) |`);
  } else {
    lines.push(`No FFN layer found${r.layersError ? `: ${esc(r.layersError)}` : '.'}`);
  }
  lines.push('', '## Tensors', '', '| name | dtype | shape | role | mean | std | min | max | L2 | zeros |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const t of r.tensors) {
    lines.push(`| ${esc(t.name)} | ${t.dtype} | [${t.shape.join(', ')}] | ${esc(roles.get(t.name) ?? '')} ${stats(t.stats, t.statsError)}`);
  }
  return lines.join('\n') + '\n';
}

export async function inspect(deps: CommandDeps, arg?: unknown): Promise<InspectOutcome | undefined> {
  const uri = uriFromArg(arg) ?? activeWeightUri() ?? (await pickWeightFile('Inspect a weight file'));
  if (!uri) return undefined;
  const name = path.basename(uri.path);
  try {
    const file = await localPath(uri, deps.settings.current.memoryBudgetMB * 1024 * 1024);
    const client = await computeClient(deps.context);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `FFN Lens: inspecting ${name}`, cancellable: true },
      (_p, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        return client.inspect(file, { stats: true, signal: ac.signal });
      },
    );
    const markdown = inspectMarkdown(result, vscode.workspace.asRelativePath(uri, false));
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Active });
    void vscode.commands.executeCommand('markdown.showPreview', doc.uri).then(undefined, () => undefined);
    log().info(`inspected ${file}: ${result.tensors.length} tensors, ${result.layers.length} layers`);
    return { uri: doc.uri.toString(), tensors: result.tensors.length, layers: result.layers.map((l) => l.id), markdown };
  } catch (e) {
    const message = describeError(e);
    log().error(`inspect ${uri.toString()} failed: ${message}`);
    void vscode.window.showErrorMessage(`FFN Lens: ${message}`, 'Show Log');
    return { error: message };
  }
}
