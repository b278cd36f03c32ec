/**
 * The documents of the whole-model commands (issue 11's contract, key for key):
 * `tokenize --json` → {ids, tokens, offsets}; `run <model> --json` → the run document of a layer
 * plus tokenIds, tokens, inputSource "model", `next` (--predict), `next` and `nextBaseline`
 * (--ablate), and with --full the FFN's input, gate (preActivation), up, hidden, output and the
 * residual stream entering the block. No `vscode` import.
 */
import type { Encoding } from '../model/tokenizer';
import type { ModelRunResult, NextTokenInfo } from '../protocol/model';
import { runToJson, type RunJson } from './json';

/** `tokenize --json`. */
export interface TokenizeJson {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

export function tokenizeToJson(e: Encoding): TokenizeJson {
  return { ids: e.ids, tokens: e.tokens, offsets: e.offsets };
}

/** One next token in the contract's form. */
export type NextJson = Pick<NextTokenInfo, 'id' | 'token' | 'prob'>;

const nextJson = (n: NextTokenInfo[]): NextJson[] => n.map((t) => ({ id: t.id, token: t.token, prob: t.prob }));

/** `run <model> --json`. */
export interface ModelRunJson extends RunJson {
  inputSource: 'model';
  architecture: string;
  blocks: number;
  tokenIds: number[];
  offsets: [number, number][];
  next?: NextJson[];
  nextBaseline?: NextJson[];
  ablated?: number[];
  input?: (number | null)[][];
  up?: (number | null)[][];
  residual?: (number | null)[][];
}

const rows = (data: Float32Array, T: number, width: number): (number | null)[][] =>
  Array.from({ length: T }, (_, t) => Array.from(data.subarray(t * width, (t + 1) * width), (x) => (Number.isFinite(x) ? x : null)));

export function modelRunToJson(r: ModelRunResult, full: boolean, engine: 'wasm' | 'ts'): ModelRunJson {
  const base = runToJson(r, full, engine);
  const T = r.tokens.length;
  const doc: ModelRunJson = { ...base, inputSource: 'model', architecture: r.architecture, blocks: r.blocks, tokenIds: r.tokenIds, offsets: r.offsets };
  if (r.next) doc.next = nextJson(r.next);
  if (r.nextBaseline) doc.nextBaseline = nextJson(r.nextBaseline);
  if (r.ablated) doc.ablated = r.ablated;
  if (full) {
    doc.input = rows(r.input, T, r.dModel);
    if (r.up) doc.up = rows(r.up, T, r.dFf);
    doc.residual = rows(r.residual, T, r.dModel);
  }
  return doc;
}
