/**
 * CSV exports of a neuron card and of a scan (RFC 4180: a field with a comma, quote or line
 * break is quoted, quotes doubled). No `vscode` import.
 */
import type { NeuronCard } from './neuron';
import type { ScanResult } from './scan';

function field(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const line = (cells: (string | number)[]): string => cells.map(field).join(',') + '\r\n';

/** `list,rank,id,token,value`: promotes, suppresses and respondsTo, one row per token. */
export function neuronCsv(card: NeuronCard): string {
  let out = line(['layer', 'neuron', 'list', 'rank', 'id', 'token', 'value']);
  for (const [list, rows] of [['promotes', card.promotes], ['suppresses', card.suppresses], ['respondsTo', card.respondsTo]] as const) {
    rows.forEach((r, i) => (out += line([card.layer, card.neuron, list, i + 1, r.id, r.token, r.value])));
  }
  return out;
}

/** One row per example: the unit's density and max, then the example's value, place, token and context. */
export function scanCsv(r: ScanResult): string {
  let out = line(['layer', 'unit', 'density', 'max', 'rank', 'value', 'file', 'window', 'position', 'token', 'context']);
  for (const n of r.neurons) {
    n.examples.forEach((e, i) => (out += line([r.layer, n.index, n.density, n.max, i + 1, e.value, e.file, e.window, e.position, e.token, e.context])));
  }
  return out;
}
