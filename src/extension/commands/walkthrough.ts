/**
 * The first-run walkthrough's steps (package.json `contributes.walkthroughs`, media in
 * media/walkthrough/): each step's button runs one of these commands. They use the sample model
 * and text inside the extension (so any workspace will do), open the panel beside the
 * walkthrough, and first do what the steps before them would have, so any step can be tried alone.
 *   1. openSample: the sample model in the panel, on its first sentence;
 *   2. trySentence(text?): a sentence of one's own (an input box without `text`);
 *   3. nextBlock: the next block's FFN (the slider's next notch, wrapping around);
 *   4. openNeuron: the unit that writes most into the output at the last token (the one the next
 *      token is predicted from), selected in the panel with its card, after a scan of the bundled
 *      text through the shown block (kept in global storage; reused until the model's files change);
 *   5. ablateNeuron: the unit whose card is shown zeroed in the prediction, or restored, with the
 *      next-token box scrolled into view.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ModelRunResult } from '../../protocol/model';
import { MAX_PROMPT_CHARS, type ModelPanelRequest, type PanelRequest } from '../../protocol/webview';
import { WALKTHROUGH_SAMPLE, WALKTHROUGH_TEXT, walkthroughRef } from '../constants';
import { FfnPanel } from '../panel/FfnPanel';
import { isModelRun } from '../panel/modelPayload';
import { scanStore } from '../scanStore';
import type { RunOutcome } from '../session';
import type { CommandDeps } from './deps';
import { requestFile } from './explore';
import { exploreModel, runInPanel, samplePrompt } from './exploreModel';
import { scanFiles, type ScanOutcome } from './scanWorkspace';

/**
 * What "Try a sentence" offers to run. The sample learned from Moby-Dick and State of the Union
 * addresses; at block 1 this sentence's last token ( 19) has unit 5 on top, which fires hardest
 * before amounts and years (" $", " 19" in the bundled addresses) and promotes the digits 0-9.
 */
export const TRY_SENTENCE = 'The war ended in 19';

/** What "Open a neuron" did: the unit chosen, and the scan of the bundled text (`kept`: an earlier one still holds). */
export type NeuronOutcome = { ok: true; block: number; token: number; unit: number; scan: ScanOutcome | 'kept' } | { ok: false; error: string };

type ModelRequest = PanelRequest & { model: ModelPanelRequest };

/** FFN Lens: Get Started. */
export function getStarted(deps: CommandDeps): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughRef(deps.context.extension.id), false);
}

const samplesDir = (deps: CommandDeps): vscode.Uri => vscode.Uri.joinPath(deps.context.extensionUri, 'samples');

/** Beside the walkthrough (or whatever tab is active), so both stay in view. */
const column = (): vscode.ViewColumn => (vscode.window.tabGroups.activeTabGroup.activeTab ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active);

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** Step 1: the sample model in the panel, on `text` or its first sentence. */
export async function openSample(deps: CommandDeps, textArg?: unknown): Promise<RunOutcome | undefined> {
  const model = vscode.Uri.joinPath(samplesDir(deps), WALKTHROUGH_SAMPLE);
  if (!(await exists(vscode.Uri.joinPath(model, 'config.json')))) {
    const choice = await vscode.window.showWarningMessage(`FFN Lens: this installation has no sample model (samples/${WALKTHROUGH_SAMPLE}). Explore a model of your own?`, 'Explore Model…');
    return choice ? exploreModel(deps) : undefined;
  }
  const text = typeof textArg === 'string' && textArg.trim() ? textArg : await samplePrompt(model.fsPath);
  return runInPanel(deps, { file: requestFile(model), inputs: { kind: 'file' }, model: { text, block: 0, ablate: [] } }, column());
}

/** The panel's model request, after opening the sample when no model is shown. */
async function modelRequest(deps: CommandDeps): Promise<{ request: ModelRequest; result: ModelRunResult } | undefined> {
  const shown = (): { request: ModelRequest; result: ModelRunResult } | undefined => {
    const { request, result } = deps.session;
    return request?.model && result && isModelRun(result) ? { request: request as ModelRequest, result } : undefined;
  };
  if (shown()) return shown();
  const out = await openSample(deps);
  return out?.ok ? shown() : undefined;
}

const withModel = (r: ModelRequest, model: Partial<ModelPanelRequest>): PanelRequest => ({ ...r, model: { ...r.model, ...model } });

/** Step 2: `text` (else what the user types) through the panel's model, at the block shown. */
export async function trySentence(deps: CommandDeps, textArg?: unknown): Promise<RunOutcome | undefined> {
  const text =
    typeof textArg === 'string'
      ? textArg
      : await vscode.window.showInputBox({
          title: 'FFN Lens: try a sentence',
          prompt: 'Runs through the whole model: the panel shows its tokens going through the block on the slider, and the next token.',
          value: TRY_SENTENCE,
          valueSelection: [0, TRY_SENTENCE.length],
        });
  if (!text?.trim()) return undefined;
  const current = deps.session.request;
  if (!current?.model) return openSample(deps, text.slice(0, MAX_PROMPT_CHARS));
  return runInPanel(deps, withModel(current as ModelRequest, { text: text.slice(0, MAX_PROMPT_CHARS), ablate: [] }), column());
}

/** Step 3: the next block's FFN (after the last block, the first again). */
export async function nextBlock(deps: CommandDeps): Promise<RunOutcome | undefined> {
  const shown = await modelRequest(deps);
  if (!shown) return undefined;
  const block = (shown.request.model.block + 1) % Math.max(1, shown.result.blocks);
  return runInPanel(deps, withModel(shown.request, { block, ablate: [] }), column());
}

/** The unit that writes most into the output at the last token: the one the next token is read from. */
function topUnitOfLastToken(r: ModelRunResult): { token: number; unit: number } | undefined {
  const token = r.tokens.length - 1;
  const unit = r.analysis.perToken[token]?.topNeurons[0]?.index;
  return unit === undefined ? undefined : { token, unit };
}

/** Step 4: the last token's top unit selected in the panel (its card opens), with where it fires in the bundled text. */
export async function openNeuron(deps: CommandDeps): Promise<NeuronOutcome | undefined> {
  const shown = await modelRequest(deps);
  if (!shown) return undefined;
  const top = topUnitOfLastToken(shown.result);
  if (!top) return { ok: false, error: 'the prompt has no tokens' };
  FfnPanel.createOrShow(deps.context.extensionUri, deps.session, column()).guide({ type: 'select', token: top.token, neuron: top.unit });
  const scan = await scanBundledText(deps, shown.result);
  return { ok: true, block: shown.result.layer.index, ...top, scan };
}

/** Newest modification time among the files of the model folder (or of the model file). */
async function modelTime(model: string): Promise<number> {
  const stat = await fs.stat(model);
  if (!stat.isDirectory()) return stat.mtimeMs;
  const times = await Promise.all((await fs.readdir(model)).map(async (n) => (await fs.stat(path.join(model, n))).mtimeMs));
  return Math.max(stat.mtimeMs, ...times);
}

/** Scans samples/text/*.txt of the extension through the shown block, unless a scan of it newer than the model is kept. */
async function scanBundledText(deps: CommandDeps, r: ModelRunResult): Promise<ScanOutcome | 'kept'> {
  const root = deps.context.extensionUri.fsPath;
  const corpus = `samples/${WALKTHROUGH_TEXT}/*.txt`;
  const kept = await scanStore(deps.context).load(r.file, r.layer.index);
  if (kept?.corpus === corpus && kept.folder === root && kept.createdAt > (await modelTime(r.file).catch(() => Infinity))) return 'kept';
  const dir = vscode.Uri.joinPath(samplesDir(deps), WALKTHROUGH_TEXT);
  let names: string[];
  try {
    names = (await vscode.workspace.fs.readDirectory(dir)).filter(([n, type]) => type === vscode.FileType.File && n.endsWith('.txt')).map(([n]) => n);
  } catch {
    names = [];
  }
  if (names.length === 0) {
    void vscode.window.showWarningMessage(`FFN Lens: this installation has no bundled text (samples/${WALKTHROUGH_TEXT}) to scan; the card shows the unit's vocabulary only.`);
    return { ok: false, cancelled: false, error: 'no bundled text' };
  }
  const files = names.map((n) => ({ path: vscode.Uri.joinPath(dir, n).fsPath, name: `samples/${WALKTHROUGH_TEXT}/${n}` }));
  return scanFiles(deps, files, { corpus, folder: root });
}

/** Step 5: the unit whose card is shown (else the last token's top unit) zeroed in the prediction, or restored. */
export async function ablateNeuron(deps: CommandDeps): Promise<RunOutcome | undefined> {
  const shown = await modelRequest(deps);
  if (!shown) return undefined;
  const { request, result } = shown;
  const card = FfnPanel.instance?.state.card;
  let unit = card?.block === result.layer.index && card.unit < result.dFf ? card.unit : undefined;
  if (unit === undefined) {
    const top = topUnitOfLastToken(result);
    if (!top) return undefined;
    unit = top.unit;
    // select it, so the panel's "Ablate unit N" toggle shows what was done
    FfnPanel.createOrShow(deps.context.extensionUri, deps.session, column()).guide({ type: 'select', token: top.token, neuron: top.unit });
  }
  const was = request.model.ablate;
  const ablate = was.includes(unit) ? was.filter((u) => u !== unit) : [...was, unit].sort((a, b) => a - b);
  const out = await runInPanel(deps, withModel(request, { ablate }), column());
  // the prediction with and without the unit, at the top of the panel
  if (out.ok) FfnPanel.instance?.guide({ type: 'reveal', part: 'next' });
  return out;
}
