/**
 * FFN Lens: Change Activation. Argument (optional): an activation name, or `auto` for the
 * layer's own. Without one, a quick pick of the activations that fit the layer (plain or gated),
 * the layer's default marked.
 */
import * as vscode from 'vscode';
import { isGated, parseActivation } from '../../core/activations';
import { ACTIVATIONS, ActivationName } from '../../core/types';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';

const DESCRIPTIONS: Record<ActivationName, string> = {
  relu: 'max(0, x)',
  gelu: 'x·Φ(x), exact (erf)',
  gelu_tanh: 'tanh approximation (GPT-2 gelu_new)',
  silu: 'x·sigmoid(x), swish',
  swiglu: 'silu(gate) ⊙ up (LLaMA, Mistral, Qwen)',
  geglu: 'gelu(gate) ⊙ up, exact erf',
  geglu_tanh: 'gelu_tanh(gate) ⊙ up (Gemma)',
  reglu: 'relu(gate) ⊙ up',
};

export async function changeActivation(deps: CommandDeps, arg?: unknown): Promise<RunOutcome | undefined> {
  const { session } = deps;
  const r = session.result;
  const request = session.request;
  if (!r || !request) {
    void vscode.window.showInformationMessage('FFN Lens: explore a layer first (right-click a weight file, "Explore FFN Layer").');
    return undefined;
  }
  let choice: ActivationName | 'auto' | undefined;
  if (typeof arg === 'string') {
    choice = arg === 'auto' ? 'auto' : parseActivation(arg);
    if (!choice) {
      const message = `unknown activation "${arg}" (known: ${ACTIVATIONS.join(', ')})`;
      void vscode.window.showErrorMessage(`FFN Lens: ${message}`);
      return { ok: false, cancelled: false, error: message };
    }
  } else {
    const gated = r.layer.kind === 'gated';
    const own = session.defaultActivation(r);
    const items: (vscode.QuickPickItem & { value: ActivationName | 'auto' })[] = [
      { label: 'auto', description: `the layer's own: ${own}`, value: 'auto' },
      ...ACTIVATIONS.filter((a) => isGated(a) === gated).map((a) => ({
        label: a === r.activation ? `$(check) ${a}` : a,
        description: `${DESCRIPTIONS[a]}${a === own ? ' · file default' : ''}`,
        value: a,
      })),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: `FFN Lens: activation for ${r.layer.id}`, placeHolder: `now ${r.activation}` });
    choice = pick?.value;
  }
  if (!choice) return undefined;
  const next = { ...request };
  if (choice === 'auto') delete next.activation;
  else next.activation = choice;
  return session.run(next);
}
