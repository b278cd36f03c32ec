/**
 * `neuron` and `scan`: what a unit means, from the weights (its vocabulary projection) and from a
 * corpus (the text it fires hardest on). No `vscode` import.
 */
import { corpusFile, listCorpus } from '../model/corpus';
import { neuronCard, type VocabScore } from '../model/neuron';
import { openModel } from '../model/open';
import { scanCorpus } from '../model/scan';
import { WeightStore } from '../model/store';
import { promises as fs } from 'fs';
import { FfnLensError } from '../core/errors';
import { searchToken } from '../model/search';
import type { ScanResult } from '../model/scan';
import type { NeuronCommand, ScanCommand, SearchCommand } from './args';
import { neuronCsv, scanCsv } from '../model/csv';
import { createCliEngine } from './engine';
import type { CliIo } from './main';
import { fmt, renderTable } from './table';

/** What a scan keeps of a model's weights between windows (every block up to L on GPT-2 small). */
export const SCAN_KEEP_BYTES = 2048 * 1024 * 1024;

export async function neuronCommand(cmd: NeuronCommand, io: CliIo): Promise<void> {
  const model = await openModel(cmd.model);
  try {
    const card = await neuronCard(model, cmd.layer, cmd.neuron, cmd.top, cmd.raw);
    if (cmd.csv) {
      io.stdout(neuronCsv(card));
      return;
    }
    if (cmd.json) {
      // the contract: {layer, neuron, promotes, suppresses, respondsTo}, each entry {id, token, value}
      const entries = (rows: VocabScore[]) => rows.map((r) => ({ id: r.id, token: r.token, value: r.value }));
      io.stdout(JSON.stringify({ layer: card.layer, neuron: card.neuron, promotes: entries(card.promotes), suppresses: entries(card.suppresses), respondsTo: entries(card.respondsTo) }) + '\n');
      return;
    }
    const table = (title: string, rows: VocabScore[]): string =>
      `${title}\n` + renderTable([{ title: 'id', align: 'right' }, { title: 'token' }, { title: 'value', align: 'right' }], rows.map((r) => [String(r.id), JSON.stringify(r.text), fmt(r.value)])) + '\n';
    io.stdout(
      [
        `${model.path}: block ${card.layer}, unit ${card.neuron}${cmd.raw ? ' (raw: no final norm gain)' : ''}`,
        table('promotes (what it writes into the next-token logits):', card.promotes),
        table('suppresses:', card.suppresses),
        table('responds to (token embeddings that excite it alone):', card.respondsTo),
      ].join('\n'),
    );
  } finally {
    await model.close();
  }
}

export async function scanCommand(cmd: ScanCommand, io: CliIo): Promise<void> {
  const files = (await listCorpus(cmd.corpus)).map(corpusFile);
  const model = await openModel(cmd.model);
  const engine = createCliEngine('auto');
  const store = new WeightStore(SCAN_KEEP_BYTES, (m) => engine.release(m.prepared?.data ?? m.plain));
  try {
    await engine.ready();
    const result = await scanCorpus(model, files, { engine, layer: cmd.layer, ctx: cmd.ctx, top: cmd.top, neurons: cmd.neurons, threshold: cmd.threshold, rank: cmd.rank, store });
    if (cmd.csv) {
      io.stdout(scanCsv(result));
      return;
    }
    if (cmd.json) {
      io.stdout(JSON.stringify(result) + '\n');
      return;
    }
    const lines = [`${model.path}: block ${result.layer}, ${result.tokens} tokens in ${result.windows} windows of ${files.length} file(s); density = share of tokens with |hidden| > ${fmt(result.threshold)}`, ''];
    const shown = [...result.neurons].sort((a, b) => b.max - a.max).slice(0, cmd.neurons ? undefined : 20);
    for (const n of shown) {
      lines.push(`unit ${n.index}: max ${fmt(n.max)}, density ${(100 * n.density).toFixed(1)}%`);
      for (const e of n.examples.slice(0, 5)) {
        const ctx = e.context.slice(0, e.tokenSpan[0]) + '[[' + e.context.slice(e.tokenSpan[0], e.tokenSpan[1]) + ']]' + e.context.slice(e.tokenSpan[1]);
        lines.push(`  ${fmt(e.value)}  ${e.file}#${e.window}:${e.position}  ${JSON.stringify(ctx)}`);
      }
    }
    if (!cmd.neurons && result.neurons.length > shown.length) lines.push('', `(the 20 units of ${result.neurons.length} with the largest maximum; --json gives them all)`);
    io.stdout(lines.join('\n') + '\n');
  } finally {
    store.clear();
    await engine.dispose();
    await model.close();
  }
}

export async function searchCommand(cmd: SearchCommand, io: CliIo): Promise<void> {
  let scan: ScanResult | undefined;
  if (cmd.scan) {
    try {
      scan = JSON.parse(await fs.readFile(cmd.scan, 'utf8')) as ScanResult;
    } catch (e) {
      throw new FfnLensError(`cannot read a scan (the output of scan --json): ${(e as Error).message}`, cmd.scan);
    }
    if (!Array.isArray(scan?.neurons)) throw new FfnLensError('is not the output of scan --json (no neurons)', cmd.scan);
  }
  const model = await openModel(cmd.model);
  try {
    const layers = cmd.layer !== undefined ? [cmd.layer] : Array.from({ length: model.spec.layers }, (_, i) => i);
    const r = await searchToken(model, cmd.token, layers, cmd.top, scan);
    if (cmd.json) {
      io.stdout(JSON.stringify(r) + '\n');
      return;
    }
    const lines = [`${model.path}: units that promote ${JSON.stringify(model.tokenizer.display(r.id))} (id ${r.id}) most`];
    for (const l of r.layers) lines.push(`block ${l.layer}: ${l.promotes.map((p) => `${p.unit} (${fmt(p.value)})`).join(', ')}`);
    if (r.firesOn) lines.push('', `firing on it in the scan (block ${scan?.layer}): ${r.firesOn.map((f) => `${f.unit} (${f.count}x, max ${fmt(f.max)})`).join(', ') || 'none of the top examples'}`);
    io.stdout(lines.join('\n') + '\n');
  } finally {
    await model.close();
  }
}
