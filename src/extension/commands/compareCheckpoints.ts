/**
 * FFN Lens: Compare Checkpoints (issue 14). Two checkpoints of one model (Hugging Face folders,
 * .safetensors inside them, .gguf files) run the same text in the compute worker, with a
 * cancellable progress notification; the panel then shows every block's FFN error, overlap and
 * sparsity, both next-token predictions and their KL, and a clicked block's heatmaps. Arguments
 * (optional): the explorer's `(uri, uris[])` with two items selected, then `{text, layers, top,
 * signal}`. Without two: an open dialog for each missing one; without `text`, an input box. A pair
 * that cannot be compared (another vocabulary, another shape) gets the pipeline's one-line message.
 * FFN Lens: Compare Checkpoint Weights does the same for the FFN matrices alone, nothing run.
 */
import * as vscode from 'vscode';
import { describeError, isFfnLensError } from '../../core/errors';
import { mostChangedMatrix } from '../../protocol/compare';
import type { Progress } from '../../protocol/run';
import { MAX_PROMPT_CHARS } from '../../protocol/webview';
import { computeClient } from '../compute';
import { localPath, uriFromArg } from '../files';
import { log } from '../log';
import { FfnPanel } from '../panel/FfnPanel';
import type { CommandDeps } from './deps';
import { samplePrompt } from './exploreModel';

/** Units per token in the top-K overlap and units listed as changed (the CLI's `--top` default). */
export const COMPARE_TOP = 10;

export interface CompareCommandOptions {
  /** The text both models run (skips the input box). */
  text?: string;
  /** Blocks to compare (default: all). */
  layers?: number[];
  top?: number;
  /** A caller's cancel (the tests'), as the notification's Cancel button. */
  signal?: AbortSignal;
}

/** What a comparison came to; the command returns it so tests can check without notifications. */
export type CompareOutcome =
  | { ok: true; blocks: number; tokens: number; kl: number }
  | { ok: false; cancelled: boolean; error: string };
/** What a comparison of the weights came to: blocks, matrices, the largest relative difference. */
export type WeightsOutcome =
  | { ok: true; weights: true; blocks: number; tensors: number; worst: number }
  | { ok: false; cancelled: boolean; error: string };

const MB = 1024 * 1024;

/** The comparison in flight: a new one replaces it. */
let inflight: AbortController | undefined;

function options(arg: unknown): CompareCommandOptions {
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg) && !(arg instanceof vscode.Uri) ? (arg as CompareCommandOptions) : {};
}

/** A model's folder for the files that stand for it (config.json, tokenizer.json). */
function modelUri(uri: vscode.Uri): vscode.Uri {
  return /(^|\/)(config|tokenizer|tokenizer_config)\.json$/i.test(uri.path) ? vscode.Uri.joinPath(uri, '..') : uri;
}

const baseName = (uri: vscode.Uri): string => uri.path.split('/').filter(Boolean).pop() ?? uri.toString();

async function pickCheckpoint(title: string): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title,
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Compare',
    filters: { 'Model weights': ['gguf', 'safetensors'], 'All files': ['*'] },
  });
  return picked?.[0];
}

/**
 * The two checkpoints: the explorer's two selected items, else the one given and a second from a
 * dialog, else two dialogs. A selection of more than two is refused (a message, no dialog).
 */
async function choosePair(first: unknown, all: unknown): Promise<[vscode.Uri, vscode.Uri] | string | undefined> {
  const selected = (Array.isArray(all) ? all : []).map(uriFromArg).filter((u): u is vscode.Uri => u !== undefined);
  if (selected.length > 2) return `select two checkpoints to compare, not ${selected.length}`;
  if (selected.length === 2) return [modelUri(selected[0]), modelUri(selected[1])];
  const given = uriFromArg(first) ?? selected[0];
  const a = given ?? (await pickCheckpoint('Compare checkpoints: the first (A, the reference)'));
  if (!a) return undefined;
  const b = await pickCheckpoint(`Compare ${baseName(modelUri(a))} with… (B)`);
  return b ? [modelUri(a), modelUri(b)] : undefined;
}

/** The display name of a model: its path in the workspace, else its file or folder name. */
function displayName(uri: vscode.Uri): string {
  const relative = vscode.workspace.asRelativePath(uri, false);
  return relative === uri.fsPath || relative === uri.toString() ? baseName(uri) : relative;
}

/** The command's options and pair; a refused selection has been reported (and is returned as its outcome). */
async function commandPair(first: unknown, all: unknown, optionsArg: unknown): Promise<{ o: CompareCommandOptions; pair: [vscode.Uri, vscode.Uri] } | { ok: false; cancelled: false; error: string } | undefined> {
  // from the palette or a keybinding the options may come first
  const o = options(optionsArg ?? (Array.isArray(all) ? undefined : all));
  const pair = await choosePair(first, all);
  if (typeof pair === 'string') {
    void vscode.window.showErrorMessage(`FFN Lens: ${pair}.`);
    return { ok: false, cancelled: false, error: pair };
  }
  return pair ? { o, pair } : undefined;
}

export async function compareCheckpoints(deps: CommandDeps, first?: unknown, all?: unknown, optionsArg?: unknown): Promise<CompareOutcome | undefined> {
  const chosen = await commandPair(first, all, optionsArg);
  if (!chosen || !('pair' in chosen)) return chosen;
  const { o, pair } = chosen;
  const text =
    o.text ??
    (await vscode.window.showInputBox({
      title: `FFN Lens: compare ${baseName(pair[0])} with ${baseName(pair[1])}`,
      prompt: 'The text both checkpoints run (through the tokenizer of A)',
      value: await samplePrompt(pair[0].fsPath, pair[1].fsPath),
      validateInput: (v) => (v.length === 0 ? 'Type some text' : undefined),
    }));
  if (!text) return undefined;
  return runComparison(deps, pair, text.slice(0, MAX_PROMPT_CHARS), o);
}

/** What every comparison needs of the worker: the pair's local paths, a client, the progress and the cancel. */
interface Job {
  modelA: string;
  modelB: string;
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
}

/**
 * Runs `work` on `pair` in the worker under a cancellable progress notification (a new comparison
 * cancels the one in flight), then `show`s its result; errors become one notification and a
 * `{ok: false}` outcome.
 */
async function inWorker<T, O>(
  deps: CommandDeps,
  pair: [vscode.Uri, vscode.Uri],
  o: CompareCommandOptions,
  verb: string,
  work: (client: Awaited<ReturnType<typeof computeClient>>, job: Job) => Promise<T>,
  show: (result: T, names: { nameA: string; nameB: string }) => O,
): Promise<O | { ok: false; cancelled: boolean; error: string }> {
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  if (o.signal instanceof AbortSignal) {
    if (o.signal.aborted) controller.abort();
    else o.signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  const [nameA, nameB] = pair.map(displayName);
  const what = `${nameA} with ${nameB}`;
  const s = deps.settings.current;
  FfnPanel.instance?.setCompareBusy(`${verb} ${what}…`);
  try {
    // folders must be on disk; a single file elsewhere is copied (up to the memory budget)
    const [modelA, modelB] = await Promise.all(pair.map((u) => (u.scheme === 'file' ? u.fsPath : localPath(u, s.memoryBudgetMB * MB))));
    const client = await computeClient(deps.context);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `FFN Lens: ${verb.toLowerCase()} ${what}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let reported = 0;
        const onProgress = (p: Progress): void => {
          const fraction = Math.max(reported, Math.min(1, p.fraction));
          progress.report({ message: p.message, increment: 100 * (fraction - reported) });
          reported = fraction;
        };
        return work(client, { modelA, modelB, signal: controller.signal, onProgress });
      },
    );
    if (controller.signal.aborted) return { ok: false, cancelled: true, error: 'cancelled' };
    return show(result, { nameA, nameB });
  } catch (e) {
    if (controller.signal.aborted || (isFfnLensError(e) && e.kind === 'cancelled')) {
      log().info(`comparison of ${what} cancelled`);
      return { ok: false, cancelled: true, error: 'cancelled' };
    }
    const message = describeError(e);
    log().error(`comparison of ${what} failed: ${message}`);
    void vscode.window.showErrorMessage(`FFN Lens: ${message}`);
    return { ok: false, cancelled: false, error: message };
  } finally {
    if (inflight === controller) {
      inflight = undefined;
      FfnPanel.instance?.setCompareBusy(null);
    }
  }
}

/** Compares `pair` on `text` in the worker and shows the result in the panel. */
function runComparison(deps: CommandDeps, pair: [vscode.Uri, vscode.Uri], text: string, o: CompareCommandOptions): Promise<CompareOutcome> {
  const top = o.top ?? COMPARE_TOP;
  const s = deps.settings.current;
  return inWorker(
    deps,
    pair,
    o,
    'Comparing',
    (client, job) =>
      client.compare(
        {
          modelA: job.modelA,
          modelB: job.modelB,
          input: { kind: 'text', text },
          layers: o.layers,
          top,
          truncate: true,
          threshold: s.sparsityThreshold,
          keepHidden: true,
          hiddenBudgetBytes: s.memoryBudgetMB * MB,
        },
        { signal: job.signal, onProgress: job.onProgress },
      ),
    (result, names) => {
      FfnPanel.createOrShow(deps.context.extensionUri, deps.session).showComparison(result, { ...names, text, top, layers: o.layers });
      const worst = result.layers.reduce((m, l) => Math.max(m, l.outputError.mean), 0);
      log().info(`compared ${result.modelA} with ${result.modelB} on ${result.tokenIds.length} tokens: ${result.layers.length} blocks, worst mean FFN output error ${worst.toPrecision(3)}, KL ${result.kl.toPrecision(3)} nats`);
      for (const w of result.warnings) log().warn(w);
      return { ok: true as const, blocks: result.layers.length, tokens: result.tokenIds.length, kl: result.kl };
    },
  );
}

/**
 * FFN Lens: Compare Checkpoint Weights: the same pair (explorer selection or dialogs), nothing run:
 * each FFN matrix of B against A's, read a matrix of each at a time (`ffn-lens compare --weights`).
 * Options: `{layers, top, signal}`.
 */
export async function compareWeights(deps: CommandDeps, first?: unknown, all?: unknown, optionsArg?: unknown): Promise<WeightsOutcome | undefined> {
  const chosen = await commandPair(first, all, optionsArg);
  if (!chosen || !('pair' in chosen)) return chosen;
  const { o, pair } = chosen;
  const top = o.top ?? COMPARE_TOP;
  return inWorker(
    deps,
    pair,
    o,
    'Comparing the weights of',
    (client, job) => client.compareWeights({ modelA: job.modelA, modelB: job.modelB, layers: o.layers, top }, { signal: job.signal, onProgress: job.onProgress }),
    (result, names) => {
      FfnPanel.createOrShow(deps.context.extensionUri, deps.session).showWeightsComparison(result, { ...names, top, layers: o.layers });
      const tensors = result.layers.flatMap((l) => l.tensors);
      const worst = mostChangedMatrix(result.layers)?.tensor.relativeError ?? 0;
      log().info(`compared the weights of ${result.modelA} with ${result.modelB}: ${result.layers.length} blocks, ${tensors.length} matrices, largest relative difference ${worst.toPrecision(3)}`);
      return { ok: true as const, weights: true as const, blocks: result.layers.length, tensors: tensors.length, worst };
    },
  );
}
