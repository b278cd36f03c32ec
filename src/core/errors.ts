/**
 * One error type for everything the user can get wrong. The CLI prints `error: <file>: <message>`
 * and exits 1 (`input`, `budget`) or 2 (`usage`); the extension shows the same text in a
 * notification. Never let anything else (a TypeError, a RangeError) reach the user.
 */
export type ErrorKind = 'input' | 'usage' | 'budget' | 'cancelled';

export class FfnLensError extends Error {
  constructor(
    message: string,
    /** The file the problem is in, when there is one (shown first in the message). */
    readonly file?: string,
    readonly kind: ErrorKind = 'input',
  ) {
    super(message);
    this.name = 'FfnLensError';
  }

  /** `<file>: <message>`, or the message alone when no file is involved. */
  describe(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

/** True when `e` is an FfnLensError (also across bundles, where `instanceof` can fail). */
export function isFfnLensError(e: unknown): e is FfnLensError {
  return e instanceof FfnLensError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'FfnLensError');
}

/** A one-line description of any thrown value, for the user. Unexpected errors keep their message only. */
export function describeError(e: unknown): string {
  if (isFfnLensError(e)) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
