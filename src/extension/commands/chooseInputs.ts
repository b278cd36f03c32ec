/**
 * FFN Lens: Choose Inputs. Argument (optional, the test seam for the dialogs):
 * `{kind: 'file'}`, `{kind: 'random', tokens?, seed?}` or `{kind: 'inputsFile', path?}`.
 * Missing parts are asked for (quick pick, input boxes, an open dialog). Re-runs the current
 * layer with the new inputs, or explores the active file when nothing ran yet.
 */
import * as vscode from 'vscode';
import type { InputSpec } from '../../protocol/run';
import { MAX_RANDOM_TOKENS } from '../../protocol/webview';
import { activeWeightUri, pickWeightFile } from '../files';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';
import { explore, requestFile } from './explore';

type Choice =
  | { kind: 'file' }
  | { kind: 'random'; tokens?: number; seed?: number }
  | { kind: 'inputsFile'; path?: string };

function partialFromArg(arg: unknown): Choice | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as { kind?: unknown; tokens?: unknown; seed?: unknown; path?: unknown };
  if (a.kind === 'file') return { kind: 'file' };
  if (a.kind === 'random') {
    return { kind: 'random', tokens: typeof a.tokens === 'number' ? a.tokens : undefined, seed: typeof a.seed === 'number' ? a.seed : undefined };
  }
  if (a.kind === 'inputsFile') return { kind: 'inputsFile', path: typeof a.path === 'string' ? a.path : undefined };
  return undefined;
}

async function askKind(): Promise<Choice | undefined> {
  const items: (vscode.QuickPickItem & { kind2: Choice['kind'] })[] = [
    { label: '$(file) From the weight file', description: 'its "inputs" and "tokens" (random when it has none)', kind2: 'file' },
    { label: '$(symbol-numeric) Random tokens…', description: 'T seeded N(0,1) vectors', kind2: 'random' },
    { label: '$(folder-opened) Inputs file…', description: 'JSON {tokens?, inputs} or a .npy T x d_model array', kind2: 'inputsFile' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'FFN Lens: inputs for the layer' });
  return pick && ({ kind: pick.kind2 } as Choice);
}

async function askInt(prompt: string, value: number, min: number, max: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'FFN Lens: random inputs',
    prompt,
    value: String(value),
    validateInput: (s) => (/^\d+$/.test(s.trim()) && +s >= min && +s <= max ? undefined : `a whole number from ${min} to ${max}`),
  });
  return text === undefined ? undefined : Number(text.trim());
}

/** Completes a partial choice with prompts; undefined when the user backs out. */
async function complete(p: Choice, deps: CommandDeps): Promise<InputSpec | undefined> {
  switch (p.kind) {
    case 'file':
      return p;
    case 'random': {
      const s = deps.settings.current.random;
      const current = deps.session.request?.inputs;
      const tokens = p.tokens ?? (await askInt('Number of tokens T', current?.kind === 'random' ? current.tokens : s.tokens, 1, MAX_RANDOM_TOKENS));
      if (tokens === undefined) return undefined;
      const seed = p.seed ?? (await askInt('Seed', current?.kind === 'random' ? current.seed : s.seed, 0, 0xffffffff));
      if (seed === undefined) return undefined;
      if (!Number.isInteger(tokens) || tokens < 1 || tokens > MAX_RANDOM_TOKENS || !Number.isInteger(seed) || seed < 0) return undefined;
      return { kind: 'random', tokens, seed };
    }
    case 'inputsFile': {
      if (p.path) return { kind: 'inputsFile', path: p.path };
      const picked = await vscode.window.showOpenDialog({
        title: 'FFN Lens: inputs file (T x d_model)',
        canSelectMany: false,
        filters: { Inputs: ['json', 'npy'], 'All files': ['*'] },
      });
      const uri = picked?.[0];
      return uri && { kind: 'inputsFile', path: requestFile(uri) };
    }
  }
}

export async function chooseInputs(deps: CommandDeps, arg?: unknown): Promise<RunOutcome | undefined> {
  const partial = partialFromArg(arg) ?? (await askKind());
  if (!partial) return undefined;
  const inputs = await complete(partial, deps);
  if (!inputs) return undefined;
  const current = deps.session.request;
  if (current) return deps.session.run({ ...current, inputs });
  const uri = activeWeightUri() ?? (await pickWeightFile());
  return uri ? explore(deps, uri, { inputs }) : undefined;
}
