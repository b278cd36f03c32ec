/** The panel's controls: layer, activation and inputs, re-running through the host. */
import { ACTIVATIONS, GATED_ACTIVATIONS, type ActivationName, type RunView, type WebviewInputs } from '../src/protocol/webview';
import { h } from './dom';

export interface ControlCallbacks {
  rerun(layer: string, activation: ActivationName | 'auto', inputs: WebviewInputs): void;
  pickInputsFile(): void;
  exportTrace(): void;
}

const GATED = new Set<string>(GATED_ACTIVATIONS);

export class Controls {
  readonly element: HTMLElement;
  private readonly layer = h('select', { id: 'ctl-layer' });
  private readonly activation = h('select', { id: 'ctl-activation' });
  private readonly inputs = h(
    'select',
    { id: 'ctl-inputs' },
    h('option', { value: 'current' }, 'as now'),
    h('option', { value: 'file' }, 'from the file'),
    h('option', { value: 'random' }, 'random'),
  );
  private readonly tokens = h('input', { id: 'ctl-tokens', type: 'number', min: 1, max: 4096, step: 1, value: 8, 'aria-label': 'random tokens' });
  private readonly seed = h('input', { id: 'ctl-seed', type: 'number', min: 0, step: 1, value: 0, 'aria-label': 'seed' });
  private readonly runButton = h('button', { type: 'button', class: 'primary' }, 'Run');
  private readonly randomBox = h('span', { class: 'random', hidden: true });
  private readonly describe = h('span', { class: 'inputs-now' });
  /** What only a single layer uses: a model run picks its block with the slider and its inputs with the prompt. */
  private readonly layerOnly: HTMLElement[] = [];

  constructor(cb: ControlCallbacks) {
    const pick = h('button', { type: 'button', title: 'Pick a JSON {tokens?, inputs} or .npy T x d_model file' }, 'Inputs file…');
    const exportButton = h('button', { type: 'button', title: 'Save the whole trace as JSON' }, 'Export trace…');
    this.randomBox.append(h('label', {}, 'T ', this.tokens), h('label', {}, 'seed ', this.seed));
    const labels = [h('label', { for: 'ctl-layer' }, 'Layer'), h('label', { for: 'ctl-activation' }, 'Activation'), h('label', { for: 'ctl-inputs' }, 'Inputs')];
    this.layerOnly.push(...labels, this.layer, this.activation, this.inputs, this.runButton, pick, this.describe);
    this.element = h(
      'form',
      { class: 'controls', 'aria-label': 'run controls' },
      labels[0],
      this.layer,
      labels[1],
      this.activation,
      labels[2],
      this.inputs,
      this.randomBox,
      this.runButton,
      pick,
      exportButton,
      this.describe,
    );
    this.inputs.addEventListener('change', () => (this.randomBox.hidden = this.inputs.value !== 'random'));
    this.element.addEventListener('submit', (e) => e.preventDefault());
    this.runButton.addEventListener('click', () => cb.rerun(this.layer.value, this.activationValue(), this.inputsValue()));
    pick.addEventListener('click', () => cb.pickInputsFile());
    exportButton.addEventListener('click', () => cb.exportTrace());
  }

  private activationValue(): ActivationName | 'auto' {
    const v = this.activation.value;
    return (ACTIVATIONS as readonly string[]).includes(v) ? (v as ActivationName) : 'auto';
  }

  private inputsValue(): WebviewInputs {
    switch (this.inputs.value) {
      case 'file':
        return { kind: 'file' };
      case 'random': {
        const tokens = Math.min(4096, Math.max(1, Math.round(Number(this.tokens.value) || 1)));
        const seed = Math.min(0xffffffff, Math.max(0, Math.round(Number(this.seed.value) || 0)));
        return { kind: 'random', tokens, seed };
      }
      default:
        return { kind: 'current' };
    }
  }

  /** Fills the controls from a run (a model run keeps only Export). */
  show(r: RunView): void {
    for (const el of this.layerOnly) el.hidden = r.model !== undefined;
    this.layer.replaceChildren(...r.layers.map((l) => h('option', { value: l.id, selected: l.id === r.layer.id }, l.label)));
    this.layer.value = r.layer.id;
    const gated = r.layer.kind === 'gated';
    const options = ACTIVATIONS.filter((a) => GATED.has(a) === gated);
    const chosen = r.request.activation ? r.activation : 'auto';
    this.activation.replaceChildren(
      h('option', { value: 'auto' }, `auto (${r.defaultActivation}, the file's)`),
      ...options.map((a) => h('option', { value: a }, a === r.defaultActivation ? `${a} · file default` : a)),
    );
    this.activation.value = chosen;
    const i = r.request.inputs;
    this.describe.textContent =
      i.kind === 'random' ? `now: ${i.tokens} random tokens, seed ${i.seed}` : i.kind === 'file' ? 'now: the file’s inputs' : `now: ${i.path.split(/[\\/]/).pop()}`;
    if (i.kind === 'random') {
      this.tokens.value = String(i.tokens);
      this.seed.value = String(i.seed);
    }
    this.inputs.value = 'current';
    this.randomBox.hidden = true;
  }

  /** Run is disabled while a run is in flight. */
  setBusy(busy: boolean): void {
    this.runButton.disabled = busy;
    this.runButton.textContent = busy ? 'Running…' : 'Run';
  }
}
