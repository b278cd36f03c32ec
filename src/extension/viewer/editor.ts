/**
 * One viewer tab: sets up the webview (strict CSP, scripts on, resources from dist/ only), posts
 * the document's listing after the webview says `ready` (again after every reload of the webview),
 * validates every message it sends, and forwards statistics requests and "Explore" clicks.
 */
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import { HostToViewer, parseViewerMessage, ViewerToHost, ViewerView } from '../../protocol/viewer';
import { log } from '../log';
import type { DocumentState, WeightDocument } from './document';
import { viewerHtml, viewerResourceRoots } from './html';

/** What one tab has shown and heard, for the hidden state command the tests use. */
export interface EditorSnapshot {
  uri: string;
  /** The webview said `ready` (at least once). */
  ready: boolean;
  /** The message types posted, in order (the last 50). */
  posted: HostToViewer['type'][];
  /** The last listing posted. */
  view?: ViewerView;
  /** The last error posted. */
  error?: string;
  /** What the webview reported after drawing the table. */
  rendered?: { rows: number; ms: number };
  /** Messages from the webview that failed validation. */
  rejected: number;
}

export class ViewerEditor implements vscode.Disposable {
  private ready = false;
  private readonly snapshot: EditorSnapshot;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly document: WeightDocument,
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    /** Opens the explorer panel on `layer` of `uri` (the ffnLens.exploreLayer command). */
    private readonly explore: (uri: vscode.Uri, layer: string) => Thenable<unknown>,
  ) {
    this.snapshot = { uri: document.uri.toString(), ready: false, posted: [], rejected: 0 };
    const webview = panel.webview;
    webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: viewerResourceRoots(extensionUri) };
    webview.html = viewerHtml(webview, extensionUri, document.fileName);
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      document.onDidChangeState((state) => this.ready && this.postState(state)),
      document.onDidComputeStats(({ name, outcome }) => this.ready && this.post({ type: 'stats', name, outcome })),
    );
  }

  /** Handles one raw message from the webview (also called by the state command in tests). */
  async receive(raw: unknown): Promise<void> {
    const msg = parseViewerMessage(raw);
    if (!msg) {
      this.snapshot.rejected++;
      log().warn(`viewer: ignored a malformed message from the webview: ${safeJson(raw)}`);
      return;
    }
    await this.handle(msg);
  }

  private async handle(msg: ViewerToHost): Promise<void> {
    switch (msg.type) {
      case 'ready':
        this.ready = this.snapshot.ready = true;
        this.postState(this.document.state);
        return;
      case 'stats':
        // The document checks the name against the file and shares the work between tabs.
        await this.document.requestStats(msg.name);
        return;
      case 'explore': {
        const state = this.document.state;
        if (state.kind !== 'view' || !state.view.layers.some((l) => l.id === msg.layer)) {
          this.snapshot.rejected++;
          log().warn(`viewer: ignored "explore" for an unknown layer ${safeJson(msg.layer)}`);
          return;
        }
        try {
          await this.explore(this.document.uri, msg.layer);
        } catch (e) {
          const message = describeError(e);
          log().error(`viewer: explore ${msg.layer} failed: ${message}`);
          void vscode.window.showErrorMessage(`FFN Lens: ${message}`);
        }
        return;
      }
      case 'rendered':
        this.snapshot.rendered = { rows: msg.rows, ms: msg.ms };
        return;
      case 'log':
        log().warn(`viewer webview: ${msg.message}`);
        return;
      default: {
        const never: never = msg;
        void never;
      }
    }
  }

  private postState(state: DocumentState): void {
    switch (state.kind) {
      case 'loading':
        this.post({ type: 'loading', fileName: this.document.fileName });
        return;
      case 'view':
        this.post({ type: 'view', view: state.view });
        return;
      case 'error':
        this.post({ type: 'error', fileName: this.document.fileName, message: state.message });
        return;
      default: {
        const never: never = state;
        void never;
      }
    }
  }

  private post(msg: HostToViewer): void {
    const s = this.snapshot;
    s.posted.push(msg.type);
    if (s.posted.length > 50) s.posted.shift();
    if (msg.type === 'view') {
      s.view = msg.view;
      delete s.error;
    } else if (msg.type === 'error') {
      s.error = msg.message;
      delete s.view;
    }
    void this.panel.webview.postMessage(msg);
  }

  /** A copy of what this tab has shown, for tests. */
  state(): EditorSnapshot {
    return JSON.parse(JSON.stringify(this.snapshot)) as EditorSnapshot;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}

function safeJson(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 200);
  } catch {
    return String(v).slice(0, 200);
  }
}
