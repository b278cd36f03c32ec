/** A CodeLens above each FFN layer found in a weight JSON: "Explore h.0.mlp: 768 → 3072 → 768, gelu_tanh". */
import * as vscode from 'vscode';
import { Commands } from './constants';
import { WeightJsonCache } from './jsonWeights';

export class LayerCodeLensProvider implements vscode.CodeLensProvider {
  constructor(private readonly cache: WeightJsonCache) {}

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const model = this.cache.get(doc);
    const lenses: vscode.CodeLens[] = [];
    for (const layer of model.layers) {
      const names = new Set(Object.values(layer.tensors).filter((n): n is string => !!n));
      const first = model.tensors.filter((t) => names.has(t.name)).sort((a, b) => a.keyOffset - b.keyOffset)[0];
      if (!first) continue;
      const line = doc.positionAt(first.keyOffset).line;
      lenses.push(
        new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
          title: `$(pulse) Explore ${layer.id}: ${layer.dModel} → ${layer.dFf} → ${layer.dModel}, ${layer.activation}`,
          tooltip: `Run layer ${layer.id} (${layer.kind}, ${layer.convention}) and show its charts`,
          command: Commands.explore,
          arguments: [doc.uri, { layer: layer.id }],
        }),
      );
    }
    return lenses;
  }
}
