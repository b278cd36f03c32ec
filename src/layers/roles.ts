/** Names of the tensors' roles in their layers, for tables and hovers. No `vscode` import. */
import type { LayerSpec } from './types';

/** `role · layer` for every tensor a layer uses, as the Inspect report and the viewer name them. */
export function tensorRoles(layers: readonly LayerSpec[]): Map<string, string> {
  const roles = new Map<string, string>();
  for (const l of layers) {
    const g = l.kind === 'gated';
    const t = l.tensors;
    roles.set(t.w1, `${g ? 'up' : 'W1'} · ${l.id}`);
    roles.set(t.w2, `${g ? 'down' : 'W2'} · ${l.id}`);
    if (t.b1) roles.set(t.b1, `${g ? 'up bias' : 'b1'} · ${l.id}`);
    if (t.b2) roles.set(t.b2, `${g ? 'down bias' : 'b2'} · ${l.id}`);
    if (t.gate) roles.set(t.gate, `gate · ${l.id}`);
    if (t.bGate) roles.set(t.bGate, `gate bias · ${l.id}`);
  }
  return roles;
}
