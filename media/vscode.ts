/** The webview side of the VS Code API, typed with the protocol. */
import type { PanelState, WebviewToHost } from '../src/protocol/webview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

/** Sends a message to the extension host. */
export function post(message: WebviewToHost): void {
  api.postMessage(message);
}

/** What this panel saved before it was hidden or VS Code restarted. */
export function loadState(): PanelState {
  const s = api.getState();
  return typeof s === 'object' && s !== null ? (s as PanelState) : {};
}

export function saveState(state: PanelState): void {
  api.setState(state);
}
