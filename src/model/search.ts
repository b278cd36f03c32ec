/**
 * Finding neurons by token (issue 12): the units whose output direction promotes a token most,
 * value_i = (g ⊙ W_U[token]) · w_out_i over every unit of a block (w_out_i its row of the down
 * projection, g the final norm's gain), a block at a time; and, from a scan, the units whose top
 * examples fire on that token. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';
import type { OpenModel } from './open';
import type { ScanResult } from './scan';
import { topIds } from './vocab';

export interface TokenUnits {
  layer: number;
  promotes: { unit: number; value: number }[];
}

export interface SearchResult {
  token: string;
  id: number;
  layers: TokenUnits[];
  /** From a scan: units whose top examples fire on the token, with how often and how hard. */
  firesOn?: { layer: number; unit: number; count: number; max: number }[];
}

/** The one id a user's token stands for: itself, or with the space a word-initial token carries. */
export function tokenId(model: OpenModel, token: string): number {
  for (const text of [token, ` ${token}`]) {
    try {
      const ids = model.tokenizer.encode(text, { addSpecialTokens: false }).ids;
      if (ids.length === 1) return ids[0];
    } catch {
      // an ids-only tokenizer: handled below
    }
  }
  if (/^#?\d+$/.test(token)) {
    const id = Number(token.replace('#', ''));
    if (id < model.spec.vocabSize) return id;
  }
  throw new FfnLensError(`"${token}" is not one token of this model's vocabulary (try the word with its leading space, or an id as #123)`, model.path, 'usage');
}

export async function searchToken(model: OpenModel, token: string, layers: readonly number[], k: number, scan?: ScanResult): Promise<SearchResult> {
  const { spec, source } = model;
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= spec.layers) throw new FfnLensError(`layer ${l} does not exist: the model has blocks 0..${spec.layers - 1}`, model.path, 'usage');
  const id = tokenId(model, token);
  const d = spec.dModel;
  const row = source.readRows ? await source.readRows(spec.head, id, 1) : (await source.read(spec.head)).slice(id * d, (id + 1) * d);
  const g = await source.read(spec.finalNorm.weight);
  const u = row.map((x, i) => x * (spec.norm.plusOne ? 1 + g[i] : g[i]));
  const out: TokenUnits[] = [];
  for (const layer of layers) {
    const down = spec.block(layer).mlp.down;
    const w = await source.read(down.weight);
    const scores = new Float64Array(spec.dFf);
    // [d_ff x d] (Conv1D, in_out): unit i is row i; [d x d_ff] (Linear): unit i is column i
    if (down.layout === 'in_out') {
      for (let i = 0; i < spec.dFf; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += w[i * d + j] * u[j];
        scores[i] = s;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const uj = u[j];
        const o = j * spec.dFf;
        for (let i = 0; i < spec.dFf; i++) scores[i] += w[o + i] * uj;
      }
    }
    out.push({ layer, promotes: topIds(scores, k).map((unit) => ({ unit, value: scores[unit] })) });
  }
  const result: SearchResult = { token: model.tokenizer.vocabString(id) ?? token, id, layers: out };
  if (scan) {
    const text = model.tokenizer.display(id);
    result.firesOn = scan.neurons
      .map((n) => {
        const hits = n.examples.filter((e) => e.token === text);
        return { layer: scan.layer, unit: n.index, count: hits.length, max: hits.length ? Math.max(...hits.map((e) => e.value)) : -Infinity };
      })
      .filter((x) => x.count > 0)
      .sort((a, b) => b.count - a.count || b.max - a.max)
      .slice(0, k);
  }
  return result;
}
