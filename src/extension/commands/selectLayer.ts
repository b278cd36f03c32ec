/**
 * FFN Lens: Select Layer. Argument (optional): a layer id or index. Without one, a quick pick of
 * the layers of the current file (or of the active weight file when nothing ran yet).
 */
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import type { LayerSpec } from '../../layers/types';
import { computeClient } from '../compute';
import { activeWeightUri, localPath } from '../files';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';
import { explore } from './explore';

async function layersOfActiveFile(deps: CommandDeps): Promise<{ uri: vscode.Uri; layers: LayerSpec[] } | undefined> {
  const uri = activeWeightUri();
  if (!uri) return undefined;
  const file = await localPath(uri, deps.settings.current.memoryBudgetMB * 1024 * 1024);
  const client = await computeClient(deps.context);
  const inspected = await client.inspect(file, { stats: false });
  return { uri, layers: inspected.layers };
}

export async function selectLayer(deps: CommandDeps, arg?: unknown): Promise<RunOutcome | undefined> {
  const { session } = deps;
  let layers = session.result?.layers;
  let fresh: vscode.Uri | undefined;
  if (!layers) {
    try {
      const found = await layersOfActiveFile(deps);
      if (!found) {
        void vscode.window.showInformationMessage('FFN Lens: open or explore a weight file first.');
        return undefined;
      }
      layers = found.layers;
      fresh = found.uri;
    } catch (e) {
      void vscode.window.showErrorMessage(`FFN Lens: ${describeError(e)}`);
      return { ok: false, cancelled: false, error: describeError(e) };
    }
  }
  let id: string | undefined;
  if (typeof arg === 'string' || typeof arg === 'number') {
    const s = String(arg);
    id = layers.find((l) => l.id === s)?.id ?? (/^\d+$/.test(s) ? layers[Number(s)]?.id : undefined);
    if (!id) {
      const message = `no layer "${s}" (layers: ${layers.map((l) => l.id).join(', ') || 'none'})`;
      void vscode.window.showErrorMessage(`FFN Lens: ${message}`);
      return { ok: false, cancelled: false, error: message };
    }
  } else {
    const current = session.result?.layer.id;
    const pick = await vscode.window.showQuickPick(
      layers.map((l) => ({
        label: l.id === current ? `$(check) ${l.id}` : l.id,
        description: `${l.dModel} → ${l.dFf} → ${l.dModel}, ${l.activation}`,
        detail: `${l.kind}, ${l.convention}`,
        id: l.id,
      })),
      { title: 'FFN Lens: layer to explore' },
    );
    id = pick?.id;
  }
  if (!id) return undefined;
  if (fresh || !session.request) return explore(deps, fresh, { layer: id });
  return session.run({ ...session.request, layer: id });
}
