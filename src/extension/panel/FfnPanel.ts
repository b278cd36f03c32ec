/**
 * The chart panel (one at a time): host side of the webview protocol. It posts a run only after
 * the webview said `ready`, re-posts it whenever the webview reloads (the context is not retained
 * while hidden; the webview keeps its view state with setState), validates every message it gets
 * back, and answers zoom and neuron requests from the RunResult kept on the host. A comparison of
 * two checkpoints (comparePart.ts) takes the panel's place until the next run.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunResult } from '../../protocol/run';
import { HostToWebview, NeuronCardView, parseWebviewMessage, PanelRequest, RunView, WebviewToHost } from '../../protocol/webview';
import { Commands, EXTENSION_NAME, PANEL_VIEW_TYPE } from '../constants';
import { uriFromArg } from '../files';
import { log } from '../log';
import type { RunOutcome, Session } from '../session';
import { localResourceRoots, panelHtml } from './html';
import { describeError } from '../../core/errors';
import type { ModelRunResult } from '../../protocol/model';
import type { CompareResult, WeightsCompareResult } from '../../protocol/compare';
import type { CompareOutcome, WeightsOutcome } from '../commands/compareCheckpoints';
import { ComparePart, type CompareRendered } from './comparePart';
import type { CompareLabels, CompareSummary, WeightsSummary } from './comparePayload';
import { computeClient } from '../compute';
import { scanStore } from '../scanStore';
import { isModelRun } from './modelPayload';
import { saveCard, saveChart, saveScan } from './exports';
import { cardView } from './neuronCard';
import { buildRunView, heatmapWindow, neuronView, RunViewSummary, summarize } from './payload';

/** What the panel last sent and what the webview reported back, for the `_lastRun` test command. */
export interface PanelReport {
  visible: boolean;
  /** `run` messages posted so far. */
  posts: number;
  run?: RunViewSummary;
  /** `at`: the host's performance.now() when it arrived (a benchmark times to this, not to its next poll). */
  rendered?: { layer: string; tokens: number; nonBlank: boolean; ms: number; at: number };
  /** Messages from the webview that failed validation. */
  rejected: number;
  /** The last neuron card posted. */
  card?: { block: number; unit: number; scan: boolean };
  /** That card as posted. */
  cardView?: NeuronCardView;
  /** What the panel shows now. */
  showing: 'run' | 'compare' | 'compare-weights';
  /** The comparison on screen, summarised. */
  compare?: CompareSummary;
  /** The comparison of weights alone the panel shows, when it shows one. */
  compareWeights?: WeightsSummary;
  /** What the compare view reported drawing last. */
  compareRendered?: CompareRendered;
  /** The block whose heatmaps (A, B, B − A) were sent last, and their window. */
  compareHeatmaps?: { layer: number; rows: number; cols: number; start: number; end: number };
}

/** What the host may add to the webview's view of a run. */
export type GuideMessage = Extract<HostToWebview, { type: 'select' | 'reveal' }>;

export class FfnPanel implements vscode.Disposable {
  private static current: FfnPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private view: RunView | undefined;
  private viewOf: RunResult | undefined;
  private readonly report: PanelReport = { visible: true, posts: 0, rejected: 0, showing: 'run' };
  private readonly compare = new ComparePart((m) => this.post(m));
  /** "Comparing A with B…" while a comparison runs, for a webview that reloads meanwhile. */
  private compareBusy: string | undefined;
  private readonly context: vscode.ExtensionContext;
  private emptyMessage = 'Right-click a weight file and choose "Explore FFN Layer".';

  /** The open panel, if any. */
  static get instance(): FfnPanel | undefined {
    return FfnPanel.current;
  }

  /**
   * Shows the panel (creating it when needed) beside the active text editor, or in `column` (the
   * walkthrough, which is no text editor, keeps its own column).
   */
  static createOrShow(extensionUri: vscode.Uri, session: Session, column?: vscode.ViewColumn): FfnPanel {
    if (FfnPanel.current) {
      FfnPanel.current.panel.reveal(undefined, true);
      return FfnPanel.current;
    }
    column ??= vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, EXTENSION_NAME, { viewColumn: column, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: localResourceRoots(extensionUri),
    });
    FfnPanel.current = new FfnPanel(panel, extensionUri, session);
    return FfnPanel.current;
  }

  /** Takes over a panel VS Code restored after a restart (the serializer calls this). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, session: Session): FfnPanel {
    FfnPanel.current?.dispose();
    FfnPanel.current = new FfnPanel(panel, extensionUri, session);
    return FfnPanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly session: Session,
  ) {
    this.context = session.context;
    panel.webview.options = { enableScripts: true, localResourceRoots: localResourceRoots(extensionUri) };
    panel.webview.html = panelHtml(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        this.report.visible = e.webviewPanel.visible;
        // a hidden webview is torn down; it says `ready` again when shown
        if (!e.webviewPanel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      session.onDidStart((what) => this.post({ type: 'busy', message: `Running ${what}…` })),
      session.onDidRun((r) => this.show(r)),
      session.onDidFail((message) => {
        this.post({ type: 'busy', message: null });
        if (message) this.post({ type: 'error', message });
      }),
    );
    if (session.result) this.show(session.result);
  }

  /** Summary of what the webview was sent, for tests. */
  get state(): PanelReport {
    const c = this.compare;
    return {
      ...this.report,
      showing: c.weightsSummary ? 'compare-weights' : c.active ? 'compare' : 'run',
      compare: c.summary,
      compareWeights: c.weightsSummary,
      compareRendered: c.rendered,
      compareHeatmaps: c.heatmaps,
    };
  }

  /** Shows a comparison of two checkpoints in place of the run, until the next run. */
  showComparison(result: CompareResult, labels: CompareLabels): void {
    this.panel.title = `${EXTENSION_NAME}: ${labels.nameA} ↔ ${labels.nameB}`;
    this.post({ type: 'busy', message: null });
    this.compare.show(result, labels);
  }

  /** Shows a comparison of two checkpoints' weights alone (it replaces the run or comparison on screen). */
  showWeightsComparison(result: WeightsCompareResult, labels: Omit<CompareLabels, 'text'>): void {
    this.panel.title = `${EXTENSION_NAME}: ${labels.nameA} ↔ ${labels.nameB} (weights)`;
    this.post({ type: 'busy', message: null });
    this.compare.showWeights(result, labels);
  }

  /** A comparison started (its message) or ended (null): the panel's status line says so. */
  setCompareBusy(message: string | null): void {
    this.compareBusy = message ?? undefined;
    this.post({ type: 'busy', message });
  }

  /** Text shown when there is nothing to draw yet (a restored panel without state, an error). */
  setEmptyMessage(message: string): void {
    this.emptyMessage = message;
    if (!this.view) this.post({ type: 'empty', message });
  }

  private show(r: RunResult): void {
    const req = this.session.request;
    if (!req) return;
    this.compare.clear();
    const name = path.basename(uriFromArg(req.file)?.path ?? req.file);
    this.view = buildRunView(r, req, name, this.session.defaultActivation(r));
    this.viewOf = r;
    this.panel.title = `${EXTENSION_NAME}: ${r.layer.id}`;
    this.report.run = summarize(this.view);
    this.report.rendered = undefined;
    this.postRun();
  }

  private postRun(): void {
    if (!this.view || !this.ready) return;
    this.report.posts++;
    this.post({ type: 'busy', message: null });
    this.post({ type: 'run', run: this.view });
    this.postGuides();
  }

  /** Messages the host adds to the view (the walkthrough's), posted after the run once the webview listens. */
  private readonly guides: GuideMessage[] = [];

  /**
   * Selects a token and unit as a click would (`select`: the webview then shows the unit on every
   * token, its card and its ablation toggle), or scrolls to a part (`reveal`). For the walkthrough.
   */
  guide(message: GuideMessage): void {
    this.guides.push(message);
    this.postGuides();
  }

  private postGuides(): void {
    if (!this.ready || !this.view) return;
    for (const m of this.guides.splice(0)) this.post(m);
  }

  private post(message: HostToWebview): void {
    if (!this.ready) return; // everything is re-sent on `ready`
    void this.panel.webview.postMessage(message);
  }

  private receive(raw: unknown): Promise<RunOutcome | CompareOutcome | WeightsOutcome | undefined> | undefined {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.report.rejected++;
      log().warn(`ignored a malformed message from the panel: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return undefined;
    }
    return this.handle(msg);
  }

  /** A message as if the webview had posted it (the tests' `_panelMessage`); the run it starts, if any. */
  async simulate(raw: unknown): Promise<RunOutcome | CompareOutcome | WeightsOutcome | { ok: false; error: string } | undefined> {
    const run = this.receive(raw);
    return run ? await run : parseWebviewMessage(raw) ? undefined : { ok: false, error: 'rejected' };
  }

  private handle(msg: WebviewToHost): Promise<RunOutcome | CompareOutcome | WeightsOutcome | undefined> | undefined {
    const r = this.session.result;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        if (this.compare.active) this.compare.repost();
        else if (this.view && this.viewOf === r) this.postRun();
        else if (r && this.session.request) this.show(r);
        else this.post({ type: 'empty', message: this.session.busy ?? this.emptyMessage });
        if (this.session.busy ?? this.compareBusy) this.post({ type: 'busy', message: (this.session.busy ?? this.compareBusy) as string });
        return;
      case 'rerun': {
        const current = this.session.request;
        if (!current || !r) return;
        if (!r.layers.some((l) => l.id === msg.layer)) return;
        const next: PanelRequest = { file: current.file, layer: msg.layer, inputs: current.inputs };
        if (msg.activation !== 'auto') next.activation = msg.activation;
        if (msg.inputs.kind === 'file') next.inputs = { kind: 'file' };
        else if (msg.inputs.kind === 'random') next.inputs = { kind: 'random', tokens: msg.inputs.tokens, seed: msg.inputs.seed };
        void this.session.run(next);
        return;
      }
      case 'pickInputsFile':
        void vscode.commands.executeCommand(Commands.chooseInputs, { kind: 'inputsFile' });
        return;
      case 'heatmap':
        if (r && this.viewOf === r) this.post({ type: 'heatmap', window: heatmapWindow(r, msg.sort, msg.start, msg.end) });
        return;
      case 'neuron': {
        const n = r && neuronView(r, msg.index);
        if (n) this.post({ type: 'neuron', neuron: n });
        return;
      }
      case 'export':
        void vscode.commands.executeCommand(Commands.exportTrace);
        return;
      case 'prompt':
      case 'block':
      case 'ablate': {
        const current = this.session.request;
        const model = current?.model;
        if (!current || !model) return;
        // A new prompt or block starts without an ablation; an ablation keeps prompt and block.
        const next =
          msg.type === 'prompt'
            ? { ...model, text: msg.text, ablate: [] }
            : msg.type === 'block'
              ? { ...model, block: msg.block, ablate: [] }
              : { ...model, ablate: msg.units };
        if (r && isModelRun(r) && (next.block >= r.blocks || next.ablate.some((u) => u >= r.dFf))) return;
        return this.session.run({ ...current, model: next });
      }
      case 'neuronCard':
        if (r && isModelRun(r) && msg.index < r.dFf) {
          this.cardUnit = msg.index;
          void this.sendCard(r, msg.index);
        }
        return;
      case 'openExample':
        void this.openExample(msg.unit, msg.rank);
        return;
      case 'scan':
        void vscode.commands.executeCommand(Commands.scanWorkspace);
        return;
      case 'exportCard':
        if (r && isModelRun(r) && msg.unit < r.dFf) void this.exportCard(r, msg.unit, msg.format);
        return;
      case 'exportScan':
        if (r && isModelRun(r)) void scanStore(this.context).load(r.file, r.layer.index).then((s) => s && saveScan(s.result, msg.format));
        return;
      case 'exportChart':
        void saveChart(msg.name, msg.png);
        return;
      case 'rendered':
        this.report.rendered = { layer: msg.layer, tokens: msg.tokens, nonBlank: msg.nonBlank, ms: msg.ms, at: performance.now() };
        log().debug(`panel drew ${msg.layer} (${msg.tokens} tokens) in ${msg.ms.toFixed(0)} ms`);
        return;
      case 'log':
        log().warn(`panel: ${msg.message}`);
        return;
      case 'compareLayer':
      case 'compareAgain':
      case 'exportCompare':
      case 'swapWeights':
      case 'compareRendered':
        return this.compare.handle(msg);
      default: {
        const never: never = msg;
        void never;
      }
    }
  }

  /** The unit whose card the webview shows last asked for (re-sent after a scan). */
  private cardUnit: number | undefined;

  /** Computes and posts the card of unit `u` of the shown block. */
  private async sendCard(r: ModelRunResult, u: number): Promise<void> {
    const req = this.session.request;
    if (!req?.model) return;
    try {
      const client = await computeClient(this.context);
      const model = r.file;
      const card = await client.neuronCard({ model, layer: r.layer.index, neuron: u, top: 10, memoryBudgetBytes: this.session.memoryBudgetBytes });
      const scan = await scanStore(this.context).load(model, r.layer.index);
      if (this.session.result !== r) return; // a newer run replaced it meanwhile
      const view = cardView(card, r, scan);
      this.post({ type: 'neuronCard', card: view });
      this.report.card = { block: r.layer.index, unit: u, scan: !!scan };
      this.report.cardView = view;
    } catch (e) {
      log().warn(`neuron card of unit ${u}: ${describeError(e)}`);
      this.post({ type: 'error', message: `The card of unit ${u} could not be computed: ${describeError(e)}` });
    }
  }

  private async exportCard(r: ModelRunResult, u: number, format: 'json' | 'csv'): Promise<void> {
    const client = await computeClient(this.context);
    await saveCard(await client.neuronCard({ model: r.file, layer: r.layer.index, neuron: u, top: 10, memoryBudgetBytes: this.session.memoryBudgetBytes }), format);
  }

  /** Re-sends the card shown (a scan has just finished). */
  refreshCard(): void {
    const r = this.session.result;
    if (r && isModelRun(r) && this.cardUnit !== undefined) void this.sendCard(r, this.cardUnit);
  }

  /** Opens the file of a stored scan example at the firing token (only files that scan read). */
  private async openExample(unit: number, rank: number): Promise<void> {
    const r = this.session.result;
    if (!r || !isModelRun(r)) return;
    const scan = await scanStore(this.context).load(r.file, r.layer.index);
    const e = scan?.result.neurons.find((n) => n.index === unit)?.examples[rank];
    const file = e && scan?.files.find((f) => f.name === e.file);
    if (!e || !file) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file.path));
    const range = new vscode.Range(doc.positionAt(e.offsets[0]), doc.positionAt(e.offsets[1]));
    await vscode.window.showTextDocument(doc, { selection: range, viewColumn: vscode.ViewColumn.One, preview: true });
  }

  /** Brings the panel to the front. */
  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  dispose(): void {
    if (FfnPanel.current === this) FfnPanel.current = undefined;
    while (this.disposables.length) this.disposables.pop()?.dispose();
    this.panel.dispose();
  }
}
