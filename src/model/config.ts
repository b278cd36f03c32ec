/**
 * Reading a model's configuration fields (config.json keys or GGUF metadata) with one clear
 * message for every value that cannot be right, before anything is allocated. No `vscode` import.
 */
import { FfnLensError } from '../core/errors';

/** Typed access to one configuration object; every refusal names the field and the file. */
export class ConfigFields {
  constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    /** The file the fields come from, for messages. */
    readonly file: string,
    /** How fields are named in messages (`config.json` or `GGUF metadata`). */
    private readonly where = 'config.json',
  ) {}

  has(key: string): boolean {
    return this.values[key] !== undefined && this.values[key] !== null;
  }

  raw(key: string): unknown {
    return this.values[key];
  }

  private bad(key: string, want: string): FfnLensError {
    return new FfnLensError(`${this.where}: ${key} = ${JSON.stringify(this.values[key])} cannot be right (${want})`, this.file);
  }

  /** A whole number >= min (default 1); `fallback` when the field is absent, else it is required. */
  int(key: string, fallback?: number, min = 1): number {
    if (!this.has(key)) {
      if (fallback === undefined) throw new FfnLensError(`${this.where}: ${key} is missing`, this.file);
      return fallback;
    }
    const v = Number(this.values[key]);
    if (typeof this.values[key] === 'boolean' || !Number.isSafeInteger(v) || v < min) throw this.bad(key, `expected a whole number >= ${min}`);
    return v;
  }

  /** A finite number > 0 (or >= 0 with `allowZero`). */
  positive(key: string, fallback: number, allowZero = false): number {
    if (!this.has(key)) return fallback;
    const v = Number(this.values[key]);
    if (typeof this.values[key] !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw this.bad(key, `expected a number ${allowZero ? '>= 0' : '> 0'}`);
    }
    return v;
  }

  /** A number in (0, 1]. */
  fraction(key: string, fallback: number): number {
    const v = this.positive(key, fallback);
    if (v > 1) throw this.bad(key, 'expected a fraction in (0, 1]');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.values[key];
    if (typeof v !== 'boolean') throw this.bad(key, 'expected true or false');
    return v;
  }

  string(key: string, fallback?: string): string | undefined {
    if (!this.has(key)) return fallback;
    const v = this.values[key];
    if (typeof v !== 'string') throw this.bad(key, 'expected a string');
    return v;
  }

  /** The head size: the config's own (Gemma gives one), else hidden / heads, which must divide. */
  headDim(hidden: number, heads: number, key = 'head_dim'): number {
    if (this.has(key)) return this.int(key);
    if (hidden % heads !== 0) {
      throw new FfnLensError(`${this.where}: ${heads} attention heads do not divide the hidden size ${hidden}, and no ${key} is given`, this.file);
    }
    return hidden / heads;
  }

  /** KV heads must divide the query heads (grouped-query attention). */
  kvHeads(key: string, heads: number): number {
    const kv = this.int(key, heads);
    if (heads % kv !== 0) throw new FfnLensError(`${this.where}: ${key} = ${kv} does not divide the ${heads} attention heads`, this.file);
    return kv;
  }
}
