/**
 * The prompt's tokens as a row of chips. The row is one listbox with one tab stop: arrows, Home and
 * End move the selection (so a long prompt is not hundreds of tab stops). Whitespace is made
 * visible; the tooltip has the token's id and where it sits in the text. Choosing a chip is the
 * panel's token selection (the top-neurons chart follows).
 */
import type { ModelView } from '../src/protocol/webview';
import { h, visibleText } from './dom';

export class TokenChips {
  readonly element = h('div', { class: 'chips', role: 'listbox', 'aria-label': 'prompt tokens', 'aria-orientation': 'horizontal' });
  private chips: HTMLElement[] = [];
  private selected = -1;

  constructor(private readonly onSelect: (t: number) => void) {
    this.element.addEventListener('click', (e) => {
      const chip = (e.target as Element).closest<HTMLElement>('.chip');
      if (chip) this.onSelect(Number(chip.dataset.token));
    });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** One chip per token of `m`, with token `selected` chosen. */
  show(m: ModelView, selected: number): void {
    this.chips = m.tokenText.map((text, i) => {
      const start = m.offsets[2 * i];
      const end = m.offsets[2 * i + 1];
      // a token that covers no character of the text (BOS, a template token) is not the user's
      const special = !(end > start);
      const where = special ? 'not in the text' : `characters ${start}–${end}`;
      return h(
        'span',
        {
          class: special ? 'chip special' : 'chip',
          role: 'option',
          'data-token': i,
          'aria-selected': 'false',
          tabindex: -1,
          title: `token ${i} · id ${m.tokenIds[i]} · ${where}\n${JSON.stringify(text)}`,
        },
        visibleText(text),
      );
    });
    this.element.replaceChildren(...this.chips);
    this.selected = -1;
    this.select(selected);
  }

  /** Highlights token `t` (the one tab stop of the row). */
  select(t: number): void {
    const old = this.chips[this.selected];
    if (old) {
      old.setAttribute('aria-selected', 'false');
      old.tabIndex = -1;
    }
    const chip = this.chips[t];
    if (!chip) return;
    chip.setAttribute('aria-selected', 'true');
    chip.tabIndex = 0;
    this.selected = t;
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.chips.length;
    if (n === 0) return;
    let t = Math.max(0, this.selected);
    switch (e.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        t = Math.min(n - 1, t + 1);
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        t = Math.max(0, t - 1);
        break;
      case 'Home':
        t = 0;
        break;
      case 'End':
        t = n - 1;
        break;
      case 'Enter':
      case ' ':
        break;
      default:
        return;
    }
    e.preventDefault();
    this.onSelect(t);
    this.chips[t]?.focus();
  }
}
