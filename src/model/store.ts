/**
 * Weights a long-lived process (the compute worker) keeps between runs of one model, up to a
 * budget: prepared matrices in kernel memory, vectors, and whole small tensors read by rows (the
 * head), so the panel's next run of the same model (another block, an ablation toggled) reads
 * nothing it has already read. A one-shot run (the CLI) has no store and streams everything.
 * No `vscode` import.
 */
import type { MatrixSupply } from '../core/ffn';

export class WeightStore {
  readonly matrices = new Map<string, MatrixSupply>();
  readonly vectors = new Map<string, Float32Array>();
  /** Tensors read whole for `rows` (the head), by name. */
  readonly tensors = new Map<string, Float32Array>();
  private used = 0;

  /** `release` gives a kept matrix back to the kernel that prepared it. */
  constructor(
    readonly budgetBytes: number,
    private readonly release: (m: MatrixSupply) => void,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Takes `bytes` more from the budget when they fit; false when they do not. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.budgetBytes) return false;
    this.used += bytes;
    return true;
  }

  /** Whether `m` is one of the kept matrices (not to be given back after its product). */
  keeps(m: MatrixSupply): boolean {
    for (const kept of this.matrices.values()) if (kept === m) return true;
    return false;
  }

  /** Gives everything back. */
  clear(): void {
    for (const m of this.matrices.values()) this.release(m);
    this.matrices.clear();
    this.vectors.clear();
    this.tensors.clear();
    this.used = 0;
  }
}
