/**
 * The next-token box of a model panel: the five most likely next tokens as bars. With an ablation,
 * the prediction without it (baseline) and with it side by side, the change of each token's
 * probability in percentage points, which units are ablated, and a button that clears them.
 * Bars are sized through the CSSOM (`style.width`), which a CSP without 'unsafe-inline' allows.
 */
import type { ModelView, NextTokenView } from '../src/protocol/webview';
import { h, section, visibleText } from './dom';

/** Ablated units named in the line before it says "… (N in all)". */
const LISTED_UNITS = 12;

/** A probability as a percentage with one decimal ("<0.1%" for the tiny ones). */
export function probText(p: number): string {
  if (!(p > 0)) return '0%';
  return p < 0.0005 ? '<0.1%' : `${(100 * p).toFixed(1)}%`;
}

/** A change of probability in percentage points, signed ("+3.1 pp", "−12.0 pp", "±0.0 pp"). */
export function ppText(delta: number): string {
  const pp = 100 * delta;
  if (Math.abs(pp) < 0.05) return '±0.0 pp';
  return `${pp > 0 ? '+' : '−'}${Math.abs(pp).toFixed(1)} pp`;
}

/** The line under an ablated prediction: "units 12, 345 of block 3 ablated". */
export function ablatedText(units: readonly number[], block: number): string {
  const sorted = [...units].sort((a, b) => a - b);
  const listed = sorted.slice(0, LISTED_UNITS).join(', ');
  const more = sorted.length > LISTED_UNITS ? `, … (${sorted.length} in all)` : '';
  return `${sorted.length === 1 ? 'unit' : 'units'} ${listed}${more} of block ${block} ablated`;
}

function tokenCell(t: NextTokenView): HTMLElement {
  return h('th', { scope: 'row', class: 'next-token', title: `id ${t.id} · ${JSON.stringify(t.text)}` }, h('code', {}, visibleText(t.text)));
}

/** A bar and its percentage; `kind` picks the colour (baseline or ablated). */
function probCell(p: number | undefined, kind: 'base' | 'ablated', floor: number): HTMLElement {
  if (p === undefined) {
    return h('td', { class: 'prob missing', title: 'not among the top 5 here' }, `≤ ${probText(floor)}`);
  }
  const fill = h('span', { class: `fill ${kind}` });
  fill.style.width = `${Math.min(100, Math.max(0, 100 * p))}%`;
  return h('td', { class: 'prob' }, h('span', { class: 'bar', 'aria-hidden': 'true' }, fill), h('span', { class: 'num' }, probText(p)));
}

function changeCell(base: number | undefined, ablated: number | undefined): HTMLElement {
  if (base === undefined) return h('td', { class: 'change up', title: 'not in the top 5 without the ablation' }, 'new in top 5');
  if (ablated === undefined) return h('td', { class: 'change down', title: 'not in the top 5 with the ablation' }, 'out of top 5');
  const d = ablated - base;
  const kind = Math.abs(d) < 0.0005 ? 'same' : d > 0 ? 'up' : 'down';
  return h('td', { class: `change ${kind}` }, ppText(d));
}

export class NextTokens {
  readonly element: HTMLElement;
  private readonly explain = h('p', { class: 'hint' });
  private readonly table = h('table', { class: 'next-table', 'aria-label': 'next tokens' });
  private readonly ablatedLine = h('span', { class: 'ablated-line' });
  private readonly ablationBox = h('div', { class: 'toolbar ablation-box', hidden: true }, this.ablatedLine);

  constructor(onClear: () => void) {
    const clear = h('button', { type: 'button', title: 'Predict again with no unit ablated' }, 'Clear ablation');
    clear.addEventListener('click', onClear);
    this.ablationBox.append(clear);
    this.element = section('next', 'Next token', 'What the model predicts after the last token of the prompt.', this.table, this.explain, this.ablationBox);
  }

  /** Draws the prediction of a model run (with the baseline beside it when units are ablated). */
  show(m: ModelView): void {
    const ablated = m.ablated.length > 0;
    const base = ablated ? m.nextBaseline : undefined;
    if (base) this.drawCompared(base, m.next);
    else this.drawOne(m.next);
    this.explain.textContent = base
      ? 'Baseline: the model as it is; ablated: with the units below zeroed in this block. Change in percentage points (pp).'
      : '';
    this.explain.hidden = !base;
    this.ablatedLine.textContent = ablated ? ablatedText(m.ablated, m.block) : '';
    this.ablationBox.hidden = !ablated;
  }

  private drawOne(next: NextTokenView[]): void {
    const head = h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'token'), h('th', { scope: 'col' }, 'probability')));
    const rows = next.map((t) => h('tr', {}, tokenCell(t), probCell(t.prob, 'base', 0)));
    if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 2, class: 'hint' }, 'No prediction.')));
    this.table.replaceChildren(head, h('tbody', {}, ...rows));
  }

  /** One row per token in either top 5: the ablated ranking first, then what fell out of it. */
  private drawCompared(base: NextTokenView[], next: NextTokenView[]): void {
    const baseProb = new Map(base.map((t) => [t.id, t.prob]));
    const nextProb = new Map(next.map((t) => [t.id, t.prob]));
    const baseFloor = base.length ? Math.min(...base.map((t) => t.prob)) : 0;
    const nextFloor = next.length ? Math.min(...next.map((t) => t.prob)) : 0;
    const tokens = [...next, ...base.filter((t) => !nextProb.has(t.id))];
    const head = h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'token'), h('th', { scope: 'col' }, 'baseline'), h('th', { scope: 'col' }, 'ablated'), h('th', { scope: 'col' }, 'change')),
    );
    const rows = tokens.map((t) => {
      const b = baseProb.get(t.id);
      const a = nextProb.get(t.id);
      return h('tr', {}, tokenCell(t), probCell(b, 'base', baseFloor), probCell(a, 'ablated', nextFloor), changeCell(b, a));
    });
    this.table.replaceChildren(head, h('tbody', {}, ...rows));
  }
}
