/**
 * The weights of the last layer the worker ran, kept in kernel memory so that a re-run of the same
 * layer (other inputs, another activation: what the panel's controls do) reads nothing. One layer
 * at a time. Entries are counted while runs use them: a run still using weights that a newer
 * layer replaced keeps them until it finishes, and only then are they given back. No `vscode`.
 */
import type { FfnWeights } from '../core/types';

interface Entry {
  key: string;
  weights: FfnWeights;
  arrays: Float32Array[];
  users: number;
  stale: boolean;
}

/** A run's use of held weights; `done` once the run no longer needs them (twice is harmless). */
export interface WeightsUse {
  weights: FfnWeights;
  done(): void;
}

export class HeldWeights {
  private held: Entry | undefined;

  /** `release` gives an array back to the allocator it came from. */
  constructor(private readonly release: (array: Float32Array) => void) {}

  /** The key of the weights held now, if any. */
  get key(): string | undefined {
    return this.held?.key;
  }

  /** The held weights when they are `key`'s, now in use by the caller. */
  take(key: string): WeightsUse | undefined {
    return this.held && this.held.key === key ? this.use(this.held) : undefined;
  }

  /** Lets the held weights go (given back once no run uses them): call before reading another layer. */
  drop(): void {
    const entry = this.held;
    this.held = undefined;
    if (!entry) return;
    entry.stale = true;
    this.freeIfUnused(entry);
  }

  /** Holds freshly read weights (`arrays`: what was allocated for them), in use by the caller; replaces what was held. */
  hold(key: string, weights: FfnWeights, arrays: Float32Array[]): WeightsUse {
    this.drop();
    const entry: Entry = { key, weights, arrays: [...arrays], users: 0, stale: false };
    this.held = entry;
    return this.use(entry);
  }

  private use(entry: Entry): WeightsUse {
    entry.users++;
    let ended = false;
    return {
      weights: entry.weights,
      done: () => {
        if (ended) return;
        ended = true;
        entry.users--;
        this.freeIfUnused(entry);
      },
    };
  }

  private freeIfUnused(entry: Entry): void {
    if (!entry.stale || entry.users > 0) return;
    for (const array of entry.arrays.splice(0)) this.release(array);
  }
}
