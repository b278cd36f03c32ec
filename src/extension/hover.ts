/**
 * Hover over a tensor's key or anywhere in its value in a weight JSON: its role in the layer, its
 * shape and statistics as a Markdown table. Uses the per-version model cache.
 */
import * as vscode from 'vscode';
import { count, fmt } from './format';
import { describeRole, statsOf, tensorAt, WeightJsonCache, WeightTensor } from './jsonWeights';

/** The hover's Markdown for one tensor. */
export function tensorHoverMarkdown(t: WeightTensor): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**\`${t.name}\`**: ${describeRole(t)}\n\n`);
  if (t.role) {
    const l = t.role.layer;
    md.appendMarkdown(`Layer \`${l.id}\`: ${l.dModel} → ${l.dFf} → ${l.dModel}, ${l.activation} (${l.kind}, ${l.convention})\n\n`);
  }
  const s = statsOf(t);
  if (!s || !t.shape) {
    md.appendMarkdown(`Not a tensor FFN Lens can read: ${t.error ?? 'no data'}\n`);
    return md;
  }
  // two stats per row keeps the hover short enough to show without scrolling
  const row = (k1: string, v1: string, k2: string, v2: string): string => `| ${k1} | ${v1} | ${k2} | ${v2} |\n`;
  const bad = s.nanCount + s.infCount > 0 ? ' ⚠' : '';
  md.appendMarkdown(
    '| | | | |\n|---|---:|---|---:|\n' +
      row('shape', `[${t.shape.join(', ')}]`, 'count', count(s.count)) +
      row('mean', fmt(s.mean), 'std', fmt(s.std)) +
      row('min', fmt(s.min), 'max', fmt(s.max)) +
      row('L2 norm', fmt(s.l2), 'zeros', `${fmt(100 * s.zeroFraction)}%`) +
      row('NaN', `${s.nanCount}${bad}`, 'Inf', `${s.infCount}${bad}`),
  );
  return md;
}

export class WeightHoverProvider implements vscode.HoverProvider {
  constructor(private readonly cache: WeightJsonCache) {}

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const model = this.cache.get(doc);
    const t = tensorAt(model, doc.offsetAt(position));
    if (!t) return undefined;
    const inKey = doc.offsetAt(position) < t.keyOffset + t.keyLength;
    const range = inKey
      ? new vscode.Range(doc.positionAt(t.keyOffset), doc.positionAt(t.keyOffset + t.keyLength))
      : new vscode.Range(doc.positionAt(t.valueOffset), doc.positionAt(t.valueOffset + t.valueLength));
    return new vscode.Hover(tensorHoverMarkdown(t), range);
  }
}
