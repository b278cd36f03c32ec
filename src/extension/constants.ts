/** Every id the extension registers, in one place (package.json `contributes` uses the same strings). */

export const EXTENSION_NAME = 'FFN Lens';

/** Command ids; all under the `ffnLens.` prefix, like the settings. */
export const Commands = {
  explore: 'ffnLens.explore',
  /** `(uri, layerId)`: explore one layer (the weight viewer's "Explore" button; hidden from the palette). */
  exploreLayer: 'ffnLens.exploreLayer',
  chooseInputs: 'ffnLens.chooseInputs',
  changeActivation: 'ffnLens.changeActivation',
  selectLayer: 'ffnLens.selectLayer',
  inspect: 'ffnLens.inspect',
  exportTrace: 'ffnLens.exportTrace',
  showLog: 'ffnLens.showLog',
  showPanel: 'ffnLens.showPanel',
  /** A whole model (a Hugging Face folder or a .gguf) on text. */
  exploreModel: 'ffnLens.exploreModel',
  /** The editor's selection through the model of the panel. */
  traceSelection: 'ffnLens.traceSelection',
  /** The workspace's text through the panel's model: where each unit fires hardest. */
  scanWorkspace: 'ffnLens.scanWorkspace',
  /** Two checkpoints of one model on the same text, side by side in the panel (the explorer passes `(uri, uris[])`). */
  compareCheckpoints: 'ffnLens.compareCheckpoints',
  compareWeights: 'ffnLens.compareWeights',
  /** Internal (hidden from the palette): a summary of what the panel was sent, for tests. */
  lastRun: 'ffnLens._lastRun',
  /** Opens the first-run walkthrough (also what the first run in the samples folder does). */
  getStarted: 'ffnLens.getStarted',
  /** Walkthrough step 1: the sample model in the panel, beside the walkthrough. */
  openSample: 'ffnLens.openSample',
  /** Walkthrough step 2 (hidden from the palette): `(text?)`, a sentence through the panel's model. */
  trySentence: 'ffnLens.walkthrough.trySentence',
  /** Walkthrough step 3 (hidden): the panel's model at its next block. */
  nextBlock: 'ffnLens.walkthrough.nextBlock',
  /** Walkthrough step 4 (hidden): the card of the unit that writes most at the last token, with a scan of the bundled text. */
  openNeuron: 'ffnLens.walkthrough.openNeuron',
  /** Walkthrough step 5 (hidden): that unit ablated (or restored) in the next-token prediction. */
  ablateNeuron: 'ffnLens.walkthrough.ablateNeuron',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** The first-run walkthrough's id in package.json `contributes.walkthroughs`. */
export const WALKTHROUGH_ID = 'ffnLens.firstRun';

/** The walkthrough as `workbench.action.openWalkthrough` names it: `<publisher>.<name>#<id>`. */
export const walkthroughRef = (extensionId: string): string => `${extensionId}#${WALKTHROUGH_ID}`;

/**
 * The walkthrough's sample model: a Hugging Face folder in the extension's own samples/ folder
 * (found through the extension's location, so any workspace works).
 */
export const WALKTHROUGH_SAMPLE = 'gpt2-english';

/** The bundled text the walkthrough scans: `samples/<this>/*.txt` in the extension. */
export const WALKTHROUGH_TEXT = 'text';

/** The weight viewer's custom editor type (package.json `contributes.customEditors`). */
export const VIEWER_VIEW_TYPE = 'ffnLens.weightViewer';

/**
 * Internal, for tests (not in package.json, so not in the palette): `(uri?, message?)`. With a
 * message, feeds it to the viewer tabs of `uri` as if their webview had posted it; then returns
 * what every open viewer tab (of `uri`) was sent, once their listings have settled.
 */
export const VIEWER_STATE_COMMAND = 'ffnLens._viewerState';

/**
 * Internal, for tests (not in package.json): `(message)`. Feeds `message` to the panel as if its
 * webview had posted it (validated the same way); resolves once the run it started, if any, settles.
 */
export const PANEL_MESSAGE_COMMAND = 'ffnLens._panelMessage';

/** The panel's webview type (also in `activationEvents` as onWebviewPanel:...). */
export const PANEL_VIEW_TYPE = 'ffnLens.panel';

/** Settings section: `ffnLens.*`. */
export const CONFIG_SECTION = 'ffnLens';

/** Context keys for `when` clauses. */
export const ContextKeys = {
  /** A run result exists (the commands that change it are enabled). */
  hasRun: 'ffnLens.hasRun',
  /** The active editor is a JSON file holding tensors. */
  activeWeightJson: 'ffnLens.activeWeightJson',
} as const;

/** Diagnostic source shown in the Problems panel. */
export const DIAGNOSTIC_SOURCE = 'FFN Lens';

/** File extensions FFN Lens can open. */
export const WEIGHT_EXTENSIONS = ['.json', '.safetensors', '.npy', '.npz', '.gguf'] as const;

/** The languages of the JSON documents FFN Lens reads (weight JSON is plain JSON; jsonc too). */
export const JSON_LANGUAGES: readonly string[] = ['json', 'jsonc'];

/** Whether a text document is JSON by its language. */
export const isJsonDocument = (doc: { readonly languageId: string }): boolean => JSON_LANGUAGES.includes(doc.languageId);
