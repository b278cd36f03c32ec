/**
 * The prompt card of a model panel: the text (Run or Ctrl/Cmd+Enter sends it), the text's tokens
 * as chips, and the block slider. The slider asks for a block when it is released, or 150 ms after
 * the last arrow key, never on every pixel of a drag. A run that arrives while the user has edited
 * the text (or typed on after pressing Run) leaves the draft alone.
 */
import { MAX_PROMPT_CHARS, type ModelView } from '../src/protocol/webview';
import { h, section } from './dom';
import { TokenChips } from './tokenChips';

export interface ModelControlCallbacks {
  /** Run the model on this text. */
  prompt(text: string): void;
  /** Show this block's FFN. */
  block(block: number): void;
  /** A token chip was chosen. */
  selectToken(t: number): void;
}

/**
 * Sets the <body> data-* attributes tests wait on for a model run: data-model="true", data-block,
 * data-next (the top next token's id) and data-ablated (comma list); removes them for a single layer.
 */
export function markModel(m: ModelView | undefined): void {
  const d = document.body.dataset;
  if (!m) {
    for (const k of ['model', 'block', 'next', 'ablated']) delete d[k];
    return;
  }
  d.model = 'true';
  d.block = String(m.block);
  d.next = m.next.length ? String(m.next[0].id) : '';
  d.ablated = m.ablated.join(',');
}

const MAC = /Mac|iPhone|iPad/.test(navigator.platform);

/** How long the slider waits after its last change before asking for the block. */
const BLOCK_DEBOUNCE_MS = 150;

export class ModelControls {
  readonly element: HTMLElement;
  private readonly text = h('textarea', { class: 'prompt', 'aria-label': 'prompt', rows: 3, maxlength: MAX_PROMPT_CHARS, spellcheck: 'false' });
  private readonly runButton = h(
    'button',
    { type: 'button', class: 'primary', title: `Run the model on this text (${MAC ? '⌘' : 'Ctrl+'}Enter)`, 'aria-keyshortcuts': 'Control+Enter Meta+Enter' },
    'Run',
  );
  private readonly chips: TokenChips;
  private readonly count = h('span', { class: 'hint' });
  private readonly slider = h('input', { type: 'range', class: 'block-slider', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'block' });
  private readonly sliderMax = h('span', { class: 'hint', 'aria-hidden': 'true' });
  private readonly sliderValue = h('span', { class: 'block-value', 'aria-hidden': 'true' });
  /** The text the last run put in the box, and the text last sent with Run (until its run arrives). */
  private shownText = '';
  private postedText: string | undefined;
  private block = 0;
  private blocks = 1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private runHadFocus = false;

  constructor(private readonly cb: ModelControlCallbacks) {
    this.chips = new TokenChips((t) => cb.selectToken(t));
    this.element = section(
      'prompt',
      'Prompt',
      'Runs through the whole model; the charts below show the FFN of the block on the slider.',
      this.text,
      h('div', { class: 'toolbar' }, this.runButton, h('span', { class: 'hint' }, `${MAC ? '⌘' : 'Ctrl+'}Enter runs`), h('span', { class: 'spacer' }), this.count),
      this.chips.element,
      h(
        'div',
        { class: 'toolbar block-row' },
        h('label', { class: 'strong' }, 'Block ', h('span', { class: 'hint', 'aria-hidden': 'true' }, '0'), this.slider, this.sliderMax),
        this.sliderValue,
      ),
    );
    this.text.addEventListener('input', () => this.updateRunButton());
    this.text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.submit();
      }
    });
    this.runButton.addEventListener('click', () => this.submit());
    this.slider.addEventListener('input', () => this.label(Number(this.slider.value)));
    this.slider.addEventListener('change', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const b = Number(this.slider.value);
        if (b !== this.block) cb.block(b);
      }, BLOCK_DEBOUNCE_MS);
    });
  }

  private submit(): void {
    if (this.busy || this.text.value.length === 0) return;
    this.postedText = this.text.value;
    this.cb.prompt(this.text.value);
  }

  private updateRunButton(): void {
    this.runButton.disabled = this.busy || this.text.value.length === 0;
  }

  private label(b: number): void {
    const text = `block ${b} of ${this.blocks}`;
    this.sliderValue.textContent = text;
    this.slider.setAttribute('aria-valuetext', text);
  }

  /** Fills the card from a model run, with token `token` selected. */
  show(m: ModelView, token: number): void {
    const draft = this.text.value;
    if (draft === this.shownText || draft === this.postedText) this.text.value = m.text;
    this.shownText = m.text;
    this.postedText = undefined;
    this.updateRunButton();
    const T = m.tokenText.length;
    this.count.textContent = `${T} token${T === 1 ? '' : 's'} · ${m.architecture}`;
    this.chips.show(m, token);
    this.blocks = Math.max(1, m.blocks);
    this.block = m.block;
    this.slider.max = String(this.blocks - 1);
    this.sliderMax.textContent = String(this.blocks - 1);
    // a slider change still waiting for its debounce is newer than this run
    if (this.timer === undefined) this.slider.value = String(m.block);
    this.label(Number(this.slider.value));
  }

  /** Highlights token `t`'s chip. */
  selectToken(t: number): void {
    this.chips.select(t);
  }

  /** Run is disabled while a run is in flight (the text stays editable). */
  setBusy(busy: boolean): void {
    if (busy) this.runHadFocus = document.activeElement === this.runButton;
    this.busy = busy;
    this.runButton.textContent = busy ? 'Running…' : 'Run';
    this.updateRunButton();
    // disabling the focused button dropped keyboard focus to <body>: give it back
    if (!busy && this.runHadFocus && document.activeElement === document.body && !this.runButton.disabled) this.runButton.focus();
    if (!busy) this.runHadFocus = false;
  }
}
