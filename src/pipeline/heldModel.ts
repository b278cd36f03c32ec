/**
 * The model the compute worker keeps open between the panel's runs: its files and tokenizer, the
 * weights that fit the memory budget (a WeightStore), and the residual stream entering every block
 * for the last prompt, so switching block or toggling an ablation re-runs only what changed.
 * One model at a time; another model, or the file changing on disk, replaces it. No `vscode` import.
 */
import { promises as fs } from 'fs';
import type { MatrixSupply } from '../core/ffn';
import type { GemmEngine } from '../kernels';
import { openModel, type OpenModel } from '../model/open';
import { WeightStore } from '../model/store';

/** What identifies a model's version: its path and the size and time of its files' folder entries. */
async function versionKey(path: string): Promise<string> {
  try {
    const st = await fs.stat(path);
    return JSON.stringify([path, st.size, st.mtimeMs]);
  } catch {
    return JSON.stringify([path]);
  }
}

export class HeldModel {
  private residuals: { ids: string; blocks: Float32Array[] } | undefined;

  private constructor(
    readonly key: string,
    readonly model: OpenModel,
    readonly store: WeightStore,
  ) {}

  static async open(path: string, engine: GemmEngine, budgetBytes: number): Promise<HeldModel> {
    const key = await versionKey(path);
    const model = await openModel(path);
    const store = new WeightStore(budgetBytes, (m: MatrixSupply) => engine.release(m.prepared?.data ?? m.plain));
    return new HeldModel(key, model, store);
  }

  /** The latest cached residual entering a block <= `block` for these ids, to resume from. */
  resumeFor(ids: readonly number[], block: number): { from: number; residual: Float32Array } | undefined {
    if (!this.residuals || this.residuals.ids !== ids.join(',')) return undefined;
    for (let b = block; b >= 0; b--) {
      const r = this.residuals.blocks[b];
      if (r) return { from: b, residual: r };
    }
    return undefined;
  }

  /** Remembers the residuals a run computed (for these ids only: a new prompt replaces them). */
  remember(ids: readonly number[], blocks: readonly Float32Array[]): void {
    const key = ids.join(',');
    if (!this.residuals || this.residuals.ids !== key) this.residuals = { ids: key, blocks: [] };
    blocks.forEach((r, b) => {
      if (r) this.residuals!.blocks[b] = r;
    });
  }

  async close(): Promise<void> {
    this.store.clear();
    this.residuals = undefined;
    await this.model.close();
  }
}

/** The worker's one held model. */
export class ModelHolder {
  private held: HeldModel | undefined;

  constructor(private readonly engine: GemmEngine) {}

  /**
   * The held model for `path`, opened (and the previous one closed) when it is another or has
   * changed; its weights are kept up to `budgetBytes`.
   */
  async get(path: string, budgetBytes: number): Promise<HeldModel> {
    const key = await versionKey(path);
    if (this.held && this.held.key === key && this.held.store.budgetBytes === budgetBytes) return this.held;
    await this.drop();
    this.held = await HeldModel.open(path, this.engine, budgetBytes);
    return this.held;
  }

  async drop(): Promise<void> {
    const h = this.held;
    this.held = undefined;
    await h?.close();
  }
}
