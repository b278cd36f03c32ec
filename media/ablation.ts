/**
 * Ablating hidden units of a model's shown block from the panel (model runs only). One row between
 * the top-neurons chart and the one-neuron chart: a picker over the selected token's top units
 * (the keyboard's way to what a click on a bar does) and an "Ablate unit N" toggle for the
 * selected neuron, however it was selected (chart bar, picker or heatmap cell).
 */
import { MAX_ABLATED_UNITS, type RunView } from '../src/protocol/webview';
import { fmt, h } from './dom';

/** `units` with `unit` added, or removed when it is there; ascending, no duplicates. */
export function toggleUnit(units: readonly number[], unit: number): number[] {
  const set = new Set(units);
  if (set.has(unit)) set.delete(unit);
  else set.add(unit);
  return [...set].sort((a, b) => a - b);
}

export interface AblationCallbacks {
  /** A unit was picked: select it as the panel's neuron. */
  selectNeuron(index: number): void;
  /** The toggle was pressed for `unit`. */
  toggle(unit: number): void;
}

export class AblationRow {
  readonly element: HTMLElement;
  private readonly picker = h('select', { 'aria-label': 'top unit' });
  private readonly button = h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false', hidden: true });
  private readonly hint = h('span', { class: 'hint' });
  private unit: number | null = null;

  constructor(cb: AblationCallbacks) {
    this.element = h('div', { class: 'toolbar ablate-row', hidden: true }, h('label', { class: 'strong' }, 'Unit ', this.picker), this.button, this.hint);
    this.picker.addEventListener('change', () => {
      if (this.picker.value !== '') cb.selectNeuron(Number(this.picker.value));
    });
    this.button.addEventListener('click', () => {
      if (this.unit !== null) cb.toggle(this.unit);
    });
  }

  /**
   * Redraws for `run` (hidden unless it is a model run): the top units of `token` in the picker,
   * the toggle for `neuron`, pressed when `ablated` (the units sent or asked for) holds it.
   */
  show(run: RunView | undefined, token: number, neuron: number | null, ablated: readonly number[]): void {
    const m = run?.model;
    this.element.hidden = !m;
    if (!run || !m) return;
    const off = new Set(ablated);
    const { k, index, score } = run.top;
    const options = [h('option', { value: '' }, 'choose a top unit…')];
    const listed = new Set<number>();
    for (let j = 0; j < k; j++) {
      const i = index[token * k + j];
      if (i < 0) continue;
      listed.add(i);
      options.push(h('option', { value: i }, `#${i} · score ${fmt(score[token * k + j], 3)}${off.has(i) ? ' · ablated' : ''}`));
    }
    if (neuron !== null && !listed.has(neuron)) options.push(h('option', { value: neuron }, `#${neuron}${off.has(neuron) ? ' · ablated' : ''}`));
    this.picker.replaceChildren(...options);
    this.picker.value = neuron === null ? '' : String(neuron);

    this.unit = neuron;
    this.button.hidden = neuron === null;
    this.hint.textContent = neuron === null ? 'Pick a unit (or click a bar above) to ablate it.' : '';
    if (neuron === null) return;
    const pressed = off.has(neuron);
    const full = !pressed && off.size >= MAX_ABLATED_UNITS;
    this.button.textContent = `Ablate unit ${neuron}`;
    this.button.setAttribute('aria-pressed', String(pressed));
    this.button.disabled = full;
    this.button.title = full
      ? `At most ${MAX_ABLATED_UNITS} units can be ablated at once`
      : pressed
        ? `Unit ${neuron} is zeroed in block ${m.block}'s prediction: press to restore it`
        : `Zero unit ${neuron} in block ${m.block} and predict the next token again`;
  }
}
