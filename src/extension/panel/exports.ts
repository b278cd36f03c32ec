/**
 * Saving what the panel shows, where the user picks in a save dialog: a neuron card or a block's
 * scan as JSON or CSV, a comparison as JSON, a chart as PNG. Nothing is written without the dialog.
 */
import * as vscode from 'vscode';
import { neuronCsv, scanCsv } from '../../model/csv';
import type { NeuronCard } from '../../model/neuron';
import type { ScanResult } from '../../model/scan';
import { compareDocument, type CompareResult, type WeightsCompareResult } from '../../protocol/compare';
import { log } from '../log';

async function saveAs(defaultName: string, filters: Record<string, string[]>, bytes: Uint8Array | string): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, defaultName) : undefined, filters });
  if (!target) return undefined;
  await vscode.workspace.fs.writeFile(target, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  log().info(`saved ${target.toString()}`);
  return target;
}

export function saveCard(card: NeuronCard, format: 'json' | 'csv'): Promise<vscode.Uri | undefined> {
  const name = `neuron-b${card.layer}-u${card.neuron}.${format}`;
  return format === 'json' ? saveAs(name, { JSON: ['json'] }, JSON.stringify(card, null, 1)) : saveAs(name, { CSV: ['csv'] }, neuronCsv(card));
}

export function saveScan(scan: ScanResult, format: 'json' | 'csv'): Promise<vscode.Uri | undefined> {
  const name = `scan-b${scan.layer}.${format}`;
  return format === 'json' ? saveAs(name, { JSON: ['json'] }, JSON.stringify(scan)) : saveAs(name, { CSV: ['csv'] }, scanCsv(scan));
}

/** The comparison as `ffn-lens compare --json` prints it. */
export function saveCompare(r: CompareResult): Promise<vscode.Uri | undefined> {
  return saveAs('compare.json', { JSON: ['json'] }, JSON.stringify(compareDocument(r)));
}

/** A comparison of the weights alone, as `ffn-lens compare --weights --json` prints it. */
export function saveWeightsCompare(r: WeightsCompareResult): Promise<vscode.Uri | undefined> {
  return saveAs('compare-weights.json', { JSON: ['json'] }, JSON.stringify(r));
}

export function saveChart(name: string, png: string): Promise<vscode.Uri | undefined> {
  return saveAs(`${name.replace(/\s+/g, '-')}.png`, { PNG: ['png'] }, Buffer.from(png.slice('data:image/png;base64,'.length), 'base64'));
}

