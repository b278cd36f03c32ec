/**
 * The weights of the last layer the worker ran, kept in kernel memory so that a re-run of the same
 * layer (other inputs, another activation: what the panel's controls do) reads nothing. One layer
 * at a time. Entries are counted while runs use them: a run still using weights that a newer
 * layer replaced keeps them until it finishes, and only then are they given back. No `vscode`.
 */
import { w2RowNorms } from '../core/analyze';
import { isFfnLensError } from '../core/errors';
import { validateWeights } from '../core/ffn';
import type { FfnWeights, PreparedMatrix, PreparedWeights } from '../core/types';

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

/** What prepareWeights needs of a matrix kernel (a GemmEngine). */
export interface Preparer {
  prepare(b: Float32Array, k: number, n: number): PreparedMatrix;
}

const EMPTY = new Float32Array(0);

/**
 * The weights with their matrices laid out once for `kernel` (GemmEngine.prepare), so no run
 * repacks them, and the norms of w2's rows (which the analysis needs) computed first. A prepared
 * matrix in the kernel's own layout takes the place of its plain array, which becomes empty (the
 * kernel rearranges it in place or releases it: memory does not grow by a second copy); a
 * `rows` one (TypeScript kernel) keeps it. A matrix the kernel's memory cannot take stays plain
 * (as a `rows` prepared matrix). `arrays` (what was allocated for the weights, to release later)
 * is updated as matrices are handed over, so after a throw it still names what to release.
 */
export function prepareWeights(weights: FfnWeights, arrays: Float32Array[], kernel: Preparer): FfnWeights {
  if (weights.prepared) return weights;
  validateWeights(weights);
  const { dModel, dFf } = weights;
  const norms = weights.w2RowNorms ?? w2RowNorms(weights.w2, dFf, dModel);
  const matrices = [weights.w1, weights.wGate, weights.w2].filter((m): m is Float32Array => !!m);
  const buffers = matrices.map((m) => [m.buffer, m.byteOffset, m.byteOffset + m.byteLength] as const);
  const shared = buffers.some(([b, from, to], i) => buffers.some(([c, at, end], j) => j > i && b === c && at < to && from < end));
  // Matrices sharing memory (tied weights) cannot each be rearranged in place: leave them plain.
  if (shared) return { ...weights, w2RowNorms: norms };
  const one = (b: Float32Array, k: number, n: number): PreparedMatrix => {
    let p: PreparedMatrix;
    try {
      p = kernel.prepare(b, k, n);
    } catch (e) {
      if (!(isFfnLensError(e) && e.kind === 'budget')) throw e;
      return { k, n, layout: 'rows', data: b };
    }
    if (p.data !== b) {
      // b is the kernel's now (rearranged in place, or released): keep track of p.data instead.
      const i = arrays.indexOf(b);
      if (i >= 0) arrays.splice(i, 1);
      arrays.push(p.data);
    }
    return p;
  };
  const w1 = one(weights.w1, dModel, dFf);
  const wGate = weights.wGate ? one(weights.wGate, dModel, dFf) : undefined;
  const prepared: PreparedWeights = { w1, w2: one(weights.w2, dFf, dModel) };
  if (wGate) prepared.wGate = wGate;
  const plain = (p: PreparedMatrix): Float32Array => (p.layout === 'rows' ? p.data : EMPTY);
  const out: FfnWeights = { ...weights, w1: plain(prepared.w1), w2: plain(prepared.w2), prepared, w2RowNorms: norms };
  if (prepared.wGate) out.wGate = plain(prepared.wGate);
  return out;
}
