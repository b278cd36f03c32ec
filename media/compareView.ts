/**
 * The compare view (issue 14): two checkpoints of one model on the same text, in place of a run.
 * A text card (compare again, swap A and B, save as JSON) beside the next-token table of A and B
 * and their KL; per-block charts and a table of the measures, where a block's button (or a click
 * on its bars) selects it; then the selected block's hidden activations of A and of B stacked, and
 * B − A under them on a diverging scale of its own. The three heatmaps share one window of the
 * unit axis: zooming or panning one asks the host for all three. <body> gets data-view="compare",
 * data-compare-blocks, and once a block's heatmaps are drawn data-compare-layer and
 * data-heatmaps (how many of the three hold more than the background).
 */
import type { CompareHeatmaps, CompareSort, CompareView as CompareData, NextTokenView } from '../src/protocol/webview';
import { MAX_PROMPT_CHARS } from '../src/protocol/webview';
import { CompareCharts } from './compareCharts';
import { chartBox, fmt, h, pct, section, visibleText } from './dom';
import { Heatmap } from './heatmap';
import { probText } from './nextTokens';
import type { ThemeColors } from './theme';

export interface CompareCallbacks {
  /** Block `layer`'s three heatmaps for this window of the unit axis. */
  heatmaps(layer: number, sort: CompareSort, start: number, end: number): void;
  /** Compare again on `text` (`swap`: B becomes the reference). */
  again(text: string, swap: boolean): void;
  exportJson(): void;
}

const SORTS: { value: CompareSort; label: string }[] = [
  { value: 'change', label: 'units by change |B − A|' },
  { value: 'index', label: 'units by index' },
];
/** Tallest each of the three heatmaps grows: all three fit a window together. */
const HEAT_HEIGHT = 160;

function probCell(t: NextTokenView | undefined, kind: 'a' | 'b'): HTMLElement[] {
  if (!t) return [h('td', { class: 'hint' }, '—'), h('td', {})];
  const fill = h('span', { class: `fill ${kind}` });
  fill.style.width = `${Math.min(100, Math.max(0, 100 * t.prob))}%`;
  return [
    h('th', { scope: 'row', class: 'next-token', title: `id ${t.id} · ${JSON.stringify(t.text)}` }, h('code', {}, visibleText(t.text))),
    h('td', { class: 'prob' }, h('span', { class: 'bar', 'aria-hidden': 'true' }, fill), h('span', { class: 'num' }, probText(t.prob))),
  ];
}

export class CompareView {
  readonly element: HTMLElement;
  private view: CompareData | undefined;
  private selected: number | null = null;
  private shownText = '';
  private busy = false;
  private readonly text = h('textarea', { class: 'prompt', 'aria-label': 'compare text', rows: 3, maxlength: MAX_PROMPT_CHARS, spellcheck: 'false' });
  private readonly compareButton = h('button', { type: 'button', class: 'primary', title: 'Run both checkpoints on this text' }, 'Compare');
  private readonly swapButton = h('button', { type: 'button', title: 'Compare again with B as the reference' }, 'Swap A ↔ B');
  private readonly nextTable = h('table', { class: 'next-table compare-next', 'aria-label': 'next tokens of A and B' });
  private readonly kl = h('p', { class: 'big-number compare-kl' });
  private readonly blockTable = h('table', { class: 'next-table compare-blocks', 'aria-label': 'blocks compared' });
  private readonly heatTitle = h('h2', { id: 'compare-heatmaps-title' });
  private readonly heatHint = h('p', { class: 'hint' }, 'Click a block (its button or its bars) to see its hidden activations in A and in B, and their difference.');
  private readonly heatBody: HTMLElement;
  private readonly heatNames = [h('h3', { class: 'heat-name' }), h('h3', { class: 'heat-name' }), h('h3', { class: 'heat-name' }, 'B − A')];
  private readonly heat: [Heatmap, Heatmap, Heatmap];
  private readonly charts: CompareCharts;

  constructor(theme: ThemeColors, private readonly cb: CompareCallbacks) {
    const request = (sort: string, start: number, end: number): void => {
      if (this.selected !== null) cb.heatmaps(this.selected, sort === 'index' ? 'index' : 'change', start, end);
    };
    const none = (): void => undefined;
    const hint = 'Wheel to zoom the unit axis, drag to pan, double-click for all units; the three follow each other.';
    const make = (label: string, scale: 'activation' | 'difference', hint = ''): Heatmap =>
      new Heatmap(theme, { requestWindow: request, selectToken: none, selectNeuron: none }, { label, sorts: SORTS, scale, maxHeight: HEAT_HEIGHT, hint });
    // one hint, under the last of the three
    this.heat = [make('hidden activations of A', 'activation'), make('hidden activations of B', 'activation'), make('difference B − A of the hidden activations', 'difference', hint)];

    const errors = chartBox('FFN error per block', 240);
    const overlap = chartBox('top-K overlap per block', 200);
    const sparsity = chartBox('sparsity of A and B per block', 200);
    const klChart = chartBox('KL per position', 180);
    this.charts = new CompareCharts(theme, { errors: errors.canvas, overlap: overlap.canvas, sparsity: sparsity.canvas, kl: klChart.canvas }, (l) => this.select(l));

    const save = h('button', { type: 'button', title: 'Save the comparison as JSON (the document of ffn-lens compare --json)' }, 'Save JSON…');
    this.compareButton.addEventListener('click', () => this.submit(false));
    this.swapButton.addEventListener('click', () => this.submit(true));
    save.addEventListener('click', () => cb.exportJson());
    this.text.addEventListener('input', () => this.updateButtons());
    this.text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.submit(false);
      }
    });

    const textCard = section(
      'compare-text',
      'Text',
      'Both checkpoints run these tokens (A’s tokenizer); each block’s FFN of B is set against A’s.',
      this.text,
      h('div', { class: 'toolbar' }, this.compareButton, this.swapButton, h('span', { class: 'spacer' }), save),
    );
    const nextCard = section('compare-next', 'Next token', 'The top 5 after the last token in A and in B; KL(A‖B) of the whole distributions.', this.nextTable, this.kl);
    this.heatBody = h(
      'div',
      { class: 'compare-heat', hidden: true },
      ...this.heat.flatMap((m, i) => [this.heatNames[i], m.element]),
    );
    const heatSection = h('section', { class: 'card', id: 'compare-heatmaps', 'aria-labelledby': 'compare-heatmaps-title' }, this.heatTitle, this.heatHint, this.heatBody);
    this.heatTitle.textContent = '4 · Hidden activations of a block';
    this.element = h(
      'div',
      { class: 'compare-view', hidden: true },
      h('div', { class: 'model-grid' }, textCard, nextCard),
      section(
        'compare-errors',
        '1 · Error per block',
        '‖B − A‖ / ‖A‖ of each token’s FFN output and hidden activations (what enters the down projection): the mean as the solid bar, the worst token as the pale part above it. Each model runs its own residual stream, so drift from earlier blocks counts.',
        errors.box,
        this.blockTable,
      ),
      section(
        'compare-units',
        '2 · Which units fire',
        'Per block, the share of each token’s top units by |h| that A and B have in common (1: the same units), and the share of hidden units each filter silences.',
        h('div', { class: 'grid2' }, overlap.box, sparsity.box),
      ),
      section('compare-kl', '3 · Where the predictions part', 'KL(A‖B) of the next-token distributions after each position, in nats.', klChart.box),
      heatSection,
    );
  }

  /** Draws a comparison; a block selected before stays selected when the new one has it. */
  show(v: CompareData): void {
    this.view = v;
    if (this.text.value === this.shownText || this.text.value === '') this.text.value = v.text;
    this.shownText = v.text;
    this.updateButtons();
    this.heatNames[0].textContent = `A · ${v.nameA}`;
    this.heatNames[1].textContent = `B · ${v.nameB}`;
    this.drawNext(v);
    this.kl.textContent = `KL(A‖B) = ${fmt(v.kl, 3)} nats, averaged over ${v.tokens.length} positions`;
    this.drawBlocks(v);
    this.charts.show(v);
    const keep = this.selected !== null && v.heatmaps.includes(this.selected);
    if (keep) this.select(this.selected as number);
    else {
      this.selected = null;
      this.heatBody.hidden = true;
      this.heatHint.hidden = false;
      this.heatHint.textContent =
        v.heatmaps.length === 0
          ? 'The hidden activations were not kept for this comparison.'
          : `Click a block (its button or its bars) to see its hidden activations in A and in B, and their difference${v.heatmaps.length < v.layers.length ? ` (kept for ${v.heatmaps.length} of ${v.layers.length} blocks within the memory budget: those of largest hidden error)` : ''}.`;
      this.heatTitle.textContent = '4 · Hidden activations of a block';
      delete document.body.dataset.compareLayer;
      delete document.body.dataset.heatmaps;
    }
  }

  /** Asks for block `layer`'s heatmaps (shown when the host sends them). */
  select(layer: number): void {
    const v = this.view;
    if (!v || !this.mark(layer)) return;
    const w = this.heat[0].window;
    this.cb.heatmaps(layer, w.sort === 'index' ? 'index' : 'change', 0, v.dFf);
  }

  /** Marks block `layer` as the one shown; false when this comparison has no heatmaps of it. */
  private mark(layer: number): boolean {
    const v = this.view;
    if (!v?.heatmaps.includes(layer)) return false;
    this.selected = layer;
    this.blockTable.querySelectorAll<HTMLButtonElement>('button[data-block]').forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.block) === layer)));
    this.heatTitle.textContent = `4 · Block ${layer}: hidden activations of A and B, and B − A`;
    return true;
  }

  /** Draws the three heatmaps (of the block clicked last, or of one the host chose); false when this comparison has no such block. */
  showHeatmaps(m: CompareHeatmaps): boolean {
    const v = this.view;
    if (!v || (m.layer !== this.selected && !this.mark(m.layer))) return false;
    this.heatHint.hidden = true;
    this.heatBody.hidden = false;
    this.heat[0].show(m.a, v.tokens, m.maxAbs);
    this.heat[1].show(m.b, v.tokens, m.maxAbs);
    this.heat[2].show(m.diff, v.tokens, m.maxAbsDiff);
    return true;
  }

  /** Redraws the heatmaps now (after layout) and says which hold more than the background. */
  drawHeatmaps(): boolean[] {
    return this.heat.map((m) => {
      m.draw();
      return m.nonBlank();
    });
  }

  get selectedBlock(): number | null {
    return this.selected;
  }

  /** The id of the comparison shown. */
  get shownId(): number | undefined {
    return this.view?.id;
  }

  setTheme(t: ThemeColors): void {
    this.charts.setTheme(t);
    for (const m of this.heat) m.setTheme(t);
  }

  /** Compare and Swap wait while a comparison runs. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.compareButton.textContent = busy ? 'Comparing…' : 'Compare';
    this.updateButtons();
  }

  private submit(swap: boolean): void {
    if (this.busy || !this.view || this.text.value.length === 0) return;
    this.cb.again(this.text.value, swap);
  }

  private updateButtons(): void {
    this.compareButton.disabled = this.busy || this.text.value.length === 0;
    this.swapButton.disabled = this.busy || this.text.value.length === 0;
  }

  private drawNext(v: CompareData): void {
    const head = h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'A'), h('th', { scope: 'col' }, 'probability'), h('th', { scope: 'col' }, 'B'), h('th', { scope: 'col' }, 'probability')),
    );
    const n = Math.max(v.nextA.length, v.nextB.length);
    const rows = Array.from({ length: n }, (_, i) => {
      const differs = v.nextA[i]?.id !== v.nextB[i]?.id;
      return h('tr', { class: differs ? 'differs' : undefined, title: differs ? 'A and B rank another token here' : undefined }, ...probCell(v.nextA[i], 'a'), ...probCell(v.nextB[i], 'b'));
    });
    if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 4, class: 'hint' }, 'No prediction.')));
    this.nextTable.replaceChildren(head, h('tbody', {}, ...rows));
  }

  private drawBlocks(v: CompareData): void {
    const col = (text: string, title?: string): HTMLElement => h('th', { scope: 'col', title }, text);
    const head = h(
      'thead',
      {},
      h(
        'tr',
        {},
        col('block'),
        col('output error', 'mean / worst token of ‖yB − yA‖ / ‖yA‖'),
        col('hidden error', 'mean / worst token of ‖hB − hA‖ / ‖hA‖'),
        col('sparsity A → B'),
        col(`top-${v.top} overlap`),
        col('most changed units', 'mean |h| of B − A'),
      ),
    );
    const rows = v.layers.map((l) => {
      const kept = v.heatmaps.includes(l.layer);
      const button = h(
        'button',
        { type: 'button', 'data-block': l.layer, 'aria-pressed': 'false', disabled: !kept, title: kept ? `Block ${l.layer}'s heatmaps` : `Block ${l.layer}'s hidden activations were not kept (the memory budget)` },
        `Block ${l.layer}`,
      );
      button.addEventListener('click', () => this.select(l.layer));
      const moved = l.changed.filter((c) => c.delta !== 0).slice(0, 3);
      const changed = moved.length ? moved.map((c) => `#${c.index} (${c.delta > 0 ? '+' : ''}${fmt(c.delta, 3)})`).join(', ') : 'none';
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, button),
        h('td', {}, `${fmt(l.outputError.mean, 3)} / ${fmt(l.outputError.max, 3)}`),
        h('td', {}, `${fmt(l.hiddenError.mean, 3)} / ${fmt(l.hiddenError.max, 3)}`),
        h('td', {}, `${pct(l.sparsityA)} → ${pct(l.sparsityB)}`),
        h('td', {}, fmt(l.topOverlap, 3)),
        h('td', { class: 'changed' }, changed),
      );
    });
    this.blockTable.replaceChildren(head, h('tbody', {}, ...rows));
  }
}
