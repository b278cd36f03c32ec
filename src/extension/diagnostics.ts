/**
 * Problems panel entries (source "FFN Lens") for weight JSON files: tensors that are not tensors
 * (ragged rows...), layers whose shapes do not fit, NaN/Inf in tensors, unknown activations and
 * inputs of the wrong width. Ranges point at the offending key or value. Recomputed on open and,
 * debounced, on edits.
 */
import * as vscode from 'vscode';
import { ACTIVATIONS } from '../core/types';
import { DIAGNOSTIC_SOURCE, isJsonDocument } from './constants';
import { WeightJson, WeightJsonCache } from './jsonWeights';

const DEBOUNCE_MS = 300;

/** The diagnostics of a model (pure apart from the vscode value types). */
export function diagnose(doc: vscode.TextDocument, model: WeightJson): vscode.Diagnostic[] {
  const out: vscode.Diagnostic[] = [];
  const range = (offset: number, length: number): vscode.Range => new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + length));
  const add = (r: vscode.Range, message: string, severity: vscode.DiagnosticSeverity, code: string): void => {
    const d = new vscode.Diagnostic(r, message, severity);
    d.source = DIAGNOSTIC_SOURCE;
    d.code = code;
    out.push(d);
  };
  const E = vscode.DiagnosticSeverity.Error;
  const W = vscode.DiagnosticSeverity.Warning;

  for (const t of model.tensors) {
    const key = range(t.keyOffset, t.keyLength);
    if (t.error) add(key, t.error, E, 'bad-tensor');
    if (t.nanCount + t.infCount > 0) {
      const where = t.firstNonFinite ? range(t.firstNonFinite.offset, t.firstNonFinite.length) : key;
      add(where, `tensor "${t.name}" holds ${t.nanCount} NaN and ${t.infCount} Inf value(s): outputs that use it will not be finite`, W, 'non-finite');
    }
  }
  for (const a of model.activations) {
    if (!a.known) add(range(a.valueOffset, a.valueLength), `unknown activation "${a.value}" (known: ${ACTIVATIONS.join(', ')}, and aliases such as gelu_new, swish)`, E, 'unknown-activation');
  }
  // a layer whose shapes do not fit: findLayers names the tensors; point at the first one named
  const layersError = model.layersError;
  if (layersError && model.tensors.length > 0 && !/^no (ffn )?layer/i.test(layersError)) {
    const mentioned = model.tensors
      .map((t) => ({ t, at: layersError.indexOf(t.name) }))
      .filter((m) => m.at >= 0)
      .sort((a, b) => a.at - b.at || b.t.name.length - a.t.name.length);
    const target = mentioned[0]?.t ?? model.tensors[0];
    add(range(target.keyOffset, target.keyLength), layersError, E, 'layer-shapes');
  }
  const first = model.layers[0];
  const inputs = model.inputs;
  if (inputs) {
    const key = range(inputs.keyOffset, inputs.keyLength);
    if (inputs.error) add(key, inputs.error, E, 'bad-inputs');
    else if (first && inputs.width !== undefined && !model.layers.some((l) => l.dModel === inputs.width)) {
      add(key, `"inputs" rows have ${inputs.width} values but layer ${first.id} has d_model ${first.dModel}`, E, 'inputs-width');
    }
  }
  if (model.tokens && inputs && !inputs.error && model.tokens.count !== inputs.count) {
    add(range(model.tokens.keyOffset, model.tokens.keyLength), `${model.tokens.count} tokens but ${inputs.count} input rows: labels will not match`, W, 'tokens-count');
  }
  return out;
}

export class WeightDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('ffnLens');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly cache: WeightJsonCache) {
    this.disposables.push(
      this.collection,
      vscode.workspace.onDidOpenTextDocument((d) => this.update(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.cache.forget(d.uri);
      }),
    );
    // the first pass runs after activation returns
    const first = setTimeout(() => vscode.workspace.textDocuments.forEach((d) => this.update(d)), 0);
    this.disposables.push({ dispose: () => clearTimeout(first) });
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isJsonDocument(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.update(doc);
    }, DEBOUNCE_MS));
  }

  /** Recomputes a document's problems now. */
  update(doc: vscode.TextDocument): void {
    if (!isJsonDocument(doc) || doc.isClosed) return;
    const model = this.cache.get(doc);
    if (model.tensors.length === 0) {
      this.collection.delete(doc.uri);
      return;
    }
    this.collection.set(doc.uri, diagnose(doc, model));
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
