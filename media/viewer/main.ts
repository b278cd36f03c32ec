/**
 * The weight-file viewer's webview: posts `ready`, then draws what the host sends: a header line
 * (format, size, counts, metadata), the FFN layers with an Explore action, and the tensor table.
 * Sets `data-ready="true"` and `data-rows` on <body> once the table (or an error) is drawn.
 * Browser only; imports protocol types and nothing that runs on the host.
 */
import './viewer.css';
import { type HostToViewer, SORT_COLUMNS, type ViewerState, type ViewerToHost, type ViewerView } from '../../src/protocol/viewer';
import { el, formatBytes, formatCount } from './format';
import { TensorTable } from './table';

interface VsCodeApi {
  postMessage(message: ViewerToHost): void;
  getState(): unknown;
  setState(state: ViewerState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;

/** The saved filter/sort/scroll, when it is well formed. */
function savedState(): ViewerState | undefined {
  const s = vscode.getState() as Partial<ViewerState> | null | undefined;
  if (!s || typeof s !== 'object' || typeof s.filter !== 'string' || typeof s.scrollTop !== 'number') return undefined;
  const sort = s.sort;
  if (!sort || !SORT_COLUMNS.includes(sort.column) || typeof sort.descending !== 'boolean') return undefined;
  return { filter: s.filter.slice(0, 500), sort, scrollTop: Math.max(0, s.scrollTop) };
}

const table = new TensorTable(
  {
    requestStats: (name) => vscode.postMessage({ type: 'stats', name }),
    stateChanged: (state) => {
      vscode.setState(state);
      // data-rows follows the filter (tests filter, then count).
      if (document.body.dataset.ready === 'true') document.body.dataset.rows = String(table.rowCount);
    },
  },
  savedState(),
);

function setBody(ready: boolean, rows: number, extra: { error?: boolean } = {}): void {
  document.body.dataset.ready = String(ready);
  document.body.dataset.rows = String(rows);
  if (extra.error) document.body.dataset.error = 'true';
  else delete document.body.dataset.error;
}

function header(view: ViewerView): HTMLElement {
  const facts = [
    view.format.toUpperCase(),
    formatBytes(view.fileBytes),
    `${formatCount(view.tensors.length)} tensor${view.tensors.length === 1 ? '' : 's'}`,
    `${view.layers.length} FFN layer${view.layers.length === 1 ? '' : 's'}`,
    `listed in ${view.listMs} ms`,
  ];
  const out = el(
    'header',
    { cls: 'summary' },
    el('h1', { text: view.fileName, title: view.fileName }),
    el('p', { cls: 'facts', text: facts.join(' · ') }),
  );
  if (view.headline.length) {
    const line = el('p', { cls: 'headline' });
    view.headline.forEach((m, i) => {
      if (i) line.append(' · ');
      line.append(el('span', { cls: 'key', text: `${m.key}: ` }), el('span', { cls: 'value', text: m.value }));
    });
    out.append(line);
  }
  if (view.metadataCount > 0) {
    const list = el('dl');
    for (const m of view.metadata) list.append(el('dt', { text: m.key }), el('dd', { text: m.value }));
    const more = view.metadataCount > view.metadata.length ? ` (first ${view.metadata.length} shown)` : '';
    out.append(el('details', { cls: 'metadata' }, el('summary', { text: `Metadata: ${formatCount(view.metadataCount)} entries${more}` }), list));
  }
  return out;
}

function layersSection(view: ViewerView): HTMLElement {
  const section = el('section', { cls: 'layers', attrs: { 'aria-label': 'FFN layers' } }, el('h2', { text: `FFN layers (${view.layers.length})` }));
  if (!view.layers.length) {
    section.append(el('p', { cls: 'note', text: view.layersNote ?? 'no FFN layer found' }));
    return section;
  }
  const head = el('tr', {}, ...['Layer', 'Kind', 'Activation', 'd_model → d_ff', 'Convention', ''].map((h) => el('th', { text: h, attrs: { scope: 'col' } })));
  const body = el('tbody');
  for (const l of view.layers) {
    const explore = el('button', { cls: 'explore', text: 'Explore', title: `Open the FFN explorer on ${l.id}`, attrs: { 'data-layer': l.id } });
    const show = el('button', { cls: 'link', text: 'Tensors', title: `Show the tensors of ${l.id} in the table`, attrs: { 'data-filter': l.id } });
    body.append(
      el(
        'tr',
        { cls: 'layer', attrs: { 'data-layer': l.id } },
        el('td', { cls: 'mono', text: l.id }),
        el('td', { text: l.kind }),
        el('td', { text: l.activation, title: `from ${l.activationSource}` }),
        el('td', { cls: 'mono', text: `${formatCount(l.dModel)} → ${formatCount(l.dFf)}` }),
        el('td', { text: l.convention }),
        el('td', { cls: 'actions' }, explore, show),
      ),
    );
  }
  body.addEventListener('click', (ev) => {
    const target = (ev.target as HTMLElement).closest<HTMLButtonElement>('button');
    if (target?.dataset.layer !== undefined) vscode.postMessage({ type: 'explore', layer: target.dataset.layer });
    else if (target?.dataset.filter !== undefined) table.setFilter(target.dataset.filter);
  });
  section.append(el('div', { cls: 'layers-scroll' }, el('table', { cls: 'layer-table' }, el('thead', {}, head), body)));
  return section;
}

function showView(view: ViewerView): void {
  const started = performance.now();
  app.replaceChildren(header(view), layersSection(view), table.element);
  table.setData(view.tensors, view.stats);
  setBody(true, table.rowCount);
  vscode.postMessage({ type: 'rendered', rows: table.rowCount, ms: Math.round(performance.now() - started) });
}

function showError(fileName: string, message: string): void {
  app.replaceChildren(
    el(
      'div',
      { cls: 'error', attrs: { role: 'alert' } },
      el('h1', { text: `Cannot show ${fileName}` }),
      el('p', { cls: 'message', text: message }),
      el('p', { cls: 'note', text: 'FFN Lens reads .safetensors (and sharded indexes), .npy, .npz and .gguf files; it never unpickles PyTorch files.' }),
    ),
  );
  setBody(true, 0, { error: true });
}

function showLoading(fileName: string): void {
  app.replaceChildren(el('p', { cls: 'placeholder', text: `Reading the header of ${fileName}…` }));
  setBody(false, 0);
}

window.addEventListener('message', (event: MessageEvent<HostToViewer>) => {
  const msg = event.data;
  try {
    switch (msg.type) {
      case 'loading':
        showLoading(msg.fileName);
        break;
      case 'view':
        showView(msg.view);
        break;
      case 'error':
        showError(msg.fileName, msg.message);
        break;
      case 'stats':
        table.setStats(msg.name, msg.outcome);
        break;
      default: {
        const never: never = msg;
        void never;
      }
    }
  } catch (e) {
    vscode.postMessage({ type: 'log', message: `while handling "${String((msg as { type?: unknown }).type)}": ${e instanceof Error ? e.stack ?? e.message : String(e)}` });
  }
});

window.addEventListener('error', (e) => vscode.postMessage({ type: 'log', message: e.message }));

vscode.postMessage({ type: 'ready' });
