/** The human-readable output of `run` and `inspect` (without `--json`). */
import type { InspectResult, RunResult } from '../protocol/run';
import { fmt, pct, renderTable, truncatedList } from './table';

/** How many dead neuron indices the text output lists before cutting the list short. */
const MAX_LISTED = 20;

/** A header line, one row per token (sparsity, the four norms, top neurons), then neuron totals. */
export function runToText(r: RunResult): string {
  const gated = r.layer.kind === 'gated';
  const header =
    `file: ${r.file} (${r.format})  layer: ${r.layer.id}  activation: ${r.activation}  ` +
    `d_model ${r.dModel} -> d_ff ${r.dFf} -> d_model ${r.dModel}  T=${r.tokens.length}`;
  const rows = r.analysis.perToken.map((t) => [
    t.token,
    pct(t.sparsity),
    fmt(t.norms.input),
    fmt(t.norms.expanded),
    fmt(t.norms.filtered),
    fmt(t.norms.output),
    t.topNeurons.map((k) => `${k.index}:${fmt(k.value)}`).join(' '),
  ]);
  const table = renderTable(
    [
      { title: 'token' },
      { title: 'sparsity', align: 'right' },
      { title: '|x|', align: 'right' },
      { title: gated ? '|gate|' : '|expanded|', align: 'right' },
      { title: '|filtered|', align: 'right' },
      { title: '|output|', align: 'right' },
      { title: 'top neurons (index:value)' },
    ],
    rows,
  );
  const dead = r.analysis.neurons.dead;
  const threshold = r.analysis.threshold === 0 ? 'exact zero' : `|hidden| <= ${fmt(r.analysis.threshold)}`;
  const footer = [
    `dead neurons: ${dead.length} of ${r.dFf}${dead.length ? `: ${truncatedList(dead, MAX_LISTED)}` : ''}`,
    `overall sparsity: ${pct(r.analysis.sparsity)} (silenced = ${threshold})`,
  ];
  return [header, '', table, '', ...footer].join('\n') + '\n';
}

/** The tensor table (name, dtype, shape, statistics) and the layer table. */
export function inspectToText(r: InspectResult): string {
  const tensorRows = r.tensors.map((t) => {
    const s = t.stats;
    const base = [t.name, t.dtype, `[${t.shape.join(', ')}]`];
    if (!s) return [...base, t.statsError ? `(${t.statsError})` : ''];
    return [...base, fmt(s.mean), fmt(s.std), fmt(s.min), fmt(s.max), pct(s.zeroFraction), String(s.nanCount), String(s.infCount)];
  });
  // Unreadable entries stay in the listing, where the user looks for them.
  for (const p of r.problems) tensorRows.push([p.name, '?', '?', `(cannot read: ${p.message})`]);
  const tensors = renderTable(
    [
      { title: 'tensor' },
      { title: 'dtype' },
      { title: 'shape' },
      { title: 'mean', align: 'right' },
      { title: 'std', align: 'right' },
      { title: 'min', align: 'right' },
      { title: 'max', align: 'right' },
      { title: 'zeros', align: 'right' },
      { title: 'NaN', align: 'right' },
      { title: 'Inf', align: 'right' },
    ],
    tensorRows,
  );
  const unreadable = r.problems.length ? `, ${r.problems.length} unreadable` : '';
  const out = [`file: ${r.file} (${r.format}), ${r.tensors.length} tensor${r.tensors.length === 1 ? '' : 's'}${unreadable}`, '', tensors, ''];
  if (r.problems.length) out.push(`problems: ${r.problems.length}`, ...r.problems.map((p) => `  ${p.message}`), '');
  if (r.layers.length) {
    out.push(
      `FFN layers: ${r.layers.length}`,
      renderTable(
        [
          { title: '#', align: 'right' },
          { title: 'id' },
          { title: 'kind' },
          { title: 'convention' },
          { title: 'activation' },
          { title: 'd_model', align: 'right' },
          { title: 'd_ff', align: 'right' },
        ],
        r.layers.map((l) => [String(l.index), l.id, l.kind, l.convention, `${l.activation} (${l.activationSource})`, String(l.dModel), String(l.dFf)]),
      ),
    );
  } else {
    out.push(`FFN layers: none${r.layersError ? ` (${r.layersError})` : ''}`);
  }
  return out.join('\n') + '\n';
}
