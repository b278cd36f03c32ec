/**
 * The neuron card of a model panel, under the one-neuron chart: for the selected unit of the shown
 * block, the tokens it promotes and suppresses, the tokens it responds to, its gated quadrants on
 * the prompt and what the last workspace scan found (neuronScan.ts). The panel asks for a card
 * (`request`) and draws only the one it asked for last, so a late answer for another unit or
 * block is dropped; a refresh of the card on screen (same block and unit, e.g. after an ablation)
 * keeps it visible, dimmed, until the answer arrives. <body> gets data-card="<block>:<unit>" and
 * data-card-scan="true"|"false" once a card is drawn, and loses both while one is awaited.
 */
import type { NeuronCardView, VocabScoreView } from '../src/protocol/webview';
import { fmt, h, pct, visibleText } from './dom';
import { ScanPart } from './neuronScan';
import type { ThemeColors } from './theme';

export interface NeuronCardCallbacks {
  /** Open example `rank` of unit `unit` of the last scan. */
  openExample(unit: number, rank: number): void;
  /** Run a workspace scan of the shown block. */
  scan(): void;
  /** Save the card shown (JSON or CSV) through the host's save dialog. */
  exportCard(unit: number, format: 'json' | 'csv'): void;
  /** Save the block's last scan (JSON or CSV). */
  exportScan(format: 'json' | 'csv'): void;
}

/** A value with its sign ("+1.23", "−0.5"). */
function signed(v: number): string {
  const s = fmt(Math.abs(v), 3);
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

function vocabList(id: string, label: string, explain: string, items: VocabScoreView[]): HTMLElement {
  const rows = items.map((t) =>
    h('li', {}, h('code', { class: 'tok', title: `id ${t.id} · ${JSON.stringify(t.text)}` }, visibleText(t.text)), h('span', { class: 'num' }, signed(t.value))),
  );
  return h(
    'div',
    { class: 'vocab' },
    h('h4', { id, title: explain }, label),
    rows.length ? h('ol', { class: 'vocab-list', 'aria-labelledby': id }, ...rows) : h('p', { class: 'hint' }, 'none'),
  );
}

/** gate+/gate− × up+/up−: the share of the prompt's tokens in each sign quadrant, shaded by share. */
function quadrantTable(q: NonNullable<NeuronCardView['quadrants']>): HTMLElement {
  const cell = (v: number, gate: string, up: string) => {
    const td = h('td', { title: `gate${gate} and up${up} on ${pct(v)} of the prompt’s tokens` }, pct(v));
    // a custom property set through the CSSOM (allowed by the CSP), read by the shading rule in panel.css
    td.style.setProperty('--share', String(Math.min(1, Math.max(0, v))));
    return td;
  };
  return h(
    'div',
    { class: 'vocab' },
    h('h4', { id: 'nc-quadrants-title', title: 'Signs of the gate and up projections of this unit on the prompt’s tokens' }, 'gate × up on the prompt'),
    h(
      'table',
      { class: 'quadrants', 'aria-labelledby': 'nc-quadrants-title' },
      h('thead', {}, h('tr', {}, h('td', {}), h('th', { scope: 'col' }, 'up+'), h('th', { scope: 'col' }, 'up−'))),
      h(
        'tbody',
        {},
        h('tr', {}, h('th', { scope: 'row' }, 'gate+'), cell(q.pp, '+', '+'), cell(q.pn, '+', '−')),
        h('tr', {}, h('th', { scope: 'row' }, 'gate−'), cell(q.np, '−', '+'), cell(q.nn, '−', '−')),
      ),
    ),
  );
}

function unmark(): void {
  delete document.body.dataset.card;
  delete document.body.dataset.cardScan;
}

export class NeuronCard {
  readonly element: HTMLElement;
  private readonly title = h('h3', { id: 'nc-title' });
  private readonly status = h('p', { class: 'hint card-status', role: 'status' });
  private readonly vocab = h('div', { class: 'vocab-grid' });
  private readonly saveScanCsv: HTMLButtonElement;
  private readonly scanPart: ScanPart;
  /** The card asked for last (null: none wanted), and the one on screen. */
  private want: { block: number; unit: number } | null = null;
  private shown: NeuronCardView | undefined;

  constructor(theme: ThemeColors, cb: NeuronCardCallbacks) {
    this.scanPart = new ScanPart(theme, {
      openExample: (rank) => {
        if (this.shown) cb.openExample(this.shown.unit, rank);
      },
      scan: () => {
        cb.scan();
        this.status.textContent = 'Scan started: this card updates when it ends.';
      },
    });
    const button = (label: string, run: () => void): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: 'secondary' }, label) as HTMLButtonElement;
      b.addEventListener('click', run);
      return b;
    };
    const card = (format: 'json' | 'csv') => () => {
      if (this.shown) cb.exportCard(this.shown.unit, format);
    };
    this.saveScanCsv = button('Save scan as CSV…', () => cb.exportScan('csv'));
    const toolbar = h(
      'div',
      { class: 'card-toolbar', role: 'toolbar', 'aria-label': 'save the card' },
      button('Save card as JSON…', card('json')),
      button('Save card as CSV…', card('csv')),
      this.saveScanCsv,
    );
    this.element = h(
      'div',
      { class: 'neuron-card', role: 'region', 'aria-label': 'neuron card', 'aria-describedby': 'nc-title', hidden: true },
      this.title,
      toolbar,
      h('p', { class: 'explain' }, 'What the unit writes (its down-projection row read through the unembedding) and which token embeddings excite it on their own. Hover a token for its id.'),
      this.status,
      this.vocab,
      this.scanPart.element,
    );
  }

  /** Shows that the card of `unit` of block `block` is on its way (keeping it on screen when it is the one there). */
  request(block: number, unit: number): void {
    const refresh = this.shown?.block === block && this.shown.unit === unit;
    this.want = { block, unit };
    unmark();
    this.element.hidden = false;
    this.element.setAttribute('aria-busy', 'true');
    this.element.classList.toggle('stale', refresh);
    this.title.textContent = `Block ${block} · unit ${unit}`;
    this.status.textContent = refresh ? 'Updating…' : 'Loading the card…';
    if (!refresh) {
      this.shown = undefined;
      this.vocab.replaceChildren();
      this.scanPart.clear();
    }
  }

  /** Draws `card` if it is the one asked for last (or a fresh copy of it); returns whether it did. */
  show(card: NeuronCardView): boolean {
    if (!this.want || card.block !== this.want.block || card.unit !== this.want.unit) return false;
    const focused = this.element.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.focus : undefined;
    this.shown = card;
    this.element.hidden = false;
    this.element.removeAttribute('aria-busy');
    this.element.classList.remove('stale');
    this.title.textContent = `Block ${card.block} · unit ${card.unit}`;
    this.status.textContent = '';
    this.vocab.replaceChildren(
      vocabList('nc-promotes-title', 'promotes', 'Tokens whose logits this unit raises most when it fires positive', card.promotes),
      vocabList('nc-suppresses-title', 'suppresses', 'Tokens whose logits this unit lowers most when it fires positive', card.suppresses),
      vocabList('nc-responds-title', 'responds to', 'Tokens whose embeddings alone excite this unit most', card.respondsTo),
      ...(card.quadrants ? [quadrantTable(card.quadrants)] : []),
    );
    this.scanPart.show(card.scan);
    this.saveScanCsv.hidden = !card.scan;
    // a redraw replaced the focused button: give focus to its successor
    if (focused) this.element.querySelector<HTMLElement>(`[data-focus="${focused}"]`)?.focus();
    document.body.dataset.card = `${card.block}:${card.unit}`;
    document.body.dataset.cardScan = String(!!card.scan);
    return true;
  }

  /** The host reported an error: a card still awaited may not come (one that does is still drawn). */
  failed(): void {
    if (!this.want || this.element.getAttribute('aria-busy') !== 'true') return;
    this.element.removeAttribute('aria-busy');
    this.status.textContent = this.shown ? 'This card may be out of date (see the error above).' : 'The card did not load (see the error above).';
  }

  /** Hides the card and forgets it (another block, prompt or model; no unit selected). */
  clear(): void {
    this.want = null;
    this.shown = undefined;
    this.element.hidden = true;
    this.element.removeAttribute('aria-busy');
    this.vocab.replaceChildren();
    this.scanPart.clear();
    unmark();
  }

  setTheme(theme: ThemeColors): void {
    this.scanPart.setTheme(theme);
  }
}
