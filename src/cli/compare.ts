/**
 * `compare <modelA> <modelB> (--text S | --text-file F | --ids ... | --weights)`: what a
 * quantisation or a fine-tune did to each FFN (src/pipeline/compare.ts). No `vscode` import.
 */
import { compareOnText, compareWeights } from '../pipeline/compare';
import { compareDocument, type CompareResult, type WeightsCompareResult } from '../protocol/compare';
import type { CompareCommand } from './args';
import { createCliEngine } from './engine';
import type { CliIo } from './main';
import { modelInput } from './model';
import { fmt, pct, renderTable } from './table';

export async function compareCommand(cmd: CompareCommand, io: CliIo): Promise<void> {
  if (cmd.weights) {
    const r = await compareWeights({ modelA: cmd.modelA, modelB: cmd.modelB, layers: cmd.layers, top: cmd.top });
    io.stdout(cmd.json ? JSON.stringify(r) + '\n' : weightsText(r));
    return;
  }
  const input = await modelInput(cmd.input ?? { kind: 'ids', ids: [] });
  const engine = createCliEngine(cmd.engine);
  let r: CompareResult;
  try {
    await engine.ready();
    r = await compareOnText({ modelA: cmd.modelA, modelB: cmd.modelB, input, layers: cmd.layers, top: cmd.top, truncate: cmd.truncate, threshold: cmd.threshold }, engine);
  } finally {
    await engine.dispose();
  }
  for (const w of r.warnings) io.stderr(`warning: ${w}\n`);
  if (cmd.json) {
    io.stdout(JSON.stringify(compareDocument(r)) + '\n');
    return;
  }
  io.stdout(compareText(r));
}

function compareText(r: CompareResult): string {
  const lines = [`A: ${r.modelA}`, `B: ${r.modelB}`, `${r.tokenIds.length} tokens; error = ||B - A|| / ||A|| per token (mean / worst)`, ''];
  lines.push(
    renderTable(
      [
        { title: 'block', align: 'right' },
        { title: 'output error', align: 'right' },
        { title: 'hidden error', align: 'right' },
        { title: 'sparsity A', align: 'right' },
        { title: 'sparsity B', align: 'right' },
        { title: 'top overlap', align: 'right' },
        { title: 'most changed units (mean |h| B - A)' },
      ],
      r.layers.map((l) => [
        String(l.layer),
        `${fmt(l.outputError.mean)} / ${fmt(l.outputError.max)}`,
        `${fmt(l.hiddenError.mean)} / ${fmt(l.hiddenError.max)}`,
        pct(l.sparsityA),
        pct(l.sparsityB),
        fmt(l.topOverlap),
        l.changed.slice(0, 3).map((c) => `${c.index} (${c.delta >= 0 ? '+' : ''}${fmt(c.delta)})`).join(', '),
      ]),
    ),
    '',
    `next token after the last position (KL(A||B) averaged over positions: ${fmt(r.kl)} nats)`,
  );
  const rows = r.nextA.map((a, i) => {
    const b = r.nextB[i];
    return [JSON.stringify(r.tokens.length ? a.text : a.token), pct(a.prob), b ? JSON.stringify(b.text) : '', b ? pct(b.prob) : ''];
  });
  lines.push(renderTable([{ title: 'A' }, { title: 'p', align: 'right' }, { title: 'B' }, { title: 'p', align: 'right' }], rows));
  return lines.join('\n') + '\n';
}

function weightsText(r: WeightsCompareResult): string {
  const rows = r.layers.flatMap((l) =>
    l.tensors.map((t) => [String(l.layer), t.role, t.nameA === t.nameB ? t.nameA : `${t.nameA} / ${t.nameB}`, fmt(t.relativeError), t.changed.slice(0, 3).map((c) => `${c.index} (${fmt(c.relative)})`).join(', ')]),
  );
  return (
    `A: ${r.modelA}\nB: ${r.modelB}\nrelative error = ||B - A||_F / ||A||_F; units ranked by ||b_i - a_i|| / ||a_i||\n\n` +
    renderTable([{ title: 'block', align: 'right' }, { title: 'matrix' }, { title: 'tensor' }, { title: 'relative error', align: 'right' }, { title: 'most changed units' }], rows) +
    '\n'
  );
}
